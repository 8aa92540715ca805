"""Autograd semantics, each checked against what PyTorch does in the same situation:
accumulation, retain_graph, grad modes, detach, hooks, retain_grad, ``autograd.grad``,
error cases, very deep and very wide graphs, higher-order derivatives."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad.ops.unary import Neg


def _pair(data, dtype=np.float64, requires_grad=True):
    arr = np.asarray(data, dtype=dtype)
    return (
        mg.tensor(arr, requires_grad=requires_grad),
        torch.tensor(arr, requires_grad=requires_grad),
    )


def _close(a, b, rtol=1e-12, atol=1e-12):
    a = a.data if isinstance(a, mg.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# ------------------------------------------------------------------ accumulation
def test_gradient_accumulates_across_uses_of_a_tensor() -> None:
    xm, xt = _pair([0.5, -1.0, 2.0])
    for lib, x in ((mg, xm), (torch, xt)):
        y = x * x + 3 * x + lib.exp(x) * x
        y.sum().backward()
    _close(xm.grad, xt.grad)


def test_gradient_accumulates_across_backward_calls() -> None:
    xm, xt = _pair([0.5, -1.0, 2.0])
    for x in (xm, xt):
        (x * x).sum().backward()
        (x * 3).sum().backward()
    _close(xm.grad, xt.grad)
    _close(xm.grad, 2 * xm.data + 3)


def test_zeroing_grad_between_calls() -> None:
    xm, _ = _pair([1.0, 2.0])
    (xm * xm).sum().backward()
    xm.grad = None
    (xm * 2).sum().backward()
    _close(xm.grad, [2.0, 2.0])


# ------------------------------------------------------------------ retain_graph
def test_second_backward_without_retain_graph_raises_clearly() -> None:
    xm, xt = _pair([1.0, 2.0])
    ym, yt = (xm * xm).sum(), (xt * xt).sum()
    ym.backward()
    yt.backward()
    with pytest.raises(RuntimeError):
        yt.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        ym.backward()


def test_retain_graph_allows_second_backward_and_accumulates() -> None:
    xm, xt = _pair([1.0, -2.0])
    for lib, x in ((mg, xm), (torch, xt)):
        y = (lib.exp(x) * x).sum()
        y.backward(retain_graph=True)
        y.backward()
    _close(xm.grad, xt.grad)
    _close(xm.grad, 2 * np.exp(xm.data) * (1 + xm.data))


# ------------------------------------------------------------------ grad modes
def test_no_grad_context_and_decorator() -> None:
    x, _ = _pair([1.0, 2.0])
    with mg.no_grad():
        y = x * 2
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @mg.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    assert (x * 2).requires_grad


def test_enable_grad_inside_no_grad_context_and_decorator() -> None:
    x, _ = _pair([1.0, 2.0])

    @mg.enable_grad()
    def f(t):
        return t * 2

    with mg.no_grad():
        with mg.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
        assert f(x).requires_grad
        assert not mg.is_grad_enabled()


def test_set_grad_enabled_as_function_and_context() -> None:
    x, _ = _pair([1.0])
    with mg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    mg.set_grad_enabled(False)
    try:
        assert not mg.is_grad_enabled()
    finally:
        mg.set_grad_enabled(True)
    assert (x * 2).requires_grad

    @mg.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert mg.is_grad_enabled() and not f(x).requires_grad and mg.is_grad_enabled()


def test_no_grad_restores_mode_after_exception() -> None:
    with pytest.raises(ValueError), mg.no_grad():
        raise ValueError
    assert mg.is_grad_enabled()


def test_grad_mode_is_thread_local() -> None:
    """A thread sees grad enabled while the main thread is in no_grad (as PyTorch)."""
    x, xt = _pair([1.0, 2.0])
    seen = {}

    def worker() -> None:
        seen["enabled"] = mg.is_grad_enabled()
        seen["requires_grad"] = (x * 2).requires_grad
        seen["torch"] = torch.is_grad_enabled()

    with mg.no_grad(), torch.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert not (x * 2).requires_grad
    assert seen == {"enabled": True, "requires_grad": True, "torch": True}


# ------------------------------------------------------------------ detach
def test_detach_shares_data_and_cuts_the_graph() -> None:
    xm, xt = _pair([1.0, 2.0])
    dm, dt = (xm * 2).detach(), (xt * 2).detach()
    assert dm.requires_grad == dt.requires_grad is False
    assert dm.grad_fn is None and dm.is_leaf
    leaf = xm.detach()
    assert np.shares_memory(leaf.data, xm.data)
    ym, yt = (xm * dm).sum(), (xt * dt).sum()
    ym.backward()
    yt.backward()
    _close(xm.grad, xt.grad)  # d is a constant: the gradient is d, not 4x


# ------------------------------------------------------------------ hooks
def test_hook_on_leaf_modifies_its_gradient() -> None:
    xm, xt = _pair([1.0, -2.0, 3.0])
    for x in (xm, xt):
        x.register_hook(lambda g: g * 2)
        (x * x).sum().backward()
    _close(xm.grad, xt.grad)
    _close(xm.grad, 4 * xm.data)


def test_leaf_hook_runs_once_on_the_summed_gradient() -> None:
    """x is used twice; PyTorch sums both contributions, then calls the hook once (a
    nonlinear hook shows the difference)."""
    xm, xt = _pair([1.0, -2.0, 3.0])
    calls, grads = {"mg": [], "torch": []}, []
    for name, lib, x in (("mg", mg, xm), ("torch", torch, xt)):
        x.register_hook(lambda g, name=name: calls[name].append(g.tolist()) or g * g)
        (x * x + lib.sin(x)).sum().backward()
        grads += lib.autograd.grad((x * x).sum(), x)  # hooks run in grad() too
    _close(xm.grad, xt.grad)
    _close(grads[0], grads[1])
    _close(grads[0], (2 * xm.data) ** 2)
    assert len(calls["mg"]) == len(calls["torch"]) == 2
    np.testing.assert_allclose(calls["mg"], calls["torch"], rtol=1e-12)


def test_hook_on_non_leaf_modifies_the_gradient_flowing_back() -> None:
    xm, xt = _pair([1.0, -2.0, 3.0])
    for lib, x in ((mg, xm), (torch, xt)):
        y = lib.exp(x)
        y.register_hook(lambda g: g * 10)
        (y * y).sum().backward()
    _close(xm.grad, xt.grad)


def test_hook_returning_none_keeps_gradient_and_handle_removes_it() -> None:
    xm, xt = _pair([1.0, 2.0])
    for x in (xm, xt):
        handle = x.register_hook(lambda g: g * 100)
        x.register_hook(lambda g: None)
        handle.remove()
        (x * 3).sum().backward()
    _close(xm.grad, xt.grad)
    _close(xm.grad, [3.0, 3.0])


def test_register_hook_on_tensor_without_grad_raises() -> None:
    with pytest.raises(RuntimeError):
        torch.ones(2).register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="requires_grad|require grad"):
        mg.ones(2).register_hook(lambda g: g)


# ------------------------------------------------------------------ retain_grad / .grad
def test_non_leaf_grad_is_none_without_retain_grad() -> None:
    xm, xt = _pair([1.0, 2.0])
    ym, yt = xm * 2, xt * 2
    (ym * ym).sum().backward()
    (yt * yt).sum().backward()
    assert ym.grad is None
    with pytest.warns(UserWarning):
        assert yt.grad is None
    assert not ym.is_leaf and xm.is_leaf


def test_retain_grad_keeps_non_leaf_gradient() -> None:
    xm, xt = _pair([1.0, 2.0])
    ym, yt = xm * 2, xt * 2
    ym.retain_grad()
    yt.retain_grad()
    assert ym.retains_grad and yt.retains_grad
    for _ in range(2):  # the retained gradient accumulates across calls, like a leaf's
        (ym * ym).sum().backward(retain_graph=True)
        (yt * yt).sum().backward(retain_graph=True)
        _close(ym.grad, yt.grad)
    assert not ym.grad.requires_grad


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph")  # torch's
def test_backward_with_create_graph_gives_differentiable_grad() -> None:
    xm, xt = _pair([0.5, 1.5])
    for lib, x in ((mg, xm), (torch, xt)):
        (lib.sin(x) * x).sum().backward(create_graph=True)
        assert x.grad.requires_grad
        g = x.grad
        x.grad = None
        g.sum().backward()
    _close(xm.grad, xt.grad)


# ------------------------------------------------------------------ autograd.grad
def test_grad_does_not_touch_dot_grad_and_matches_torch() -> None:
    xm, xt = _pair([0.5, 1.5])
    wm, wt = _pair([2.0, -1.0])
    (gxm, gwm) = mg.autograd.grad((mg.tanh(xm) * wm).sum(), [xm, wm])
    (gxt, gwt) = torch.autograd.grad((torch.tanh(xt) * wt).sum(), [xt, wt])
    _close(gxm, gxt)
    _close(gwm, gwt)
    assert xm.grad is None and wm.grad is None


def test_grad_with_unused_input() -> None:
    xm, _ = _pair([1.0])
    um, ut = _pair([2.0])
    xt = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad((xt * 2).sum(), [xt, ut])
    with pytest.raises(RuntimeError, match="allow_unused"):
        mg.autograd.grad((xm * 2).sum(), [xm, um])
    gm = mg.autograd.grad((xm * 2).sum(), [xm, um], allow_unused=True)
    gt = torch.autograd.grad((xt * 2).sum(), [xt, ut], allow_unused=True)
    assert gm[1] is None and gt[1] is None
    _close(gm[0], gt[0])


def test_grad_outputs_gives_vector_jacobian_product() -> None:
    xm, xt = _pair([[0.5, 1.5, -1.0], [2.0, 0.1, 0.3]])
    v = np.random.default_rng(0).standard_normal((2, 3))
    (gm,) = mg.autograd.grad(mg.softmax(xm, 1), xm, mg.tensor(v))
    (gt,) = torch.autograd.grad(torch.softmax(xt, 1), xt, torch.tensor(v))
    _close(gm, gt)


def test_grad_of_several_outputs_sums_their_vjps() -> None:
    xm, xt = _pair([0.5, -1.5])
    (gm,) = mg.autograd.grad([xm * xm, mg.sin(xm)], [xm], [mg.ones(2, dtype=mg.float64)] * 2)
    (gt,) = torch.autograd.grad([xt * xt, torch.sin(xt)], [xt], [torch.ones(2).double()] * 2)
    _close(gm, gt)


def test_non_scalar_backward_without_gradient_raises() -> None:
    xm, xt = _pair([1.0, 2.0])
    with pytest.raises(RuntimeError):
        (xt * 2).backward()
    with pytest.raises(RuntimeError, match="scalar"):
        (xm * 2).backward()
    with pytest.raises(RuntimeError, match="scalar"):
        mg.autograd.grad(xm * 2, xm)


def test_backward_gradient_of_wrong_shape_raises() -> None:
    xm, _ = _pair([1.0, 2.0])
    with pytest.raises(RuntimeError, match="shape"):
        (xm * 2).backward(mg.ones(3, dtype=mg.float64))


# ------------------------------------------------------------------ int tensors
def test_requires_grad_on_int_tensor_raises() -> None:
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        mg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        mg.tensor([1, 2]).requires_grad_()


def test_backward_of_int_tensor_raises() -> None:
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2]).sum().backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor([1, 2]).sum().backward()


def test_int_result_of_float_input_has_no_grad() -> None:
    xm, xt = _pair([1.5, -2.5])
    assert xm.argmax().requires_grad == xt.argmax().requires_grad is False
    assert (xm > 0).requires_grad == (xt > 0).requires_grad is False


# ------------------------------------------------------------------ graph shapes
def test_chain_of_100000_ops_backward_has_no_recursion_limit() -> None:
    x = mg.tensor(1.5, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = Neg.apply(y)  # the cheapest recorded op: the test is about depth
    y.backward()
    assert x.grad.item() == 1.0
    del y  # freeing the chain must not recurse either


def test_wide_graph_sums_all_branches() -> None:
    xm, xt = _pair([0.3, -0.7])
    for lib, x in ((mg, xm), (torch, xt)):
        branches = [x * float(k) for k in range(1, 501)]
        total = lib.stack(branches).sum()
        total.backward()
    _close(xm.grad, xt.grad)
    _close(xm.grad, [500 * 501 / 2] * 2)


def test_diamond_graph_counts_each_path_once() -> None:
    xm, xt = _pair([0.3, -0.7])
    for lib, x in ((mg, xm), (torch, xt)):
        a = lib.exp(x)
        b, c = a * 2, lib.sin(a)
        (b * c + a).sum().backward()
    _close(xm.grad, xt.grad)


# ------------------------------------------------------------------ higher order
def _mlp(lib, x, w1, b1, w2):
    h = lib.tanh(x @ w1 + b1)
    return (lib.sigmoid(h @ w2) ** 2).sum()


def test_hessian_vector_product_of_small_mlp_matches_torch() -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in ((4, 3), (3, 5), (5,), (5, 2))]
    vs = [rng.standard_normal(a.shape) for a in arrays[1:]]
    results = []
    for lib, make in ((mg, mg.tensor), (torch, torch.tensor)):
        x = make(arrays[0])
        params = [make(a, requires_grad=True) for a in arrays[1:]]
        loss = _mlp(lib, x, *params)
        grads = lib.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * make(v)).sum() for g, v in zip(grads, vs))
        results.append([lib, grads, lib.autograd.grad(dot, params)])
    for gm, gt in zip(results[0][1], results[1][1]):
        _close(gm, gt)
    for hm, ht in zip(results[0][2], results[1][2]):
        _close(hm, ht, rtol=1e-10, atol=1e-12)


def test_third_derivative_matches_torch() -> None:
    xm, xt = _pair([0.4, -1.2])
    outs = []
    for lib, x in ((mg, xm), (torch, xt)):
        y = (lib.sin(x) * lib.exp(x)).sum()
        (g1,) = lib.autograd.grad(y, x, create_graph=True)
        (g2,) = lib.autograd.grad(g1.sum(), x, create_graph=True)
        (g3,) = lib.autograd.grad(g2.sum(), x)
        outs.append(g3)
    _close(*outs)


def test_gradcheck_reports_a_wrong_derivative() -> None:
    class BadSquare(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # wrong: should be 2x

    x = mg.tensor([0.5, 1.5], dtype=mg.float64, requires_grad=True)
    assert mg.autograd.gradcheck(lambda t: t * t, [x])
    assert not mg.autograd.gradcheck(BadSquare.apply, [x], raise_exception=False)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        mg.autograd.gradcheck(BadSquare.apply, [x])
