"""Broadcasting binary ops. Each backward ends with ``sum_to``: an input that was
broadcast gets the sum of the gradient over the positions it was copied to."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.ops._util import as_tensor, binary, constant, promote, sum_to
from minigrad.tensor import Tensor


class Add(Function):
    """z = a + b;  da = dz,  db = dz."""

    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = a.shape, b.shape
        return a + b

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        need = ctx.needs_input_grad
        return (sum_to(g, sa) if need[0] else None), (sum_to(g, sb) if need[1] else None)


class Sub(Function):
    """z = a - b;  da = dz,  db = -dz."""

    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = a.shape, b.shape
        return a - b

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        need = ctx.needs_input_grad
        return (sum_to(g, sa) if need[0] else None), (sum_to(-g, sb) if need[1] else None)


class Mul(Function):
    """z = a * b;  da = dz * b,  db = dz * a."""

    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da = sum_to(g * b, a.shape) if ctx.needs_input_grad[0] else None
        db = sum_to(g * a, b.shape) if ctx.needs_input_grad[1] else None
        return da, db


class Div(Function):
    """z = a / b;  da = dz / b,  db = -dz * a / b²."""

    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da = sum_to(g / b, a.shape) if ctx.needs_input_grad[0] else None
        db = sum_to(-g * a / (b * b), b.shape) if ctx.needs_input_grad[1] else None
        return da, db


# A Python number c with a floating point tensor keeps the tensor's dtype (PyTorch's
# rule), so ``x * 0.5`` needs no constant Tensor, no second graph edge and no gradient
# for c: these nodes keep c as a plain parameter.
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


def _scalar_operand(x: Any, c: Any) -> bool:
    """True for a floating point Tensor ``x`` and a Python float or int ``c``."""
    return type(c) in (float, int) and isinstance(x, Tensor) and x.data.dtype.kind == "f"


class Pow(Function):
    """z = a ** b;  da = dz * b * a^(b-1),  db = dz * z * log(a).

    PyTorch's conventions: da = 0 where b == 0; db = 0 where a == 0 and b >= 0
    (the limit of a^b·log(a) as a → 0⁺).
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.power(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da = db = None
        if ctx.needs_input_grad[0]:
            da = where(b == 0, 0.0, g * b * a ** (b - 1))
            da = sum_to(da, a.shape)
        if ctx.needs_input_grad[1]:
            z = a**b
            db = where((a == 0) & (b >= 0), 0.0, g * z * a.log())
            db = sum_to(db, b.shape)
        return da, db


class Maximum(Function):
    """z = max(a, b): dz goes to the larger input; ties split it half and half."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        half = where(a == b, g / 2, g)
        da = sum_to(where(a < b, 0.0, half), a.shape) if ctx.needs_input_grad[0] else None
        db = sum_to(where(a > b, 0.0, half), b.shape) if ctx.needs_input_grad[1] else None
        return da, db


class Minimum(Function):
    """z = min(a, b): dz goes to the smaller input; ties split it half and half."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        half = where(a == b, g / 2, g)
        da = sum_to(where(a > b, 0.0, half), a.shape) if ctx.needs_input_grad[0] else None
        db = sum_to(where(a < b, 0.0, half), b.shape) if ctx.needs_input_grad[1] else None
        return da, db


class Where(Function):
    """z = cond ? a : b;  da = cond ? dz : 0,  db = cond ? 0 : dz (cond gets no gradient)."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond
        ctx.shapes = a.shape, b.shape
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        cond = Tensor._from_op(ctx.cond, None)
        sa, sb = ctx.shapes
        zero = constant(0, g.dtype)
        da = sum_to(where(cond, g, zero), sa) if ctx.needs_input_grad[1] else None
        db = sum_to(where(cond, zero, g), sb) if ctx.needs_input_grad[2] else None
        return None, da, db


# ------------------------------------------------------------------ functional API
def add(a: Any, b: Any, alpha: float = 1) -> Tensor:
    if alpha == 1:
        if _scalar_operand(a, b):
            return AddScalar.apply(a, c=b)
        if _scalar_operand(b, a):
            return AddScalar.apply(b, c=a)
    return binary(Add, a, b if alpha == 1 else b * alpha, "add")


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool) or (isinstance(v, Tensor) and v.dtype == np.bool_)


def sub(a: Any, b: Any, alpha: float = 1) -> Tensor:
    if _is_bool(a) or _is_bool(b):  # as PyTorch: a - b on masks is almost always a bug
        raise RuntimeError(
            "sub: subtraction with a bool tensor is not supported; to invert a mask use "
            "~mask or logical_not()"
        )
    if alpha == 1 and _scalar_operand(a, b):
        return AddScalar.apply(a, c=-b)
    return binary(Sub, a, b if alpha == 1 else b * alpha, "sub")


def mul(a: Any, b: Any) -> Tensor:
    if _scalar_operand(a, b):
        return MulScalar.apply(a, c=b)
    if _scalar_operand(b, a):
        return MulScalar.apply(b, c=a)
    return binary(Mul, a, b, "mul")


def div(a: Any, b: Any, rounding_mode: str | None = None) -> Tensor:
    if rounding_mode is not None:
        from minigrad.ops.compare import floor_divide

        if rounding_mode != "floor":
            raise ValueError(f"div: unsupported rounding_mode {rounding_mode!r}")
        return floor_divide(a, b)
    if _scalar_operand(a, b):
        return DivScalar.apply(a, c=b)
    a, b = promote(a, b)
    if a.dtype.kind != "f":  # true division of integers gives the default float dtype
        from minigrad import dtypes

        a, b = as_tensor(a, dtypes.get_default_dtype()), as_tensor(b, dtypes.get_default_dtype())
    return binary(Div, a, b, "div")


def pow(a: Any, b: Any) -> Tensor:
    """a ** b for tensors and Python numbers on either side."""
    ta, tb = promote(a, b)
    if ta.dtype == np.bool_:  # PyTorch: only bool_tensor ** True/False, which stays bool
        if not isinstance(b, bool):
            raise NotImplementedError("pow: not implemented for bool tensors")
        return Tensor._from_op(np.power(ta.data, tb.data).astype(np.bool_), None)
    return binary(Pow, ta, tb, "pow")


def maximum(a: Any, b: Any) -> Tensor:
    return binary(Maximum, a, b, "maximum")


def minimum(a: Any, b: Any) -> Tensor:
    return binary(Minimum, a, b, "minimum")


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a if condition else b``; condition must be a bool tensor."""
    cond = as_tensor(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    a, b = promote(a, b)
    try:
        return Where.apply(cond, a, b)
    except ValueError:
        from minigrad.ops._util import check_broadcast

        check_broadcast("where", cond.shape, a.shape, b.shape)
        raise
