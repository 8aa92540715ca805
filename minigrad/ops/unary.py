"""Elementwise math with one tensor input: y = f(x), dx = dy · f'(x).

Where f' is easiest written with the output, the backward uses the saved
output (exp, tanh, sigmoid, sqrt): that is both cheaper and, because the saved
output is the graph's own tensor, still differentiable for higher orders.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad import fast
from minigrad.autograd.function import Function
from minigrad.core.primitives import Exp, Log, Neg, Tanh
from minigrad.fast.fused import reference_of
from minigrad.ops.binary import where
from minigrad.ops.declare import op
from minigrad.ops.helpers import array_of, array_op, as_tensor, in_pieces, is_array, zero_grad_of
from minigrad.tensor import Tensor

_erf_object = np.frompyfunc(math.erf, 1, 1)


# Abramowitz & Stegun 7.1.26: erf(x) ≈ 1 - (a₁t + a₂t² + a₃t³ + a₄t⁴ + a₅t⁵)·e^(-x²),
# t = 1/(1 + p·x) for x ≥ 0 (odd symmetry for x < 0); absolute error ≤ 1.5e-7.
_AS_P = 0.3275911
_AS_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def erf_array(x: np.ndarray) -> np.ndarray:
    """erf on an array: float32 (and float16) input by the vectorised A&S 7.1.26
    formula evaluated in float64 -- its error (≤ 1.5e-7 absolute) is at float32's own
    resolution, and it is much faster than the per-element call; other dtypes by
    :func:`erf_exact`."""
    if x.dtype == np.float32 or x.dtype == np.float16:
        return _erf_as_7_1_26(x)
    return erf_exact(x)


def erf_exact(x: np.ndarray) -> np.ndarray:
    """erf on an array, exact to double precision: the standard library's ``math.erf``
    one element at a time, rounded to x's (floating) dtype."""
    return np.asarray(_erf_object(x)).astype(x.dtype if x.dtype.kind == "f" else np.float64)


def _erf_as_7_1_26(x: np.ndarray) -> np.ndarray:
    """erf(x) ≈ sign(x)·(1 - t(a₁ + t(a₂ + t(a₃ + t(a₄ + t·a₅))))·e^(-x²)), t = 1/(1 + p|x|)
    (Abramowitz & Stegun 7.1.26), in float64, rounded to x's dtype.

    About twenty elementwise passes: run piece by piece (``in_pieces``) in float64
    scratch buffers, so that they stay in cache (a GELU over a transformer's activations
    is several times faster than with whole-array temporaries); each element's
    arithmetic is the same."""
    a1, a2, a3, a4, a5 = _AS_A
    if not x.flags.c_contiguous:  # one copy, so that its pieces are flat views
        x = np.ascontiguousarray(x)
    out = np.empty(x.shape, x.dtype)
    for xi, oi, zi, ti, pi in in_pieces(x, out, scratch=3, dtype=np.float64):
        np.abs(xi, out=zi)
        np.multiply(zi, _AS_P, out=ti)
        ti += 1.0
        np.divide(1.0, ti, out=ti)  # t
        np.multiply(ti, a5, out=pi)
        for a in (a4, a3, a2, a1):
            pi += a
            pi *= ti
        np.multiply(zi, zi, out=zi)
        np.negative(zi, out=zi)
        np.exp(zi, out=zi)  # e^(-x²)
        pi *= zi
        np.subtract(1.0, pi, out=pi)
        pi *= np.sign(xi)
        oi[...] = pi
    return out


def select(mask: Any, g: Any) -> Any:
    """dy where ``mask``, else 0: *chosen*, not multiplied by a 0/1 mask, because
    0 · inf is NaN (``relu(x).sqrt()`` at x < 0 sends dy = inf into relu's backward;
    PyTorch's gradient there is 0). Works on Tensors and, in array mode, on arrays."""
    m = array_of(mask)
    if is_array(g):
        return np.where(m, g, np.zeros((), g.dtype))
    return where(Tensor._from_op(m, None), g, 0.0)


class Abs(Function):
    """y = |x|;  dx = dy · sign(x)  (0 at x = 0, as PyTorch)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * sign(x)


class Sign(Function):
    """y = sign(x) ∈ {-1, 0, 1};  dx = 0 (a step function: flat wherever it is defined)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        if x.dtype.kind == "f":  # PyTorch's sign(nan) is 0
            return np.where(np.isnan(x), x.dtype.type(0), np.sign(x))
        return np.sign(x)

    @staticmethod
    def backward(ctx, g):
        return zero_grad_of(g)


class Log1p(Function):
    """y = ln(1 + x);  dx = dy / (1 + x)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (x + 1)


class Expm1(Function):
    """y = eˣ - 1;  dx = dy · (y + 1)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        y = np.expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (y + 1)


class Sqrt(Function):
    """y = √x;  dx = dy / (2y)  (inf at x = 0, as PyTorch)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        y = np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g / (2 * y)


class Rsqrt(Function):
    """y = 1/√x;  dx = -dy · y³ / 2."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        y = 1 / np.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * y * y * -0.5


class Sin(Function):
    """y = sin x;  dx = dy · cos x."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * cos(x)


class Cos(Function):
    """y = cos x;  dx = -dy · sin x."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -g * sin(x)


class Sigmoid(Function):
    """y = 1 / (1 + e⁻ˣ);  dx = dy · y · (1 - y).

    Forward evaluates e^(-|x|) only, so it never overflows: for x < 0,
    σ(x) = eˣ / (1 + eˣ).
    """

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        z = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * (1 - y)


class Reciprocal(Function):
    """y = 1/x;  dx = -dy · y²."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        y = np.reciprocal(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return -g * y * y


class Erf(Function):
    """y = erf x;  dx = dy · 2/√π · e^(-x²).

    A fused kernel in its float32 forward only: ``erf_array``'s in-piece polynomial
    (A&S 7.1.26). With ``exact=True`` every dtype is evaluated by ``math.erf`` element
    by element (:func:`erf_exact`): erf is no composition of primitives, so that
    plain evaluation is its reference."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, exact=False):
        ctx.save_for_backward(x)
        return erf_exact(x) if exact else erf_array(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (2 / math.sqrt(math.pi)) * exp(-(x * x))


@reference_of(Erf)
def erf_reference(x: Tensor) -> Tensor:
    """erf by ``math.erf`` element by element, the same derivative."""
    return Erf.apply(x, exact=True)


class PowScalar(Function):
    """y = xᶜ for a number c;  dx = dy · c · x^(c-1)  (0 when c = 0)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, exponent):
        ctx.save_for_backward(x)
        ctx.exponent = exponent
        return np.power(x, exponent)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        c = ctx.exponent
        if c == 0:
            return g * 0
        return g * c * x ** (c - 1)


class RPowScalar(Function):
    """y = cˣ for a number c;  dx = dy · y · ln c  (0 where c = 0 and x ≥ 0)."""

    @staticmethod
    def forward(ctx, x, base):
        y = np.power(np.asarray(base, dtype=x.dtype), x)
        ctx.save_for_backward(x, y)
        ctx.base = base
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        if ctx.base == 0:  # ln 0 = -inf; PyTorch's limit convention gives 0 where x ≥ 0
            with np.errstate(invalid="ignore"):  # 0·inf in the branch where discards
                return where(x >= 0, 0.0, g * y * -math.inf)
        # A negative base: ln c is NaN (as PyTorch), not Python's math domain error.
        return g * y * (math.log(ctx.base) if ctx.base > 0 else math.nan)


class Clamp(Function):
    """y = min(max(x, lo), hi);  dx = dy where lo ≤ x ≤ hi, else 0 (as PyTorch).

    ``open=True`` is hardtanh's rule (and relu6's, hardsigmoid's): dx = dy only where
    lo < x < hi, so the gradient at the bounds themselves is 0, as PyTorch's."""

    @staticmethod
    def forward(ctx, x, lo, hi, open=False):
        ctx.save_for_backward(x)
        ctx.bounds, ctx.open = (lo, hi), open
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        x = array_of(x)
        inside = np.ones(x.shape, dtype=bool)
        if lo is not None:
            inside &= x > lo if ctx.open else x >= lo
        if hi is not None:
            inside &= x < hi if ctx.open else x <= hi
        return select(inside, g)


# ------------------------------------------------------------------ functional API
def _unary(fn: type[Function], x: Any) -> Tensor:
    if is_array(x):  # array-mode backward
        return array_op(fn, x)
    return fn.apply(as_tensor(x))


def _float_unary(fn: type[Function], x: Any, **params: Any) -> Tensor:
    """Ops like exp and log give the default float dtype for integer inputs (as PyTorch)."""
    if type(x) is Tensor and x.data.dtype.kind == "f":  # the common case, checked first
        return fn.apply(x, **params)
    if is_array(x):  # array-mode backward
        return array_op(fn, x, **params)
    x = as_tensor(x)
    if x.dtype.kind != "f":
        from minigrad import dtypes

        x = as_tensor(x, dtypes.get_default_dtype())
    return fn.apply(x, **params)


@op(operators=("__neg__",), aliases=("negative",))
def neg(x: Any) -> Tensor:
    return _unary(Neg, x)


@op(operators=("__abs__",))
def abs(x: Any) -> Tensor:
    return _unary(Abs, x)


@op()
def sign(x: Any) -> Tensor:
    """-1, 0 or 1 elementwise. Recorded like PyTorch's (its gradient is 0 everywhere),
    so ``x.sign().sum().backward()`` works and gives zeros."""
    if is_array(x):
        return np.sign(x)
    return _unary(Sign, x)


@op()
def exp(x: Any) -> Tensor:
    return _float_unary(Exp, x)


@op()
def log(x: Any) -> Tensor:
    return _float_unary(Log, x)


@op()
def log1p(x: Any) -> Tensor:
    return _float_unary(Log1p, x)


@op()
def expm1(x: Any) -> Tensor:
    return _float_unary(Expm1, x)


@op()
def sqrt(x: Any) -> Tensor:
    return _float_unary(Sqrt, x)


@op()
def rsqrt(x: Any) -> Tensor:
    return _float_unary(Rsqrt, x)


@op()
def sin(x: Any) -> Tensor:
    return _float_unary(Sin, x)


@op()
def cos(x: Any) -> Tensor:
    return _float_unary(Cos, x)


@op()
def tanh(x: Any) -> Tensor:
    return _float_unary(Tanh, x)


@op()
def sigmoid(x: Any) -> Tensor:
    return _float_unary(Sigmoid, x)


@op()
def reciprocal(x: Any) -> Tensor:
    return _float_unary(Reciprocal, x)


@op()
def erf(x: Any) -> Tensor:
    if fast.enabled():
        return _float_unary(Erf, x)
    return _float_unary(Erf, x, exact=True)  # erf_reference, for any input


@op()
def square(x: Any) -> Tensor:
    return pow_scalar(as_tensor(x), 2)


@op(methods=False)
def pow_scalar(x: Tensor, exponent: float) -> Tensor:
    if x.dtype.kind != "f" and isinstance(exponent, float):
        from minigrad import dtypes

        x = as_tensor(x, dtypes.get_default_dtype())
    return PowScalar.apply(x, exponent=exponent)


@op(methods=False)
def rpow_scalar(base: float, x: Tensor) -> Tensor:
    if x.dtype.kind != "f":
        from minigrad import dtypes

        x = as_tensor(x, dtypes.result_type(x, base))
        if x.dtype == np.bool_:  # True ** bool_tensor: PyTorch has no bool pow
            raise NotImplementedError("pow: not implemented for bool tensors")
        if x.dtype.kind != "f":
            return Tensor._from_op(np.power(base, x.data), None)
    return RPowScalar.apply(x, base=base)


@op(methods=("clamp", "clip"), aliases=("clip",))
def clamp(x: Any, min: Any = None, max: Any = None) -> Tensor:
    """Limit values to [min, max] (either bound may be None; tensor bounds broadcast)."""
    x = as_tensor(x)
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # Through where, with PyTorch's rule for who gets the gradient (no tie split):
        # x where lo ≤ x ≤ hi; lo where x < lo < hi; hi where hi < x or hi < lo.
        if min is None:
            return where(x > max, max, x)
        if max is None:
            return where(x < min, min, x)
        lo_wins = (x < min) & (min < max)
        # x < lo == hi: the value is hi, but PyTorch gives the gradient to no one
        nobody = (x < min) & (min == max)
        hi_const = max.detach() if isinstance(max, Tensor) else max
        return where((x > max) | (max < min), max, where(lo_wins, min, where(nobody, hi_const, x)))
    return Clamp.apply(x, lo=min, hi=max)


def hardtanh_(x: Any, lo: float, hi: float) -> Tensor:
    """clamp(x, lo, hi) with PyTorch's hardtanh gradient: 0 at the bounds (dx = dy only
    where lo < x < hi). relu6 and hardsigmoid are hardtanhs."""
    x = as_tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"hardtanh: expected a floating tensor, got dtype {x.dtype}")
    return Clamp.apply(x, lo=lo, hi=hi, open=True)
