"""Neural-network ops with fused forward/backward: softmax, log_softmax, layer_norm,
dropout, embedding.

"Fused" means one graph node whose backward is the closed-form derivative,
rather than the chain of primitive nodes the formula would otherwise record.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import random
from minigrad.autograd.function import Function
from minigrad.ops._util import array_op, as_tensor
from minigrad.ops.indexing import IndexAdd
from minigrad.ops.reduce import mean, sum
from minigrad.ops.unary import exp, rsqrt
from minigrad.tensor import Tensor, _normalize_dim, normalize_dims


class Softmax(Function):
    """yᵢ = e^(xᵢ - m) / Σⱼ e^(xⱼ - m), m = max x (for stability);
    dxᵢ = yᵢ (dyᵢ - Σⱼ dyⱼ yⱼ)   (the Jacobian diag(y) - y yᵀ applied to dy)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, axis):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        y = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y * (g - sum(g * y, ctx.axis, keepdim=True))


class LogSoftmax(Function):
    """yᵢ = xᵢ - logΣⱼ e^(xⱼ)  (computed as xᵢ - m - log Σⱼ e^(xⱼ - m));
    dxᵢ = dyᵢ - e^(yᵢ) Σⱼ dyⱼ   (softmax = e^y)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, axis):
        shifted = x - x.max(axis=axis, keepdims=True)
        y = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.save_for_backward(y)
        ctx.axis = axis
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g - exp(y) * sum(g, ctx.axis, keepdim=True)


class LayerNorm(Function):
    """x̂ = (x - μ) / √(σ² + ε) over the last k dims;  y = x̂·w + b.

    With N normalised elements, gradient ĝ = dy·w:
        dx = (1/√(σ²+ε)) · (ĝ - mean(ĝ) - x̂ · mean(ĝ · x̂)),
        dw = Σ dy·x̂ over the batch dims,  db = Σ dy over the batch dims.
    Under ``create_graph`` the same formula is evaluated with graph-recording ops
    on the input, so second derivatives are exact too.
    """

    array_backward = True

    @staticmethod
    def forward(ctx, x, w, b, axes, eps):
        mu = x.mean(axis=axes, keepdims=True)
        xc = x - mu
        var = (xc * xc).mean(axis=axes, keepdims=True)
        rstd = 1.0 / np.sqrt(var + eps)
        xhat = xc * rstd
        ctx.save_for_backward(x, w)
        ctx.axes, ctx.eps, ctx.xhat, ctx.rstd = axes, eps, xhat, rstd
        return xhat * w + b if w is not None else xhat

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
            xhat, rstd = ctx.xhat, ctx.rstd
        batch = tuple(range(x.ndim - len(axes)))
        gh = g * w
        dx = None
        if ctx.needs_input_grad[0]:
            centered = gh - mean(gh, axes, keepdim=True)
            dx = rstd * (centered - xhat * mean(gh * xhat, axes, keepdim=True))
        dw = sum(g * xhat, batch) if ctx.needs_input_grad[1] else None
        db = sum(g, batch) if ctx.needs_input_grad[2] else None
        return dx, dw, db


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


class Dropout(Function):
    """y = x · m / (1 - p), m ~ Bernoulli(1 - p);  dx = dy · m / (1 - p)."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, p):
        keep = random.generator().random(x.shape) >= p
        ctx.scale = (keep / (1.0 - p)).astype(x.dtype)
        return x * ctx.scale

    @staticmethod
    def backward(ctx, g):
        return g * ctx.scale


# ------------------------------------------------------------------ functional API
def _float_input(op: str, x: Any) -> Tensor:
    x = as_tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating point tensor, got dtype {x.dtype}")
    return x


def softmax(x: Tensor, dim: int = -1, dtype: Any = None) -> Tensor:
    x = _float_input("softmax", x if dtype is None else as_tensor(x, np.dtype(dtype)))
    return Softmax.apply(x, axis=_normalize_dim(dim, x.ndim, "softmax"))


def log_softmax(x: Tensor, dim: int = -1, dtype: Any = None) -> Tensor:
    x = _float_input("log_softmax", x if dtype is None else as_tensor(x, np.dtype(dtype)))
    return LogSoftmax.apply(x, axis=_normalize_dim(dim, x.ndim, "log_softmax"))


def layer_norm(
    x: Tensor,
    normalized_shape: int | tuple[int, ...],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    x = _float_input("layer_norm", x)
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
    one = weight if weight is not None else Tensor._from_op(np.ones(shape, x.dtype), None)
    zero = bias if bias is not None else Tensor._from_op(np.zeros(shape, x.dtype), None)
    return LayerNorm.apply(x, one, zero, axes=axes, eps=eps)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = as_tensor(x)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return Dropout.apply(x, p=p)


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
    return Embedding.apply(weight, index=idx.data, padding_idx=padding_idx)
