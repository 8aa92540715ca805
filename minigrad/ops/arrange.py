"""Rearranging and combining ops: roll, rot90, diagonals, trace, Kronecker and cross
products, tensordot.

The diagonal pair is each other's backward: taking a diagonal sends dy back onto the
diagonal of zeros (``diag_embed``), and embedding sends dy back by taking the diagonal.
The rest are compositions of existing ops, so their gradients come with them.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.ops.declare import op
from minigrad.ops.helpers import as_tensor
from minigrad.ops.linalg import einsum
from minigrad.ops.reduce import sum
from minigrad.ops.shape import cat, flip, narrow, reshape, transpose
from minigrad.tensor import Tensor, _normalize_dim

__all__ = [
    "cdist",
    "cross",
    "diag",
    "diag_embed",
    "diagonal",
    "kron",
    "roll",
    "rot90",
    "tensordot",
    "trace",
]


class Roll(Function):
    """y = x shifted cyclically by ``shifts`` along ``dims``;  dx = dy rolled back by -shifts."""

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(x, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        return Roll.apply(g, shifts=tuple(-s for s in ctx.shifts), dims=ctx.dims)


def _diag_index(n_rows: int, n_cols: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the ``offset`` diagonal of an (n_rows, n_cols) matrix."""
    rows = np.arange(max(0, -offset), n_rows)
    cols = rows + offset
    keep = cols < n_cols
    return rows[keep], cols[keep]


class Diagonal(Function):
    """y[..., i] = x[..., i, i + offset] over the plane (dim1, dim2), which moves last;
    dx = diag_embed(dy, offset, dim1, dim2) (zeros off the diagonal).

    A view, as PyTorch's: a write into the diagonal writes into x."""

    is_view = True

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.args, ctx.in_shape = (offset, dim1, dim2), x.shape
        out = np.diagonal(x, offset, dim1, dim2)  # (NumPy's view is read-only by default)
        if x.flags.writeable:
            out.flags.writeable = True
        return out

    @staticmethod
    def backward(ctx, g):
        offset, dim1, dim2 = ctx.args
        shape = ctx.in_shape
        return DiagEmbed.apply(
            g, offset=offset, dim1=dim1, dim2=dim2, size=(shape[dim1], shape[dim2])
        )


class DiagEmbed(Function):
    """y[..., i, i + offset] = x[..., i] in a new plane (dim1, dim2), zeros elsewhere;
    dx = diagonal(dy, offset, dim1, dim2)."""

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2, size):
        ctx.args = (offset, dim1, dim2)
        out = np.zeros((*x.shape[:-1], *size), dtype=x.dtype)
        rows, cols = _diag_index(*size, offset)
        out[..., rows, cols] = x
        return np.moveaxis(out, (-2, -1), (dim1, dim2))

    @staticmethod
    def backward(ctx, g):
        offset, dim1, dim2 = ctx.args
        return Diagonal.apply(g, offset=offset, dim1=dim1, dim2=dim2)


# ------------------------------------------------------------------ functional API
@op()
def roll(x: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
    """Shift elements cyclically; ``dims=None`` rolls the flattened tensor (shape kept)."""
    x = as_tensor(x)
    if dims is None:
        flat = Roll.apply(reshape(x, (-1,)), shifts=(int(np.sum(shifts)),), dims=(0,))
        return reshape(flat, x.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"roll: shifts ({len(shifts)}) and dims ({len(dims)}) must have the same length"
        )
    dims = tuple(_normalize_dim(d, x.ndim, "roll") for d in dims)
    return Roll.apply(x, shifts=shifts, dims=dims)


@op()
def rot90(x: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by 90° k times in the plane ``dims``, from the first axis toward the second."""
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected 2 dims, got {len(dims)}")
    d0, d1 = (_normalize_dim(d, x.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"rot90: the two dims must differ, got {tuple(dims)}")
    k %= 4
    if k == 1:
        return transpose(flip(x, (d1,)), d0, d1)
    if k == 2:
        return flip(x, (d0, d1))
    if k == 3:
        return flip(transpose(x, d0, d1), (d1,))
    return x


@op()
def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset`` diagonal of each matrix in the plane (dim1, dim2), as a last dim."""
    x = as_tensor(x)
    d1, d2 = (_normalize_dim(d, x.ndim, "diagonal") for d in (dim1, dim2))
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 cannot be the same, got {dim1}, {dim2}")
    return Diagonal.apply(x, offset=offset, dim1=d1, dim2=d2)


@op()
def diag_embed(x: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (in the new plane dim1, dim2) with x's last dim on their ``offset`` diagonal."""
    x = as_tensor(x)
    d1, d2 = (_normalize_dim(d, x.ndim + 1, "diag_embed") for d in (dim1, dim2))
    if d1 == d2:
        raise RuntimeError(f"diag_embed: dim1 and dim2 cannot be the same, got {dim1}, {dim2}")
    n = x.shape[-1] + abs(offset) if x.ndim else 1 + abs(offset)
    if x.ndim == 0:
        x = reshape(x, (1,))
    return DiagEmbed.apply(x, offset=offset, dim1=d1, dim2=d2, size=(n, n))


@op()
def diag(x: Tensor, diagonal: int = 0) -> Tensor:
    """1-D x: the square matrix with x on its ``diagonal``; 2-D x: that diagonal of x."""
    x = as_tensor(x)
    if x.ndim == 1:
        return diag_embed(x, diagonal, 0, 1)
    if x.ndim == 2:
        return Diagonal.apply(x, offset=diagonal, dim1=0, dim2=1)
    raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {x.shape}")


@op()
def trace(x: Tensor) -> Tensor:
    """Σᵢ xᵢᵢ of a matrix; dx = dy · I."""
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, got shape {x.shape}")
    return sum(diagonal(x))


@op()
def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product: y[i·p + k, j·q + l] = a[i, j] · b[k, l] (any number of dims: the
    fewer-dim operand gets leading 1s). Composition: a's dims interleaved with b's, multiplied
    by broadcasting, then each pair of dims merged."""
    a, b = as_tensor(input), as_tensor(other)
    n = max(a.ndim, b.ndim)
    sa, sb = (1,) * (n - a.ndim) + a.shape, (1,) * (n - b.ndim) + b.shape
    a2 = reshape(a, tuple(v for s in sa for v in (s, 1)))
    b2 = reshape(b, tuple(v for s in sb for v in (1, s)))
    return reshape(a2 * b2, tuple(p * q for p, q in zip(sa, sb)))


@op()
def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """a × b along ``dim`` (size 3; None: the first such dim, as torch.cross):
    (a₂b₃ - a₃b₂, a₃b₁ - a₁b₃, a₁b₂ - a₂b₁), operands broadcast together."""
    a, b = as_tensor(input), as_tensor(other)
    shape = np.broadcast_shapes(a.shape, b.shape)
    if dim is None:
        dim = next((i for i, n in enumerate(shape) if n == 3), None)
        if dim is None:
            raise RuntimeError(f"cross: no dimension of size 3 in shape {shape}")
    d = _normalize_dim(dim, len(shape), "cross")
    if (
        shape[d] != 3
        or a.shape[d - len(shape) + a.ndim] != 3
        or b.shape[d - len(shape) + b.ndim] != 3
    ):
        raise RuntimeError(
            f"cross: dimension {dim} must have size 3 in both inputs, got {a.shape} and {b.shape}"
        )
    da, db = d - len(shape) + a.ndim, d - len(shape) + b.ndim
    ca = [narrow(a, da, i, 1) for i in range(3)]
    cb = [narrow(b, db, i, 1) for i in range(3)]
    parts = [
        ca[(i + 1) % 3] * cb[(i + 2) % 3] - ca[(i + 2) % 3] * cb[(i + 1) % 3] for i in range(3)
    ]
    return cat(parts, d)


@op()
def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Σ over a's last ``dims`` dims against b's first ``dims`` (or the listed pairs
    ``dims=([a dims], [b dims])``): an einsum with those indices shared."""
    a, b = as_tensor(a), as_tensor(b)
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot: expects dims >= 0, got {dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError(f"tensordot: both dim lists must have the same length, got {dims}")
    da = [_normalize_dim(d, a.ndim, "tensordot") for d in da]
    db = [_normalize_dim(d, b.ndim, "tensordot") for d in db]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(
                f"tensordot: contracted dimensions {i} of {a.shape} and {j} of {b.shape} differ"
            )
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in da] + [
        c for j, c in enumerate(sb) if j not in db
    ]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


@op(methods=False)
def cdist(x1: Tensor, x2: Tensor, p: float = 2.0) -> Tensor:
    """‖x1[..., i, :] - x2[..., j, :]‖_p for every pair (i, j), batch dims broadcast; the
    norm's gradient at a zero distance is 0 (PyTorch's)."""
    from minigrad.ops.reduce import norm
    from minigrad.ops.shape import unsqueeze

    a, b = as_tensor(x1), as_tensor(x2)
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise RuntimeError(
            f"cdist: x1 {a.shape} and x2 {b.shape} must be (..., P, M) and (..., R, M)"
        )
    return norm(unsqueeze(a, -2) - unsqueeze(b, -3), p, -1)


@op(methods=False)
def pdist(x: Tensor, p: float = 2.0) -> Tensor:
    """‖x[i] - x[j]‖_p for every pair of rows i < j of a 2-D x (N×M), in row-major order
    of the pairs: the N(N-1)/2 entries above the diagonal of cdist(x, x). Each distance's
    gradient flows to its two rows (0 at a zero distance, as PyTorch's)."""
    from minigrad.ops.indexing import index_select
    from minigrad.ops.reduce import norm

    x = as_tensor(x)
    if x.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {x.ndim}D (shape {x.shape})")
    if p < 0:
        raise RuntimeError(f"pdist only supports non-negative p values, got {p}")
    rows, cols = np.triu_indices(x.shape[0], 1)
    pick = [Tensor._from_op(i.astype(np.int64), None) for i in (rows, cols)]
    return norm(index_select(x, 0, pick[0]) - index_select(x, 0, pick[1]), p, -1)


@op(methods=False)
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``torch.cosine_similarity``: the same op as ``minigrad.nn.functional.cosine_similarity``,
    Σ (x1 / max(‖x1‖, ε)) · (x2 / max(‖x2‖, ε)) over ``dim``."""
    from minigrad.nn.functional.loss import cosine_similarity as similarity

    return similarity(x1, x2, dim, eps)
