"""Attach the ops to ``Tensor`` as methods and Python operators.

One table, so a reader sees at a glance which method is which op; the ops and
their derivatives live in ``minigrad/ops/``.
"""

from __future__ import annotations

from numbers import Number
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.device import check_device, to_arguments
from minigrad.ops._util import cast
from minigrad.tensor import Tensor


def _pow(x: Tensor, exponent: Any) -> Tensor:
    if isinstance(exponent, Number) and not isinstance(exponent, bool):
        return ops.pow_scalar(x, exponent)
    return ops.pow(x, exponent)


def _rpow(x: Tensor, base: Any) -> Tensor:
    if isinstance(base, Number):
        return ops.rpow_scalar(base, x)
    return ops.pow(base, x)


def _to(x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """``to(dtype)``, ``to(other_tensor)``, ``to("cpu")``, ``to("cpu", dtype)``."""
    dtype, copy = to_arguments("to", args, kwargs)
    y = x if dtype is None else cast(x, dtype)
    return ops.clone(y) if copy and y is x else y


def _new(fill: Any, name: str) -> Any:
    def method(
        x: Tensor, *size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None
    ) -> Tensor:
        from minigrad.creation import _size

        check_device(device, name)
        shape = _size(size)
        t = Tensor._from_op(np.full(shape, fill, dtype or x.dtype), None)
        return t.requires_grad_(requires_grad) if requires_grad else t

    return method


def _new_tensor(
    x: Tensor, data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    check_device(device, "new_tensor")
    return Tensor(data, dtype=dtype or x.dtype, requires_grad=requires_grad)


def _new_full(
    x: Tensor, size: Any, fill_value: Any, dtype: Any = None, device: Any = None
) -> Tensor:
    check_device(device, "new_full")
    return Tensor._from_op(np.full(tuple(size), fill_value, dtype or x.dtype), None)


def _type_as(x: Tensor, other: Tensor) -> Tensor:
    return cast(x, other.dtype)


METHODS: dict[str, Any] = {
    # arithmetic
    "add": ops.add,
    "sub": ops.sub,
    "mul": ops.mul,
    "div": ops.div,
    "pow": _pow,
    "neg": ops.neg,
    "abs": ops.abs,
    "sign": ops.sign,
    "exp": ops.exp,
    "log": ops.log,
    "log1p": ops.log1p,
    "expm1": ops.expm1,
    "sqrt": ops.sqrt,
    "rsqrt": ops.rsqrt,
    "sin": ops.sin,
    "cos": ops.cos,
    "tanh": ops.tanh,
    "sigmoid": ops.sigmoid,
    "relu": ops.relu,
    "reciprocal": ops.reciprocal,
    "square": ops.square,
    "erf": ops.erf,
    "clamp": ops.clamp,
    "clip": ops.clip,
    "maximum": ops.maximum,
    "minimum": ops.minimum,
    "where": lambda x, cond, other: ops.where(cond, x, other),
    "softmax": ops.softmax,
    "log_softmax": ops.log_softmax,
    # reductions
    "sum": ops.sum,
    "mean": ops.mean,
    "max": ops.max,
    "min": ops.min,
    "amax": ops.amax,
    "amin": ops.amin,
    "var": ops.var,
    "std": ops.std,
    "prod": ops.prod,
    "logsumexp": ops.logsumexp,
    "norm": ops.norm,
    "cumsum": ops.cumsum,
    "argmax": ops.argmax,
    "argmin": ops.argmin,
    # shape
    "reshape": ops.reshape,
    "view": ops.view,
    "flatten": ops.flatten,
    "squeeze": ops.squeeze,
    "unsqueeze": ops.unsqueeze,
    "transpose": ops.transpose,
    "swapaxes": ops.swapaxes,
    "permute": ops.permute,
    "expand": ops.expand,
    "expand_as": ops.expand_as,
    "broadcast_to": ops.broadcast_to,
    "repeat": ops.repeat,
    "flip": ops.flip,
    "split": ops.split,
    "chunk": ops.chunk,
    "unbind": ops.unbind,
    "narrow": ops.narrow,
    "tril": ops.tril,
    "triu": ops.triu,
    "t": ops.t,
    "contiguous": ops.contiguous,
    "clone": ops.clone,
    "view_as": lambda x, other: ops.reshape(x, other.shape),
    "reshape_as": lambda x, other: ops.reshape(x, other.shape),
    # indexing
    "gather": ops.gather,
    "scatter_add": ops.scatter_add,
    "index_select": ops.index_select,
    "masked_fill": ops.masked_fill,
    # linear algebra
    "matmul": ops.matmul,
    "mm": ops.mm,
    "bmm": ops.bmm,
    "dot": ops.dot,
    # comparisons (no gradient)
    "eq": ops.eq,
    "ne": ops.ne,
    "lt": ops.lt,
    "le": ops.le,
    "gt": ops.gt,
    "ge": ops.ge,
    "logical_not": ops.logical_not,
    "logical_and": ops.logical_and,
    "logical_or": ops.logical_or,
    "isnan": ops.isnan,
    "isinf": ops.isinf,
    "isfinite": ops.isfinite,
    "allclose": ops.allclose,
    "equal": ops.equal,
    # dtype and construction
    "to": _to,
    "type_as": _type_as,
    "float": lambda x: cast(x, np.float32),
    "double": lambda x: cast(x, np.float64),
    "half": lambda x: cast(x, np.float16),
    "long": lambda x: cast(x, np.int64),
    "int": lambda x: cast(x, np.int32),
    "bool": lambda x: cast(x, np.bool_),
    "new_zeros": _new(0, "new_zeros"),
    "new_ones": _new(1, "new_ones"),
    "new_empty": _new(0, "new_empty"),
    "new_tensor": _new_tensor,
    "new_full": _new_full,
    "cpu": lambda x: x,
}

OPERATORS: dict[str, Any] = {
    "__add__": ops.add,
    "__radd__": lambda x, y: ops.add(y, x),
    "__sub__": ops.sub,
    "__rsub__": lambda x, y: ops.sub(y, x),
    "__mul__": ops.mul,
    "__rmul__": lambda x, y: ops.mul(y, x),
    "__truediv__": ops.div,
    "__rtruediv__": lambda x, y: ops.div(y, x),
    "__floordiv__": ops.floor_divide,
    "__rfloordiv__": lambda x, y: ops.floor_divide(y, x),
    "__mod__": ops.remainder,
    "__rmod__": lambda x, y: ops.remainder(y, x),
    "__pow__": _pow,
    "__rpow__": _rpow,
    "__matmul__": ops.matmul,
    "__rmatmul__": lambda x, y: ops.matmul(y, x),
    "__neg__": ops.neg,
    "__pos__": lambda x: x,
    "__abs__": ops.abs,
    "__eq__": ops.eq,
    "__ne__": ops.ne,
    "__lt__": ops.lt,
    "__le__": ops.le,
    "__gt__": ops.gt,
    "__ge__": ops.ge,
    "__and__": ops.bitwise_and,
    "__rand__": lambda x, y: ops.bitwise_and(y, x),
    "__or__": ops.bitwise_or,
    "__ror__": lambda x, y: ops.bitwise_or(y, x),
    "__xor__": ops.logical_xor,
    "__invert__": ops.bitwise_not,
    "__getitem__": ops.getitem,
}


def install() -> None:
    for name, fn in {**METHODS, **OPERATORS}.items():
        setattr(Tensor, name, fn)
    Tensor.T = property(lambda x: ops.permute(x, tuple(reversed(range(x.ndim)))))
    Tensor.mT = property(lambda x: ops.transpose(x, -2, -1))


install()
