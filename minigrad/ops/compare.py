"""Comparisons and other ops with no gradient: they return bool or integer tensors.

Nothing here is recorded in the graph (the derivative of a step function is zero
almost everywhere), so these compute directly on arrays -- except the rounding
divisions: ``remainder`` and ``fmod`` are recorded (their derivative in ``a`` is 1),
and ``floor_divide`` of tensors that require grad is recorded so that its backward
refuses, as PyTorch's does, rather than pass nothing back silently.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.ops.declare import op
from minigrad.ops.helpers import _Scratch, check_broadcast, promote, sum_to
from minigrad.tensor import Tensor


def _compare(ufunc: np.ufunc, a: Any, b: Any, op: str) -> Tensor:
    a, b = promote(a, b)
    try:
        return Tensor._from_op(ufunc(a.data, b.data), None)
    except ValueError:
        check_broadcast(op, a.shape, b.shape)
        raise


@op(operators=("__eq__",))
def eq(a: Any, b: Any) -> Tensor:
    return _compare(np.equal, a, b, "eq")


@op(operators=("__ne__",))
def ne(a: Any, b: Any) -> Tensor:
    return _compare(np.not_equal, a, b, "ne")


@op(operators=("__lt__",))
def lt(a: Any, b: Any) -> Tensor:
    return _compare(np.less, a, b, "lt")


@op(operators=("__le__",))
def le(a: Any, b: Any) -> Tensor:
    return _compare(np.less_equal, a, b, "le")


@op(operators=("__gt__",))
def gt(a: Any, b: Any) -> Tensor:
    return _compare(np.greater, a, b, "gt")


@op(operators=("__ge__",))
def ge(a: Any, b: Any) -> Tensor:
    return _compare(np.greater_equal, a, b, "ge")


def _require_bool_or_int(x: Tensor, op: str) -> None:
    if x.dtype.kind not in "biu":
        raise TypeError(f"{op}: expected a bool or integer tensor, got dtype {x.dtype}")


@op()
def logical_and(a: Any, b: Any) -> Tensor:
    return _compare(np.logical_and, a, b, "logical_and")


@op()
def logical_or(a: Any, b: Any) -> Tensor:
    return _compare(np.logical_or, a, b, "logical_or")


@op(methods=False, operators=("__xor__",))
def logical_xor(a: Any, b: Any) -> Tensor:
    return _compare(np.logical_xor, a, b, "logical_xor")


@op()
def logical_not(a: Tensor) -> Tensor:
    return Tensor._from_op(np.logical_not(a.data), None)


@op(methods=False, operators=("__and__", "__rand__"))
def bitwise_and(a: Any, b: Any) -> Tensor:
    a, b = promote(a, b)
    _require_bool_or_int(a, "bitwise_and")
    return _compare(np.bitwise_and, a, b, "bitwise_and")


@op(methods=False, operators=("__or__", "__ror__"))
def bitwise_or(a: Any, b: Any) -> Tensor:
    a, b = promote(a, b)
    _require_bool_or_int(a, "bitwise_or")
    return _compare(np.bitwise_or, a, b, "bitwise_or")


@op(methods=False, operators=("__invert__",))
def bitwise_not(a: Tensor) -> Tensor:
    _require_bool_or_int(a, "bitwise_not")
    return Tensor._from_op(np.invert(a.data), None)


class Remainder(Function):
    """r = a - floor(a / b)·b (the sign of b, Python's ``%``);
    da = dr,  db = -dr · floor(a / b)."""

    rounding = staticmethod(np.floor)
    ufunc = staticmethod(np.remainder)

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return cls.ufunc(a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved_tensors
        da = sum_to(g, a.shape) if ctx.needs_input_grad[0] else None
        db = None
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                q = Tensor._from_op(cls.rounding(a.data / b.data), None)
            db = sum_to(-g * q, b.shape)
        return da, db


class Fmod(Remainder):
    """r = a - trunc(a / b)·b (the sign of a, C's ``fmod``);
    da = dr,  db = -dr · trunc(a / b)."""

    rounding = staticmethod(np.trunc)
    ufunc = staticmethod(np.fmod)


class FloorDivide(Function):
    """q = floor(a / b): a step function of both inputs. PyTorch defines no derivative
    for it and refuses in backward; so does this node."""

    @staticmethod
    def forward(ctx, a, b):
        return np.floor_divide(a, b)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("floor_divide: the derivative for floor_divide is not implemented")


def _rounding_division(fn: type[Function], a: Any, b: Any, op: str) -> Tensor:
    """Promote, refuse integer division by zero (PyTorch: ZeroDivisionError), then
    record ``fn`` when a float operand requires grad, else compute directly."""
    a, b = promote(a, b)
    if a.dtype.kind in "biu" and not np.all(b.data):
        raise RuntimeError(f"{op}: integer division by zero (ZeroDivisionError)")
    check_broadcast(op, a.shape, b.shape)
    if a.requires_grad or b.requires_grad or a._fw is not None or b._fw is not None:
        return fn.apply(a, b)  # recorded, or carrying a tangent (forward mode)
    return Tensor._from_op(np.asarray(fn.forward(_Scratch(), a.data, b.data)), None)


@op(methods=False, operators=("__floordiv__", "__rfloordiv__"))
def floor_divide(a: Any, b: Any) -> Tensor:
    """floor(a / b) elementwise (``a // b``)."""
    return _rounding_division(FloorDivide, a, b, "floor_divide")


@op(methods=("remainder",), operators=("__mod__", "__rmod__"))
def remainder(a: Any, b: Any) -> Tensor:
    """a - floor(a / b)·b (``a % b``: the result takes the sign of b)."""
    return _rounding_division(Remainder, a, b, "remainder")


@op()
def fmod(a: Any, b: Any) -> Tensor:
    """a - trunc(a / b)·b (the result takes the sign of a)."""
    return _rounding_division(Fmod, a, b, "fmod")


@op()
def isnan(x: Tensor) -> Tensor:
    return Tensor._from_op(np.isnan(x.data), None)


@op()
def isinf(x: Tensor) -> Tensor:
    return Tensor._from_op(np.isinf(x.data), None)


@op()
def isfinite(x: Tensor) -> Tensor:
    return Tensor._from_op(np.isfinite(x.data), None)


@op()
def allclose(a: Tensor, b: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    return bool(np.allclose(a.data, getattr(b, "data", b), rtol=rtol, atol=atol))


@op()
def equal(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a.data, b.data))
