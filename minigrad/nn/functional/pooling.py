"""Pooling: max, average and adaptive average, over 1, 2 or 3 spatial dims.

* max:  y[p] = max_k xₚₐd[p·s + k·δ] (xₚₐd: x inside -∞ borders). The window's first
  maximal element i(p) (in row-major kernel order; a window's last NaN if it has one,
  as PyTorch's CPU kernel) takes the whole gradient: dx = dy[p] at p·s + i(p)·δ, 0
  elsewhere, added up where windows overlap, i.e. dx = Fold(onehot(i) · dy). ``MaxPool``
  computes y and i as a running max over the kernel offsets of the unfolded windows,
  laid out in x's own memory order (see ``_windows.py``); its backward is Fold (whose
  backward is Unfold), so every order of derivative is exact;
* avg:  y[p] = (1/m_p) Σ_k xₚₐd[p·s + k], m_p the number of elements counted (the full
  window, the window without the padding, or ``divisor_override``); dx is dy/m_p spread
  over the window (the sum over the kernel axes of the sliding windows, ``Unfold``).

Adaptive average pooling averages bin i of each dim over [⌊i·n/o⌋, ⌈(i+1)·n/o⌉). The
average over a rectangle is separable, so the op is one matrix per dim:
y = A_H · x · A_Wᵀ, with A[i, j] = 1/|binᵢ| for j in binᵢ (matmul gives the gradient).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import fast, ops
from minigrad.autograd.function import Function
from minigrad.fast.fused import reference_of
from minigrad.nn.functional._util import batched, float_input, ntuple
from minigrad.nn.functional._windows import (
    Pairs,
    fold_windows,
    pad_spatial,
    spatial_layout,
    unfold_windows,
    window_view,
    windows_out,
)
from minigrad.ops import permute, reshape
from minigrad.ops._util import _Scratch, constant
from minigrad.tensor import Tensor

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
]


def _pool_out(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size. In ceil mode the last window may hang over the
    right edge, but must start inside the input or the left padding."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


class _Pool:
    """Checked pooling geometry for an input: kernel, stride, padding, dilation, output size
    and the extra right padding that ceil mode needs."""

    def __init__(
        self,
        op: str,
        nd: int,
        x: Tensor,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        ceil_mode: bool,
    ) -> None:
        self.k = ntuple(kernel_size, nd, "kernel_size", op)
        self.s = self.k if stride is None or stride == [] else ntuple(stride, nd, "stride", op)
        self.p = ntuple(padding, nd, "padding", op)
        self.d = ntuple(dilation, nd, "dilation", op)
        if min(self.k) < 1 or min(self.s) < 1 or min(self.d) < 1 or min(self.p) < 0:
            raise RuntimeError(
                f"{op}: kernel_size {self.k}, stride {self.s} and dilation {self.d} must be "
                f"positive and padding {self.p} non-negative"
            )
        for k, p in zip(self.k, self.p):
            if p > k // 2:
                raise RuntimeError(
                    f"{op}: pad should be smaller than or equal to half of kernel size, but "
                    f"got padding={self.p} and kernel_size={self.k}"
                )
        spatial = x.shape[2:]
        self.out = tuple(
            _pool_out(n, k, s, p, d, ceil_mode)
            for n, k, s, p, d in zip(spatial, self.k, self.s, self.p, self.d)
        )
        if min(self.out) < 1:
            raise RuntimeError(
                f"{op}: given input size {tuple(x.shape[1:])}, calculated output size "
                f"{(x.shape[1],) + self.out}. Output size is too small"
            )
        # Extra right padding so that ceil mode's last window lies inside the array.
        self.extra = tuple(
            max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p))
            for n, k, s, p, d, o in zip(spatial, self.k, self.s, self.p, self.d, self.out)
        )

    @property
    def padding(self) -> Pairs:
        """(lo, hi) padding of each dim: ceil mode's overhang goes on the right."""
        return tuple((p, p + e) for p, e in zip(self.p, self.extra))

    def windows(self, x: Tensor, fill: float) -> Tensor:
        """(N, C, *kernel, *out): every pooling window, padded with ``fill``."""
        return unfold_windows(x, self.k, self.d, self.s, self.padding, axis=2, fill=fill)


class MaxPool(Function):
    """y[..., p] = max_k cols[k, ..., p] over the unfolded windows of xₚₐd, remembering
    i(p), the first k that reaches it; dx = Fold(onehot(i) · dy), each dy[p] put back on
    the one element it came from (only i, not x, is kept for backward).

    The windows are unfolded kernel offset first, each offset's block in x's own memory
    layout (``spatial_layout``): the running max over the k₁···k_d offsets is then a few
    elementwise ops per offset, all on contiguous arrays."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, kernel, dilation, stride, padding):
        nd = len(kernel)
        perm, axis = spatial_layout(x, 2, nd)
        xp = pad_spatial(x.transpose(perm), padding, axis, -np.inf)
        out = windows_out(xp.shape[axis : axis + nd], kernel, dilation, stride)
        # cols[k] = the window entries at kernel offset k, in x's own layout: kernel axes
        # first, so that each offset is one contiguous block.
        view = window_view(xp, kernel, dilation, stride, out, axis)
        kernel_first = (*range(axis, axis + nd), *range(axis), *range(axis + nd, view.ndim))
        cols = np.ascontiguousarray(view.transpose(kernel_first))
        cols = cols.reshape((-1,) + cols.shape[nd:])
        best = cols[0].copy()
        index = np.zeros(best.shape, np.min_scalar_type(len(cols) - 1))
        for i in range(1, len(cols)):
            # index = i where this offset beats the max so far (strictly: a tie keeps the
            # first max), branch-free: i exceeds every earlier index, so it is
            # max(index, i·[cols[i] > best]) (a masked ``where=`` write is much slower).
            later = (cols[i] > best).view(np.uint8)
            np.maximum(index, later * index.dtype.type(i), out=index)
            np.maximum(best, cols[i], out=best)
        nan = np.isnan(best)  # np.maximum spreads NaN; PyTorch picks a window's last NaN
        if nan.any():
            for i in range(len(cols)):
                np.copyto(index, i, where=nan & np.isnan(cols[i]))
        inverse = tuple(int(a) for a in np.argsort(perm))
        ctx.index = index.transpose(inverse)
        ctx.params = (x.shape, kernel, dilation, stride, padding)
        return best.transpose(inverse)

    @staticmethod
    def backward(ctx, g):
        return _place(g, ctx.index, *ctx.params)


def _place(g: Any, index: np.ndarray, shape, kernel, dilation, stride, padding) -> Any:
    """dx = Fold(onehot(i) · dy): dy[p] back at p·s + i(p)·δ, summed where windows overlap
    (on a Tensor, differentiably, or on an ndarray in an array-mode backward)."""
    nd = len(kernel)
    perm, axis = spatial_layout(index, 2, nd)  # the layout of the forward's windows
    index = index.transpose(perm)
    offsets = np.arange(int(np.prod(kernel)), dtype=index.dtype).reshape((-1,) + (1,) * index.ndim)
    onehot = (index == offsets).astype(g.dtype)  # a float mask multiplies faster than a bool
    cols = permute(g, perm) * onehot  # (K, *index.shape): kernel offset first
    del onehot  # before Fold makes dx: the two are the largest arrays of this backward
    cols = reshape(cols, tuple(kernel) + index.shape)
    lead_kernel = (*range(nd, nd + axis), *range(nd), *range(nd + axis, cols.ndim))
    dx = fold_windows(
        permute(cols, lead_kernel), shape[2:], kernel, dilation, stride, padding, axis
    )
    return permute(dx, tuple(int(a) for a in np.argsort(perm)))


@reference_of(MaxPool)
def max_pool_reference(x, kernel, dilation, stride, padding) -> Tensor:
    """The windows unfolded with -∞ padding, and of each the entry i(p) picked (gather,
    whose adjoint puts dy[p] back there): the first maximum, or the last NaN."""
    nd = len(kernel)
    cols = unfold_windows(x, kernel, dilation, stride, padding, axis=2, fill=-np.inf)
    cols = reshape(cols, x.shape[:2] + (-1,) + cols.shape[2 + nd :])  # (N, C, K, *out)
    nan = np.isnan(cols.data)
    last_nan = nan.shape[2] - 1 - np.argmax(nan[:, :, ::-1], axis=2)
    first = np.where(nan.any(axis=2), last_nan, np.argmax(cols.data, axis=2))
    return ops.squeeze(ops.gather(cols, 2, constant(first[:, :, None], np.int64)), 2)


def _window_choice(x: Tensor, geo: _Pool) -> np.ndarray:
    """i(p), the kernel offset (flat, row-major) of each window's maximum (see MaxPool)."""
    ctx = _Scratch()
    MaxPool.forward(ctx, x.data, geo.k, geo.d, geo.s, geo.padding)
    return ctx.index


def _max_pool(
    op: str,
    nd: int,
    input: Tensor,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    return_indices: bool,
) -> Any:
    x, unbatched = batched(float_input(input, op), nd, op)
    geo = _Pool(op, nd, x, kernel_size, stride, padding, dilation, ceil_mode)
    if fast.enabled():
        y = MaxPool.apply(x, kernel=geo.k, dilation=geo.d, stride=geo.s, padding=geo.padding)
    else:
        y = max_pool_reference(x, geo.k, geo.d, geo.s, geo.padding)
    if unbatched:
        y = ops.squeeze(y, 0)
    if not return_indices:
        return y
    # Flat index into each input plane: position = out·s - pad + offset·dilation.
    offsets = np.unravel_index(_window_choice(x, geo), geo.k)
    coords = []
    for i in range(nd):
        grid = np.arange(geo.out[i]).reshape((-1,) + (1,) * (nd - 1 - i))
        coords.append(grid * geo.s[i] - geo.p[i] + offsets[i] * geo.d[i])
    idx = np.ravel_multi_index(tuple(coords), x.shape[2:]).astype(np.int64)
    indices = Tensor._from_op(idx[0] if unbatched else idx, None)
    return y, indices


def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over sliding windows of the last dim: (N, C, L) -> (N, C, L_out)."""
    args = (kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return _max_pool("max_pool1d", 1, input, *args)


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """Max over sliding windows: (N, C, H, W) -> (N, C, H_out, W_out); stride defaults to
    the kernel size, padding is implicit -inf. Gradient goes to the window's first max."""
    args = (kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return _max_pool("max_pool2d", 2, input, *args)


def max_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    args = (kernel_size, stride, padding, dilation, ceil_mode, return_indices)
    return _max_pool("max_pool3d", 3, input, *args)


def _avg_pool(
    op: str,
    nd: int,
    input: Tensor,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> Tensor:
    x, unbatched = batched(float_input(input, op), nd, op)
    geo = _Pool(op, nd, x, kernel_size, stride, padding, 1, ceil_mode)
    summed = ops.sum(geo.windows(x, 0.0), dim=tuple(range(2, 2 + nd)))
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError(f"{op}: divisor must be not zero")
        divisor: Any = float(divisor_override)
    else:
        # Per dim: window [start, end) clipped to the padded input (ceil mode's overhang
        # never counts); without count_include_pad, clipped to the input itself.
        divisor = np.ones((1,) * nd)
        for i, (n, k, s, p, o) in enumerate(zip(x.shape[2:], geo.k, geo.s, geo.p, geo.out)):
            start = np.arange(o) * s - p
            end = np.minimum(start + k, n + p)
            if not count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, n)
            divisor = divisor * (end - start).reshape((1,) * i + (-1,) + (1,) * (nd - 1 - i))
        divisor = constant(divisor, x.dtype)
    y = summed / divisor
    return ops.squeeze(y, 0) if unbatched else y


def avg_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    args = (kernel_size, stride, padding, ceil_mode, count_include_pad, None)
    return _avg_pool("avg_pool1d", 1, input, *args)


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over sliding windows (N, C, H, W) -> (N, C, H_out, W_out); zero padding counts
    in the mean when ``count_include_pad``."""
    args = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    return _avg_pool("avg_pool2d", 2, input, *args)


def avg_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    args = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    return _avg_pool("avg_pool3d", 3, input, *args)


def _adaptive_matrix(n: int, out: int, dtype: np.dtype) -> np.ndarray:
    """A[i, j] = 1/|binᵢ| for j in binᵢ = [⌊i·n/out⌋, ⌈(i+1)·n/out⌉)."""
    a = np.zeros((out, n), dtype=dtype)
    for i in range(out):
        start, end = (i * n) // out, -(-((i + 1) * n) // out)
        a[i, start:end] = 1.0 / (end - start)
    return a


def _adaptive_avg_pool(op: str, nd: int, input: Tensor, output_size: Any) -> Tensor:
    x = float_input(input, op)
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected a {nd + 1}D or {nd + 2}D input, got shape {x.shape}")
    spatial = x.shape[x.ndim - nd :]
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * nd
    sizes = tuple(spatial[i] if o is None else int(o) for i, o in enumerate(output_size))
    if len(sizes) != nd or min(sizes) < 1:
        raise ValueError(f"{op}: output_size must be {nd} positive ints, got {output_size!r}")
    if any(n == 0 for n in spatial):
        raise RuntimeError(f"{op}: expected non-empty spatial dims, got input shape {x.shape}")
    y = x
    for i, (n, o) in enumerate(zip(spatial, sizes)):
        if n == o:
            continue
        axis = x.ndim - nd + i
        a_t = constant(_adaptive_matrix(n, o, x.dtype).T, x.dtype)
        y = ops.transpose(ops.matmul(ops.transpose(y, axis, -1), a_t), axis, -1)
    return y


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling to a fixed output size (H_out, W_out); None keeps that dim."""
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, input, output_size)
