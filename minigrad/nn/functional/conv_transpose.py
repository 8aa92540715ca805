"""Transposed convolution: the adjoint of convolution.

A convolution y = W ⋆ x is linear in x; its input gradient is the adjoint map
dx = Fold(Wᵀ · dy) (``conv.py``). The transposed convolution *is* that map, applied to
its input: with the weight read as a convolution weight (C_in, C_out/G, *k) (so C_in
plays the convolution's output channels),

    y = Fold(Wᵀ · x) + b,
    y[n, o, q] = b[o] + Σ_{c, k, p : p·s + k·δ - pad = q} W[c, o, k] · x[n, c, p]

every input element p spreads W[c, :, k]·x[p] to the outputs p·s + k·δ - pad. The
output size along each spatial dim is

    (L_in - 1)·s - 2·pad + δ·(k - 1) + output_padding + 1,

``output_padding`` (< stride or < dilation) picking among the sizes a strided
convolution maps to the same L_in. It is built from recorded ops (reshape, matmul,
Fold), so its gradients are the convolution's forward (dx = W ⋆ dy) and weight gradient,
at every order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from minigrad import ops
from minigrad.nn.functional._util import batched, check_same_dtype, float_input, ntuple
from minigrad.nn.functional.conv import _fold_columns
from minigrad.tensor import Tensor

__all__ = ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]


def transposed_size(
    in_size: Sequence[int], stride, padding, dilation, kernel, output_padding
) -> tuple[int, ...]:
    """(L_in - 1)·s - 2·pad + δ·(k - 1) + output_padding + 1 along each spatial dim."""
    return tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, s, p, d, k, op in zip(in_size, stride, padding, dilation, kernel, output_padding)
    )


def output_padding_for(
    op: str, in_size: Sequence[int], output_size: Sequence[int], stride, padding, dilation, kernel
) -> tuple[int, ...]:
    """The output_padding that gives ``output_size`` (which may include the batch and
    channel dims), as PyTorch's ``ConvTranspose*d.forward(input, output_size)``."""
    nd = len(kernel)
    size = [int(v) for v in output_size]
    if len(size) in (nd + 1, nd + 2):
        size = size[len(size) - nd :]
    if len(size) != nd:
        raise ValueError(
            f"{op}: output_size must have {nd} or {nd + 2} elements (got {len(output_size)})"
        )
    lo = transposed_size(in_size, stride, padding, dilation, kernel, (0,) * nd)
    hi = tuple(m + s - 1 for m, s in zip(lo, stride))
    if any(not a <= v <= b for v, a, b in zip(size, lo, hi)):
        raise ValueError(
            f"requested an output size of {size}, but valid sizes range from {list(lo)} to "
            f"{list(hi)} (for an input of {list(in_size)})"
        )
    return tuple(v - a for v, a in zip(size, lo))


def _conv_transposend(
    op: str,
    nd: int,
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
) -> Tensor:
    x, unbatched = batched(float_input(input, op), nd, op)
    check_same_dtype(op, x, weight, bias)
    if weight.ndim != nd + 2:
        raise RuntimeError(
            f"{op}: expected a {nd + 2}D weight (in_channels, out_channels/groups, *kernel), "
            f"got shape {weight.shape}"
        )
    cin, cout = weight.shape[0], weight.shape[1] * groups
    kernel = tuple(weight.shape[2:])
    if groups < 1 or cin % groups:
        raise RuntimeError(f"{op}: groups={groups} must be positive and divide in_channels={cin}")
    if x.shape[1] != cin:
        raise RuntimeError(
            f"{op}: given transposed=1, weight of size {weight.shape}, expected input "
            f"{x.shape} to have {cin} channels, but got {x.shape[1]} channels instead"
        )
    if bias is not None and bias.shape != (cout,):
        raise RuntimeError(f"{op}: bias of shape {bias.shape} should have shape ({cout},)")
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple of ints, got {padding!r}")
    stride = ntuple(stride, nd, "stride", op)
    dilation = ntuple(dilation, nd, "dilation", op)
    pad = ntuple(padding, nd, "padding", op)
    out_pad = ntuple(output_padding, nd, "output_padding", op)
    if min(stride) < 1 or min(dilation) < 1:
        raise RuntimeError(f"{op}: stride {stride} and dilation {dilation} must be positive")
    if min(pad) < 0 or min(out_pad) < 0:
        raise RuntimeError(f"{op}: negative padding {pad} / output_padding {out_pad}")
    if any(o >= s and o >= d for o, s, d in zip(out_pad, stride, dilation)):
        raise RuntimeError(
            f"{op}: output padding must be smaller than either stride or dilation, but got "
            f"output_padding={out_pad}, stride={stride}, dilation={dilation}"
        )
    size = transposed_size(x.shape[2:], stride, pad, dilation, kernel, out_pad)
    if min(size) < 1:
        raise RuntimeError(
            f"{op}: the output size {size} for input {x.shape} is too small (padding {pad})"
        )
    # The last output_padding elements of the padded output get no window entry: Fold
    # writes the covered part (so that its adjoint, Unfold, sees exactly L_in windows),
    # and the uncovered tail the padding does not crop is appended as zeros.
    tail = tuple(max(0, o - p) for o, p in zip(out_pad, pad))
    pairs = tuple((p, max(0, p - o)) for o, p in zip(out_pad, pad))
    covered = tuple(v - t for v, t in zip(size, tail))
    x_cols = ops.reshape(ops.permute(x, (*range(1, nd + 2), 0)), (groups, cin // groups, -1))
    params = (stride, pairs, dilation, groups)
    y_last = _fold_columns(weight, x_cols, (x.shape[0], cout, *covered), x.shape[2:], params)
    y = ops.permute(y_last, (nd + 1, *range(nd + 1)))  # (N, C_out, *size)
    if any(tail):
        y = ops.pad(y, [v for t in reversed(tail) for v in (0, t)])
    if bias is not None:
        y = y + ops.reshape(bias, (1, cout) + (1,) * nd)
    return ops.squeeze(y, 0) if unbatched else y


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """1-D transposed convolution: input (N, C_in, L) or (C_in, L), weight
    (C_in, C_out/groups, k)."""
    return _conv_transposend(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """2-D transposed convolution ("deconvolution"): input (N, C_in, H, W), weight
    (C_in, C_out/groups, kH, kW)."""
    return _conv_transposend(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """3-D transposed convolution: input (N, C_in, D, H, W), weight
    (C_in, C_out/groups, kD, kH, kW)."""
    return _conv_transposend(
        "conv_transpose3d",
        3,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )
