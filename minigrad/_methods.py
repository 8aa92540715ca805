"""Attach the ops to ``Tensor`` as methods and Python operators.

Each op declares its own methods and operators (``@op`` in ``minigrad/ops/``); the
table here holds the Tensor methods that are not a single op.
"""

from __future__ import annotations

from numbers import Number
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.device import check_device, to_arguments
from minigrad.ops.declare import tensor_members
from minigrad.ops.helpers import cast
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


# Tensor methods that are not one op each (dtype conversions, constructors, argument
# orders that differ from the function's); every op's own methods and operators come
# from its declaration (``minigrad/ops/declare.py``).
METHODS: dict[str, Any] = {
    "pow": _pow,
    "where": lambda x, cond, other: ops.where(cond, x, other),
    "view_as": lambda x, other: ops.reshape(x, other.shape),
    "reshape_as": lambda x, other: ops.reshape(x, other.shape),
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
    "__pow__": _pow,
    "__rpow__": _rpow,
    "__pos__": lambda x: x,
    # (PyTorch's method spellings of aliases)
    **{n: getattr(ops, n) for n in "negative multiply subtract divide true_divide".split()},
    "floor_divide": ops.floor_divide,
}


# PyTorch's in-place variants ``x.op_(...)``: the op, written into x's memory by
# ``Tensor._inplace`` (recorded inside a graph, version-counted, through views).
IN_PLACE = """pow exp log log2 log10 log1p expm1 sqrt rsqrt abs neg negative sign sin cos tan
asin acos atan sinh cosh tanh asinh acosh atanh sigmoid relu floor ceil round trunc fix frac
reciprocal square erf erfc erfinv clip masked_fill masked_scatter index_add index_fill
index_copy scatter scatter_add scatter_reduce fmod remainder lerp addcmul addcdiv atan2 hypot
xlogy digamma lgamma sinc multiply subtract divide true_divide floor_divide""".split()


def _in_place(name: str) -> Any:
    def method(x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        operands = [*args, *kwargs.values()]
        return x._inplace(f"{name}_", lambda t: getattr(t, name)(*args, **kwargs), *operands)

    method.__name__ = method.__qualname__ = f"{name}_"
    method.__doc__ = f"In place: ``x.{name}(...)`` written into x's memory."
    return method


def install() -> None:
    for name, fn in {**tensor_members(), **METHODS}.items():
        setattr(Tensor, name, fn)
    for name in IN_PLACE:
        if not hasattr(Tensor, f"{name}_"):  # (add_, clamp_... have their own)
            setattr(Tensor, f"{name}_", _in_place(name))
    Tensor.T = property(lambda x: ops.permute(x, tuple(reversed(range(x.ndim)))))
    Tensor.mT = property(lambda x: ops.transpose(x, -2, -1))


install()
