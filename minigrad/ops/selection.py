"""Selecting and scattering along a dimension (take_along_dim, masked_select, index_add,
index_copy, index_fill), and queries that carry no gradient (any, all, nonzero, unique,
bincount, histc, tril_indices, triu_indices).

The differentiable ones are compositions of gather, scatter_add, getitem, where and
masked_fill, so each gradient is that of its parts: a selected element's gradient goes
back to where it was taken from, an overwritten element gets none.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.ops.binary import where
from minigrad.ops.declare import op
from minigrad.ops.helpers import as_tensor, broadcast_to
from minigrad.ops.indexing import gather, getitem, masked_fill, scatter_add
from minigrad.ops.shape import reshape
from minigrad.tensor import Tensor, _normalize_dim

__all__ = [
    "all",
    "any",
    "bincount",
    "histc",
    "index_add",
    "index_copy",
    "index_fill",
    "masked_scatter",
    "masked_select",
    "nonzero",
    "scatter",
    "take_along_dim",
    "tril_indices",
    "triu_indices",
    "unique",
]


def _const(a: np.ndarray) -> Tensor:
    return Tensor._from_op(np.asarray(a), None)


# ------------------------------------------------------------------ selection
@op()
def take_along_dim(x: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """x's elements at ``indices`` along ``dim`` (both broadcast in the other dims);
    ``dim=None``: indices into the flattened x."""
    x, idx = as_tensor(x), as_tensor(indices)
    if dim is None:
        return gather(reshape(x, (-1,)), 0, reshape(idx, (-1,)))
    d = _normalize_dim(dim, x.ndim, "take_along_dim")
    if idx.ndim != x.ndim:
        raise RuntimeError(
            f"take_along_dim: input {x.shape} and indices {idx.shape} need the same number of dims"
        )
    xs, ids = list(x.shape), list(idx.shape)
    xs[d] = ids[d] = 1
    common = np.broadcast_shapes(tuple(xs), tuple(ids))
    x_shape = tuple(x.shape[d] if i == d else n for i, n in enumerate(common))
    i_shape = tuple(idx.shape[d] if i == d else n for i, n in enumerate(common))
    return gather(broadcast_to(x, x_shape), d, _const(np.broadcast_to(idx.data, i_shape)))


@op()
def masked_select(x: Tensor, mask: Tensor) -> Tensor:
    """The 1-D tensor of x's elements where ``mask`` is True (the two broadcast)."""
    x, mask = as_tensor(x), as_tensor(mask)
    if mask.dtype != np.bool_:
        raise RuntimeError(f"masked_select: expected a bool mask, got dtype {mask.dtype}")
    shape = np.broadcast_shapes(x.shape, mask.shape)
    return getitem(broadcast_to(x, shape), _const(np.broadcast_to(mask.data, shape)))


def _index_along(op_name: str, x: Tensor, dim: int, index: Any) -> tuple[int, np.ndarray]:
    d = _normalize_dim(dim, x.ndim, op_name) if x.ndim else 0
    idx = as_tensor(index).data
    if idx.dtype.kind not in "iu" or idx.ndim > 1:
        raise RuntimeError(f"{op_name}: index must be a 0-d or 1-d integer tensor, got {idx.shape}")
    n = x.shape[d] if x.ndim else 1
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{op_name}: index out of range for dimension {dim} of size {n}")
    return d, np.where(idx < 0, idx + n, idx).reshape(-1).astype(np.int64)


def _spread(idx: np.ndarray, d: int, shape: tuple[int, ...]) -> np.ndarray:
    """``idx`` laid along dim ``d`` of an array of ``shape`` (as scatter wants it)."""
    view = [1] * len(shape)
    view[d] = idx.size
    return np.broadcast_to(idx.reshape(view), shape)


def _check_source(op_name: str, x: Tensor, d: int, idx: np.ndarray, source: Tensor) -> None:
    want = tuple(idx.size if i == d else n for i, n in enumerate(x.shape))
    if source.shape != want:
        raise RuntimeError(
            f"{op_name}: source of shape {source.shape} does not match input {x.shape} with "
            f"{idx.size} indices along dim {d} (expected {want})"
        )


@op()
def index_add(x: Tensor, dim: int, index: Tensor, source: Tensor, alpha: float = 1) -> Tensor:
    """x with ``alpha · source[..., i, ...]`` added at ``x[..., index[i], ...]`` (repeats
    accumulate); dx = dy, dsource = alpha · dy[..., index, ...]."""
    x, source = as_tensor(x), as_tensor(source, as_tensor(x).dtype)
    d, idx = _index_along("index_add", x, dim, index)
    _check_source("index_add", x, d, idx, source)
    src = source if alpha == 1 else source * alpha
    return scatter_add(x, d, _const(_spread(idx, d, source.shape)), src)


def _selected(x: Tensor, d: int, idx: np.ndarray) -> Tensor:
    hit = np.zeros(x.shape[d], dtype=bool)
    hit[idx] = True
    view = [1] * x.ndim
    view[d] = x.shape[d]
    return _const(hit.reshape(view))


@op()
def index_copy(x: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """x with ``x[..., index[i], ...] = source[..., i, ...]`` (distinct indices); the
    overwritten elements of x get no gradient, source's gradient is dy at index."""
    x, source = as_tensor(x), as_tensor(source, as_tensor(x).dtype)
    d, idx = _index_along("index_copy", x, dim, index)
    _check_source("index_copy", x, d, idx, source)
    if len(set(idx.tolist())) != idx.size:
        raise RuntimeError("index_copy: index has repeated entries (the result would be ambiguous)")
    placed = scatter_add(x * 0, d, _const(_spread(idx, d, source.shape)), source)
    return where(_selected(x, d, idx), placed, x)


@op()
def index_fill(x: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """x with every ``x[..., index[i], ...]`` set to ``value`` (those get no gradient)."""
    x = as_tensor(x)
    d, idx = _index_along("index_fill", x, dim, index)
    return masked_fill(x, _selected(x, d, idx), value)


@op()
def scatter(x: Tensor, dim: int, index: Tensor, src: Any = None, value: Any = None) -> Tensor:
    """x with ``x[..index[i][j]..] = src[i][j]`` along ``dim`` (``src`` a tensor, or a number
    as ``value``). Every target must be distinct (PyTorch leaves repeated targets
    unspecified); overwritten elements of x get no gradient, src's is dy gathered at index."""
    x = as_tensor(x)
    d = _normalize_dim(dim, x.ndim, "scatter") if x.ndim else 0
    idx = as_tensor(index).data
    if src is None:
        src, value = value, None
    if src is None or value is not None:
        raise TypeError("scatter: give exactly one of src (a tensor) or value (a number)")
    if idx.dtype.kind not in "iu" or idx.ndim != x.ndim:
        raise RuntimeError(
            f"scatter: index must be an integer tensor with {x.ndim} dims, got {idx.shape}"
        )
    grids = list(np.ogrid[tuple(slice(n) for n in idx.shape)])
    grids[d] = idx
    targets = np.ravel_multi_index(tuple(np.broadcast_arrays(*grids)), x.shape)
    if np.unique(targets).size != targets.size:
        raise RuntimeError("scatter: index writes some element twice (the result is unspecified)")
    hit = np.zeros(x.shape, dtype=bool)
    hit.reshape(-1)[targets.reshape(-1)] = True
    if not isinstance(src, Tensor):
        return masked_fill(x, _const(hit), src)
    src = as_tensor(src, x.dtype)
    placed = scatter_add(x * 0, d, _const(idx), src)
    return where(_const(hit), placed, x)


@op()
def masked_scatter(x: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """x with the positions where ``mask`` is True (x and mask broadcast), in row-major order,
    filled from source's first elements; dsource = dy at those positions (0 beyond)."""
    x, source, mask = as_tensor(x), as_tensor(source, as_tensor(x).dtype), as_tensor(mask)
    x = broadcast_to(x, np.broadcast_shapes(x.shape, mask.shape))  # (both broadcast)
    m = np.broadcast_to(mask.data, x.shape)
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_scatter: expected a bool mask, got dtype {m.dtype}")
    k = int(m.sum())
    if source.numel() < k:
        raise RuntimeError(
            f"masked_scatter: source has {source.numel()} elements, the mask selects {k}"
        )
    flat = getitem(reshape(source, (-1,)), slice(0, k))
    positions = _const(np.flatnonzero(m).astype(np.int64))
    placed = scatter_add(reshape(x * 0, (-1,)), 0, positions, flat)
    return where(_const(m), reshape(placed, x.shape), x)


# ------------------------------------------------------------------ no-gradient queries
def _reduce_bool(fn: Any, x: Tensor, dim: Any, keepdim: bool) -> Tensor:
    x = as_tensor(x)
    if isinstance(dim, list):
        dim = tuple(dim)
    return _const(fn(x.data, axis=dim, keepdims=keepdim))


@op()
def any(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where some element (along ``dim``) is nonzero."""
    return _reduce_bool(np.any, x, dim, keepdim)


@op()
def all(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where every element (along ``dim``) is nonzero."""
    return _reduce_bool(np.all, x, dim, keepdim)


@op()
def nonzero(x: Tensor, as_tuple: bool = False) -> Any:
    """Indices of the nonzero elements: an (n, ndim) int64 tensor, or one 1-D tensor per
    dim with ``as_tuple=True``."""
    data = as_tensor(x).data
    where_ = np.nonzero(np.atleast_1d(data))
    if as_tuple:
        return tuple(_const(w.astype(np.int64)) for w in where_)
    out = np.stack(where_, axis=1).astype(np.int64)
    return _const(out if data.ndim else out[:, :0])


@op()
def unique(
    x: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
) -> Any:
    """The distinct values (sorted), with the inverse indices and counts if asked."""
    x = as_tensor(x)
    res = np.unique(
        x.data, return_inverse=True, return_counts=True, axis=dim if dim is None else int(dim)
    )
    values, inverse, counts = res
    if dim is None:
        inverse = inverse.reshape(x.shape)
    out = [_const(values)]
    if return_inverse:
        out.append(_const(inverse.astype(np.int64)))
    if return_counts:
        out.append(_const(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


@op()
def bincount(x: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Counts (or summed weights) of each value 0, 1, ... in a 1-D non-negative int tensor."""
    data = as_tensor(x).data
    if data.ndim != 1 or data.dtype.kind not in "iu" or (data.size and data.min() < 0):
        raise RuntimeError(
            f"bincount: expected a 1-D tensor of non-negative integers, got shape {data.shape} "
            f"and dtype {data.dtype}"
        )
    if weights is None or data.size == 0:  # (PyTorch counts an empty input, even weighted)
        return _const(np.bincount(data, minlength=minlength).astype(np.int64))
    w = as_tensor(weights).data
    out = np.bincount(data, weights=w, minlength=minlength)
    return _const(out.astype(w.dtype if w.dtype.kind == "f" else np.float64))


@op()
def histc(x: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """Histogram of ``bins`` equal bins over [min, max] (the data's range when min = max);
    values outside are ignored, the last bin includes max (PyTorch's rule)."""
    data = as_tensor(x).data
    lo, hi = float(min), float(max)
    if lo == hi and data.size:
        lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"histc: max ({hi}) must be larger than min ({lo})")
    flat = data.reshape(-1)
    flat = flat[(flat >= lo) & (flat <= hi)]
    idx = ((flat - lo) * bins / (hi - lo)).astype(np.int64)
    idx = np.minimum(idx, bins - 1)
    return _const(np.bincount(idx, minlength=bins).astype(data.dtype))


def _tri_indices(row: int, col: int, offset: int, lower: bool) -> Tensor:
    r, c = np.tril_indices(row, offset, col) if lower else np.triu_indices(row, offset, col)
    return _const(np.stack([r, c]).astype(np.int64))


@op(methods=False)
def tril_indices(row: int, col: int, offset: int = 0) -> Tensor:
    """The (2, N) row/column indices of the lower triangle of a row × col matrix."""
    return _tri_indices(row, col, offset, True)


@op(methods=False)
def triu_indices(row: int, col: int, offset: int = 0) -> Tensor:
    """The (2, N) row/column indices of the upper triangle of a row × col matrix."""
    return _tri_indices(row, col, offset, False)
