"""Scalar fast paths: ``x * 2.0`` without a constant tensor.

A Python number c with a floating point tensor keeps the tensor's dtype (PyTorch's
rule), so ``x * c`` needs no constant Tensor for c, no promotion, no second graph
edge and no gradient for c: these nodes keep c as a plain parameter. They show as
``MulBackward`` and so on, as PyTorch's do. Reference mode builds the constant and
uses the core's binary ops.
"""

from __future__ import annotations

from typing import Any

from minigrad.autograd.function import Function
from minigrad.tensor import Tensor


def scalar_operand(x: Any, c: Any) -> bool:
    """True for a floating point Tensor ``x`` and a Python float or int ``c``."""
    return type(c) in (float, int) and isinstance(x, Tensor) and x.data.dtype.kind == "f"


class AddScalar(Function):
    """y = x + c for a Python number c;  dx = dy.  (x - c is x + (-c), exactly.)"""

    display_name = "Add"
    array_backward = True

    @staticmethod
    def forward(ctx, x, c):
        return x + c

    @staticmethod
    def backward(ctx, g):
        return g


class MulScalar(Function):
    """y = c · x for a Python number c;  dx = c · dy."""

    display_name = "Mul"
    array_backward = True

    @staticmethod
    def forward(ctx, x, c):
        ctx.c = c
        return x * c

    @staticmethod
    def backward(ctx, g):
        return g * ctx.c


class DivScalar(Function):
    """y = x / c for a Python number c;  dx = dy / c."""

    display_name = "Div"
    array_backward = True

    @staticmethod
    def forward(ctx, x, c):
        ctx.c = c
        return x / c

    @staticmethod
    def backward(ctx, g):
        return g / ctx.c
