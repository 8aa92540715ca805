"""Classification losses over C classes: ``cross_entropy`` and ``nll_loss``.

Layout (as PyTorch): the input is ``(C)``, ``(N, C)`` or ``(N, C, d1, ..., dk)`` -- the
class dimension is 0 for a 1-d input and 1 otherwise. A target is either

* class indices: int64 (or uint8), the input's shape without the class dimension; a
  position whose target equals ``ignore_index`` contributes nothing; or
* class probabilities (``cross_entropy`` only): floating point, the input's shape.

With class weights w, the ``'mean'`` of class-index losses is the *weighted* mean
Σᵢ ℓᵢ / Σᵢ w_{yᵢ} over the positions that are not ignored (so an all-ignored batch
gives 0/0 = nan, as in PyTorch). Probability targets are averaged over the N·d1···dk
positions instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.autograd.grad_mode import is_grad_enabled
from minigrad.nn.functional.loss_util import float_tensor, reduction_mode
from minigrad.ops._util import as_tensor, constant
from minigrad.ops.binary import where
from minigrad.ops.indexing import gather
from minigrad.ops.nn_ops import log_softmax, softmax
from minigrad.ops.reduce import sum
from minigrad.ops.shape import reshape, squeeze, unsqueeze
from minigrad.tensor import Tensor

__all__ = ["cross_entropy", "nll_loss"]

_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.uint8))  # what PyTorch accepts


@dataclass
class IndexTarget:
    """A checked class-index target, in NumPy arrays of the target's shape."""

    index: np.ndarray  # the class at each position; 0 where ignored (safe to pick with)
    valid: np.ndarray  # False where the target is ignore_index
    weight_y: np.ndarray  # w[target] where valid, 0 where ignored (input dtype)
    total: float  # Σ weight_y: the divisor of reduction='mean'


def class_dim(x: Tensor) -> int:
    return 0 if x.ndim == 1 else 1


def index_target(
    fn: str, x: Tensor, target: Tensor, weight: Any, ignore_index: int
) -> tuple[IndexTarget, np.ndarray | None]:
    """Check a class-index target (dtype, shape, range) and the class weights;
    return the target's arrays and the weights (None when not given)."""
    axis = class_dim(x)
    n_classes = x.shape[axis]
    if target.dtype not in _INDEX_DTYPES:
        raise RuntimeError(
            f"{fn}: expected a target of class indices of dtype int64 (or uint8), "
            f"got dtype {target.dtype}"
        )
    expected = x.shape[:axis] + x.shape[axis + 1 :]
    if target.shape != expected:
        if x.ndim == 2 and target.ndim == 1:  # PyTorch raises ValueError for this one case
            raise ValueError(
                f"{fn}: expected input batch_size ({x.shape[0]}) to match target batch_size "
                f"({target.shape[0]}) (input shape {x.shape}, target shape {target.shape})"
            )
        raise RuntimeError(
            f"{fn}: expected a target of shape {expected} for an input of shape {x.shape} "
            f"(the input's shape without the class dim {axis}), got {target.shape}"
        )
    t = target.data.astype(np.int64)
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(
            f"{fn}: target {int(t[bad].flat[0])} is out of bounds: class indices must be in "
            f"[0, {n_classes - 1}] (or equal ignore_index={ignore_index})"
        )
    index = np.where(valid, t, 0)
    w = None
    if weight is not None:
        weight = as_tensor(weight)
        if weight.shape != (n_classes,):
            raise RuntimeError(
                f"{fn}: weight must have one entry per class, shape ({n_classes},), "
                f"got shape {weight.shape}"
            )
        if weight.dtype != x.dtype:
            raise RuntimeError(
                f"{fn}: weight of dtype {weight.dtype} does not match the input's dtype {x.dtype}"
            )
        if weight.requires_grad and is_grad_enabled():
            raise RuntimeError(
                f"{fn}: is not differentiable with respect to weight (as in PyTorch); "
                "pass weight.detach()"
            )
        w = weight.data
    weight_y = (w[index] if w is not None else np.ones(index.shape, x.dtype)) * valid
    weight_y = weight_y.astype(x.dtype, copy=False)
    return IndexTarget(index, valid, weight_y, float(weight_y.sum(dtype=x.dtype))), w


def _weighted_mean(total_loss: Tensor, divisor: float) -> Tensor:
    """Σ ℓ / divisor; an empty divisor (every target ignored) gives nan, as PyTorch.
    (Multiplying by nan rather than dividing by 0 keeps NumPy from warning, and the
    gradient still comes out 0 because every position was masked.)"""
    return total_loss / divisor if divisor != 0 else total_loss * float("nan")


# --------------------------------------------------------------------- fused node
class CrossEntropy(Function):
    """Cross-entropy on logits with class-index targets, in one node.

    Forward, per position i with logits x (class axis) and target y:
        log pⱼ = xⱼ - m - log Σₖ e^(xₖ - m),  m = maxₖ xₖ   (log-softmax; never overflows)
        ℓ = (1 - ε) · w_y · (-log p_y)  +  (ε / C) · Σⱼ wⱼ · (-log pⱼ)
    (ε = label_smoothing, w = class weights or 1; ℓ = 0 where y is ignored), then the
    reduction: none, Σᵢ ℓᵢ, or Σᵢ ℓᵢ / D with D = Σᵢ w_{yᵢ} over non-ignored i.

    Backward. For plain L = -log softmax(x)_y:
        L = -x_y + log Σₖ e^(xₖ),   ∂L/∂xⱼ = -1[j = y] + e^(xⱼ) / Σₖ e^(xₖ) = pⱼ - 1[j = y].
    ℓ is -Σⱼ qⱼ log pⱼ with target weights qⱼ = (1 - ε)·w_y·1[j = y] + (ε/C)·wⱼ, so by
    linearity ∂ℓ/∂xⱼ = Σₖ qₖ (pⱼ - 1[j = k]) = s·pⱼ - qⱼ with s = Σₖ qₖ. Hence
        dx = dℓ · (s·softmax(x) - q),     dℓ = dy (sum), dy / D (mean), dyᵢ (none),
    and q = s = 0 at ignored positions. The backward uses minigrad ops on dy and,
    under ``create_graph``, recomputes softmax(x) from the input tensor, so second
    derivatives (Hessian-vector products) are exact too.
    """

    @staticmethod
    def forward(ctx, x, target, weight, smoothing, reduction, axis):
        c = x.shape[axis]
        with np.errstate(invalid="ignore", divide="ignore"):
            shifted = x - x.max(axis=axis, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
            picked = np.take_along_axis(logp, np.expand_dims(target.index, axis), axis)
            loss = -(target.weight_y * picked.squeeze(axis))
            if smoothing > 0:
                w = 1.0 if weight is None else _along(weight, axis, x.ndim)
                smooth = -(logp * w).sum(axis=axis)
                loss = (1 - smoothing) * loss + (smoothing / c) * smooth
            loss = np.where(target.valid, loss, 0).astype(x.dtype, copy=False)
        ctx.save_for_backward(x)
        ctx.p = np.exp(logp)
        ctx.target, ctx.weight, ctx.smoothing = target, weight, smoothing
        ctx.reduction, ctx.axis = reduction, axis
        if reduction == "none":
            return loss
        total = loss.sum(dtype=x.dtype)
        if reduction == "sum":
            return total
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(total / x.dtype.type(target.total))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        axis, tgt, weight, eps = ctx.axis, ctx.target, ctx.weight, ctx.smoothing
        c, dt = x.shape[axis], x.dtype
        # s = Σₖ qₖ per position (0 where ignored), shaped to broadcast over the classes.
        s = (1 - eps) * tgt.weight_y
        if eps > 0:
            s = s + (eps / c) * (c if weight is None else weight.sum()) * tgt.valid
        s = np.expand_dims(s, axis).astype(dt, copy=False)
        if is_grad_enabled():  # create_graph: keep softmax a function of x for higher orders
            q = np.zeros(x.shape, dt)
            _add_target(q, tgt, weight, eps, axis, 1.0)
            unit = softmax(x, axis) * constant(s, dt) - constant(q, dt)
        else:  # s·p - q on arrays, in place: one new array of the input's size
            d = ctx.p * s
            _add_target(d, tgt, weight, eps, axis, -1.0)
            unit = Tensor._from_op(d, None)
        if ctx.reduction == "none":
            g = unsqueeze(g, axis)
        elif ctx.reduction == "mean":
            # All ignored (D = 0): s and q are 0 everywhere, so the gradient is 0 (PyTorch).
            g = g / tgt.total if tgt.total != 0 else g * 0.0
        return g * unit


def _add_target(
    a: np.ndarray, tgt: IndexTarget, weight: np.ndarray | None, eps: float, axis: int, sign: float
) -> None:
    """a += sign · q in place, q = (1 - ε)·w_y·onehot(y) + (ε/C)·w  (0 at ignored positions):
    the one-hot part is added at the target indices only, never as a dense one-hot."""
    index = np.expand_dims(tgt.index, axis)
    onehot_part = (sign * (1 - eps)) * np.expand_dims(tgt.weight_y, axis)
    np.put_along_axis(a, index, np.take_along_axis(a, index, axis) + onehot_part, axis)
    if eps > 0:
        c = a.shape[axis]
        w = np.ones(c, a.dtype) if weight is None else weight
        a += (sign * eps / c) * _along(w, axis, a.ndim) * np.expand_dims(tgt.valid, axis)


def _along(v: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """A per-class vector shaped to broadcast along the class ``axis`` of an ndim array."""
    shape = [1] * ndim
    shape[axis] = v.shape[0]
    return v.reshape(shape)


# --------------------------------------------------------------------- functional API
def _check_smoothing(label_smoothing: float) -> float:
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(
            f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}"
        )
    return float(label_smoothing)


def _check_input(fn: str, input: Any) -> Tensor:
    x = float_tensor(fn, "input (logits)" if fn == "cross_entropy" else "input", input)
    if x.ndim == 0:
        raise RuntimeError(
            f"{fn}: expected an input of shape (C), (N, C) or (N, C, d1, ...), got a 0-d tensor"
        )
    return x


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between logits ``input`` and ``target`` (class indices or
    probabilities): ℓ = -Σⱼ qⱼ log softmax(x)ⱼ, with q the one-hot (or given)
    distribution mixed with the uniform one by ``label_smoothing``: q ← (1-ε)q + ε/C.
    See the module docstring for shapes and the weighted mean."""
    reduction = reduction_mode("cross_entropy", reduction, size_average, reduce)
    eps = _check_smoothing(label_smoothing)
    x = _check_input("cross_entropy", input)
    target = as_tensor(target)
    if target.dtype.kind == "f":
        return _cross_entropy_probs(x, target, weight, ignore_index, reduction, eps)
    tgt, w = index_target("cross_entropy", x, target, weight, ignore_index)
    return CrossEntropy.apply(
        x, target=tgt, weight=w, smoothing=eps, reduction=reduction, axis=class_dim(x)
    )


def _cross_entropy_probs(
    x: Tensor, target: Tensor, weight: Any, ignore_index: int, reduction: str, eps: float
) -> Tensor:
    """ℓ = -Σⱼ wⱼ tⱼ log softmax(x)ⱼ over the class dim, composed from differentiable
    ops (so the target and the weights get gradients too, as in PyTorch)."""
    if target.shape != x.shape:
        raise RuntimeError(
            f"cross_entropy: a floating point target holds class probabilities and must have "
            f"the input's shape {x.shape}, got {target.shape} (for class indices pass an int64 "
            "target)"
        )
    if ignore_index != -100:
        raise RuntimeError(
            "cross_entropy: ignore_index is not supported for floating point (probability) "
            f"targets, got ignore_index={ignore_index}"
        )
    axis = class_dim(x)
    c = x.shape[axis]
    if eps > 0:
        target = target * (1 - eps) + eps / c
    prod = log_softmax(x, axis) * target
    if weight is not None:
        weight = as_tensor(weight)
        if weight.shape != (c,):
            raise RuntimeError(
                f"cross_entropy: weight must have one entry per class, shape ({c},), "
                f"got shape {weight.shape}"
            )
        prod = prod * reshape(weight, _along(np.empty(c), axis, x.ndim).shape)
    if reduction == "none":
        return -sum(prod, axis)
    total = -sum(prod)
    if reduction == "sum":
        return total
    return _weighted_mean(total, x.numel() // c if c else 0)


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of class-index targets given log-probabilities ``input``:
    ℓᵢ = -w_{yᵢ} · input[i, yᵢ] (0 where yᵢ = ignore_index);  d input[i, yᵢ] = -w_{yᵢ}·dℓᵢ.
    Composed of gather and sums; 'mean' divides by Σ w_{yᵢ} over non-ignored i."""
    reduction = reduction_mode("nll_loss", reduction, size_average, reduce)
    x = _check_input("nll_loss", input)
    tgt, _ = index_target("nll_loss", x, as_tensor(target), weight, ignore_index)
    axis = class_dim(x)
    index = Tensor._from_op(np.expand_dims(tgt.index, axis), None)
    picked = squeeze(gather(x, axis, index), axis)
    # where (not a multiplication by the mask): an ignored position may pick -inf.
    loss = where(Tensor._from_op(tgt.valid, None), -(picked * constant(tgt.weight_y, x.dtype)), 0.0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return sum(loss)
    return _weighted_mean(sum(loss), tgt.total)
