"""``minigrad.func`` and ``minigrad.autograd.functional`` against ``torch.func`` and
``torch.autograd.functional`` (float64), and the ``forward_ad`` API's contracts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfwd

import minigrad as mg
import minigrad.func as mf
from minigrad.autograd import forward_ad as fwd
from minigrad.autograd import functional as mfn

RTOL, ATOL = 1e-7, 1e-10
rng = np.random.default_rng(0)


def _close(a, b) -> None:
    if isinstance(b, (tuple, list)):
        assert isinstance(a, (tuple, list)) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            _close(x, y)
        return
    if isinstance(b, dict):
        assert set(a) == set(b)
        for k in b:
            _close(a[k], b[k])
        return
    a = a.data if isinstance(a, mg.Tensor) else np.asarray(a)
    b = b.detach().numpy()
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, RTOL, ATOL)


def _pair(*shapes):
    arrs = [rng.standard_normal(s) for s in shapes]
    return [mg.tensor(a) for a in arrs], [torch.tensor(a) for a in arrs]


# Functions written once for both libraries (lib is minigrad or torch).
def f_scalar(lib, x, y):
    return (lib.sin(x) * y).sum() + (x * x).sum() ** 2 + lib.tanh(y).exp().mean()


def f_vec(lib, x):
    return lib.softmax(x * 2.0, dim=0) * x.sum() + lib.sigmoid(x)


def f_mat(lib, w, x):
    return lib.tanh(x @ w).sum(dim=0)


FUNCS = {"scalar": (f_scalar, [(3,), (3,)]), "mat": (f_mat, [(3, 2), (4, 3)])}


@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_grad_and_grad_and_value_match_torch(argnums) -> None:
    (x, y), (tx, ty) = _pair((3,), (3,))
    _close(
        mf.grad(lambda a, b: f_scalar(mg, a, b), argnums)(x, y),
        torch.func.grad(lambda a, b: f_scalar(torch, a, b), argnums)(tx, ty),
    )
    g, v = mf.grad_and_value(lambda a, b: f_scalar(mg, a, b), argnums)(x, y)
    tg, tv = torch.func.grad_and_value(lambda a, b: f_scalar(torch, a, b), argnums)(tx, ty)
    _close(g, tg)
    _close(v, tv)


def test_grad_has_aux_and_nested_grad() -> None:
    (x,), (tx,) = _pair((4,))

    def mk(lib):
        return lambda a: ((lib.sin(a) * a).sum(), {"sq": (a * a).sum()})

    g, aux = mf.grad(mk(mg), has_aux=True)(x)
    tg, taux = torch.func.grad(mk(torch), has_aux=True)(tx)
    _close(g, tg)
    _close(aux, taux)
    # grad of a sum of grad: a nested transform (third derivative of sin x · x appears)
    gg = mf.grad(lambda a: mf.grad(lambda b: (mg.sin(b) * b * b).sum())(a).sum())(x)
    tgg = torch.func.grad(
        lambda a: torch.func.grad(lambda b: (torch.sin(b) * b * b).sum())(a).sum()
    )(tx)
    _close(gg, tgg)


def test_vjp_and_jvp_match_torch() -> None:
    (x,), (tx,) = _pair((5,))
    (u, v), (tu, tv) = _pair((5,), (5,))
    out, fn = mf.vjp(lambda a: f_vec(mg, a), x)
    tout, tfn = torch.func.vjp(lambda a: f_vec(torch, a), tx)
    _close(out, tout)
    _close(fn(u), tfn(tu))
    out, jv = mf.jvp(lambda a: f_vec(mg, a), (x,), (v,))
    tout, tjv = torch.func.jvp(lambda a: f_vec(torch, a), (tx,), (tv,))
    _close(out, tout)
    _close(jv, tjv)
    # has_aux on both
    o, j, aux = mf.jvp(lambda a: (mg.exp(a), a.sum()), (x,), (v,), has_aux=True)
    to, tj, taux = torch.func.jvp(lambda a: (torch.exp(a), a.sum()), (tx,), (tv,), has_aux=True)
    _close((o, j, aux), (to, tj, taux))


@pytest.mark.parametrize("name", sorted(FUNCS))
@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_jacrev_and_jacfwd_match_torch(name, argnums) -> None:
    fn, shapes = FUNCS[name]
    mx, tx = _pair(*shapes)
    for ours, theirs in ((mf.jacrev, torch.func.jacrev), (mf.jacfwd, torch.func.jacfwd)):
        _close(
            ours(lambda *a: fn(mg, *a), argnums)(*mx),
            theirs(lambda *a: fn(torch, *a), argnums)(*tx),
        )


def test_jacobian_of_a_tuple_output() -> None:
    (x,), (tx,) = _pair((3,))
    for ours, theirs in ((mf.jacrev, torch.func.jacrev), (mf.jacfwd, torch.func.jacfwd)):
        _close(
            ours(lambda a: (a.exp(), (a * a).sum()))(x),
            theirs(lambda a: (a.exp(), (a * a).sum()))(tx),
        )


@pytest.mark.parametrize("argnums", [0, (0, 1)])
def test_hessian_is_forward_over_reverse_and_matches_torch(argnums) -> None:
    (x, y), (tx, ty) = _pair((3,), (3,))
    h = mf.hessian(lambda a, b: f_scalar(mg, a, b), argnums)(x, y)
    th = torch.func.hessian(lambda a, b: f_scalar(torch, a, b), argnums)(tx, ty)
    _close(h, th)
    # of a small network's loss in its weights
    (w, xb), (tw, txb) = _pair((3, 2), (4, 3))
    _close(
        mf.hessian(lambda a: f_mat(mg, a, xb).sum())(w),
        torch.func.hessian(lambda a: f_mat(torch, a, txb).sum())(tw),
    )


# ------------------------------------------------------------------ vmap
VMAP_CASES = {
    "exp": (lambda lib: lambda a: lib.exp(a), [(4, 3)], 0),
    "sum": (lambda lib: lambda a: a.sum(), [(4, 3)], 0),
    "softmax": (lambda lib: lambda a: lib.softmax(a, dim=-1), [(4, 3)], 0),
    "matmul": (lambda lib: lambda a, b: a @ b, [(4, 2, 3), (3, 5)], (0, None)),
    "mul_dim1": (lambda lib: lambda a, b: a * b, [(3, 4), (4, 3)], (1, 0)),
    "outer": (lambda lib: lambda a, b: a[:, None] * b[None, :], [(2, 3), (2, 4)], 0),
}


@pytest.mark.parametrize("case", sorted(VMAP_CASES))
def test_vmap_matches_torch(case) -> None:
    mk, shapes, dims = VMAP_CASES[case]
    mx, tx = _pair(*shapes)
    _close(mf.vmap(mk(mg), in_dims=dims)(*mx), torch.func.vmap(mk(torch), in_dims=dims)(*tx))
    _close(
        mf.vmap(mk(mg), in_dims=dims, out_dims=-1)(*mx) if case != "sum" else mg.tensor(0.0),
        torch.func.vmap(mk(torch), in_dims=dims, out_dims=-1)(*tx)
        if case != "sum"
        else torch.tensor(0.0),
    )


def test_nested_vmap_matches_torch() -> None:
    (a, b), (ta, tb) = _pair((3, 4), (5, 4))
    ours = mf.vmap(mf.vmap(lambda u, v: (u * v).sum(), in_dims=(None, 0)), in_dims=(0, None))
    theirs = torch.func.vmap(
        torch.func.vmap(lambda u, v: (u * v).sum(), in_dims=(None, 0)), in_dims=(0, None)
    )
    _close(ours(a, b), theirs(ta, tb))


def _mlp(lib, params, x):
    h = lib.tanh(x @ params["w1"] + params["b1"])
    return h @ params["w2"]


def test_per_sample_gradients_of_an_mlp() -> None:
    shapes = {"w1": (3, 5), "b1": (5,), "w2": (5, 2)}
    ps, tps = {}, {}
    for k, s in shapes.items():
        (ps[k],), (tps[k],) = _pair(s)
    (x, y), (tx, ty) = _pair((6, 3), (6, 2))

    def loss(lib):
        return lambda p, xi, yi: ((_mlp(lib, p, xi) - yi) ** 2).sum()

    ours = mf.vmap(mf.grad(loss(mg)), in_dims=(None, 0, 0))(ps, x, y)
    theirs = torch.func.vmap(torch.func.grad(loss(torch)), in_dims=(None, 0, 0))(tps, tx, ty)
    _close(ours, theirs)
    assert ours["w1"].shape == (6, 3, 5)


def test_functional_call_with_an_nn_module() -> None:
    model = mg.nn.Linear(3, 2)
    tmodel = torch.nn.Linear(3, 2)
    params = {k: mg.tensor(rng.standard_normal(v.shape)) for k, v in model.named_parameters()}
    tparams = {k: torch.tensor(v.data) for k, v in params.items()}
    (x,), (tx,) = _pair((4, 3))
    _close(
        mf.functional_call(model, params, (x,)), torch.func.functional_call(tmodel, tparams, (tx,))
    )
    g = mf.grad(lambda p: mf.functional_call(model, p, (x,)).sum())(params)
    tg = torch.func.grad(lambda p: torch.func.functional_call(tmodel, p, (tx,)).sum())(tparams)
    _close(g, tg)
    assert model.weight is not params["weight"]  # restored


def test_vmap_refuses_mismatched_sizes() -> None:
    with pytest.raises(ValueError, match="different sizes"):
        mf.vmap(lambda a, b: a + b)(mg.zeros(2, 3), mg.zeros(3, 3))


# ------------------------------------------------------------------ autograd.functional
def _fn2(lib):
    return lambda a, b: (lib.sin(a) * b.sum() + a * a, (a * b).exp())


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_autograd_functional_jacobian(strategy) -> None:
    (a, b), (ta, tb) = _pair((3,), (3,))
    _close(
        mfn.jacobian(_fn2(mg), (a, b), strategy=strategy),
        torch.autograd.functional.jacobian(
            _fn2(torch), (ta, tb), strategy=strategy, vectorize=strategy == "forward-mode"
        ),
    )
    _close(
        mfn.jacobian(lambda u: mg.exp(u) * 2.0, a),
        torch.autograd.functional.jacobian(lambda u: torch.exp(u) * 2.0, ta),
    )


def test_autograd_functional_hessian_hvp_vhp() -> None:
    (a, b, v, w), (ta, tb, tv, tw) = _pair((3,), (3,), (3,), (3,))
    _close(
        mfn.hessian(lambda u, s: f_scalar(mg, u, s), (a, b)),
        torch.autograd.functional.hessian(lambda u, s: f_scalar(torch, u, s), (ta, tb)),
    )
    _close(
        mfn.hessian(lambda u: f_scalar(mg, u, b), a),
        torch.autograd.functional.hessian(lambda u: f_scalar(torch, u, tb), ta),
    )
    for ours, theirs in (
        (mfn.hvp, torch.autograd.functional.hvp),
        (mfn.vhp, torch.autograd.functional.vhp),
    ):
        _close(
            ours(lambda u, s: f_scalar(mg, u, s), (a, b), (v, w)),
            theirs(lambda u, s: f_scalar(torch, u, s), (ta, tb), (tv, tw)),
        )
        out, hv = ours(lambda u: f_scalar(mg, u, b), a, v, create_graph=True)
        assert hv.requires_grad


# ------------------------------------------------------------------ forward_ad API
def test_forward_ad_api_matches_torch() -> None:
    (x, v), (tx, tv) = _pair((3,), (3,))
    with fwd.dual_level():
        d = fwd.make_dual(x, v)
        y = mg.tanh(d) * d
        p, t = fwd.unpack_dual(y)
        assert fwd.unpack_dual(x).tangent is None
    with tfwd.dual_level():
        td = tfwd.make_dual(tx, tv)
        ty = torch.tanh(td) * td
        tp, tt = tfwd.unpack_dual(ty)
    _close((p, t), (tp, tt))
    assert fwd.unpack_dual(y).tangent is None  # the level is closed
    with pytest.raises(RuntimeError, match="no dual level"):
        fwd.make_dual(x, v)
    with fwd.dual_level(), pytest.raises(RuntimeError, match="shape"):
        fwd.make_dual(x, mg.zeros(4))


def test_tangent_is_differentiable_reverse_over_forward() -> None:
    """d/dx of the tangent of f along v: the Hessian-vector product H v."""
    (x, v), (tx, tv) = _pair((4,), (4,))
    xr = mg.tensor(x.data, requires_grad=True)
    with fwd.dual_level():
        y = (mg.sin(fwd.make_dual(xr, v)) ** 3).sum()
        t = fwd.unpack_dual(y).tangent
    (g,) = mg.autograd.grad(t, [xr])
    _, th = torch.autograd.functional.hvp(lambda a: (torch.sin(a) ** 3).sum(), tx, tv)
    _close(g, th)


def _layer_norm_composed(a):
    """torch's fused layer_norm gives a wrong ∇ₓ of its jvp (torch 2.13; central differences
    of its own jvp agree with minigrad and with this composition), so torch's side is this."""
    xc = a - a.mean(-1, keepdim=True)
    return xc * ((xc * xc).mean(-1, keepdim=True) + 1e-5).rsqrt()


ROF_CASES = {
    "layer_norm": lambda lib: (
        (lambda a: lib.nn.functional.layer_norm(a, (3,)) * a)
        if lib is mg
        else (lambda a: _layer_norm_composed(a) * a)
    ),
    "softmax": lambda lib: lambda a: lib.softmax(a * a, dim=-1),
    "log_softmax": lambda lib: lambda a: lib.log_softmax(a * a, dim=0),
    "logsumexp": lambda lib: lambda a: lib.logsumexp(a * a, dim=1),
    "maximum": lambda lib: lambda a: lib.maximum(a * a, a.exp()),
    "prod": lambda lib: lambda a: lib.prod(a, dim=1),
    "cross_entropy": lambda lib: (
        lambda a: lib.nn.functional.cross_entropy(a * a, lib.tensor([0, 2]))
    ),
}


@pytest.mark.parametrize("case", sorted(ROF_CASES))
def test_reverse_over_forward_matches_torch(case) -> None:
    """∇ₓ ⟨u, J(x) v⟩: the jvp rules (and the transpose trick) are differentiable."""
    (x, v), (tx, tv) = _pair((2, 3), (2, 3))
    f, tf = ROF_CASES[case](mg), ROF_CASES[case](torch)
    u = rng.standard_normal(np.shape(tf(tx).detach().numpy()))
    ours = mf.grad(lambda a: (mf.jvp(f, (a,), (v,))[1] * mg.tensor(u)).sum())(x)
    theirs = torch.func.grad(
        lambda a: (torch.func.jvp(tf, (a,), (tv,))[1] * torch.tensor(u)).sum()
    )(tx)
    _close(ours, theirs)


def test_nested_forward_mode_and_random_reruns_refuse_clearly() -> None:
    (x, v), _ = _pair((3,), (3,))
    with pytest.raises(RuntimeError, match="nested forward-mode"):
        mf.jvp(lambda a: mf.jvp(mg.exp, (a,), (v,))[1], (x,), (v,))
    q = mg.randn(1, 2, 3, dtype=mg.float64)

    def attend(a):
        return mg.nn.functional.scaled_dot_product_attention(a, a, a, dropout_p=0.5)

    if mg.fast.enabled():  # the fused kernel: its jvp would re-run the op
        with pytest.raises(NotImplementedError, match="dropout_p"):
            mf.jvp(attend, (q,), (q,))
    else:  # the reference composition: dropout's jvp reuses the mask it drew
        out, tangent = mf.jvp(attend, (q,), (q * 0.0,))
        assert not np.any(tangent.data)
