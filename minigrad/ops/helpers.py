"""Helpers for writing ops (public; ``docs/adding-an-op.md`` shows them in use).

What every op module, and ``minigrad.nn`` / ``minigrad.optim``, needs around a
``Function``: turning Python values into tensors (``as_tensor``, ``constant``),
PyTorch's dtype promotion (``promote``), broadcasting with a clear error
(``check_broadcast``, ``binary``, ``broadcast_to``, the core's ``sum_to``), the one
float-input check (``float_input``) and the one dropout-probability check
(``check_dropout_p``), and casts (``cast``). The speed helpers it re-exports
(``in_pieces``, ``is_array``, ``array_op``, ``broadcast_view``) are explained in their
own modules under ``minigrad/fast/``."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import dtypes
from minigrad.autograd.function import Function
from minigrad.core.broadcast import BroadcastTo, reduce_to_shape, sum_to
from minigrad.core.primitives import Cast
from minigrad.fast.array_mode import _Scratch, array_of, forward_only, is_array
from minigrad.fast.pieces import PIECE, in_pieces
from minigrad.fast.strided import broadcast_view
from minigrad.ops.declare import op
from minigrad.tensor import Tensor, _to_array

__all__ = [
    "PIECE",
    "BroadcastTo",
    "Cast",
    "_Scratch",
    "array_of",
    "array_op",
    "as_tensor",
    "binary",
    "broadcast_to",
    "broadcast_view",
    "cast",
    "check_broadcast",
    "check_dropout_p",
    "constant",
    "float_input",
    "in_pieces",
    "is_array",
    "max_along",
    "promote",
    "reduce_to_shape",
    "sum_to",
    "zero_grad_of",
]


def max_along(x: np.ndarray, axis: int) -> np.ndarray:
    """``x.max(axis, keepdims=True)``: the shift of every log-sum-exp.

    NumPy reduces the last axis of a 2-D array row by row, slowly when rows are short;
    with a few columns (a classifier's logits) reducing axis 0 of the transposed copy
    runs across the rows instead, several times faster for the same result."""
    if x.ndim == 2 and axis % 2 == 1 and x.shape[1] <= 32:
        return np.ascontiguousarray(x.T).max(axis=0)[:, None]
    return x.max(axis=axis, keepdims=True)


def as_tensor(x: Any, dtype: np.dtype | None = None) -> Tensor:
    """A Tensor for ``x`` (itself when it already is one and no cast is asked)."""
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == dtype else cast(x, dtype)
    if dtype is not None:
        return Tensor._from_op(np.asarray(x, dtype=dtype), None)
    return Tensor._from_op(_to_array(x), None)  # minigrad.tensor's dtype inference


def array_op(fn: type[Function], *xs: Any, **params: Any) -> Any:
    """``fn`` on Tensors (recorded as usual) or, on bare arrays, its forward alone."""
    return forward_only(fn, *xs, **params) if is_array(xs[0]) else fn.apply(*xs, **params)


def float_input(x: Any, op: str, name: str = "input") -> Tensor:
    """``x`` as a Tensor, which must have a floating point dtype (else a RuntimeError
    naming ``op``, as PyTorch's kernels refuse integer inputs)."""
    x = as_tensor(x)
    if x.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected {name} of a floating point dtype, got {x.dtype}")
    return x


def check_dropout_p(p: float) -> float:
    """A dropout probability, which must lie in [0, 1] (PyTorch's message otherwise)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return p


def constant(value: Any, dtype: np.dtype) -> Tensor:
    return Tensor._from_op(np.asarray(value, dtype=dtype), None)


def zero_grad_of(g: Any) -> Any:
    """The gradient of a step function (sign, floor, ...): zeros shaped as ``g``, not
    ``g · 0``, which is NaN where dy is inf or NaN (PyTorch's is 0 there too)."""
    return np.zeros_like(g) if is_array(g) else constant(np.zeros(g.shape), g.dtype)


def promote(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of PyTorch's result dtype (differentiable casts)."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a.data.dtype == b.data.dtype:
                return a, b
        elif _keeps_dtype(a.data.dtype, b):  # fast path: ``x * 2.0``
            return a, Tensor._from_op(np.array(b, a.data.dtype), None)
    elif isinstance(b, Tensor) and _keeps_dtype(b.data.dtype, a):  # ``2.0 * x``
        return Tensor._from_op(np.array(a, b.data.dtype), None), b
    dt = dtypes.result_type(a, b)
    return as_tensor(a, dt), as_tensor(b, dt)


def _keeps_dtype(dtype: np.dtype, scalar: Any) -> bool:
    """A Python float with a float tensor, or a Python int with a float or integer
    tensor, takes the tensor's dtype (PyTorch's rule for scalars)."""
    kind = dtype.kind
    t = type(scalar)
    return (t is float and kind == "f") or (t is int and kind in "fiu")


def check_broadcast(op: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(
            f"{op}: shapes {' and '.join(str(tuple(s)) for s in shapes)} cannot be broadcast "
            "together (sizes must match or be 1 in every trailing dimension)"
        ) from None


def binary(fn: type[Function], a: Any, b: Any, op: str) -> Tensor:
    """Apply a broadcasting binary Function after promotion, with a clear shape error."""
    a, b = promote(a, b)
    try:
        return fn.apply(a, b)
    except ValueError:
        check_broadcast(op, a.shape, b.shape)
        raise


@op(methods=False)
def cast(x: Tensor, dtype: Any) -> Tensor:
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    if is_array(x):  # array-mode backward
        return x.astype(dtype)
    if x.requires_grad and dtype.kind != "f":
        return Tensor._from_op(x.data.astype(dtype), None)  # integer results carry no grad
    return Cast.apply(x, dtype=dtype)


op(methods=False)(sum_to)  # the core's: a public op too (summing a gradient back)


@op()
def broadcast_to(x: Tensor, shape: Any) -> Tensor:
    shape = tuple(shape)
    if x.shape == shape:
        return x
    if is_array(x):  # array-mode backward
        return broadcast_view(np.asarray(x), shape)
    check_broadcast("broadcast_to", x.shape, shape)
    if np.broadcast_shapes(x.shape, shape) != shape:
        raise RuntimeError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return BroadcastTo.apply(x, shape=shape)
