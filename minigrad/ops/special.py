"""Special functions NumPy lacks: erfc, lgamma, digamma, polygamma, erfinv.

minigrad's only runtime dependency is NumPy, so none comes from SciPy. Where Python's
standard library has the function (``math.erfc``, ``math.lgamma``), it is evaluated one
element at a time: correctly rounded or nearly so (a few ulp), at the cost of a Python call
per element. The others are computed here:

* ψ⁽ⁿ⁾ (digamma n = 0, polygamma n ≥ 1): the recurrence ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x + 1) -
  (-1)ⁿ n!/xⁿ⁺¹ moves x up to ≥ 20, where the asymptotic (Stirling) series with the
  Bernoulli numbers B₂ ... B₁₆ is accurate to double rounding; digamma reflects x < -20
  (ψ(x) = ψ(1 - x) - π/tan(πx)).
* erfinv: Giles' single-precision polynomial ("Approximating the erfinv function", 2010) as
  a start, then Newton steps on erf (or on erfc near ±1, where erf has no digits left),
  each with ``math.erf``/``math.erfc``: the error falls below float64 rounding.

Every backward is written with these same ops (d/dx lgamma = ψ, d/dx ψ⁽ⁿ⁾ = ψ⁽ⁿ⁺¹⁾,
d/dy erfinv = √π/2 · e^(erfinv(y)²)), so derivatives of any order exist.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.ops.declare import op
from minigrad.ops.unary import _float_unary, exp
from minigrad.tensor import Tensor

__all__ = ["digamma", "erfc", "erfinv", "lgamma", "polygamma"]

_erfc_object = np.frompyfunc(math.erfc, 1, 1)
_erf_object = np.frompyfunc(math.erf, 1, 1)


def _per_element(fn: Any, x: np.ndarray) -> np.ndarray:
    """A float function of the standard library on every element, in float64, rounded
    back to x's dtype."""
    return np.asarray(fn(x.astype(np.float64)), dtype=np.float64).astype(x.dtype)


def _lgamma_array(x: np.ndarray) -> np.ndarray:
    """ln|Γ(x)|: ``math.lgamma`` per element; inf at the poles 0, -1, -2, ... (as PyTorch)."""

    def one(v: float) -> float:
        if v <= 0 and v == math.floor(v):
            return math.inf
        return math.lgamma(v) if math.isfinite(v) else (math.inf if v == math.inf else v)

    return _per_element(np.frompyfunc(one, 1, 1), x)


# B₂ₖ, k = 1 ... 8
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def polygamma_array(n: int, x: np.ndarray) -> np.ndarray:
    """ψ⁽ⁿ⁾(x) for n ≥ 0 (n = 0: digamma), elementwise, in float64 (see the module text)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    pole = (x <= 0) & (x == np.floor(x))
    reflect = (x < -20) & ~pole if n == 0 else np.zeros_like(pole)
    z = np.where(reflect, 1 - x, np.where(pole, 1.0, x))
    if n > 0 and np.any(z < -1e4):
        raise NotImplementedError("polygamma: arguments below -10000 are not supported")
    sign = -1.0 if n % 2 == 0 else 1.0  # (-1)ⁿ⁺¹
    fact = math.factorial(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        while np.any(small := (z < 20) & np.isfinite(z)):
            # ψ⁽ⁿ⁾(z) = ψ⁽ⁿ⁾(z + 1) + (-1)ⁿ⁺¹ n! / zⁿ⁺¹  (n = 0: ψ(z) = ψ(z + 1) - 1/z)
            term = np.where(small, 1 / np.where(small, z, 1.0) ** (n + 1), 0.0)
            out += -term if n == 0 else sign * fact * term
            z = np.where(small, z + 1, z)
        inv = 1 / z
        if n == 0:
            series = np.log(z) - inv / 2
            for k, b in enumerate(_BERNOULLI, 1):
                series -= b / (2 * k) * inv ** (2 * k)
        else:
            series = math.factorial(n - 1) * inv**n + fact / 2 * inv ** (n + 1)
            for k, b in enumerate(_BERNOULLI, 1):
                series += (
                    b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) * inv ** (2 * k + n)
                )
            series *= sign
        out += np.where(np.isfinite(z), series, np.where(z > 0, 0.0 if n else np.inf, np.nan))
        if n == 0:
            out = np.where(reflect, out - np.pi / np.tan(np.pi * x), out)
            # ψ has poles at 0, -1, ...: PyTorch gives -inf at 0 and nan at the negative ones
            out = np.where(pole, np.where(x == 0, -np.inf, np.nan), out)
        else:
            out = np.where(pole, np.inf if n % 2 else np.nan, out)
    return out


def _erfinv_array(y: np.ndarray) -> np.ndarray:
    """erf⁻¹(y) in float64: Giles' start, then Newton on erf (|y| ≤ 0.5) or erfc."""
    y = np.asarray(y, dtype=np.float64)
    a = np.abs(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log((1 - a) * (1 + a))
        lo = w - 2.5
        p_lo = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                  -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):  # fmt: skip
            p_lo = c + p_lo * lo
        hi = np.sqrt(w) - 3
        p_hi = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                  -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):  # fmt: skip
            p_hi = c + p_hi * hi
        x = np.where(w < 5, p_lo, p_hi) * a
        inside = a < 1
        xs = np.where(inside, x, 0.0)
        for _ in range(40):  # quadratic near the root; far in the tails Giles starts further off
            slope = 2 / math.sqrt(math.pi) * np.exp(-xs * xs)
            near_one = a > 0.5
            resid = np.where(
                near_one,
                (1 - a) - np.asarray(_erfc_object(xs), np.float64),  # 0 where erfc(x) = 1 - a
                np.asarray(_erf_object(xs), np.float64) - a,
            )
            step = np.where(inside, resid / slope, 0.0)  # both residuals grow with slope
            xs = xs - step
            if not np.any(np.abs(step) > 1e-16 * np.abs(xs)):
                break
        x = np.where(inside, xs, np.where(a == 1, np.inf, np.nan))
    return np.copysign(x, y) * np.where(np.isnan(y), np.nan, 1.0)


class Erfc(Function):
    """y = erfc x = 1 - erf x (without the cancellation for large x);
    dx = -dy · 2/√π · e^(-x²)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _per_element(_erfc_object, x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (-2 / math.sqrt(math.pi)) * exp(-(x * x))


class Lgamma(Function):
    """y = ln|Γ(x)|;  dx = dy · ψ(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _lgamma_array(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * digamma(x)


class Polygamma(Function):
    """y = ψ⁽ⁿ⁾(x) = dⁿ⁺¹/dxⁿ⁺¹ ln Γ(x) (n = 0: digamma);  dx = dy · ψ⁽ⁿ⁺¹⁾(x)."""

    @staticmethod
    def forward(ctx, x, n):
        ctx.save_for_backward(x)
        ctx.n = n
        return polygamma_array(n, x).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * polygamma(ctx.n + 1, x)


class Erfinv(Function):
    """y = erf⁻¹(x) (|x| < 1; ±inf at ±1);  dx = dy · √π/2 · e^(y²)."""

    @staticmethod
    def forward(ctx, x):
        y = _erfinv_array(x).astype(x.dtype)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (math.sqrt(math.pi) / 2) * exp(y * y)


@op()
def erfc(x: Any) -> Tensor:
    """The complementary error function, 1 - erf x, accurate where erf x is near 1."""
    return _float_unary(Erfc, x)


@op()
def lgamma(x: Any) -> Tensor:
    """ln|Γ(x)| (``math.lgamma`` per element)."""
    return _float_unary(Lgamma, x)


def _polygamma(n: int, x: Any) -> Tensor:
    from minigrad import dtypes
    from minigrad.ops.helpers import as_tensor

    x = as_tensor(x)
    if x.dtype.kind != "f":
        x = as_tensor(x, dtypes.get_default_dtype())
    return Polygamma.apply(x, n=n)


@op()
def digamma(x: Any) -> Tensor:
    """ψ(x) = d/dx ln Γ(x)."""
    return _polygamma(0, x)


@op(methods=False)
def polygamma(n: int, x: Any) -> Tensor:
    """ψ⁽ⁿ⁾(x), the n-th derivative of digamma (n ≥ 0)."""
    if not isinstance(n, int) or n < 0:
        raise RuntimeError(f"polygamma: n must be a non-negative integer, got {n!r}")
    return _polygamma(n, x)


@op()
def erfinv(x: Any) -> Tensor:
    """The inverse error function on [-1, 1] (nan outside)."""
    return _float_unary(Erfinv, x)
