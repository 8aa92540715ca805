"""Normalisation: batch_norm, layer_norm, group_norm, rms_norm, normalize.

All normalise with statistics of the input itself,
    x̂ = (x - μ) / √(σ² + ε),   y = x̂ · γ + β,
and differ only in which elements share μ and σ² (σ² is the biased variance):

* batch_norm: per channel, over the batch and spatial dims (N, *spatial);
* layer_norm: per sample, over the trailing ``normalized_shape`` dims;
* group_norm: per sample and group of channels;
* rms_norm:   y = x / √(mean(x²) + ε) · γ, no centring.

batch_norm, group_norm and rms_norm are compositions of differentiable ops (mean,
rsqrt, ...), so autograd derives their backward, to any order; layer_norm uses the
core's fused ``LayerNorm`` Function.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import ops
from minigrad.core.grad_mode import no_grad
from minigrad.nn.functional._util import check_same_dtype, float_input
from minigrad.ops.helpers import constant
from minigrad.tensor import Tensor

__all__ = ["batch_norm", "group_norm", "instance_norm", "layer_norm", "normalize", "rms_norm"]


def _affine(y: Tensor, weight: Tensor | None, bias: Tensor | None, shape: tuple) -> Tensor:
    if weight is not None:
        y = y * ops.reshape(weight, shape)
    if bias is not None:
        y = y + ops.reshape(bias, shape)
    return y


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dim 1) of ``input`` (N, C, *spatial).

    Training: use the batch's mean and biased variance, and update the running
    statistics in place: r ← (1 - momentum)·r + momentum·batch_stat, where the variance
    stored is the *unbiased* one (× n/(n-1)), as PyTorch. Evaluation: use the running
    statistics."""
    x = float_input(input, "batch_norm")
    if x.ndim < 2:
        raise ValueError(
            f"batch_norm: expected an input with at least 2 dims (N, C, ...), got {x.shape}"
        )
    c = x.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is not None and t.shape != (c,):
            raise RuntimeError(f"batch_norm: {name} of shape {t.shape} should have shape ({c},)")
    check_same_dtype("batch_norm", x, weight, bias)
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        n = x.numel() // c if c else 0
        if n <= 1:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size {x.shape}"
            )
        mean = ops.mean(x, axes, keepdim=True)
        xc = x - mean
        var = ops.mean(xc * xc, axes, keepdim=True)
        with no_grad():
            if running_mean is not None:
                new = (1 - momentum) * running_mean.data + momentum * mean.data.reshape(c)
                running_mean.copy_(new)
            if running_var is not None:
                unbiased = var.data.reshape(c) * (n / (n - 1))
                running_var.copy_((1 - momentum) * running_var.data + momentum * unbiased)
        y = xc * ops.rsqrt(var + eps)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError(
                "batch_norm: running_mean and running_var must be given in eval mode"
            )
        rm = constant(running_mean.data.reshape(shape), x.dtype)
        rstd = constant(1.0 / np.sqrt(running_var.data.reshape(shape) + eps), x.dtype)
        y = (x - rm) * rstd
    return _affine(y, weight, bias, shape)


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each (sample, channel) over its spatial dims: batch normalisation of the
    (1, N·C, *spatial) view. As PyTorch, running statistics (C,) are updated with the
    mean over the batch of the N per-instance updates, and ``use_input_stats=False``
    normalises with them instead."""
    x = float_input(input, "instance_norm")
    n, c = x.shape[:2]
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError(
            "instance_norm: use_input_stats=False needs running_mean and running_var"
        )
    stats = [None if r is None else Tensor(np.tile(r.data, n)) for r in (running_mean, running_var)]
    flat = ops.reshape(x, (1, n * c) + x.shape[2:])
    y = batch_norm(flat, stats[0], stats[1], training=use_input_stats, momentum=momentum, eps=eps)
    with no_grad():
        for r, rep in zip((running_mean, running_var), stats):
            if r is not None and use_input_stats:
                r.copy_(rep.data.reshape(n, c).mean(0).astype(r.dtype))
    return _affine(ops.reshape(y, x.shape), weight, bias, (1, c) + (1,) * (x.ndim - 2))


def layer_norm(
    input: Tensor,
    normalized_shape: int | tuple[int, ...],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims, then scale and shift."""
    return ops.layer_norm(input, normalized_shape, weight, bias, eps)


def _trailing_dims(op: str, x: Tensor, normalized_shape: Any) -> tuple[int, ...]:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not shape or x.shape[x.ndim - len(shape) :] != shape:
        raise RuntimeError(
            f"{op}: normalized_shape {shape} does not match the last dims of the input "
            f"of shape {x.shape}"
        )
    return tuple(range(x.ndim - len(shape), x.ndim))


def rms_norm(
    input: Tensor,
    normalized_shape: int | tuple[int, ...],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """y = x / √(mean(x²) + ε) · γ over the trailing dims; ε defaults to the dtype's
    machine epsilon (``finfo(dtype).eps``), as PyTorch."""
    x = float_input(input, "rms_norm")
    dims = _trailing_dims("rms_norm", x, normalized_shape)
    if weight is not None and weight.shape != x.shape[dims[0] :]:
        raise RuntimeError(
            f"rms_norm: weight of shape {weight.shape} must match {x.shape[dims[0] :]}"
        )
    check_same_dtype("rms_norm", x, weight)
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    y = x * ops.rsqrt(ops.mean(x * x, dims, keepdim=True) + eps)
    return y * weight if weight is not None else y


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Split the C channels into ``num_groups`` groups; normalise each (sample, group)."""
    x = float_input(input, "group_norm")
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise RuntimeError(
            f"group_norm: expected an input (N, C, ...) with C divisible by num_groups="
            f"{num_groups}, got shape {x.shape}"
        )
    check_same_dtype("group_norm", x, weight, bias)
    n, c = x.shape[:2]
    xg = ops.reshape(x, (n, num_groups, -1))
    mean = ops.mean(xg, -1, keepdim=True)
    xc = xg - mean
    y = xc * ops.rsqrt(ops.mean(xc * xc, -1, keepdim=True) + eps)
    return _affine(ops.reshape(y, x.shape), weight, bias, (1, c) + (1,) * (x.ndim - 2))


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(‖x‖ₚ, ε) along ``dim``: unit vectors, with ε guarding against zero."""
    x = float_input(input, "normalize")
    denom = ops.clamp(ops.norm(x, p, dim, keepdim=True), min=eps)
    return x / denom
