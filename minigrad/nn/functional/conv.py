"""Convolution as im2col + one batched matrix product.

A convolution with kernel (k₁, ..., k_d), stride s, dilation δ and G groups computes

    y[n, o, p] = b[o] + Σ_{c ∈ group(o)} Σ_{k} W[o, c, k] · x[n, c, p·s + k·δ]

for every output position p (x already padded). Gathering, for each p, the window
x[n, c, p·s + k·δ] into a column (the "unfold" or im2col step) turns the double sum into
a matrix product:

    cols[g, (n, p), (c, k)] = x[n, g·C/G + c, p·s + k·δ]                   (Unfold)
    y[g, (n, p), o]         = Σ_{(c,k)} cols[g, (n, p), (c, k)] · W[g, o, (c, k)]  (matmul)

so the whole op is ``matmul(Unfold(pad(x)), Wᵀ)``, one large matrix product per group
(the rows run over batch and positions together), and its gradients come from the
pieces:

* dWᵀ = colsᵀ · dy and dcols = dy · W (matmul's backward);
* dx = Fold(dcols): Unfold copies each input element into every window that contains
  it, so its adjoint adds each window entry back to the element it came from (col2im).

Unfold and Fold are linear and adjoint to each other, so each is the other's backward
and every order of derivative is exact. The matmul goes to BLAS; unfold is a single
strided copy; fold is a loop over the k₁···k_d kernel offsets, each one vectorised
slice-add.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from minigrad import ops
from minigrad.autograd.function import Function
from minigrad.nn.functional._util import batched, check_same_dtype, float_input, ntuple
from minigrad.nn.functional.misc import pad as _pad
from minigrad.tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv3d", "fold", "unfold"]


def _windows_out(spatial, kernel, dilation, stride) -> tuple[int, ...]:
    return tuple(
        (n - d * (k - 1) - 1) // s + 1 for n, k, d, s in zip(spatial, kernel, dilation, stride)
    )


class Unfold(Function):
    """im2col on the last d dims: y[..., k, p] = x[..., p·s + k·δ]  (k, p multi-indices),
    optionally with its axes reordered by ``perm``;
    dx = Fold(dy): every window entry is added back to the input element it copied."""

    @staticmethod
    def forward(ctx, x, kernel, dilation, stride, perm):
        nd = len(kernel)
        spatial = x.shape[x.ndim - nd :]
        out = _windows_out(spatial, kernel, dilation, stride)
        ctx.params = (spatial, kernel, dilation, stride, perm)
        lead = x.shape[: x.ndim - nd]
        sp_strides = x.strides[x.ndim - nd :]
        view = as_strided(
            x,
            lead + tuple(kernel) + out,
            x.strides[: x.ndim - nd]
            + tuple(st * d for st, d in zip(sp_strides, dilation))
            + tuple(st * s for st, s in zip(sp_strides, stride)),
            writeable=False,
        )
        if perm is not None:
            view = view.transpose(perm)
        return np.ascontiguousarray(view)  # one copy: later in-place edits of x can't leak in

    @staticmethod
    def backward(ctx, g):
        spatial, kernel, dilation, stride, perm = ctx.params
        return Fold.apply(
            g, spatial=spatial, kernel=kernel, dilation=dilation, stride=stride, perm=perm
        )


class Fold(Function):
    """col2im, the adjoint of Unfold: y = 0; y[..., p·s + k·δ] += x[..., k, p] for all k, p
    (x's axes first put back in order when ``perm`` is given); dx = Unfold(dy)."""

    @staticmethod
    def forward(ctx, cols, spatial, kernel, dilation, stride, perm):
        nd = len(kernel)
        ctx.params = (kernel, dilation, stride, perm)
        if perm is not None:
            cols = cols.transpose(np.argsort(perm))
        out = cols.shape[cols.ndim - nd :]
        lead = cols.shape[: cols.ndim - 2 * nd]
        y = np.zeros(lead + tuple(spatial), dtype=cols.dtype)
        every = (slice(None),) * nd
        for offs in itertools.product(*(range(k) for k in kernel)):
            target = tuple(
                slice(o * d, o * d + s * (n - 1) + 1, s)
                for o, d, s, n in zip(offs, dilation, stride, out)
            )
            y[(Ellipsis,) + target] += cols[(Ellipsis,) + offs + every]
        return y

    @staticmethod
    def backward(ctx, g):
        kernel, dilation, stride, perm = ctx.params
        return Unfold.apply(g, kernel=kernel, dilation=dilation, stride=stride, perm=perm)


def unfold_windows(
    x: Tensor,
    kernel: tuple[int, ...],
    dilation: tuple[int, ...],
    stride: tuple[int, ...],
    perm: tuple[int, ...] | None = None,
) -> Tensor:
    """(..., *spatial) -> (..., *kernel, *out): every sliding window, differentiably
    (then transposed by ``perm``, if given, in the same copy)."""
    return Unfold.apply(
        x, kernel=tuple(kernel), dilation=tuple(dilation), stride=tuple(stride), perm=perm
    )


def _conv_padding(op: str, padding: Any, nd: int, kernel, dilation, stride) -> list[int]:
    """Padding as F.pad's flat list (last dim first); 'same' puts the odd extra on the right."""
    if isinstance(padding, str):
        if padding == "valid":
            return []
        if padding != "same":
            raise ValueError(
                f"{op}: invalid padding string {padding!r}, expected 'valid' or 'same'"
            )
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
        pairs = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pairs.append((total // 2, total - total // 2))
    else:
        p = ntuple(padding, nd, "padding", op)
        if any(v < 0 for v in p):
            raise RuntimeError(f"{op}: negative padding is not supported, got {p}")
        pairs = [(v, v) for v in p]
    flat: list[int] = []
    for lo, hi in reversed(pairs):
        flat += [lo, hi]
    return flat if any(flat) else []


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
    flat_pad = _conv_padding(op, padding, nd, kernel, dilation, stride)
    if flat_pad:
        mode = "constant" if padding_mode == "zeros" else padding_mode
        x = _pad(x, flat_pad, mode=mode)
    spatial = x.shape[2:]
    reach = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(r > n for r, n in zip(reach, spatial)):
        raise RuntimeError(
            f"{op}: calculated padded input size per channel: {spatial}. Kernel size "
            f"(dilated): {reach}. Kernel size can't be greater than actual input size"
        )
    n = x.shape[0]
    g_out = out_ch // groups
    # Windows laid out as (G, N, *out, C/G, *kernel): one row per (sample, position), so
    # the product is ONE matrix multiplication per group, (N·L, C/G·K) @ (C/G·K, O/G),
    # a single large BLAS call. (This orientation also keeps every BLAS call in the
    # backward pass tall rather than wide, which OpenBLAS runs much faster.)
    xg = ops.reshape(x, (n, groups, cin_g) + x.shape[2:])
    kernel_axes, out_axes = tuple(range(3, 3 + nd)), tuple(range(3 + nd, 3 + 2 * nd))
    cols = unfold_windows(xg, kernel, dilation, stride, (1, 0, *out_axes, 2, *kernel_axes))
    out = cols.shape[2 : 2 + nd]
    inner = cin_g * int(np.prod(kernel))
    cols = ops.reshape(cols, (groups, n * int(np.prod(out)), inner))
    w_t = ops.transpose(ops.reshape(weight, (groups, g_out, inner)), 1, 2)
    y = ops.reshape(ops.matmul(cols, w_t), (groups, n) + out + (g_out,))
    y = ops.permute(y, (1, 0, 2 + nd, *range(2, 2 + nd)))  # (N, G, O/G, *out)
    y = ops.reshape(y, (n, out_ch) + out)
    if bias is not None:
        y = y + ops.reshape(bias, (1, out_ch) + (1,) * nd)
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
    if any(p):
        x = ops.pad(x, [p[1], p[1], p[0], p[0]])
    if any(dd * (kk - 1) + 1 > n for kk, dd, n in zip(k, d, x.shape[2:])):
        raise RuntimeError(
            f"unfold: kernel {k} (dilation {d}) is larger than the padded input {x.shape}"
        )
    cols = unfold_windows(x, k, d, s)
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
    padded = (size[0] + 2 * p[0], size[1] + 2 * p[1])
    out = _windows_out(padded, k, d, s)
    kk = k[0] * k[1]
    if x.shape[1] % kk or x.shape[2] != out[0] * out[1]:
        raise RuntimeError(
            f"fold: input of shape {x.shape} does not match kernel {k} and {out[0] * out[1]} "
            f"blocks for output_size {size}"
        )
    n, c = x.shape[0], x.shape[1] // kk
    cols = ops.reshape(x, (n, c) + k + out)
    y = Fold.apply(cols, spatial=padded, kernel=k, dilation=d, stride=s, perm=None)
    if any(p):
        y = y[:, :, p[0] : p[0] + size[0], p[1] : p[1] + size[1]]
    return ops.squeeze(y, 0) if unbatched else y
