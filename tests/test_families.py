"""The engine's families of silently-wrong answers, each case against PyTorch.

Every test runs the same program in minigrad and in PyTorch and compares the values
and gradients, or checks that both refuse (the exception type matches PyTorch's, the
message names the op). Families: masks that select (not multiply), PyTorch's kinks,
rounding divisions in the graph, type promotion with float16, integer division by
zero, overflowing literals, random dtypes and ranges, empty dimensions, in-place writes
to saved outputs, in-place fills of non-leaves.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import minigrad
import minigrad.nn.functional as F

warnings.filterwarnings("ignore", category=RuntimeWarning)


def _both(program):
    """Run ``program(lib, F)`` with minigrad and with torch: (minigrad's, torch's)."""
    return program(minigrad, F), program(torch, TF)


def _close(a, b, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-7, atol=atol)


def _grad_of(fn, values):
    def program(lib, fl):
        x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
        fn(lib, fl, x).sum().backward()
        return x.grad.tolist()

    return program


# ------------------------------------------------------------ masks select
SELECTING = {
    "relu": lambda lib, fl, x: fl.relu(x).sqrt(),
    "relu6": lambda lib, fl, x: fl.relu6(x).sqrt(),
    "hardtanh": lambda lib, fl, x: fl.hardtanh(x, 0.0, 1.0).sqrt(),
    "threshold": lambda lib, fl, x: fl.threshold(x, 0.0, 0.0).sqrt(),
    "clamp_min": lambda lib, fl, x: x.clamp(min=0).sqrt(),
    "clamp_both": lambda lib, fl, x: x.clamp(0, 0.7).sqrt(),
    "where": lambda lib, fl, x: lib.where(x > 0, x, lib.zeros_like(x)).sqrt(),
    "hardsigmoid": lambda lib, fl, x: (fl.hardsigmoid(x * 10) - 0.0).sqrt(),
}


@pytest.mark.parametrize("name", list(SELECTING))
def test_mask_selects_so_an_infinite_gradient_gives_zero_not_nan(name):
    """d/dx sqrt(relu(x)) at x < 0: sqrt sends dy = inf back, relu must give 0 there
    (PyTorch selects; 0 · inf would be NaN)."""
    mg, th = _both(_grad_of(SELECTING[name], [-2.0, 0.5, -0.3]))
    _close(mg, th)
    assert not np.isnan(mg).any()


KINKS = {
    "relu6": (lambda lib, fl, x: fl.relu6(x), [0.0, 6.0, 3.0, -1.0, 7.0]),
    "hardtanh": (lambda lib, fl, x: fl.hardtanh(x), [-1.0, 1.0, 0.5, -2.0, 2.0]),
    "hardtanh_bounds": (lambda lib, fl, x: fl.hardtanh(x, -0.5, 2.0), [-0.5, 2.0, 1.0]),
    "hardswish": (lambda lib, fl, x: fl.hardswish(x), [-3.0, 3.0, 0.0, -4.0, 4.0, 1.5]),
    "clamp": (lambda lib, fl, x: x.clamp(0, 1), [0.0, 1.0, 0.5, 2.0]),
    "relu": (lambda lib, fl, x: fl.relu(x), [0.0, 1.0, -1.0]),
    "abs": (lambda lib, fl, x: x.abs(), [0.0, 1.0, -1.0]),
}


@pytest.mark.parametrize("name", list(KINKS))
def test_gradient_at_the_kinks_is_pytorchs(name):
    fn, values = KINKS[name]
    mg, th = _both(_grad_of(fn, values))
    _close(mg, th)


def test_hardsigmoid_kinks_at_plus_minus_three():
    """PyTorch computes hardsigmoid's float64 gradient as 1/6 rounded through float32
    (0.1666666716...), so the interior is compared at float32's resolution; the
    kinks (0 at ±3) exactly."""
    mg, th = _both(_grad_of(lambda lib, fl, x: fl.hardsigmoid(x), [-3.0, 3.0, 0.0, 1.0, 5.0]))
    np.testing.assert_allclose(mg, th, rtol=1e-7, atol=1e-7)
    assert mg[0] == th[0] == 0 and mg[1] == th[1] == 0


def test_sign_of_nan_is_zero():
    mg, th = _both(lambda lib, fl: lib.sign(lib.tensor([float("nan"), -1.0, 0.0, 2.0])).tolist())
    assert mg == th


def test_negative_base_power_gradient_is_nan_not_a_domain_error():
    def program(lib, fl):
        x = lib.tensor([0.5, 1.0, 2.0], dtype=lib.float64, requires_grad=True)
        ((-2.0) ** x).sum().backward()
        return x.grad.tolist()

    mg, th = _both(program)
    _close(mg, th)


# ------------------------------------------------------------ rounding divisions
@pytest.mark.parametrize("op", ["remainder", "fmod"])
def test_rounding_divisions_are_recorded(op):
    def program(lib, fl):
        a = lib.tensor([5.0, -7.0, 2.5], dtype=lib.float64, requires_grad=True)
        b = lib.tensor([3.0, 2.0, -1.5], dtype=lib.float64, requires_grad=True)
        out = getattr(lib, op)(a, b)
        (out + a).sum().backward()
        return out.tolist(), a.grad.tolist(), b.grad.tolist()

    mg, th = _both(program)
    for m, t in zip(mg, th):
        _close(m, t)


def test_percent_operator_keeps_the_graph():
    def program(lib, fl):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        ((x % 1.5) + x).sum().backward()
        return x.grad.tolist()

    mg, th = _both(program)
    assert mg == th == [2.0, 2.0]


def test_floor_divide_backward_refuses_as_pytorch():
    for lib in (minigrad, torch):
        x = lib.tensor([5.0, 7.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="floor_divide"):
            (x // 2.0).sum().backward()


@pytest.mark.parametrize("op", ["floordiv", "mod", "fmod", "floordiv_tensor"])
def test_integer_division_by_zero_raises(op):
    calls = {
        "floordiv": lambda lib: lib.tensor([1, 2]) // 0,
        "mod": lambda lib: lib.tensor([1, 2]) % 0,
        "fmod": lambda lib: lib.fmod(lib.tensor([1, 2]), 0),
        "floordiv_tensor": lambda lib: lib.tensor([4, 2]) // lib.tensor([2, 0]),
    }
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        calls[op](torch)
    with pytest.raises(RuntimeError, match="division by zero"):
        calls[op](minigrad)


# ------------------------------------------------------------ numerics & promotion
@pytest.mark.parametrize("op", ["__mul__", "__add__", "__sub__", "__truediv__", "__rmul__"])
@pytest.mark.parametrize("scalar", [1e5, 0.001, 3, 65519.0])
def test_float16_with_a_python_scalar_computes_before_rounding(op, scalar):
    mg, th = _both(
        lambda lib, fl: getattr(lib.tensor([0.001, 1.5, -2.0], dtype=lib.float16), op)(scalar)
    )
    assert mg.dtype == np.float16
    np.testing.assert_array_equal(mg.numpy(), th.numpy())


def test_float16_scalar_product_keeps_the_gradient():
    def program(lib, fl):
        x = lib.tensor([0.001, 0.5], dtype=lib.float16, requires_grad=True)
        (x * 100.0).sum().backward()
        return x.grad.tolist()

    mg, th = _both(program)
    assert mg == th


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**64, [1, 2**63], [[1], [2**70]]])
def test_overflowing_int_literal_raises(value):
    with pytest.raises(ValueError):
        torch.tensor(value)
    with pytest.raises(ValueError, match="overflow"):
        minigrad.tensor(value)


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), [1.5, 2**70], [True, 3]])
def test_int_literals_that_fit_are_pytorchs(value):
    mg, th = _both(lambda lib, fl: lib.tensor(value).tolist())
    assert mg == th


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.randn(2, dtype=lib.int64),
        lambda lib: lib.rand(2, dtype=lib.bool),
        lambda lib: lib.rand(2, dtype=lib.int32),
        lambda lib: lib.randn(3, dtype=lib.bool),
    ],
)
def test_continuous_random_draws_refuse_discrete_dtypes(call):
    with pytest.raises(NotImplementedError):
        call(torch)
    with pytest.raises(NotImplementedError, match="not implemented for dtype"):
        call(minigrad)


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda lib: lib.arange(0, 10, -1), "inconsistent with step sign"),
        (lambda lib: lib.arange(10, 0), "inconsistent with step sign"),
        (lambda lib: lib.arange(0, 1, 0), "step must be nonzero"),
        (lambda lib: lib.randperm(-1), "randperm"),
        (lambda lib: lib.eye(-2), "eye: n must be greater or equal to 0"),
        (lambda lib: lib.eye(2, -1), "eye: m must be greater or equal to 0"),
        (lambda lib: lib.nn.Linear(-1, 2), "negative dimension"),
        (lambda lib: lib.nn.Linear(2, -3), "negative dimension"),
        (lambda lib: lib.cat([lib.tensor(1.0), lib.tensor(2.0)]), "zero-dimensional"),
    ],
)
def test_inconsistent_ranges_and_sizes_raise(call, fragment):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError, match=fragment):
        call(minigrad)


def test_arange_consistent_ranges_match():
    for args in [(0, 10, 3), (10, 0, -3), (0, 0), (5,), (0.0, 1.0, 0.25)]:
        mg, th = _both(lambda lib, fl, a=args: lib.arange(*a).tolist())
        assert mg == th


@pytest.mark.parametrize("dim", [1.5, "a", [0.5]])
def test_reduction_dim_of_the_wrong_type_is_a_type_error(dim):
    with pytest.raises(TypeError):
        torch.ones(2, 2).sum(dim=dim)
    with pytest.raises(TypeError, match="sum: dim must be an int"):
        minigrad.ones(2, 2).sum(dim=dim)


# ------------------------------------------------------------ empty dimensions
EMPTY = {
    "softmax_empty_dim": lambda lib, fl, x: fl.softmax(x, dim=1),
    "log_softmax_empty_dim": lambda lib, fl, x: fl.log_softmax(x, dim=1),
    "softmax_other_dim": lambda lib, fl, x: fl.softmax(x, dim=0),
    "logsumexp_empty_dim": lambda lib, fl, x: lib.logsumexp(x, dim=1),
    "logsumexp_keepdim": lambda lib, fl, x: lib.logsumexp(x, dim=1, keepdim=True),
    "logsumexp_other_dim": lambda lib, fl, x: lib.logsumexp(x, dim=0),
    "layer_norm": lambda lib, fl, x: fl.layer_norm(x.reshape(0, 2), (2,)),
    "bmm": lambda lib, fl, x: lib.matmul(x.reshape(2, 1, 0), lib.ones(2, 0, 4, dtype=x.dtype)),
}


@pytest.mark.parametrize("name", list(EMPTY))
def test_empty_dimensions_give_pytorchs_result(name):
    def program(lib, fl):
        x = lib.zeros(2, 0, dtype=lib.float64, requires_grad=True)
        y = EMPTY[name](lib, fl, x)
        y.sum().backward()
        return tuple(y.shape), y.detach().numpy().tolist(), tuple(x.grad.shape)

    mg, th = _both(program)
    assert mg == th


# ------------------------------------------------------------ saved outputs
SAVES_OUTPUT = {
    "amax": lambda lib, x: x.amax(),
    "amax_dim": lambda lib, x: x.amax(dim=0),
    "max": lambda lib, x: x.max(),
    "relu": lambda lib, x: lib.relu(x),
    "logsumexp": lambda lib, x: lib.logsumexp(x, dim=0),
    "norm": lambda lib, x: x.norm(),
    "prod": lambda lib, x: x.prod(),
    "exp": lambda lib, x: x.exp(),
    "softmax": lambda lib, x: lib.softmax(x, dim=0),
}


@pytest.mark.parametrize("name", list(SAVES_OUTPUT))
def test_in_place_write_to_a_saved_output_refuses(name):
    for lib in (torch, minigrad):
        a = lib.tensor([0.3, 0.7, 0.5], requires_grad=True)
        y = SAVES_OUTPUT[name](lib, a * 1.0)
        y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


@pytest.mark.parametrize("name", ["sin", "mul", "sum", "clamp"])
def test_in_place_write_to_an_output_nobody_saved_is_fine(name):
    fns = {
        "sin": lambda x: x.sin(),
        "mul": lambda x: x * 3.0,
        "sum": lambda x: x.sum(),
        "clamp": lambda x: x.clamp(0.2, 0.6),
    }

    def program(lib, fl):
        a = lib.tensor([0.3, 0.7, 0.5], dtype=lib.float64, requires_grad=True)
        y = fns[name](a * 1.0)
        y.mul_(2)
        y.sum().backward()
        return a.grad.tolist()

    mg, th = _both(program)
    _close(mg, th)
