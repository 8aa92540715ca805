"""Helpers shared by the op modules: wrapping Python values, dtype promotion, broadcasting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from minigrad import dtypes
from minigrad.autograd.function import Function
from minigrad.tensor import Tensor, _to_array

# Elements per piece in ``in_pieces``: the pieces an elementwise computation touches
# (a few arrays of 128-256 KiB) stay in the CPU's L2 cache between its passes.
PIECE = 1 << 15


def in_pieces(
    *arrays: np.ndarray, scratch: int = 1, dtype: Any = None
) -> Iterator[tuple[np.ndarray, ...]]:
    """Matching flat pieces of same-shaped arrays, each followed by ``scratch`` scratch
    pieces (of ``dtype``, by default the first array's).

    A computation of many elementwise passes over a large array (an Adam step, the erf
    polynomial) is limited by memory bandwidth when every pass runs over the whole
    array. Done piece by piece, all the passes over one piece run while it is in
    cache: several times faster, and each temporary is piece-sized. The arithmetic per
    element, and so every rounding, is unchanged. Arrays that are not C-contiguous (no
    flat view to write through) are passed whole.
    """
    first = arrays[0]
    n = first.size
    dtype = first.dtype if dtype is None else dtype
    if n <= PIECE or not all(a.flags.c_contiguous for a in arrays):
        yield (*arrays, *(np.empty(first.shape, dtype) for _ in range(scratch)))
        return
    flat = [a.reshape(-1) for a in arrays]  # views: writes reach the arrays
    buffers = [np.empty(PIECE, dtype) for _ in range(scratch)]
    for i in range(0, n, PIECE):
        j = min(i + PIECE, n)
        yield (*[f[i:j] for f in flat], *[b[: j - i] for b in buffers])


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


def is_array(x: Any) -> bool:
    """True for NumPy arrays and scalars (0-d arithmetic gives scalars): what an
    array-mode backward computes with."""
    return isinstance(x, (np.ndarray, np.generic))


class _Scratch:
    """Stands in for ``ctx`` when a Function's forward runs outside the graph."""

    def save_for_backward(self, *arrays: np.ndarray) -> None:
        pass


def array_op(fn: type[Function], *xs: Any, **params: Any) -> Any:
    """``fn`` on Tensors (recorded as usual) or, in an array-mode backward, on plain
    ndarrays (its forward alone: nothing to record)."""
    if is_array(xs[0]):
        return fn.forward(_Scratch(), *xs, **params)
    return fn.apply(*xs, **params)


def array_of(x: Any) -> np.ndarray:
    """The array behind a Tensor, or the array itself (``ndarray.data`` is a buffer)."""
    return x if is_array(x) else x.data


def constant(value: Any, dtype: np.dtype) -> Tensor:
    return Tensor._from_op(np.asarray(value, dtype=dtype), None)


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


class Cast(Function):
    """y = x as another dtype;  dx = dy cast back to x's dtype."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return cast(grad, ctx.src)


def cast(x: Tensor, dtype: Any) -> Tensor:
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    if is_array(x):  # array-mode backward
        return x.astype(dtype)
    if x.requires_grad and dtype.kind != "f":
        return Tensor._from_op(x.data.astype(dtype), None)  # integer results carry no grad
    return Cast.apply(x, dtype=dtype)


class SumTo(Function):
    """Sum a broadcast gradient back to an input's shape.

    If y = broadcast(x), each element of x was copied to several places of y, so
    dx = sum of dy over those places. Its own backward is the broadcast again.
    """

    array_backward = True

    @staticmethod
    def forward(ctx, g, shape):
        ctx.in_shape = g.shape
        return reduce_to_shape(g, shape)

    @staticmethod
    def backward(ctx, grad):
        return broadcast_to(grad, ctx.in_shape)


class BroadcastTo(Function):
    """y = x repeated along broadcast dimensions (a view);  dx = sum_to(dy, x.shape)."""

    is_view = True

    array_backward = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return broadcast_view(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return sum_to(grad, ctx.in_shape)


def reduce_to_shape(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """NumPy-level ``sum_to``: sum the leading extra axes and the axes where shape has 1."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    out = g.sum(axis=axes, keepdims=True) if axes else g
    return out.reshape(shape) if lead or out.shape != shape else out


def sum_to(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum ``g`` down to ``shape`` (a Tensor, or an ndarray in array-mode backward)."""
    if g.shape == tuple(shape):
        return g
    if is_array(g):
        return reduce_to_shape(g, tuple(shape))
    return SumTo.apply(g, shape=tuple(shape))


def broadcast_view(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``np.broadcast_to(x, shape)``: a read-only view in which each broadcast
    dimension has stride 0. Built directly with the ndarray constructor, which costs a
    fraction of NumPy's general function (several µs), because the backward of every
    sum and mean calls it."""
    lead = len(shape) - x.ndim
    if lead < 0 or not x.flags.c_contiguous or x.size == 0:
        return np.broadcast_to(x, shape)
    strides = [0] * lead
    for n, target, stride in zip(x.shape, shape[lead:], x.strides):
        if n == target:
            strides.append(stride)
        elif n == 1:
            strides.append(0)
        else:
            return np.broadcast_to(x, shape)  # not broadcastable: NumPy's error
    view = np.ndarray(shape, x.dtype, x, 0, tuple(strides))
    view.flags.writeable = False  # as NumPy's: a write would hit one element many times
    return view


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
