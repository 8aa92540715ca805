"""More elementwise math: logarithms in other bases, log-add-exp, x·log y, sinc, the
rounding family (zero gradient, as PyTorch) and the fused "add a product" ops
(lerp, addcmul, addcdiv, addmm)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.ops.binary import where
from minigrad.ops.declare import op
from minigrad.ops.helpers import as_tensor, binary, promote, sum_to, zero_grad_of
from minigrad.ops.unary import _float_unary, cos, sigmoid
from minigrad.tensor import Tensor

__all__ = [
    "addcdiv",
    "addcmul",
    "addmm",
    "ceil",
    "floor",
    "frac",
    "lerp",
    "log10",
    "log2",
    "logaddexp",
    "round",
    "sinc",
    "trunc",
    "xlogy",
]


class Log2(Function):
    """y = log₂ x;  dx = dy / (x ln 2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log2(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (x * math.log(2.0))


class Log10(Function):
    """y = log₁₀ x;  dx = dy / (x ln 10)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log10(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (x * math.log(10.0))


class LogAddExp(Function):
    """z = ln(eᵃ + eᵇ) = max(a, b) + ln(1 + e^-|a-b|) (no overflow);
    da = dz · σ(a - b),  db = dz · σ(b - a)  (the softmax weights of the pair)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.logaddexp(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        da = sum_to(g * sigmoid(a - b), a.shape) if need[0] else None
        db = sum_to(g * sigmoid(b - a), b.shape) if need[1] else None
        return da, db


class XLogY(Function):
    """z = x · ln y, and 0 where x = 0 (whatever y, unless y is NaN);
    dx = dz · xlogy(x ≠ 0, y) (0 where x = 0),  dy = dz · x / y."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = x * np.log(y)
        return np.where((x == 0) & ~np.isnan(y), np.zeros((), z.dtype), z)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        need = ctx.needs_input_grad
        dx = dy = None
        if need[0]:
            dx = sum_to(g * xlogy(as_tensor((x != 0).data.astype(x.dtype)), y), x.shape)
        if need[1]:
            dy = sum_to(g * x / y, y.shape)
        return dx, dy


class Sinc(Function):
    """y = sin(πx)/(πx), 1 at x = 0;  dx = dy · (cos(πx) - y)/x, and 0 at x = 0.

    (The derivative's value at 0 is the limit, 0; its own derivative there is taken as 0
    too, as PyTorch's masked formula gives, rather than the limit -π²/3.)"""

    @staticmethod
    def forward(ctx, x):
        y = np.sinc(x)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        zero = x == 0
        safe = where(zero, 1.0, x)
        return where(zero, 0.0, g * (cos(math.pi * x) - y) / safe)


class _Step(Function):
    """A piecewise-constant function (floor, ceil, round, trunc): dx = 0 wherever it is
    differentiable, and PyTorch takes 0 at the jumps too."""

    @staticmethod
    def forward(ctx, x, f, decimals=0):
        return f(x, decimals) if decimals else f(x)

    @staticmethod
    def backward(ctx, g):
        return zero_grad_of(g)


# ------------------------------------------------------------------ functional API
@op()
def log2(x: Any) -> Tensor:
    return _float_unary(Log2, x)


@op()
def log10(x: Any) -> Tensor:
    return _float_unary(Log10, x)


def _float_pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    from minigrad import dtypes

    a, b = promote(a, b)
    if a.dtype.kind != "f":
        a, b = as_tensor(a, dtypes.get_default_dtype()), as_tensor(b, dtypes.get_default_dtype())
    return a, b


@op()
def logaddexp(input: Any, other: Any) -> Tensor:
    """ln(e^input + e^other) elementwise, without overflow."""
    return binary(LogAddExp, *_float_pair(input, other), "logaddexp")


@op()
def xlogy(input: Any, other: Any) -> Tensor:
    """input · ln(other), 0 where input is 0 (the convention of entropies: 0 · ln 0 = 0)."""
    return binary(XLogY, *_float_pair(input, other), "xlogy")


@op()
def sinc(x: Any) -> Tensor:
    """The normalised sinc, sin(πx)/(πx), 1 at 0."""
    return _float_unary(Sinc, x)


def _step(x: Any, f: Any, name: str, decimals: int = 0) -> Tensor:
    x = as_tensor(x)
    if x.dtype.kind != "f":  # integers are already whole: PyTorch returns them unchanged
        return x if decimals >= 0 else Tensor._from_op(f(x.data, decimals), None)
    return _Step.apply(x, f=f, decimals=decimals)


@op()
def floor(x: Any) -> Tensor:
    """⌊x⌋ elementwise; gradient 0 (as PyTorch)."""
    return _step(x, np.floor, "floor")


@op()
def ceil(x: Any) -> Tensor:
    """⌈x⌉ elementwise; gradient 0 (as PyTorch)."""
    return _step(x, np.ceil, "ceil")


@op()
def round(x: Any, decimals: int = 0) -> Tensor:  # noqa: A001  (torch.round)
    """Round half to even, to ``decimals`` places (as PyTorch and NumPy); gradient 0."""
    return _step(x, np.round, "round", decimals)


@op(methods=("trunc", "fix"))
def trunc(x: Any) -> Tensor:
    """x rounded toward zero; gradient 0 (as PyTorch)."""
    return _step(x, np.trunc, "trunc")


@op()
def frac(x: Any) -> Tensor:
    """x - trunc(x): the fractional part, with x's sign; dx = dy."""
    x = as_tensor(x)
    return x - trunc(x)


@op()
def lerp(input: Any, end: Any, weight: Any) -> Tensor:
    """input + weight · (end - input): linear interpolation (weight a number or tensor)."""
    start = as_tensor(input)
    return start + weight * (end - start)


@op()
def addcmul(input: Any, tensor1: Any, tensor2: Any, value: float = 1) -> Tensor:
    """input + value · tensor1 · tensor2 (all broadcast together)."""
    prod = tensor1 * as_tensor(tensor2) if not isinstance(tensor1, Tensor) else tensor1 * tensor2
    return input + (prod if value == 1 else prod * value)


@op()
def addcdiv(input: Any, tensor1: Any, tensor2: Any, value: float = 1) -> Tensor:
    """input + value · tensor1 / tensor2 (all broadcast together)."""
    quot = as_tensor(tensor1) / tensor2
    return input + (quot if value == 1 else quot * value)


@op()
def addmm(input: Any, mat1: Tensor, mat2: Tensor, beta: float = 1, alpha: float = 1) -> Tensor:
    """beta · input + alpha · (mat1 @ mat2); input broadcasts to (n, m). With beta = 0 the
    input is ignored (NaN and inf in it do not propagate), as PyTorch."""
    from minigrad.ops.linalg import mm

    if mat1.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"addmm: expected 2-D matrices, got {mat1.shape} and {mat2.shape}")
    prod = mm(mat1, mat2)
    prod = prod if alpha == 1 else prod * alpha
    if beta == 0:
        from minigrad.ops.helpers import broadcast_to

        return broadcast_to(prod, np.broadcast_shapes(as_tensor(input).shape, prod.shape))
    return (input if beta == 1 else input * beta) + prod
