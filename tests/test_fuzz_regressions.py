"""Failures the random-program fuzzers found, each minimised to a small program and
compared with PyTorch (``tests/test_fuzz.py``, ``tests/test_fuzz_families.py``,
``tests/test_fuzz_ops.py``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import minigrad


# ------------------------------------------------------------ size arguments
@pytest.mark.parametrize("method", ["view", "reshape", "permute", "expand", "repeat"])
def test_shape_methods_without_sizes_refuse_as_pytorch(method):
    """``x.view(*x.shape)`` on a 0-d tensor is ``x.view()``, which PyTorch refuses
    (TypeError); minigrad returned x. The 0-d target is spelled ``x.view(())``."""
    with pytest.raises(TypeError):
        getattr(torch.tensor(1.5), method)()
    with pytest.raises(TypeError, match=method):
        getattr(minigrad.tensor(1.5), method)()
    mg, th = getattr(minigrad.tensor(1.5), method)(()), getattr(torch.tensor(1.5), method)(())
    assert mg.shape == tuple(th.shape) == ()
    assert mg.item() == th.item()


# ------------------------------------------------------------ rounding divisions at jumps
def test_remainder_at_a_jump_is_ill_conditioned_not_wrong():
    """remainder(x, 1.5) jumps at x = 3; PyTorch's float64 sqrt(2.0) is an ulp below the
    correctly rounded one (NumPy's), so 2·sqrt(2)² − 1 lands on either side of 3 and the
    remainders differ by 1.5. Both libraries are right for their inputs: each library's
    remainder of the other's input agrees with the other's result. (The fuzzer's
    divisors are irrational since.)"""
    x = torch.tensor(2.0, dtype=torch.float64)
    v_torch = float(x.sqrt() ** 2 * 2 - 1)
    v_np = float(np.sqrt(2.0) ** 2 * 2 - 1)
    for v in (v_torch, v_np):
        mg = minigrad.remainder(minigrad.tensor(v, dtype=minigrad.float64), 1.5).item()
        th = torch.remainder(torch.tensor(v, dtype=torch.float64), 1.5).item()
        assert mg == th
    assert math.isclose(abs(v_torch - v_np), 0.0, abs_tol=1e-14)


def test_cross_of_a_vector_with_itself_then_remainder():
    """cross(a, a) is exactly 0 in minigrad and ±1e-18 in PyTorch (its products are
    fused differently), and remainder jumps at 0, so remainder(cross(a, a), p) is 0 or
    nearly p. Both are right for their inputs: on the same input the libraries agree.
    (The fuzzer moves the jumps of remainder, floor and ceil off 0 since.)"""
    a = np.tanh(np.tanh(np.array([0.12573022, -0.13210486, 0.64042265])))
    mg = minigrad.cross(minigrad.tensor(a), minigrad.tensor(a), dim=0).numpy()
    th = torch.cross(torch.tensor(a), torch.tensor(a), dim=0).numpy()
    np.testing.assert_allclose(mg, th, atol=1e-15)
    for v in (mg, th):
        np.testing.assert_array_equal(
            minigrad.remainder(minigrad.tensor(v), 1.3).numpy(),
            torch.remainder(torch.tensor(v), 1.3).numpy(),
        )


# ------------------------------------------------------------ empty reductions
@pytest.mark.parametrize("op", ["amax", "amin", "max", "min"])
@pytest.mark.parametrize("shape", [(0,), (2, 0)])
def test_reducing_all_of_an_empty_tensor_raises_pytorchs_type(op, shape):
    """``x.amax()`` of an empty tensor: PyTorch raises RuntimeError (no dim given),
    IndexError for a zero-size dim; minigrad raised IndexError for both."""
    with pytest.raises(RuntimeError):
        getattr(torch.zeros(shape), op)()
    with pytest.raises(RuntimeError, match=f"{op.lstrip('a')}.*dim"):
        getattr(minigrad.zeros(shape), op)()
    d = len(shape) - 1
    with pytest.raises(IndexError):
        getattr(torch.zeros(shape), op)(dim=d)
    with pytest.raises(IndexError, match="zero-size"):
        getattr(minigrad.zeros(shape), op)(dim=d)


# ------------------------------------------------------------ PyTorch's own accuracy
def test_trigamma_agrees_with_pytorch_to_its_accuracy():
    """PyTorch's float64 polygamma(1, x) is accurate to ~5e-10 relative on (0.3, 2.3)
    (at 1.135 it is 5e-10 high); minigrad's satisfies the recurrence
    ψ'(x) − ψ'(x + 1) = 1/x² to rounding. The fuzzers compare it at 1e-7."""
    x = np.linspace(0.3, 2.3, 201)
    mg = minigrad.polygamma(1, minigrad.tensor(x)).numpy()
    th = torch.polygamma(1, torch.tensor(x)).numpy()
    np.testing.assert_allclose(mg, th, rtol=2e-9)
    nxt = minigrad.polygamma(1, minigrad.tensor(x + 1)).numpy()
    np.testing.assert_allclose(mg - nxt, 1 / x**2, rtol=1e-14)


def test_kron_of_a_non_contiguous_operand_against_a_3d_one():
    """PyTorch's kron raises (view of a non-contiguous tensor) for a transposed 2-d
    operand against a 3-d one; on contiguous copies it runs, and minigrad's kron of the
    transposed operand itself agrees with that."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((2, 1, 3))
    with pytest.raises(RuntimeError, match="view"):
        torch.kron(torch.tensor(a).T, torch.tensor(b))
    th = torch.kron(torch.tensor(a).T.contiguous(), torch.tensor(b))
    mg = minigrad.kron(minigrad.tensor(a).T, minigrad.tensor(b))
    np.testing.assert_allclose(mg.numpy(), th.numpy(), rtol=1e-12)
    # a "contiguous" (2, 1) column with strides (1, 2) fails too; with (1, 1) it runs
    col = torch.tensor([[0.5, -1.5]]).T
    with pytest.raises(RuntimeError, match="view"):
        torch.kron(torch.tensor(a), col)
    th = torch.kron(torch.tensor(a), col.reshape(-1).reshape(2, 1))
    mg = minigrad.kron(minigrad.tensor(a), minigrad.tensor([[0.5, -1.5]]).T)
    np.testing.assert_allclose(mg.numpy(), th.numpy(), rtol=1e-12)


# ------------------------------------------------------------ gradients of step functions
@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "sign"])
def test_step_function_gradient_is_zero_even_for_a_nan_or_inf_upstream(name):
    """hypot(trunc(x), trunc(x)) at 0 sends dy = NaN back to trunc; PyTorch's gradient
    of a step function is zeros, minigrad's was dy·0 = NaN (reverse mode and jvp)."""
    nan, inf = float("nan"), float("inf")

    def grads(lib):
        x = lib.tensor([0.5, 1.5, -2.0], dtype=lib.float64, requires_grad=True)
        up = lib.tensor([nan, inf, 1.0], dtype=lib.float64)
        (g,) = lib.autograd.grad(getattr(lib, name)(x), [x], up)
        return g.detach().numpy()

    np.testing.assert_array_equal(grads(minigrad), grads(torch))
    primal, tangent = [0.5, 1.5], [nan, 1.0]
    _, jm = minigrad.func.jvp(
        getattr(minigrad, name), (minigrad.tensor(primal),), (minigrad.tensor(tangent),)
    )
    _, jt = torch.func.jvp(
        getattr(torch, name),
        (torch.tensor(primal, dtype=torch.float64),),
        (torch.tensor(tangent, dtype=torch.float64),),
    )
    np.testing.assert_array_equal(jm.numpy(), jt.numpy())


def test_step_through_hypot_at_zero_as_the_fuzzer_found_it():
    def grad(lib):
        x = lib.tensor([[0.2, -1.6], [0.7, 2.4]], dtype=lib.float64, requires_grad=True)
        t = lib.trunc(x)
        lib.hypot(t, t).sum().backward()
        return x.grad.numpy()

    np.testing.assert_array_equal(grad(minigrad), grad(torch))


def test_atan2_gradient_at_the_origin_is_pytorchs_zero():
    """atan2(L, L) of a Cholesky factor: its upper triangle is (0, 0), where PyTorch's
    gradient is 0; minigrad's was 0/0 = NaN, which then spread through cholesky's
    backward to every element."""

    def grads(lib):
        a = lib.tensor([[0.0, 1.0, 0.0]], dtype=lib.float64, requires_grad=True)
        b = lib.tensor([[0.0, 2.0, -0.5]], dtype=lib.float64, requires_grad=True)
        lib.atan2(a, b).sum().backward()
        m = lib.tensor([[2.0, 0.3], [0.3, 1.5]], dtype=lib.float64, requires_grad=True)
        low = lib.linalg.cholesky(m)
        lib.atan2(low, low).sum().backward()
        return a.grad.numpy(), b.grad.numpy(), m.grad.numpy()

    for mg, th in zip(grads(minigrad), grads(torch)):
        np.testing.assert_allclose(mg, th, rtol=1e-12, atol=1e-15)
