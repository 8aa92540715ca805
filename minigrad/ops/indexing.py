"""Indexing: reading some elements (getitem, gather, index_select) and the
matching scatter that sends their gradient back.

Reading ``y = x[idx]`` copies elements of x to y, so ``dx`` is zero everywhere
except at idx, where it receives dy -- *summed* where idx repeats an element
(``np.add.at``). That scatter is itself a Function whose backward is the read
again, so both are differentiable to any order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.core.primitives import GetItem
from minigrad.device import refuse_torch_tensor
from minigrad.ops._util import array_op, as_tensor
from minigrad.ops.binary import where
from minigrad.ops.declare import op
from minigrad.ops.shape import Pad
from minigrad.tensor import Tensor, _normalize_dim


def _is_basic(index: tuple) -> bool:
    """True when the index has only ints, slices, None and Ellipsis: y is a view, no repeats."""
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in index)


def _along_axis_index(index: np.ndarray, dim: int) -> tuple:
    """Full fancy index addressing ``out[i0, .., index[i], .., ik]`` for gather/scatter."""
    grids = list(np.ogrid[tuple(slice(n) for n in index.shape)])
    grids[dim] = index
    return tuple(grids)


class Gather(Function):
    """y[i][j] = x[i][index[i][j]] (along dim);  dx = zeros with dy scattered-added back."""

    @staticmethod
    def forward(ctx, x, index, dim):
        ctx.in_shape, ctx.index, ctx.dim = x.shape, index, dim
        return x[_along_axis_index(index, dim)]

    @staticmethod
    def backward(ctx, g):
        zeros = Tensor._from_op(np.zeros(ctx.in_shape, dtype=g.dtype), None)
        return scatter_add(zeros, ctx.dim, Tensor._from_op(ctx.index, None), g)


class ScatterAdd(Function):
    """y = x, then y[..index[i]..] += src[i] along dim;  dx = dy,  dsrc = gather(dy, index)."""

    @staticmethod
    def forward(ctx, x, src, index, dim):
        ctx.index, ctx.dim, ctx.src_shape = index, dim, src.shape
        out = x.copy()
        np.add.at(out, _along_axis_index(index, dim), src[tuple(slice(n) for n in index.shape)])
        return out

    @staticmethod
    def backward(ctx, g):
        dsrc = None
        if ctx.needs_input_grad[1]:
            dsrc = gather(g, ctx.dim, Tensor._from_op(ctx.index, None))
            if dsrc.shape != ctx.src_shape:  # src elements beyond index's extent got no use
                widths = tuple((0, n - k) for n, k in zip(ctx.src_shape, dsrc.shape))
                dsrc = Pad.apply(dsrc, widths=widths, value=0.0)
        return g, dsrc


class IndexPut(Function):
    """y = x with y[index] = v (v broadcast to the indexed shape);
    dx = dy with zeros at index (those values were overwritten),
    dv = sum_to(dy[index], v.shape)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, v, index):
        ctx.index, ctx.v_shape = index, v.shape
        out = x.copy()
        out[index] = v
        return out

    @staticmethod
    def backward(ctx, g):
        from minigrad.ops._util import sum_to

        dx = dv = None
        if ctx.needs_input_grad[0]:
            keep = np.ones(g.shape, dtype=g.dtype)
            keep[ctx.index] = 0
            dx = g * keep
        if ctx.needs_input_grad[1]:
            dv = sum_to(array_op(GetItem, g, index=ctx.index), ctx.v_shape)
        return dx, dv


# ------------------------------------------------------------------ functional API
def _convert_index(x: Tensor, index: Any) -> tuple:
    idx = index if isinstance(index, tuple) else (index,)
    out = []
    for i in idx:
        refuse_torch_tensor(i, "indexing")
        if isinstance(i, Tensor):
            i = i.data
        elif isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, np.ndarray) and i.dtype.kind not in "biu":
            raise IndexError(
                f"getitem: tensors used as indices must be long, int or bool tensors, got {i.dtype}"
            )
        if isinstance(i, np.ndarray) and i.ndim == 0 and i.dtype.kind in "iu":
            i = int(i)  # a 0-d integer tensor selects, like an int (as PyTorch)
        out.append(i)
    return tuple(out)


def _split_ints_from_arrays(idx: tuple) -> tuple[tuple, tuple] | None:
    """PyTorch applies integer indices first (each removes its dim), then the array
    indices on the dims left; NumPy would broadcast the integers together with the
    arrays, which reorders the result's dims when a slice separates them. So an index
    with both is split in two: (ints, slices, None, Ellipsis) then (arrays)."""
    is_int = [isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in idx]
    if not any(is_int) or not any(isinstance(i, np.ndarray) for i in idx):
        return None
    basic: list[Any] = []
    advanced: list[Any] = []
    for i, integer in zip(idx, is_int):
        if isinstance(i, np.ndarray):
            basic += [slice(None)] * (i.ndim if i.dtype == np.bool_ else 1)
            advanced.append(i)
        elif i is Ellipsis:
            basic.append(i)
            advanced.append(i)
        elif not integer:  # slice or None: both leave one dim for the second step
            basic.append(i)
            advanced.append(slice(None))
        else:
            basic.append(i)
    return tuple(basic), tuple(advanced)


@op(methods=False, operators=("__getitem__",))
def getitem(x: Tensor, index: Any) -> Tensor:
    """x[index]. Basic indexing (ints, slices, None, ...) gives a view sharing x's
    memory, as PyTorch's: ``x[1].fill_(5)`` writes into x."""
    idx = _convert_index(x, index)
    if idx and all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in idx):
        idx = (*idx, Ellipsis)  # NumPy gives a scalar copy for a full integer index
    split = _split_ints_from_arrays(idx)
    if split is not None:
        return getitem(getitem(x, split[0]), split[1])
    try:
        return GetItem.apply(x, index=idx)
    except IndexError as e:
        raise IndexError(
            f"getitem: index {index!r} is invalid for a tensor of shape {x.shape}: {e}"
        ) from None


def _check_index_tensor(op: str, index: Tensor, x: Tensor, dim: int) -> np.ndarray:
    idx = as_tensor(index).data
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected an int64 index tensor, got dtype {idx.dtype}")
    n = x.shape[dim]
    if idx.size and (idx.min() < 0 or idx.max() >= n):  # no negative indices, as PyTorch
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(
            f"{op}: index {int(bad)} is out of bounds for dimension {dim} with size {n}"
        )
    return idx


@op()
def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    d = _normalize_dim(dim, x.ndim, "gather")
    idx = _check_index_tensor("gather", index, x, d)
    if idx.ndim != x.ndim or any(idx.shape[i] > x.shape[i] for i in range(x.ndim) if i != d):
        raise RuntimeError(
            f"gather: index of shape {idx.shape} does not fit input of shape {x.shape} "
            f"(same number of dims; size <= input size in every dim but {d})"
        )
    return Gather.apply(x, index=idx, dim=d)


@op()
def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    d = _normalize_dim(dim, x.ndim, "scatter_add")
    idx = _check_index_tensor("scatter_add", index, x, d)
    src = as_tensor(src, x.dtype)
    if idx.ndim != x.ndim or any(idx.shape[i] > src.shape[i] for i in range(idx.ndim)):
        raise RuntimeError(
            f"scatter_add: index of shape {idx.shape} must have as many dims as the input "
            f"{x.shape} and be no larger than src {src.shape} in any dim"
        )
    return ScatterAdd.apply(x, src, index=idx, dim=d)


@op()
def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    d = _normalize_dim(dim, x.ndim, "index_select")
    idx = _check_index_tensor("index_select", index, x, d)
    if idx.ndim > 1:
        raise IndexError(f"index_select: index must be 0-d or 1-d, got shape {idx.shape}")
    return GetItem.apply(x, index=(slice(None),) * d + (idx.reshape(-1),))


@op()
def masked_fill(x: Tensor, mask: Any, value: Any) -> Tensor:
    """x with ``value`` where ``mask`` is True (mask broadcasts to x)."""
    mask = as_tensor(mask)
    if mask.dtype != np.bool_:
        raise RuntimeError(f"masked_fill: expected a bool mask, got dtype {mask.dtype}")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(
            f"masked_fill: only supports a 0-dimensional value tensor, got shape {value.shape}"
        )
    try:
        if np.broadcast_shapes(mask.shape, x.shape) != x.shape:
            raise ValueError
    except ValueError:
        raise RuntimeError(
            f"masked_fill: mask of shape {mask.shape} cannot be broadcast to the input's "
            f"shape {x.shape}"
        ) from None
    out = where(mask, as_tensor(value, x.dtype) if isinstance(value, Tensor) else value, x)
    return out if out.dtype == x.dtype else as_tensor(out, x.dtype)


@op(methods=False)
def one_hot(index: Tensor, num_classes: int = -1) -> Tensor:
    idx = as_tensor(index).data
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot: expected an int64 tensor, got dtype {idx.dtype}")
    if idx.size and idx.min() < 0:
        raise RuntimeError(f"one_hot: class values must be non-negative, got {int(idx.min())}")
    n = int(idx.max()) + 1 if num_classes == -1 else num_classes
    if idx.size and idx.max() >= n:
        raise RuntimeError(f"one_hot: class value {int(idx.max())} is out of range for {n} classes")
    return Tensor._from_op((idx[..., None] == np.arange(n)).astype(np.int64), None)


def index_put(x: Tensor, index: Any, value: Any) -> Tensor:
    """``x`` with ``x[index] = value`` as a new tensor (what ``x[index] = value`` records)."""
    idx = _convert_index(x, index)
    v = (
        as_tensor(value, x.dtype)
        if isinstance(value, Tensor)
        else Tensor._from_op(np.asarray(value, dtype=x.dtype), None)
    )
    target = np.broadcast_to(np.empty((), np.int8), x.shape)[idx].shape
    if v.ndim > len(target) and all(n == 1 for n in v.shape[: v.ndim - len(target)]):
        # leading size-1 dims of the value are dropped, as PyTorch (and NumPy) assign
        from minigrad.ops.shape import reshape

        v = reshape(v, v.shape[v.ndim - len(target) :])
    try:
        return IndexPut.apply(x, v, index=idx)
    except (IndexError, ValueError) as e:
        # a bad index is an IndexError; a value that does not fit, PyTorch's RuntimeError
        kind = IndexError if isinstance(e, IndexError) else RuntimeError
        raise kind(
            f"__setitem__: cannot assign a value of shape {v.shape} at index {index!r} of a "
            f"tensor of shape {x.shape}: {e}"
        ) from None
