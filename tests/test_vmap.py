"""``minigrad.func.vmap`` by batching rules against ``torch.func.vmap`` (float64): the
transforms under vmap (jvp, jacrev, jacfwd, hessian, per-sample gradients of a module),
``in_dims`` / ``out_dims`` nests, ``chunk_size``, ``randomness``, the refused reads, and
that the ordinary ops are left as they were once vmap returns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.func as mf
from minigrad.batching import STATS, BatchedTensor

RTOL, ATOL = 1e-7, 1e-10
rng = np.random.default_rng(0)


def _close(a, b) -> None:
    if isinstance(b, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _close(x, y)
        return
    if isinstance(b, dict):
        assert set(a) == set(b)
        for k in b:
            _close(a[k], b[k])
        return
    assert isinstance(a, mg.Tensor) and not isinstance(a, BatchedTensor)
    assert a.shape == tuple(b.shape), (a.shape, b.shape)
    np.testing.assert_allclose(a.data, b.detach().numpy(), RTOL, ATOL)


def _pair(*shapes):
    arrs = [rng.standard_normal(s) for s in shapes]
    return [mg.tensor(a) for a in arrs], [torch.tensor(a) for a in arrs]


def f(lib, u):
    return lib.sin(u) * u.sum() + (u @ u) * lib.tanh(u)


def test_transforms_under_vmap_match_torch() -> None:
    (x, v), (tx, tv) = _pair((4, 3), (4, 3))
    g = lambda lib: lambda u: f(lib, u).sum()  # noqa: E731
    jv = lambda lib, fn: lambda a, b: fn.jvp(lambda u: f(lib, u), (a,), (b,))  # noqa: E731
    _close(mf.vmap(jv(mg, mf))(x, v), torch.func.vmap(jv(torch, torch.func))(tx, tv))
    for t in ("jacrev", "jacfwd"):
        ours = mf.vmap(getattr(mf, t)(lambda u: f(mg, u)))(x)
        _close(ours, torch.func.vmap(getattr(torch.func, t)(lambda u: f(torch, u)))(tx))
    _close(mf.vmap(mf.hessian(g(mg)))(x), torch.func.vmap(torch.func.hessian(g(torch)))(tx))
    _close(mf.vmap(mf.grad(g(mg)))(x), torch.func.vmap(torch.func.grad(g(torch)))(tx))
    # vjp under vmap, its cotangent batched too
    vj = lambda lib, fn: lambda a, u: fn.vjp(lambda z: f(lib, z), a)[1](u)  # noqa: E731
    _close(mf.vmap(vj(mg, mf))(x, v), torch.func.vmap(vj(torch, torch.func))(tx, tv))


def test_per_sample_gradients_of_a_module_match_torch() -> None:
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    tnet = tnet.double()
    net = mg.nn.Sequential(mg.nn.Linear(5, 7), mg.nn.Tanh(), mg.nn.Linear(7, 3))
    for p, tp in zip(net.parameters(), tnet.parameters()):
        p.data = tp.detach().numpy().copy()
    (x, y), (tx, ty) = _pair((6, 5), (6, 3))

    def loss(lib, fn, model):
        def one(params, a, b):
            out = fn.functional_call(model, params, (a.unsqueeze(0),))
            return lib.nn.functional.mse_loss(out, b.unsqueeze(0))

        return one

    params = {k: v.detach() for k, v in net.named_parameters()}
    tparams = {k: v.detach() for k, v in tnet.named_parameters()}
    STATS["loop"].clear()
    ours = mf.vmap(mf.grad(loss(mg, mf, net)), in_dims=(None, 0, 0))(params, x, y)
    assert not STATS["loop"], STATS["loop"]  # every op of the MLP has a batching rule
    theirs = torch.func.vmap(torch.func.grad(loss(torch, torch.func, tnet)), in_dims=(None, 0, 0))(
        tparams, tx, ty
    )
    _close(ours, theirs)


def test_in_dims_out_dims_nests_and_chunks_match_torch() -> None:
    (a, b, c), (ta, tb, tc) = _pair((3, 4), (4, 3), (2, 3))

    def fn(lib):
        return lambda d, e: (d["p"] * e.sum(), {"q": lib.exp(d["r"]) - e[0]})

    ins, tins = ({"p": a, "r": b}, c), ({"p": ta, "r": tb}, tc)
    dims = ({"p": 1, "r": 0}, None)
    outd = (0, {"q": 1})
    for chunk in (None, 2):
        ours = mf.vmap(fn(mg), in_dims=dims, out_dims=outd, chunk_size=chunk)(*ins)
        _close(ours, torch.func.vmap(fn(torch), in_dims=dims, out_dims=outd)(*tins))


def test_nested_vmap_mixes_levels_like_torch() -> None:
    (a, b), (ta, tb) = _pair((3, 5), (4, 5))

    def fn(lib):
        return lambda u, v: lib.softmax(u * v, dim=0) @ (v - u.mean())

    ours = mf.vmap(mf.vmap(fn(mg), in_dims=(None, 0)), in_dims=(0, None))(a, b)
    vm = torch.func.vmap
    _close(ours, vm(vm(fn(torch), in_dims=(None, 0)), in_dims=(0, None))(ta, tb))


def test_randomness_modes() -> None:
    x = mg.ones(4, 6)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        mf.vmap(lambda r: r + mg.randn(6))(x)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        mf.vmap(lambda r: mg.dropout(r, 0.5))(x)
    for draw in (lambda r: r + mg.randn(6), lambda r: mg.dropout(r, 0.5)):
        diff = mf.vmap(draw, randomness="different")(x).data
        same = mf.vmap(draw, randomness="same")(x).data
        assert not np.allclose(diff, diff[0])  # examples draw on their own
        np.testing.assert_array_equal(same, np.broadcast_to(same[0], same.shape))


def test_value_reads_are_refused_naming_vmap() -> None:
    x = mg.randn(3, 2)
    for read in (lambda r: r.sum().item(), lambda r: r if r.sum() > 0 else -r, float):
        with pytest.raises(RuntimeError, match="vmap"):
            mf.vmap(lambda r, _read=read: _read(r.sum()) and r)(x)


def test_data_dependent_shapes_are_refused_clearly() -> None:
    x = mg.tensor([[1.0, 0.0], [1.0, 1.0]])
    with pytest.raises(RuntimeError, match="vmap: nonzero gives results of different shapes"):
        mf.vmap(mg.nonzero)(x)


def test_ops_are_restored_after_vmap() -> None:
    code = mg.add.__code__
    with pytest.raises(ValueError):
        mf.vmap(lambda r: r + 1)(mg.zeros(2, 3), mg.zeros(3))  # an error inside
    mf.vmap(lambda r: r * 2)(mg.zeros(2, 3))
    assert mg.add.__code__ is code
    assert (mg.ones(2) + 1).data.tolist() == [2.0, 2.0]


def test_per_sample_gradients_of_a_convolution_match_torch_without_the_loop() -> None:
    (w, bias, lin, x), (tw, tb, tl, tx) = _pair((4, 2, 3, 3), (4,), (64, 3), (5, 2, 6, 6))

    def loss(lib):
        conv, relu = lib.nn.functional.conv2d, lib.nn.functional.relu
        return lambda p, a: (relu(conv(a.unsqueeze(0), p[0], p[1])).reshape(1, -1) @ p[2]).sum()

    STATS["loop"].clear()
    ours = mf.vmap(mf.grad(loss(mg)), in_dims=(None, 0))([w, bias, lin], x)
    assert not STATS["loop"], STATS["loop"]  # per-example filters: one grouped convolution
    _close(ours, torch.func.vmap(torch.func.grad(loss(torch)), in_dims=(None, 0))([tw, tb, tl], tx))
