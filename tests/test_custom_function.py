"""Custom Functions with several outputs, mark_non_differentiable / mark_dirty /
set_materialize_grads / once_differentiable, module full backward hooks, post-accumulate
grad hooks and inference_mode: each against PyTorch's behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.nn as nn


def _pair(lib):
    base = lib.autograd.Function

    class SinCos(base):
        @staticmethod
        def forward(ctx, x):
            if lib is torch:
                ctx.save_for_backward(x)
                return x.sin(), x.cos()
            ctx.save_for_backward(x)
            return np.sin(x), np.cos(x)

        @staticmethod
        def backward(ctx, gs, gc):
            (x,) = ctx.saved_tensors
            return gs * x.cos() - gc * x.sin()

    return SinCos


X0 = np.array([0.3, -1.2, 2.0])


@pytest.mark.parametrize("reference", [False, True])
@pytest.mark.parametrize("use", ["both", "first", "second"])
def test_two_outputs_match_torch(use: str, reference: bool) -> None:
    mg.set_reference_mode(reference)
    try:
        results = []
        for lib in (mg, torch):
            x = lib.tensor(X0, requires_grad=True)
            s, c = _pair(lib).apply(x)
            loss = {"both": (s * c).sum(), "first": (s * 3).sum(), "second": (c * c).sum()}[use]
            loss.backward()
            results.append((s.detach().numpy(), c.detach().numpy(), np.asarray(x.grad.tolist())))
        for a, b in zip(*results):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    finally:
        mg.set_reference_mode(False)


def test_output_node_name_and_materialize() -> None:
    seen = []

    class Two(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            seen.append((ga is None, gb is None))
            return ga * 2

    x = mg.tensor(X0, requires_grad=True)
    a, b = Two.apply(x)
    assert a.grad_fn.name() == "TwoBackward"
    a.sum().backward()
    assert seen == [(False, True)]
    np.testing.assert_array_equal(x.grad.data, 2.0)


def _sort_and_increment(lib):
    """Two Functions written for either library: a sort whose indices are marked
    non-differentiable, and an in-place ``+= 1`` marked dirty."""

    class SortIdx(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            if lib is torch:
                v, i = x.sort()
                ctx.mark_non_differentiable(i)
                ctx.save_for_backward(i)
                return v, i
            i = np.argsort(x, kind="stable")
            ctx.idx = i
            ctx.mark_non_differentiable(i)
            return x[i], i

        @staticmethod
        def backward(ctx, gv, gi):
            if lib is torch:
                (i,) = ctx.saved_tensors
                return torch.zeros_like(gv).scatter(0, i, gv)
            g = np.zeros(gv.shape)
            g[ctx.idx] = gv.data
            return mg.tensor(g)

    class AddOneInPlace(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            if lib is torch:
                x.add_(1)
            else:
                x += 1
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    return SortIdx, AddOneInPlace


def test_mark_non_differentiable_and_dirty_match_torch() -> None:
    outs = []
    for lib in (mg, torch):
        sort_idx, add_one = _sort_and_increment(lib)
        x = lib.tensor(X0, requires_grad=True)
        v, i = sort_idx.apply(x)
        assert not i.requires_grad
        y = x * 1.0
        z = add_one.apply(y)
        assert z is y
        ((v * v).sum() + (z * z).sum()).backward()
        outs.append((np.asarray(i.tolist()), np.asarray(z.tolist()), np.asarray(x.grad.tolist())))
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    leaf = mg.tensor(X0, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        _sort_and_increment(mg)[1].apply(leaf)


def test_once_differentiable_refuses_a_second_backward() -> None:
    class Square(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @mg.autograd.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x

    x = mg.tensor(X0, requires_grad=True)
    (g,) = mg.autograd.grad(Square.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 2 * X0)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.sum().backward()


def test_module_full_backward_hooks_match_torch() -> None:
    records = []
    for lib, mod in ((mg, nn), (torch, torch.nn)):
        torch.manual_seed(0)
        ref = torch.nn.Linear(3, 2).double()
        layer = mod.Linear(3, 2).double()
        if lib is mg:
            layer.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
        else:
            layer = ref
        log = []

        def pre(m, grad_output, log=log):
            log.append(("pre", np.asarray(grad_output[0].tolist())))
            return (grad_output[0] * 2,)

        def full(m, grad_input, grad_output, log=log):
            log.append(("full", np.asarray(grad_input[0].tolist())))

        layer.register_full_backward_pre_hook(pre)
        layer.register_full_backward_hook(full)
        x = lib.tensor(np.arange(6.0).reshape(2, 3) / 7, requires_grad=True)
        (layer(x) ** 2).sum().backward()
        records.append((log, np.asarray(x.grad.tolist())))
    (mlog, mg_grad), (tlog, th_grad) = records
    assert [k for k, _ in mlog] == [k for k, _ in tlog] == ["pre", "full"]
    for (_, a), (_, b) in zip(mlog, tlog):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(mg_grad, th_grad, rtol=1e-12)


def test_post_accumulate_grad_hook_matches_torch() -> None:
    calls = []
    for lib in (mg, torch):
        w = lib.tensor(X0, requires_grad=True)
        seen = []
        w.register_post_accumulate_grad_hook(lambda p, seen=seen: seen.append(p.grad.tolist()))
        (w * w).sum().backward()
        (w * 3).sum().backward()
        calls.append(seen)
    np.testing.assert_allclose(np.asarray(calls[0]), np.asarray(calls[1]), rtol=1e-12)
    y = mg.tensor(X0, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.register_post_accumulate_grad_hook(lambda p: None)


def test_inference_mode_as_torch() -> None:
    x = mg.tensor(X0, requires_grad=True)
    with mg.inference_mode():
        assert (
            mg.is_inference_mode_enabled()
            == torch.inference_mode()(torch.is_inference_mode_enabled)()
        )
        y = x * 2
    assert not y.requires_grad and not mg.is_inference_mode_enabled()
    with mg.inference_mode(False):
        assert (x * 2).requires_grad

    @mg.inference_mode()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_sparse_embedding_is_refused_at_construction() -> None:
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.Embedding(4, 3, sparse=True)
