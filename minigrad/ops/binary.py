"""Broadcasting binary ops. Each backward ends with ``sum_to``: an input that was
broadcast gets the sum of the gradient over the positions it was copied to."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import fast
from minigrad.autograd.function import Function
from minigrad.core.primitives import Add, Div, Mul, Pow, Sub, Where
from minigrad.fast.scalar_ops import AddScalar, DivScalar, MulScalar, scalar_operand
from minigrad.ops._util import as_tensor, binary, promote, sum_to
from minigrad.ops.declare import op
from minigrad.tensor import Tensor


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


# ------------------------------------------------------------------ functional API
def _half_with_scalar(a: Any, b: Any) -> bool:
    """A float16 tensor times (or divided by) a Python number: PyTorch computes in float32
    and rounds the result to float16 once (``half(0.001) * 1e5`` is 100.06, not
    ``half(1e5) = inf``). Its add and sub round the scalar to float16 first, as here."""
    t, c = (a, b) if isinstance(a, Tensor) else (b, a)
    return (
        isinstance(t, Tensor)
        and t.data.dtype == np.float16
        and type(c) in (int, float)
        and not isinstance(c, Tensor)
    )


def _in_float32(fn: Any, a: Any, b: Any) -> Tensor:
    from minigrad.ops._util import cast

    a, b = (cast(x, np.float32) if isinstance(x, Tensor) else x for x in (a, b))
    return cast(fn(a, b), np.float16)


@op(operators=("__add__", "__radd__"))
def add(a: Any, b: Any, alpha: float = 1) -> Tensor:
    if alpha == 1 and fast.enabled("scalar_ops"):
        if scalar_operand(a, b):
            return AddScalar.apply(a, c=b)
        if scalar_operand(b, a):
            return AddScalar.apply(b, c=a)
    return binary(Add, a, b if alpha == 1 else b * alpha, "add")


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool) or (isinstance(v, Tensor) and v.dtype == np.bool_)


@op(operators=("__sub__", "__rsub__"), aliases=("subtract",))
def sub(a: Any, b: Any, alpha: float = 1) -> Tensor:
    if _is_bool(a) or _is_bool(b):  # as PyTorch: a - b on masks is almost always a bug
        raise RuntimeError(
            "sub: subtraction with a bool tensor is not supported; to invert a mask use "
            "~mask or logical_not()"
        )
    if alpha == 1 and fast.enabled("scalar_ops") and scalar_operand(a, b):
        return AddScalar.apply(a, c=-b)
    return binary(Sub, a, b if alpha == 1 else b * alpha, "sub")


@op(operators=("__mul__", "__rmul__"), aliases=("multiply",))
def mul(a: Any, b: Any) -> Tensor:
    if _half_with_scalar(a, b):
        return _in_float32(mul, a, b)
    if fast.enabled("scalar_ops"):
        if scalar_operand(a, b):
            return MulScalar.apply(a, c=b)
        if scalar_operand(b, a):
            return MulScalar.apply(b, c=a)
    return binary(Mul, a, b, "mul")


@op(operators=("__truediv__", "__rtruediv__"), aliases=("divide", "true_divide"))
def div(a: Any, b: Any, rounding_mode: str | None = None) -> Tensor:
    if rounding_mode is not None:
        from minigrad.ops.compare import floor_divide

        if rounding_mode != "floor":
            raise ValueError(f"div: unsupported rounding_mode {rounding_mode!r}")
        return floor_divide(a, b)
    if _half_with_scalar(a, b):
        return _in_float32(div, a, b)
    if fast.enabled("scalar_ops") and scalar_operand(a, b):
        return DivScalar.apply(a, c=b)
    a, b = promote(a, b)
    if a.dtype.kind != "f":  # true division of integers gives the default float dtype
        from minigrad import dtypes

        a, b = as_tensor(a, dtypes.get_default_dtype()), as_tensor(b, dtypes.get_default_dtype())
    return binary(Div, a, b, "div")


@op(methods=False)
def pow(a: Any, b: Any) -> Tensor:
    """a ** b for tensors and Python numbers on either side."""
    ta, tb = promote(a, b)
    if ta.dtype == np.bool_:  # PyTorch: only bool_tensor ** True/False, which stays bool
        if not isinstance(b, bool):
            raise NotImplementedError("pow: not implemented for bool tensors")
        return Tensor._from_op(np.power(ta.data, tb.data).astype(np.bool_), None)
    return binary(Pow, ta, tb, "pow")


@op()
def maximum(a: Any, b: Any) -> Tensor:
    return binary(Maximum, a, b, "maximum")


@op()
def minimum(a: Any, b: Any) -> Tensor:
    return binary(Minimum, a, b, "minimum")


@op(methods=False)
def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a if condition else b``; condition must be a bool tensor."""
    cond = as_tensor(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    a, b = promote(a, b)
    try:
        return Where.apply(a, b, cond=cond.data)
    except ValueError:
        from minigrad.ops._util import check_broadcast

        check_broadcast("where", cond.shape, a.shape, b.shape)
        raise
