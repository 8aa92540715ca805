"""Binary losses: ``binary_cross_entropy`` on probabilities and
``binary_cross_entropy_with_logits`` on logits (the stable one to train with)."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import fast
from minigrad.autograd.function import Function
from minigrad.fast.fused import reference_of
from minigrad.nn.functional.loss_util import (
    check_broadcastable,
    reduce_loss,
    reduction_mode,
)
from minigrad.ops._util import as_tensor, float_input
from minigrad.ops.activations import stable_softplus
from minigrad.ops.unary import clamp, log, log1p, sigmoid
from minigrad.tensor import Tensor

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits"]


class BinaryCrossEntropy(Function):
    """Elementwise ℓ = -(y · max(ln x, -100) + (1 - y) · max(ln(1 - x), -100)).

    The clamp at -100 (PyTorch's) keeps ℓ finite at x = 0 or 1. The derivatives are
    PyTorch's formulas:
        ∂ℓ/∂x = (x - y) / max(x(1 - x), 1e-12)
              (= -y/x + (1-y)/(1-x) over a common denominator, kept finite at 0 and 1);
        ∂ℓ/∂y = ln(1 - x) - ln x = -logit(x)   (unclamped: ±inf at x = 1 or 0).
    Both are written with minigrad ops, so they differentiate again.
    """

    @staticmethod
    def forward(ctx, x, y):
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        ctx.save_for_backward(x, y)
        return (y - 1) * log_1mx - y * log_x

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        dx = dy = None
        if ctx.needs_input_grad[0]:
            dx = g * (x - y) / clamp(x * (1 - x), min=1e-12)
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore"):  # ±inf at x = 0 or 1 is the answer, as PyTorch
                dy = g * (log1p(-x) - log(x))
        return dx, dy


class LogSigmoid(Function):
    """y = log σ(x) = min(x, 0) - log(1 + e^(-|x|))  (no overflow for any x);
    dx = dy · (1 - σ(x)) = dy · σ(-x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * sigmoid(-x)


@reference_of(LogSigmoid)
def logsigmoid_reference(x: Tensor) -> Tensor:
    """log σ(x) = -ln(1 + e^(-x)) = -softplus(-x)."""
    return -stable_softplus(-x)


def _check_same_shape(fn: str, input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        raise ValueError(
            f"{fn}: target size {target.shape} must be the same as input size {input.shape}"
        )


def _apply_weight(fn: str, loss: Tensor, weight: Any) -> Tensor:
    if weight is None:
        return loss
    weight = as_tensor(weight)
    check_broadcastable(fn, "weight", weight.shape, loss.shape)
    return loss * weight


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """ℓ = -w·(y·ln x + (1-y)·ln(1-x)) for probabilities x ∈ [0, 1] and targets y ∈ [0, 1]
    of the same shape and dtype; logs are clamped at -100 (see :class:`BinaryCrossEntropy`)."""
    fn = "binary_cross_entropy"
    reduction = reduction_mode(fn, reduction, size_average, reduce)
    x = float_input(input, fn)
    y = as_tensor(target)
    _check_same_shape(fn, x, y)
    if y.dtype != x.dtype:
        raise RuntimeError(f"{fn}: target of dtype {y.dtype} must have the input's dtype {x.dtype}")
    for name, arr in (("input", x.data), ("target", y.data)):
        if not np.all((arr >= 0) & (arr <= 1)):
            raise RuntimeError(f"{fn}: all elements of {name} should be between 0 and 1")
    loss = _apply_weight(fn, BinaryCrossEntropy.apply(x, y), weight)
    return reduce_loss(loss, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """BCE on logits x, in PyTorch's stable form (no exp of a large number):

        ℓ = (1 - y)·x - l·log σ(x),   l = 1 + (pos_weight - 1)·y   (l = 1 without pos_weight)

    (without pos_weight this is max(x, 0) - x·y + log(1 + e^(-|x|))), times ``weight``.
    dℓ/dx = l·σ(x) - pos_weight·y  (σ(x) - y without pos_weight). ``pos_weight``
    broadcasts against the target (typically one entry per class, the last dim)."""
    fn = "binary_cross_entropy_with_logits"
    reduction = reduction_mode(fn, reduction, size_average, reduce)
    x = float_input(input, fn)
    y = as_tensor(target)
    _check_same_shape(fn, x, y)
    if y.dtype.kind != "f":
        raise RuntimeError(f"{fn}: expected a floating point target, got dtype {y.dtype}")
    log_sig = LogSigmoid.apply(x) if fast.enabled() else logsigmoid_reference(x)
    if pos_weight is not None:
        pos_weight = as_tensor(pos_weight)
        check_broadcastable(fn, "pos_weight", pos_weight.shape, y.shape)
        loss = (1 - y) * x - ((pos_weight - 1) * y + 1) * log_sig
    else:
        loss = (1 - y) * x - log_sig
    return reduce_loss(_apply_weight(fn, loss, weight), reduction)
