"""Sliding windows over d spatial axes: the im2col step (``Unfold``), its adjoint col2im
(``Fold``), and the index helpers that convolution and pooling share.

A window of kernel (k₁, ..., k_d), stride s and dilation δ at output position p covers
the elements xₚₐd[p·s + k·δ] for every kernel offset k, where xₚₐd is x inside borders of
(lo, hi) elements on each spatial axis. The spatial axes need not be the last ones:
they start at ``axis``, and the axes after them (``trail``) are carried along. The
layout (C, *spatial, N), batch last, is what convolution uses: see ``conv.py``.

Every loop here runs over the k₁···k_d kernel offsets, never over positions: at one
offset k, the elements p·s + k·δ of all windows form a single strided slice of x (the
positions are distinct, so a slice-add there never collides with itself).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from minigrad import fast
from minigrad.autograd.function import Function
from minigrad.core.broadcast import broadcast_to
from minigrad.core.primitives import getitem, index_add, sum
from minigrad.fast.fused import reference_of
from minigrad.ops.binary import where
from minigrad.ops.helpers import array_op, constant
from minigrad.tensor import Tensor

Pairs = tuple[tuple[int, int], ...]  # (lo, hi) padding of each spatial axis


def windows_out(spatial, kernel, dilation, stride) -> tuple[int, ...]:
    """Number of windows along each (already padded) spatial axis."""
    return tuple(
        (n - d * (k - 1) - 1) // s + 1 for n, k, d, s in zip(spatial, kernel, dilation, stride)
    )


def kernel_offsets(kernel: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    """Every kernel offset k, in row-major order."""
    return itertools.product(*(range(k) for k in kernel))


def offset_index(offs, dilation, stride, out, axis: int) -> tuple:
    """The index that picks xₚₐd[..., p·s + k·δ, ...] for every window p at kernel offset
    k = ``offs``: one basic slice per spatial axis, so the result is a view."""
    return (slice(None),) * axis + tuple(
        slice(k * d, k * d + s * (n - 1) + 1, s) for k, d, s, n in zip(offs, dilation, stride, out)
    )


def memory_order(x: np.ndarray) -> tuple[int, ...]:
    """x's axes from the outermost in memory to the innermost (largest stride first)."""
    strides = [abs(s) for s in x.strides]
    return tuple(sorted(range(len(strides)), key=strides.__getitem__, reverse=True))


def spatial_layout(x: np.ndarray, axis: int, nd: int) -> tuple[tuple[int, ...], int]:
    """A permutation of x's axes that follows x's memory order, except that the nd
    spatial axes (``axis``, ``axis + 1``, ...) stay together and in order, and where the
    spatial block lands in it. ``x.transpose(perm)`` is then laid out (nearly) in C order,
    so its windows are gathered and its kernel offsets sliced along long contiguous runs,
    whatever layout x has (batch last after a convolution, batch first from the user)."""
    order = memory_order(x)
    before = [a for a in order[: order.index(axis)] if not axis <= a < axis + nd]
    after = [a for a in order[order.index(axis) :] if not axis <= a < axis + nd]
    return (*before, *range(axis, axis + nd), *after), len(before)


def pad_spatial(x: np.ndarray, padding: Pairs, axis: int, fill: float) -> np.ndarray:
    """x inside borders of ``fill``, (lo, hi) on each spatial axis from ``axis`` (x itself
    when there are none): one copy into a C-ordered buffer."""
    if not any(lo or hi for lo, hi in padding):
        return x
    nd = len(padding)
    spatial = x.shape[axis : axis + nd]
    padded = tuple(lo + n + hi for n, (lo, hi) in zip(spatial, padding))
    # Zeros come from calloc: fresh pages the OS has already zeroed are not written twice.
    shape = x.shape[:axis] + padded + x.shape[axis + nd :]
    buf = np.zeros(shape, x.dtype) if fill == 0 else np.full(shape, fill, x.dtype)
    buf[crop_index(padding, spatial, axis)] = x
    return buf


def crop_index(padding: Pairs, spatial: tuple[int, ...], axis: int) -> tuple:
    """The index of x inside its padded buffer."""
    return (slice(None),) * axis + tuple(slice(lo, lo + n) for (lo, _), n in zip(padding, spatial))


def window_view(
    x: np.ndarray, kernel, dilation, stride, out, axis: int, writeable: bool = False
) -> np.ndarray:
    """The view v[..., k, p, ...] = x[..., p·s + k·δ, ...] (no copy; windows may overlap,
    so only a view of non-overlapping windows may be written to)."""
    nd = len(kernel)
    sp = x.strides[axis : axis + nd]
    return as_strided(
        x,
        x.shape[:axis] + tuple(kernel) + tuple(out) + x.shape[axis + nd :],
        x.strides[:axis]
        + tuple(st * d for st, d in zip(sp, dilation))
        + tuple(st * s for st, s in zip(sp, stride))
        + x.strides[axis + nd :],
        writeable=writeable,
    )


def window_index(spatial, kernel, dilation, stride, padding: Pairs, axis: int, trail: int):
    """The fancy index of every window entry, as the references use it: per spatial axis
    the position p·s + k·δ - lo (arrays over kernel + out), clipped into x, and the
    mask of the entries inside x (None without padding), shaped to broadcast over the
    windows' array (``axis`` leading and ``trail`` trailing axes)."""
    nd = len(kernel)
    padded = [lo + n + hi for n, (lo, hi) in zip(spatial, padding)]
    out = windows_out(padded, kernel, dilation, stride)
    index, valid = [], np.ones((1,) * 2 * nd, dtype=bool)
    for i, (n, k, d, s, (lo, _)) in enumerate(zip(spatial, kernel, dilation, stride, padding)):
        shape_k = [1] * 2 * nd
        shape_k[i] = k
        shape_p = [1] * 2 * nd
        shape_p[nd + i] = out[i]
        pos = np.arange(k).reshape(shape_k) * d + np.arange(out[i]).reshape(shape_p) * s - lo
        valid = valid & (pos >= 0) & (pos < n)
        index.append(np.clip(pos, 0, n - 1))
    mask = None
    if not valid.all():
        mask = valid.reshape((1,) * axis + valid.shape + (1,) * trail)
    return (slice(None),) * axis + tuple(index), mask


class Unfold(Function):
    """im2col: y[..., k, p, ...] = xₚₐd[..., p·s + k·δ, ...] for kernel offsets k and window
    positions p (multi-indices), so y has shape x.shape[:axis] + kernel + out + trail;
    dx = Fold(dy): every window entry is added back to the element it was copied from.

    The padding is written once into a ``fill``-ed buffer, then every window is gathered
    by one strided copy (an ``as_strided`` view of overlapping windows, made contiguous)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, kernel, dilation, stride, padding, axis, fill=0.0):
        nd = len(kernel)
        ctx.params = (x.shape[axis : axis + nd], kernel, dilation, stride, padding, axis)
        xp = pad_spatial(x, padding, axis, fill)
        out = windows_out(xp.shape[axis : axis + nd], kernel, dilation, stride)
        # A copy: later in-place edits of x can't leak in.
        return np.ascontiguousarray(window_view(xp, kernel, dilation, stride, out, axis))

    @staticmethod
    def backward(ctx, g):
        spatial, kernel, dilation, stride, padding, axis = ctx.params
        return fold_windows(g, spatial, kernel, dilation, stride, padding, axis)


@reference_of(Unfold)
def unfold_reference(x, kernel, dilation, stride, padding, axis, fill=0.0) -> Tensor:
    """Every window entry picked from x by one fancy index (getitem, whose adjoint adds
    each entry back); entries in the padding are ``fill``."""
    nd = len(kernel)
    trail = x.ndim - axis - nd
    spatial = x.shape[axis : axis + nd]
    index, inside = window_index(spatial, kernel, dilation, stride, padding, axis, trail)
    cols = getitem(x, index)
    return cols if inside is None else where(constant(inside, np.bool_), cols, fill)


class Fold(Function):
    """col2im, the adjoint of Unfold: yₚₐd = 0, then yₚₐd[..., p·s + k·δ, ...] += x[..., k, p, ...]
    for every k and p, and y = yₚₐd without its borders (``spatial`` is y's unpadded size);
    dx = Unfold(dy) with zero padding.

    One vectorised slice-add per kernel offset (see the module docstring), or a single
    strided copy when the windows don't overlap."""

    array_backward = True

    @staticmethod
    def forward(ctx, cols, spatial, kernel, dilation, stride, padding, axis):
        nd = len(kernel)
        ctx.params = (kernel, dilation, stride, padding, axis)
        out = cols.shape[axis + nd : axis + 2 * nd]
        padded = tuple(lo + n + hi for n, (lo, hi) in zip(spatial, padding))
        shape = cols.shape[:axis] + padded + cols.shape[axis + 2 * nd :]
        reach = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
        if all(s >= r for s, r in zip(stride, reach)):
            # Windows that don't overlap: each element gets at most one entry, so the
            # whole fold is one strided copy (into a buffer left uninitialised when the
            # windows tile it: stride = kernel, no dilation gaps, no remainder).
            tiles = all(
                s == k == r and o * s == n
                for s, k, r, o, n in zip(stride, kernel, reach, out, padded)
            )
            y = np.empty(shape, cols.dtype) if tiles else np.zeros(shape, cols.dtype)
            window_view(y, kernel, dilation, stride, out, axis, writeable=True)[...] = cols
        else:
            y = np.zeros(shape, dtype=cols.dtype)
            every = (slice(None),) * axis
            for offs in kernel_offsets(kernel):
                y[offset_index(offs, dilation, stride, out, axis)] += cols[every + offs]
        return y[crop_index(padding, spatial, axis)]

    @staticmethod
    def backward(ctx, g):
        kernel, dilation, stride, padding, axis = ctx.params
        return unfold_windows(g, kernel, dilation, stride, padding, axis)


@reference_of(Fold)
def fold_reference(cols, spatial, kernel, dilation, stride, padding, axis) -> Tensor:
    """Every window entry added into place (index_add, the adjoint of the unfold's
    getitem); entries in the padding are dropped."""
    nd = len(kernel)
    trail = cols.ndim - axis - 2 * nd
    index, inside = window_index(spatial, kernel, dilation, stride, padding, axis, trail)
    if inside is not None:
        cols = where(constant(inside, np.bool_), cols, 0.0)
    shape = cols.shape[:axis] + tuple(spatial) + cols.shape[axis + 2 * nd :]
    if 0 in shape:  # nothing to add into: an empty result (still on cols' graph)
        return broadcast_to(sum(cols) * 0.0, shape)
    return index_add(cols, shape, index)


def unfold_windows(
    x: Any,
    kernel: tuple[int, ...],
    dilation: tuple[int, ...],
    stride: tuple[int, ...],
    padding: Pairs,
    axis: int,
    fill: float = 0.0,
) -> Any:
    """(..., *spatial, ...) -> (..., *kernel, *out, ...): every sliding window of x padded
    with ``fill``, differentiably (a Tensor, or an ndarray in an array-mode backward)."""
    if not fast.enabled():
        return unfold_reference(x, tuple(kernel), dilation, stride, padding, axis, fill)
    return array_op(
        Unfold,
        x,
        kernel=tuple(kernel),
        dilation=tuple(dilation),
        stride=tuple(stride),
        padding=tuple(padding),
        axis=axis,
        fill=fill,
    )


def fold_windows(
    cols: Any,
    spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    dilation: tuple[int, ...],
    stride: tuple[int, ...],
    padding: Pairs,
    axis: int,
) -> Any:
    """(..., *kernel, *out, ...) -> (..., *spatial, ...): the window entries summed back
    into place, padding dropped (a Tensor, or an ndarray in an array-mode backward)."""
    if not fast.enabled():
        return fold_reference(cols, spatial, tuple(kernel), dilation, stride, padding, axis)
    return array_op(
        Fold,
        cols,
        spatial=tuple(spatial),
        kernel=tuple(kernel),
        dilation=tuple(dilation),
        stride=tuple(stride),
        padding=tuple(padding),
        axis=axis,
    )
