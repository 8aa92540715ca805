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

from minigrad import fast
from minigrad.autograd.function import Function
from minigrad.core.grad_mode import is_grad_enabled
from minigrad.fast.fused import reference_of
from minigrad.nn.functional.loss_util import reduction_mode
from minigrad.ops._util import as_tensor, constant, float_input, is_array, max_along
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
    """A checked class-index target, in NumPy arrays of the target's shape.

    ``valid`` and ``weight_y`` are None in the common case -- no class weights and no
    position ignored -- where every position counts once with weight 1 (the losses
    then skip multiplying by ones)."""

    index: np.ndarray  # the class at each position; 0 where ignored (safe to pick with)
    slots: tuple[np.ndarray, ...]  # fancy index of x[..., index, ...]: each target's logit
    valid: np.ndarray | None  # False where the target is ignore_index; None: all valid
    weight_y: np.ndarray | None  # w[target] where valid, 0 where ignored; None: all 1
    total: float  # Σ weight_y: the divisor of reduction='mean'


def class_dim(x: Tensor) -> int:
    return 0 if x.ndim == 1 else 1


def target_slots(index: np.ndarray, axis: int) -> tuple[np.ndarray, ...]:
    """The fancy index that picks, at every position, the entry of its target class:
    ``a[target_slots(y, 1)]`` is ``a[i, yᵢ]`` for an (N, C) array, ``a[i, yᵢⱼ, j]`` for
    (N, C, d), ... (an ``arange`` over each position dim, ``y`` at the class dim)."""
    n = index.ndim
    grids: list[np.ndarray] = [
        np.arange(size).reshape([-1 if j == i else 1 for j in range(n)])
        for i, size in enumerate(index.shape)
    ]
    grids.insert(axis, index)
    return tuple(grids)


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
    w = _class_weights(fn, x, weight, n_classes)
    t = target.data.astype(np.int64)  # a copy: later edits of target can't leak in
    lo, hi = (int(t.min()), int(t.max())) if t.size else (0, -1)
    if 0 <= lo and hi < n_classes and not lo <= ignore_index <= hi:
        # The common case, checked with two reductions: every class in range, none ignored.
        weight_y = None if w is None else w[t]
        total = float(t.size) if w is None else float(weight_y.sum(dtype=x.dtype))
        return IndexTarget(t, target_slots(t, axis), None, weight_y, total), w
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(
            f"{fn}: target {int(t[bad].flat[0])} is out of bounds: class indices must be in "
            f"[0, {n_classes - 1}] (or equal ignore_index={ignore_index})"
        )
    index = np.where(valid, t, 0)
    weight_y = (w[index] if w is not None else np.ones(index.shape, x.dtype)) * valid
    weight_y = weight_y.astype(x.dtype, copy=False)
    total = float(weight_y.sum(dtype=x.dtype))
    return IndexTarget(index, target_slots(index, axis), valid, weight_y, total), w


def _class_weights(fn: str, x: Tensor, weight: Any, n_classes: int) -> np.ndarray | None:
    if weight is None:
        return None
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
    return weight.data


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
    and q = s = 0 at ignored positions. Without a graph to record, the backward is
    that formula on arrays; under ``create_graph`` it recomputes softmax(x) from the
    input tensor, so second derivatives (Hessian-vector products) are exact too.
    """

    array_backward = True

    @staticmethod
    def forward(ctx, x, target, weight, smoothing, reduction, axis):
        c = x.shape[axis]
        with np.errstate(invalid="ignore", divide="ignore"):
            shifted = x - max_along(x, axis)
            e = np.exp(shifted)
            sum_e = e.sum(axis=axis, keepdims=True)
            logp = shifted
            logp -= np.log(sum_e)
            loss = -logp[target.slots]
            if target.weight_y is not None:
                loss *= target.weight_y
            if smoothing > 0:
                w = 1.0 if weight is None else _along(weight, axis, x.ndim)
                smooth = -(logp * w).sum(axis=axis)
                loss = (1 - smoothing) * loss + (smoothing / c) * smooth
            if target.valid is not None:  # an ignored position may have picked -inf
                loss = np.where(target.valid, loss, 0).astype(x.dtype, copy=False)
            e /= sum_e  # softmax(x), kept for the backward
        ctx.save_for_backward(x, e)  # e = softmax(x): saved, so freed right after backward
        ctx.target, ctx.weight, ctx.smoothing = target, weight, smoothing
        ctx.reduction, ctx.axis = reduction, axis
        if reduction == "none":
            return loss
        total = loss.sum(dtype=x.dtype)
        if reduction == "sum":
            return total
        if target.total == 0:  # every position ignored: 0/0, nan as in PyTorch
            return np.asarray(np.nan, x.dtype)
        return np.asarray(total / x.dtype.type(target.total))

    @staticmethod
    def backward(ctx, g):
        x, p = ctx.saved_tensors
        axis, tgt, weight, eps = ctx.axis, ctx.target, ctx.weight, ctx.smoothing
        c, dt = x.shape[axis], x.dtype
        if ctx.reduction == "none":
            g = unsqueeze(g, axis)
        elif ctx.reduction == "mean":
            # All ignored (D = 0): s and q are 0 everywhere, so the gradient is 0 (PyTorch).
            g = g / tgt.total if tgt.total != 0 else g * 0.0
        # s = Σₖ qₖ per position (0 where ignored), shaped to broadcast over the classes.
        if tgt.weight_y is None:  # w_y = 1 everywhere, nothing ignored, no class weights
            s: Any = (1 - eps) + (eps / c) * c if eps > 0 else 1.0
        else:
            s = (1 - eps) * tgt.weight_y
            if eps > 0:
                total_w = c if weight is None else weight.sum()
                s = s + (eps / c) * total_w * (1.0 if tgt.valid is None else tgt.valid)
            s = np.expand_dims(s, axis).astype(dt, copy=False)
        if is_array(g):  # no graph recorded: g·(s·p - q) on arrays, one new array
            d = p * s
            _add_target(d, tgt, weight, eps, axis, -1.0)
            d *= g
            return d.astype(dt, copy=False)
        # create_graph: keep softmax a function of x for higher orders
        q = np.zeros(x.shape, dt)
        _add_target(q, tgt, weight, eps, axis, 1.0)
        return g * (softmax(x, axis) * constant(s, dt) - constant(q, dt))


@reference_of(CrossEntropy)
def cross_entropy_reference(x, target, weight, smoothing, reduction, axis) -> Tensor:
    """ℓ = (1 - ε)·w_y·(-log p_y) + (ε/C)·Σⱼ wⱼ·(-log pⱼ) with log p = log_softmax(x)
    (0 where ignored), then the reduction: the forward of the docstring above."""
    logp = log_softmax(x, axis)
    loss = -logp[target.slots]
    if target.weight_y is not None:
        loss = loss * constant(target.weight_y, x.dtype)
    if smoothing > 0:
        w = 1.0 if weight is None else constant(_along(weight, axis, x.ndim), x.dtype)
        loss = (1 - smoothing) * loss + (smoothing / x.shape[axis]) * -sum(logp * w, axis)
    if target.valid is not None:  # an ignored position may have picked -inf
        loss = where(constant(target.valid, np.bool_), loss, 0.0)
    if reduction == "none":
        return loss
    return sum(loss) if reduction == "sum" else _weighted_mean(sum(loss), target.total)


def _add_target(
    a: np.ndarray, tgt: IndexTarget, weight: np.ndarray | None, eps: float, axis: int, sign: float
) -> None:
    """a += sign · q in place, q = (1 - ε)·w_y·onehot(y) + (ε/C)·w  (0 at ignored positions):
    the one-hot part is added at the target indices only, never as a dense one-hot."""
    onehot_part = sign * (1 - eps)
    a[tgt.slots] += onehot_part if tgt.weight_y is None else onehot_part * tgt.weight_y
    if eps > 0:
        c = a.shape[axis]
        w = np.ones(c, a.dtype) if weight is None else weight
        part = (sign * eps / c) * _along(w, axis, a.ndim)
        a += part if tgt.valid is None else part * np.expand_dims(tgt.valid, axis)


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
    x = float_input(input, fn, "input (logits)" if fn == "cross_entropy" else "input")
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
    if not fast.enabled():
        return cross_entropy_reference(x, tgt, w, eps, reduction, class_dim(x))
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
    loss = -picked if tgt.weight_y is None else -(picked * constant(tgt.weight_y, x.dtype))
    if tgt.valid is not None:
        loss = where(Tensor._from_op(tgt.valid, None), loss, 0.0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return sum(loss)
    return _weighted_mean(sum(loss), tgt.total)
