"""Loss functions of ``minigrad.nn.functional`` (PyTorch's names, signatures and semantics).

Classification losses live in ``loss_cross_entropy.py``, the binary ones in
``loss_binary.py`` and the shared ``reduction`` handling in ``loss_util.py``; this
file holds the regression losses, ``kl_div`` and ``cosine_similarity``, and
re-exports everything.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minigrad import dtypes
from minigrad.nn.functional.loss_binary import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
)
from minigrad.nn.functional.loss_cross_entropy import cross_entropy, nll_loss
from minigrad.nn.functional.loss_util import (
    REDUCTIONS,
    promote_pair,
    reduce_loss,
    reduction_mode,
    warn_if_broadcast,
)
from minigrad.ops.binary import where
from minigrad.ops.helpers import as_tensor, cast, check_broadcast
from minigrad.ops.reduce import norm, sum
from minigrad.ops.shape import broadcast_tensors
from minigrad.ops.unary import abs, exp, log
from minigrad.tensor import Tensor, _normalize_dim

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_similarity",
    "cross_entropy",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
]


# --------------------------------------------------------------------- regression
def _difference(fn: str, input: Any, target: Any) -> tuple[Tensor, Tensor]:
    """input - target (broadcast, with PyTorch's warning when the shapes differ)."""
    x, y = promote_pair(fn, input, target)
    warn_if_broadcast(fn, x, y)
    check_broadcast(fn, x.shape, y.shape)
    return x, x - y


def _reduce_weighted(
    fn: str, loss: Tensor, x: Tensor, weight: Any, reduction: str, mean_by_weight: bool
) -> Tensor:
    """Reduce elementwise losses, multiplied first by an optional ``weight`` of the
    input's shape. PyTorch's weighted 'mean' is Σ wℓ / Σ w for mse_loss and l1_loss,
    but the plain mean of wℓ for huber_loss (``mean_by_weight=False``)."""
    if weight is None:
        return reduce_loss(loss, reduction)
    weight = as_tensor(weight)
    if weight.shape != x.shape:
        raise ValueError(
            f"{fn}: weight of shape {weight.shape} must have the input's shape {x.shape}"
        )
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return sum(loss) / sum(weight)
    return reduce_loss(loss, reduction)


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """ℓ = (x - y)²;  dx = 2(x - y)·dℓ,  dy = -dx."""
    reduction = reduction_mode("mse_loss", reduction, size_average, reduce)
    x, d = _difference("mse_loss", input, target)
    return _reduce_weighted("mse_loss", d * d, x, weight, reduction, mean_by_weight=True)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: Tensor | None = None,
) -> Tensor:
    """ℓ = |x - y|;  dx = sign(x - y)·dℓ (0 where x = y)."""
    reduction = reduction_mode("l1_loss", reduction, size_average, reduce)
    x, d = _difference("l1_loss", input, target)
    return _reduce_weighted("l1_loss", abs(d), x, weight, reduction, mean_by_weight=True)


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """With z = |x - y|:  ℓ = 0.5·z²/β if z < β, else z - 0.5·β  (β = 0: plain L1);
    dx = (x - y)/β inside, sign(x - y) outside -- continuous at z = β."""
    reduction = reduction_mode("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    _, d = _difference("smooth_l1_loss", input, target)
    z = abs(d)
    if beta == 0:
        return reduce_loss(z, reduction)
    return reduce_loss(where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta), reduction)


def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """With z = |x - y|:  ℓ = 0.5·z² if z < δ, else δ·(z - 0.5·δ)  (= β·smooth_l1 with β = δ);
    dx = (x - y) inside, δ·sign(x - y) outside."""
    reduction = reduction_mode("huber_loss", reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss: delta must be positive, got {delta}")
    x, d = _difference("huber_loss", input, target)
    z = abs(d)
    loss = where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta))
    return _reduce_weighted("huber_loss", loss, x, weight, reduction, mean_by_weight=False)


# --------------------------------------------------------------------- divergences
def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback-Leibler divergence with ``input`` = log q (log-probabilities) and
    target p (or log p with ``log_target``), pointwise:

        ℓ = p·(log p - log q)  (0 where p = 0);   ℓ = eᵗ·(t - log q) with log_target.

    d(log q) = -p·dℓ. 'batchmean' (Σ ℓ / batch size) is the true KL divergence per
    sample; 'mean' divides by the number of elements too (PyTorch warns about it)."""
    if size_average is None and reduce is None and reduction == "mean":
        warnings.warn(
            "kl_div: reduction='mean' divides the total loss by both the batch size and the "
            "support size. 'batchmean' divides only by the batch size, and aligns with the KL "
            "div math definition. 'mean' will be changed to behave the same as 'batchmean' in "
            "the next major release.",
            UserWarning,
            stacklevel=2,
        )
    reduction = reduction_mode(
        "kl_div", reduction, size_average, reduce, allowed=(*REDUCTIONS, "batchmean")
    )
    x, t = as_tensor(input), as_tensor(target)
    if x.dtype.kind != "f" or t.dtype.kind != "f":
        raise RuntimeError(
            f"kl_div: integral inputs are not supported (input of dtype {x.dtype}, "
            f"target of dtype {t.dtype})"
        )
    check_broadcast("kl_div", x.shape, t.shape)
    if log_target:
        loss = exp(t) * (t - x)
    else:
        # p·log p with the convention 0·log 0 = 0 (PyTorch's xlogy(p, p)); log of a safe
        # argument so that p = 0 yields neither a NumPy warning nor a nan.
        zero = t == 0
        loss = t * log(where(zero, 1.0, t)) - t * x
    if reduction == "batchmean":
        total = sum(loss)
        return total / x.shape[0] if x.ndim != 0 else total
    return reduce_loss(loss, reduction)


# --------------------------------------------------------------------- similarity
def _clamped_norm(x: Tensor, dim: int, eps: float) -> Tensor:
    """‖x‖ over ``dim`` with its *value* clamped to at least eps but the *gradient* of
    the unclamped norm: PyTorch clamps the norm in place under no_grad, which is what
    adding the (constant) difference max(‖x‖, eps) - ‖x‖ reproduces."""
    n = norm(x, 2, dim, keepdim=True)
    return n + Tensor._from_op(np.maximum(n.data, eps) - n.data, None)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ (x1 / max(‖x1‖, ε)) · (x2 / max(‖x2‖, ε)) over ``dim``: each vector is
    normalised first, each norm clamped by ε on its own (PyTorch's current formula,
    which keeps the result in [-1, 1]). x1 and x2 broadcast to a common shape."""
    x1, x2 = as_tensor(x1), as_tensor(x2)
    dt = dtypes.result_type(x1, x2)
    if np.dtype(dt).kind != "f":
        raise RuntimeError(
            f"cosine_similarity: expected a floating point common dtype, got {dt} "
            f"(x1 of dtype {x1.dtype}, x2 of dtype {x2.dtype})"
        )
    check_broadcast("cosine_similarity", x1.shape, x2.shape)
    x1, x2 = broadcast_tensors(cast(x1, dt), cast(x2, dt))
    d = _normalize_dim(dim, x1.ndim, "cosine_similarity")
    return sum((x1 / _clamped_norm(x1, d, eps)) * (x2 / _clamped_norm(x2, d, eps)), d)
