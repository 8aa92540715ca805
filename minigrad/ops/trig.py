"""Trigonometric and hyperbolic functions and their inverses: y = f(x), dx = dy · f'(x).

Each backward is written with minigrad's own ops on the saved input (or output), so it is
itself differentiable: second derivatives come from differentiating the backward.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.ops.binary import where
from minigrad.ops.declare import op
from minigrad.ops.helpers import binary, sum_to
from minigrad.ops.unary import _float_unary, sqrt
from minigrad.tensor import Tensor

__all__ = [
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "cosh",
    "hypot",
    "sinh",
    "tan",
]


class _Unary(Function):
    """Shared forward of the elementwise functions below: y = ``cls.f(x)``, x saved."""

    f: Any = None

    @classmethod
    def forward(cls, ctx, x):
        ctx.save_for_backward(x)
        return cls.f(x)


class Tan(Function):
    """y = tan x;  dx = dy · (1 + y²)  (= dy / cos² x)."""

    @staticmethod
    def forward(ctx, x):
        y = np.tan(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (y * y + 1)


class Atan(_Unary):
    """y = arctan x;  dx = dy / (1 + x²)."""

    f = np.arctan

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (x * x + 1)


class Asin(_Unary):
    """y = arcsin x (|x| ≤ 1);  dx = dy / √(1 - x²)."""

    f = np.arcsin

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / sqrt(1 - x * x)


class Acos(_Unary):
    """y = arccos x (|x| ≤ 1);  dx = -dy / √(1 - x²)."""

    f = np.arccos

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -g / sqrt(1 - x * x)


class Sinh(_Unary):
    """y = sinh x = (eˣ - e⁻ˣ)/2;  dx = dy · cosh x."""

    f = np.sinh

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * cosh(x)


class Cosh(_Unary):
    """y = cosh x = (eˣ + e⁻ˣ)/2;  dx = dy · sinh x."""

    f = np.cosh

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * sinh(x)


class Asinh(_Unary):
    """y = arsinh x = ln(x + √(x² + 1));  dx = dy / √(x² + 1)."""

    f = np.arcsinh

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / sqrt(x * x + 1)


class Acosh(_Unary):
    """y = arcosh x = ln(x + √(x² - 1)) (x ≥ 1);  dx = dy / √((x - 1)(x + 1))."""

    f = np.arccosh

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / sqrt((x - 1) * (x + 1))


class Atanh(_Unary):
    """y = artanh x = ½ ln((1 + x)/(1 - x)) (|x| < 1);  dx = dy / (1 - x²)."""

    f = np.arctanh

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (1 - x * x)


class Atan2(Function):
    """z = atan2(a, b), the angle of the point (b, a);
    da = dz · b / (a² + b²),  db = -dz · a / (a² + b²)  (each summed to its input's shape);
    0 at the origin, where the angle is not differentiable (PyTorch's gradient there)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.arctan2(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        r2 = a * a + b * b
        origin = r2 == 0
        inv = where(origin, 0.0, 1 / where(origin, 1.0, r2))
        need = ctx.needs_input_grad
        da = sum_to(g * b * inv, a.shape) if need[0] else None
        db = sum_to(-g * a * inv, b.shape) if need[1] else None
        return da, db


class Hypot(Function):
    """z = √(a² + b²) (computed without overflow);  da = dz · a / z,  db = dz · b / z."""

    @staticmethod
    def forward(ctx, a, b):
        z = np.hypot(a, b)
        ctx.save_for_backward(a, b, z)
        return z

    @staticmethod
    def backward(ctx, g):
        a, b, z = ctx.saved_tensors
        need = ctx.needs_input_grad
        da = sum_to(g * a / z, a.shape) if need[0] else None
        db = sum_to(g * b / z, b.shape) if need[1] else None
        return da, db


# ------------------------------------------------------------------ functional API
@op()
def tan(x: Any) -> Tensor:
    return _float_unary(Tan, x)


@op(methods=("atan", "arctan"))
def atan(x: Any) -> Tensor:
    return _float_unary(Atan, x)


@op(methods=("asin", "arcsin"))
def asin(x: Any) -> Tensor:
    return _float_unary(Asin, x)


@op(methods=("acos", "arccos"))
def acos(x: Any) -> Tensor:
    return _float_unary(Acos, x)


@op()
def sinh(x: Any) -> Tensor:
    return _float_unary(Sinh, x)


@op()
def cosh(x: Any) -> Tensor:
    return _float_unary(Cosh, x)


@op(methods=("asinh", "arcsinh"))
def asinh(x: Any) -> Tensor:
    return _float_unary(Asinh, x)


@op(methods=("acosh", "arccosh"))
def acosh(x: Any) -> Tensor:
    return _float_unary(Acosh, x)


@op(methods=("atanh", "arctanh"))
def atanh(x: Any) -> Tensor:
    return _float_unary(Atanh, x)


def _float_binary(fn: type[Function], a: Any, b: Any, name: str) -> Tensor:
    """A broadcasting binary op whose integer inputs give the default float dtype."""
    from minigrad import dtypes
    from minigrad.ops.helpers import as_tensor, promote

    a, b = promote(a, b)
    if a.dtype.kind != "f":
        a, b = as_tensor(a, dtypes.get_default_dtype()), as_tensor(b, dtypes.get_default_dtype())
    return binary(fn, a, b, name)


@op(methods=("atan2", "arctan2"))
def atan2(input: Any, other: Any) -> Tensor:
    """atan2(input, other): the angle of (other, input) in (-π, π], elementwise."""
    return _float_binary(Atan2, input, other, "atan2")


@op()
def hypot(input: Any, other: Any) -> Tensor:
    """√(input² + other²) elementwise."""
    return _float_binary(Hypot, input, other, "hypot")
