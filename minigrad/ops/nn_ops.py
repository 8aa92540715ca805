"""Neural-network ops with fused forward/backward: softmax, log_softmax, layer_norm,
dropout, embedding.

"Fused" means one graph node whose backward is the closed-form derivative,
rather than the chain of primitive nodes the formula would otherwise record. Each
kernel is followed by its reference, the composition that defines it (and that the
public function runs in reference mode; see ``minigrad/fast/fused.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import fast
from minigrad.autograd.function import Function, saves_output
from minigrad.core.primitives import IndexAdd
from minigrad.fast.fused import reference_of
from minigrad.fast.kernels import fresh, keep_mask, keep_scale, rowdot, softmax_
from minigrad.ops._util import (
    array_op,
    as_tensor,
    check_dropout_p,
    constant,
    float_input,
    max_along,
)
from minigrad.ops.binary import where
from minigrad.ops.declare import op
from minigrad.ops.reduce import amax, mean, sum
from minigrad.ops.unary import exp, log, rsqrt
from minigrad.tensor import Tensor, _normalize_dim, normalize_dims


class Softmax(Function):
    """yᵢ = e^(xᵢ - m) / Σⱼ e^(xⱼ - m), m = max x (for stability);
    dxᵢ = yᵢ (dyᵢ - Σⱼ dyⱼ yⱼ)   (the Jacobian diag(y) - y yᵀ applied to dy)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, axis):
        y = softmax_(np.array(x, copy=True), axis)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        last = ctx.axis == y.ndim - 1
        dx = g - (rowdot(g, y) if last else sum(g * y, ctx.axis, keepdim=True))
        dx *= y  # in place on arrays; a new node on tensors (Tensor has no ``*=``)
        return dx


@reference_of(Softmax)
def softmax_reference(x: Tensor, axis: int) -> Tensor:
    """e^(x - m) / Σ e^(x - m); the shift m = max x is a constant (softmax does not
    depend on it), so it carries no gradient."""
    e = exp(x - amax(x, axis, keepdim=True).detach())
    return e / sum(e, axis, keepdim=True)


class LogSoftmax(Function):
    """yᵢ = xᵢ - logΣⱼ e^(xⱼ)  (computed as xᵢ - m - log Σⱼ e^(xⱼ - m));
    dxᵢ = dyᵢ - e^(yᵢ) Σⱼ dyⱼ   (softmax = e^y)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, axis):
        y = fresh(x - max_along(x, axis))
        y -= np.log(np.exp(y).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        dx = exp(y)
        dx *= -sum(g, ctx.axis, keepdim=True)
        dx += g
        return dx


@reference_of(LogSoftmax)
def log_softmax_reference(x: Tensor, axis: int) -> Tensor:
    """(x - m) - log Σ e^(x - m), m = max x held constant (see softmax_reference)."""
    shifted = x - amax(x, axis, keepdim=True).detach()
    return shifted - log(sum(exp(shifted), axis, keepdim=True))


class LayerNorm(Function):
    """x̂ = (x - μ) / √(σ² + ε) over the last k dims;  y = x̂·w + b.

    With N normalised elements, gradient ĝ = dy·w:
        dx = (1/√(σ²+ε)) · (ĝ - mean(ĝ) - x̂ · mean(ĝ · x̂)),
        dw = Σ dy·x̂ over the batch dims,  db = Σ dy over the batch dims.
    Only x, w and the per-row μ and 1/√(σ²+ε) are kept: backward rebuilds x̂ from them
    (one pass) rather than hold a second activation-sized array. Under ``create_graph``
    x̂ and 1/σ are recomputed with graph-recording ops on the input, so second
    derivatives are exact too.
    """

    array_backward = True

    @staticmethod
    def forward(ctx, x, w, b, axes, eps):
        mu = x.mean(axis=axes, keepdims=True)
        y = fresh(x - mu)
        rows = y.reshape(-1, w.size)  # (batch, N) view: σ² as one dot product per row
        var = np.einsum("ij,ij->i", rows, rows).reshape(mu.shape) / w.size
        rstd = 1.0 / np.sqrt(var + eps)
        y *= rstd  # x̂
        y *= w
        y += b
        ctx.save_for_backward(x, w)
        ctx.axes, ctx.eps, ctx.mu, ctx.rstd = axes, eps, mu, rstd
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        axes = ctx.axes
        if isinstance(x, Tensor) and x.requires_grad:  # record the graph: recompute x̂ and
            # 1/σ from x with tensor ops
            mu = mean(x, axes, keepdim=True)
            xc = x - mu
            rstd = rsqrt(mean(xc * xc, axes, keepdim=True) + ctx.eps)
            xhat = xc * rstd
        else:
            rstd = ctx.rstd
            xhat = x - ctx.mu
            xhat *= rstd
        need = ctx.needs_input_grad
        batch = tuple(range(x.ndim - len(axes)))
        dw = sum(g * xhat, batch) if need[1] else None
        db = sum(g, batch) if need[2] else None
        dx = None
        if need[0]:  # in place on new arrays: ĝ, then dx in its place
            dx = g * w
            if len(axes) == 1:
                m_gx = rowdot(dx, xhat) * (1.0 / x.shape[-1])
            else:
                m_gx = mean(dx * xhat, axes, keepdim=True)
            dx -= mean(dx, axes, keepdim=True)
            xhat *= m_gx  # x̂ is not needed any more
            dx -= xhat
            dx *= rstd
        return dx, dw, db


@reference_of(LayerNorm)
def layer_norm_reference(
    x: Tensor, w: Tensor, b: Tensor, axes: tuple[int, ...], eps: float
) -> Tensor:
    """(x - μ) / √(σ² + ε) · w + b, μ and σ² the mean and (biased) variance over ``axes``."""
    xc = x - mean(x, axes, keepdim=True)
    return xc * rsqrt(mean(xc * xc, axes, keepdim=True) + eps) * w + b


class Embedding(Function):
    """y = W[index];  dW = dy rows added into the rows they came from (repeats add up;
    the ``padding_idx`` row gets no gradient, as PyTorch)."""

    array_backward = True

    @staticmethod
    def forward(ctx, w, index, padding_idx):
        ctx.shape, ctx.index, ctx.padding_idx = w.shape, index, padding_idx
        return w[index]

    @staticmethod
    def backward(ctx, g):
        if ctx.padding_idx is not None:
            keep = (ctx.index != ctx.padding_idx)[..., None].astype(g.dtype)
            g = g * keep
        return array_op(IndexAdd, g, shape=ctx.shape, index=(ctx.index,))


@reference_of(Embedding)
def embedding_reference(w: Tensor, index: np.ndarray, padding_idx: int | None) -> Tensor:
    """W[index] (getitem, whose adjoint adds repeated rows up); rows picked by
    ``padding_idx`` are constants (no gradient)."""
    rows = w[index]
    if padding_idx is None:
        return rows
    return where(constant((index != padding_idx)[..., None], np.bool_), rows, rows.detach())


class Dropout(Function):
    """y = x · m / (1 - p), m ~ Bernoulli(1 - p);  dx = dy · m / (1 - p).

    m is saved as booleans: a quarter of the memory of a float32 mask, freed as soon
    as this node's backward has run."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, p):
        keep = keep_mask(x.shape, p)
        ctx.save_for_backward(keep)
        ctx.scale = keep_scale(p)
        y = x * keep
        y *= ctx.scale
        return y

    @staticmethod
    def backward(ctx, g):
        (keep,) = ctx.saved_tensors
        dx = g * keep
        dx *= ctx.scale
        return dx


@reference_of(Dropout)
def dropout_reference(x: Tensor, p: float) -> Tensor:
    """x · m / (1 - p), m drawn by ``keep_mask`` from minigrad's generator (the kernel's
    own draw, so both paths drop the same elements for a seed)."""
    return x * constant(keep_mask(x.shape, p), x.dtype) * keep_scale(p)


# ------------------------------------------------------------------ functional API
@op()
def softmax(x: Tensor, dim: int = -1, dtype: Any = None) -> Tensor:
    x = float_input(x if dtype is None else as_tensor(x, np.dtype(dtype)), "softmax")
    axis = _normalize_dim(dim, x.ndim, "softmax")
    if x.data.size == 0:  # nothing to normalise: PyTorch returns the empty tensor
        return x * 0.0
    if not fast.enabled():
        return saves_output(softmax_reference(x, axis))
    return Softmax.apply(x, axis=axis)


@op()
def log_softmax(x: Tensor, dim: int = -1, dtype: Any = None) -> Tensor:
    x = float_input(x if dtype is None else as_tensor(x, np.dtype(dtype)), "log_softmax")
    axis = _normalize_dim(dim, x.ndim, "log_softmax")
    if x.data.size == 0:  # nothing to normalise: PyTorch returns the empty tensor
        return x * 0.0
    return LogSoftmax.apply(x, axis=axis) if fast.enabled() else log_softmax_reference(x, axis)


@op(methods=False)
def layer_norm(
    x: Tensor,
    normalized_shape: int | tuple[int, ...],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    x = float_input(x, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.shape[x.ndim - k :] != shape:
        raise RuntimeError(
            f"layer_norm: normalized_shape {shape} does not match the last dims of the input "
            f"of shape {x.shape}"
        )
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.shape != shape:
            raise RuntimeError(f"layer_norm: {name} of shape {p.shape} must have shape {shape}")
    axes = normalize_dims(tuple(range(x.ndim - k, x.ndim)), x.ndim, "layer_norm")
    one = weight if weight is not None else constant(np.ones(shape), x.dtype)
    zero = bias if bias is not None else constant(np.zeros(shape), x.dtype)
    if not fast.enabled():
        return layer_norm_reference(x, one, zero, axes, eps)
    return LayerNorm.apply(x, one, zero, axes=axes, eps=eps)


@op(methods=False)
def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    check_dropout_p(p)
    x = as_tensor(x)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return Dropout.apply(x, p=p) if fast.enabled() else dropout_reference(x, p)


@op(methods=False)
def embedding(index: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` picked by ``index``; the gradient of repeated rows adds up
    (and the ``padding_idx`` row gets none, as PyTorch)."""
    idx = as_tensor(index)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            f"embedding: expected indices of an integer dtype (int64), got {idx.dtype}"
        )
    n = weight.shape[0]
    if idx.numel() and (idx.data.min() < 0 or idx.data.max() >= n):
        bad = int(idx.data.min()) if idx.data.min() < 0 else int(idx.data.max())
        raise IndexError(f"embedding: index {bad} is out of range for {n} embeddings [0, {n - 1}]")
    if not fast.enabled():
        return embedding_reference(weight, idx.data, padding_idx)
    return Embedding.apply(weight, index=idx.data, padding_idx=padding_idx)
