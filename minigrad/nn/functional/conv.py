"""Convolution as im2col + one matrix product per group.

A convolution with kernel (k₁, ..., k_d), stride s, dilation δ and G groups computes

    y[n, o, p] = b[o] + Σ_{c ∈ group(o)} Σ_k W[o, c, k] · xₚₐd[n, c, p·s + k·δ]

for every output position p (xₚₐd: x inside its zero padding). Gathering, for each p,
the window xₚₐd[n, c, p·s + k·δ] into a column (the "unfold" or im2col step) turns the
double sum into a matrix product:

    cols[g, (c, k), (p, n)] = xₚₐd[n, g·C/G + c, p·s + k·δ]                    (Unfold)
    y[g, o, (p, n)]         = Σ_{(c,k)} W[g, o, (c, k)] · cols[g, (c, k), (p, n)]  (GEMM)

and the gradients are products with the same two matrices:

    dW = dy · colsᵀ,    db = Σ_{p,n} dy,    dx = Fold(Wᵀ · dy)

where Fold (col2im) is Unfold's adjoint: Unfold copies each input element into every
window that contains it, so Fold adds each window entry back to the element it came
from, and drops the padding (``_windows.py``). Unfold and Fold are linear and each is
the other's backward, so the backward, written with them and matmul, is itself
differentiable: every order of derivative is exact.

Memory layout: batch last. NumPy pays a fixed cost for every run of its innermost
loop, so a copy or slice-add is fast only when that run is long. In the layout
(C, *spatial, N) the elements of one window position across the batch,
x[c, p·s + k·δ, :], are N contiguous numbers whatever the image size, so Unfold is one
strided copy and Fold one slice-add per kernel offset, both in runs of N, and the
columns come out already in the order (c, k), (p, n) that the GEMM wants. The GEMM's
result (O, *out, N) is returned as the (N, O, *out) tensor of PyTorch's API by a
transposed view, not a copy; elementwise ops (NumPy's ``order='K'``) and pooling keep
that layout, so the next convolution reads its input, and the backward its gradient,
without a transposing copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import fast, ops
from minigrad.autograd.function import Function
from minigrad.fast.fused import reference_of
from minigrad.nn.functional._util import batched, check_same_dtype, float_input, ntuple
from minigrad.nn.functional._windows import (
    Pairs,
    crop_index,
    fold_windows,
    kernel_offsets,
    offset_index,
    pad_spatial,
    unfold_windows,
    windows_out,
)
from minigrad.nn.functional.misc import pad as _pad
from minigrad.ops import matmul, permute, reshape
from minigrad.ops import sum as _sum
from minigrad.tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv3d", "fold", "unfold"]


def _columns(x: Any, kernel, stride, padding: Pairs, dilation, groups: int) -> Any:
    """The im2col matrix cols (G, C/G·K, L·N) of x (N, C, *spatial), batch last."""
    nd = len(kernel)
    x_last = permute(x, (*range(1, nd + 2), 0))  # (C, *spatial, N): a view
    cols = unfold_windows(x_last, kernel, dilation, stride, padding, axis=1)
    return reshape(cols, (groups, x.shape[1] // groups * int(np.prod(kernel)), -1))


class Conv(Function):
    """y = b + W ⋆ x as one GEMM per group on the im2col matrix of x (zero padding
    included); dx = Fold(Wᵀ · dy), dW = dy · colsᵀ, db = Σ dy (see the module docstring).

    The backward does not keep cols from the forward pass (a k₁···k_d times larger array
    than x, held between the passes). With no graph to record it goes one kernel offset
    at a time (``_weight_grad_by_offset``, ``_fold_products``): the column array, of
    either the input or the gradient, is never made whole, which lowers a CNN's peak
    memory for the same speed. Under ``create_graph`` it recomputes cols with
    recorded ops, so higher derivatives stay exact."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, w, b=None, *, stride, padding, dilation, groups):
        ctx.save_for_backward(x, w)
        ctx.params = (stride, padding, dilation, groups)
        kernel = w.shape[2:]
        padded = tuple(lo + n + hi for n, (lo, hi) in zip(x.shape[2:], padding))
        out = windows_out(padded, kernel, dilation, stride)
        cols = _columns(x, kernel, stride, padding, dilation, groups)
        y = np.matmul(w.reshape(groups, w.shape[0] // groups, -1), cols)
        if b is not None:
            y += b.reshape(groups, -1, 1)
        return np.moveaxis(y.reshape((w.shape[0], *out, x.shape[0])), -1, 0)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.params
        need = ctx.needs_input_grad
        nd, kernel = x.ndim - 2, w.shape[2:]
        # dy in the GEMM's layout (G, O/G, L·N); free when dy came back batch last.
        g_cols = reshape(permute(g, (*range(1, nd + 2), 0)), (groups, w.shape[0] // groups, -1))
        dx = dw = None
        if need[1]:
            if isinstance(g_cols, np.ndarray):  # no graph: never make the whole column array
                dw = _weight_grad_by_offset(x, g_cols, w.shape, g.shape[2:], ctx.params)
            else:
                # dWᵀ = cols · dyᵀ (OpenBLAS runs this orientation faster than dy · colsᵀ).
                cols = _columns(x, kernel, stride, padding, dilation, groups)
                dw = reshape(matmul(cols, g_cols.swapaxes(1, 2)).swapaxes(1, 2), w.shape)
                del cols  # before d_cols, its twin in size, is made
        if need[0]:
            if isinstance(g_cols, np.ndarray):  # no graph: never make the whole column array
                dx_last = _fold_products(w, g_cols, x.shape, g.shape[2:], ctx.params, kernel)
            else:
                dx_last = _fold_columns(w, g_cols, x.shape, g.shape[2:], ctx.params)
            dx = permute(dx_last, (nd + 1, *range(nd + 1)))
        if len(need) == 2:
            return dx, dw
        return dx, dw, (reshape(_sum(g_cols, 2), (w.shape[0],)) if need[2] else None)


@reference_of(Conv)
def conv_reference(x, w, b=None, *, stride, padding, dilation, groups) -> Tensor:
    """Unfold x (N, C, *kernel, *out), one matmul per group with W as (G, O/G, C/G·K),
    plus the bias: the first formula of the module docstring."""
    n, c, nd = x.shape[0], x.shape[1], x.ndim - 2
    cols = unfold_windows(x, w.shape[2:], dilation, stride, padding, axis=2)
    out = cols.shape[2 + nd :]
    cols = reshape(cols, (n, groups, c // groups * int(np.prod(w.shape[2:])), -1))
    y = matmul(reshape(w, (groups, w.shape[0] // groups, -1)), cols)  # (N, G, O/G, L)
    y = reshape(y, (n, w.shape[0], *out))
    return y if b is None else y + reshape(b, (-1,) + (1,) * nd)


def _fold_columns(
    w: Any, g_cols: Any, x_shape: tuple[int, ...], out: tuple[int, ...], params
) -> Any:
    """dx = Fold(Wᵀ · dy) in the layout (C, *spatial, N), with recorded ops: the
    column gradient Wᵀ·dy (G, C/G·K, L·N) made whole, then summed back into place.
    Convolution's input gradient under ``create_graph``, and the forward of the
    transposed convolution (which is that same linear map, applied to its input)."""
    stride, padding, dilation, groups = params
    kernel = tuple(w.shape[2:])
    w_cols = reshape(w, (groups, w.shape[0] // groups, -1))
    d_cols = matmul(w_cols.swapaxes(1, 2), g_cols)  # (G, C/G·K, L·N)
    d_cols = reshape(d_cols, (x_shape[1], *kernel, *out, x_shape[0]))
    return fold_windows(d_cols, x_shape[2:], kernel, dilation, stride, padding, 1)


def _weight_grad_by_offset(
    x: np.ndarray, g_cols: np.ndarray, w_shape: tuple[int, ...], out: tuple[int, ...], params
) -> np.ndarray:
    """dW = dy · colsᵀ, one kernel offset at a time.

    The columns of offset k are the strided slice x_k = xₚₐd[:, p·s + k·δ, :] of the padded
    input (C × L·N, batch last), so dW[:, :, k] = dy · x_kᵀ: K small products on copies of
    one slice each, instead of one product on the K times larger column array."""
    stride, padding, dilation, groups = params
    kernel, c = w_shape[2:], x.shape[1]
    xp = pad_spatial(np.moveaxis(x, 0, -1), padding, 1, 0.0)  # (C, *padded, N)
    dw = np.empty((groups, w_shape[0] // groups, c // groups, *kernel), g_cols.dtype)
    for offs in kernel_offsets(kernel):
        x_k = xp[offset_index(offs, dilation, stride, out, 1)].reshape(groups, c // groups, -1)
        # dW_kᵀ = x_k · dyᵀ: the orientation OpenBLAS runs faster than dy · x_kᵀ.
        dw[(..., *offs)] = np.matmul(x_k, g_cols.swapaxes(1, 2)).swapaxes(1, 2)
    return dw.reshape(w_shape)


def _fold_products(
    w: np.ndarray,
    g_cols: np.ndarray,
    x_shape: tuple[int, ...],
    out: tuple[int, ...],
    params: tuple,
    kernel: tuple[int, ...],
) -> np.ndarray:
    """dx = Fold(Wᵀ · dy) in the layout (C, *spatial, N), one kernel offset at a time.

    The column gradient Wᵀ·dy has a row (c, k) per input channel and kernel offset; the
    rows of offset k are W_kᵀ·dy, and Fold adds them into one strided slice of dx. So
    each W_kᵀ·dy (C × L·N) is made and added in turn: the same sums, but the largest
    temporary is 1/K of the whole column array (the peak of a CNN's backward)."""
    stride, padding, dilation, groups = params
    c, n = x_shape[1], x_shape[0]
    spatial = x_shape[2:]
    padded = tuple(lo + size + hi for size, (lo, hi) in zip(spatial, padding))
    y = np.zeros((c, *padded, n), g_cols.dtype)
    w_k = w.reshape(groups, w.shape[0] // groups, c // groups, *kernel)
    for offs in kernel_offsets(kernel):
        part = np.matmul(w_k[(..., *offs)].swapaxes(1, 2), g_cols)  # (G, C/G, L·N)
        y[offset_index(offs, dilation, stride, out, 1)] += part.reshape(c, *out, n)
    return y[crop_index(padding, spatial, 1)]


def _conv_padding(op: str, padding: Any, nd: int, kernel, dilation, stride) -> Pairs:
    """(lo, hi) padding of each spatial dim; 'same' puts the odd extra on the right."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding != "same":
            raise ValueError(
                f"{op}: invalid padding string {padding!r}, expected 'valid' or 'same'"
            )
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    p = ntuple(padding, nd, "padding", op)
    if any(v < 0 for v in p):
        raise RuntimeError(f"{op}: negative padding is not supported, got {p}")
    return tuple((v, v) for v in p)


def _convnd(
    op: str,
    nd: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
    padding_mode: str = "zeros",
) -> Tensor:
    x, unbatched = batched(float_input(input, op), nd, op)
    check_same_dtype(op, x, weight, bias)
    if weight.ndim != nd + 2:
        raise RuntimeError(
            f"{op}: expected a {nd + 2}D weight (out_channels, in_channels/groups, *kernel), "
            f"got shape {weight.shape}"
        )
    out_ch, cin_g = weight.shape[:2]
    kernel = tuple(weight.shape[2:])
    if groups < 1 or out_ch % groups:
        raise RuntimeError(
            f"{op}: groups={groups} must be positive and divide out_channels={out_ch}"
        )
    if x.shape[1] != cin_g * groups:
        raise RuntimeError(
            f"{op}: given groups={groups}, weight of size {weight.shape}, expected input "
            f"{x.shape} to have {cin_g * groups} channels, but got {x.shape[1]} channels instead"
        )
    if bias is not None and bias.shape != (out_ch,):
        raise RuntimeError(f"{op}: bias of shape {bias.shape} should have shape ({out_ch},)")
    stride = ntuple(stride, nd, "stride", op)
    dilation = ntuple(dilation, nd, "dilation", op)
    if min(stride) < 1 or min(dilation) < 1:
        raise RuntimeError(f"{op}: stride {stride} and dilation {dilation} must be positive")
    pairs = _conv_padding(op, padding, nd, kernel, dilation, stride)
    if padding_mode != "zeros" and any(lo or hi for lo, hi in pairs):
        # reflect / replicate / circular: a padded copy first (F.pad's gather);
        # zero padding is done inside Unfold, which writes the padded input once.
        flat = [v for pair in reversed(pairs) for v in pair]
        x, pairs = _pad(x, flat, mode=padding_mode), ((0, 0),) * nd
    spatial = tuple(lo + n + hi for n, (lo, hi) in zip(x.shape[2:], pairs))
    reach = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(r > n for r, n in zip(reach, spatial)):
        raise RuntimeError(
            f"{op}: calculated padded input size per channel: {spatial}. Kernel size "
            f"(dilated): {reach}. Kernel size can't be greater than actual input size"
        )
    params = dict(stride=stride, padding=pairs, dilation=dilation, groups=groups)
    if not fast.enabled():
        y = conv_reference(x, weight, bias, **params)
    elif bias is None:
        y = Conv.apply(x, weight, **params)
    else:
        y = Conv.apply(x, weight, bias, **params)
    return ops.squeeze(y, 0) if unbatched else y


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution (cross-correlation, as PyTorch): input (N, C_in, L) or (C_in, L),
    weight (C_out, C_in/groups, k). ``padding`` may be an int, 'valid' or 'same'."""
    return _convnd("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution: input (N, C_in, H, W) or (C_in, H, W), weight
    (C_out, C_in/groups, kH, kW). ``padding`` may be an int, a pair, 'valid' or 'same'."""
    return _convnd("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """3-D convolution: input (N, C_in, D, H, W), weight (C_out, C_in/groups, kD, kH, kW)."""
    return _convnd("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def unfold(
    input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:
    """PyTorch's ``F.unfold``: (N, C, H, W) -> (N, C·kH·kW, L), the sliding 2-D blocks."""
    x, unbatched = batched(float_input(input, "unfold"), 2, "unfold")
    k = ntuple(kernel_size, 2, "kernel_size", "unfold")
    d = ntuple(dilation, 2, "dilation", "unfold")
    s = ntuple(stride, 2, "stride", "unfold")
    p = ntuple(padding, 2, "padding", "unfold")
    if any(dd * (kk - 1) + 1 > n + 2 * pp for kk, dd, n, pp in zip(k, d, x.shape[2:], p)):
        raise RuntimeError(
            f"unfold: kernel {k} (dilation {d}) is larger than the input {x.shape} padded by {p}"
        )
    cols = unfold_windows(x, k, d, s, tuple((v, v) for v in p), axis=2)
    n, c = x.shape[:2]
    y = ops.reshape(cols, (n, c * k[0] * k[1], -1))
    return ops.squeeze(y, 0) if unbatched else y


def fold(
    input: Tensor,
    output_size: Any,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,
    stride: Any = 1,
) -> Tensor:
    """PyTorch's ``F.fold``: (N, C·kH·kW, L) -> (N, C, H, W), summing overlapping blocks
    (the adjoint of ``unfold``)."""
    x = float_input(input, "fold")
    unbatched = x.ndim == 2
    if unbatched:
        x = ops.unsqueeze(x, 0)
    if x.ndim != 3:
        raise RuntimeError(f"fold: expected a 2D or 3D input (N, C·kH·kW, L), got {x.shape}")
    size = ntuple(output_size, 2, "output_size", "fold")
    k = ntuple(kernel_size, 2, "kernel_size", "fold")
    d = ntuple(dilation, 2, "dilation", "fold")
    s = ntuple(stride, 2, "stride", "fold")
    p = ntuple(padding, 2, "padding", "fold")
    out = windows_out((size[0] + 2 * p[0], size[1] + 2 * p[1]), k, d, s)
    kk = k[0] * k[1]
    if x.shape[1] % kk or x.shape[2] != out[0] * out[1]:
        raise RuntimeError(
            f"fold: input of shape {x.shape} does not match kernel {k} and {out[0] * out[1]} "
            f"blocks for output_size {size}"
        )
    n, c = x.shape[0], x.shape[1] // kk
    cols = ops.reshape(x, (n, c) + k + out)
    y = fold_windows(cols, size, k, d, s, tuple((v, v) for v in p), axis=2)
    return ops.squeeze(y, 0) if unbatched else y
