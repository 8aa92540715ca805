"""Forward-mode rules (``jvp``) for the Functions outside the core.

The core's primitives carry their ``jvp`` beside their ``backward``
(``minigrad/core/primitives.py``). Composite ops need none: they are built from ops
that have one, so their tangent comes by composition. The Functions with a custom
backward (the unary math, reductions, shape and indexing ops, matmul/linear, softmax,
activations, the fused kernels) get theirs here, attached to the classes, grouped by
the kind of rule, one line of math each:

- **self-adjoint** (J = Jᵀ): every elementwise op (J is diagonal) and softmax
  (J = diag(y) - y yᵀ). Then J ẋ = Jᵀ ẋ: the jvp *is* the op's backward applied to the
  tangent.
- **linear** (y = A x): the Jacobian is the op itself, so ẏ = op(ẋ) (same parameters;
  a constant fill, as in ``pad``, becomes 0).
- **multilinear** (y = B(x₁, ..., xₙ), linear in each): ẏ = Σᵢ B(x₁, .., ẋᵢ, .., xₙ)
  (matmul, einsum); with a bias b, ẏ also gains ḃ (linear).
- **reductions** y = R(x) along axes, each x feeding one y: ẏ = Σⱼ ∂y/∂xⱼ · ẋⱼ, and
  the row ∂y/∂xⱼ is the backward of a gradient of ones.
- ``log_softmax``: ẏ = ẋ - Σⱼ softmax(x)ⱼ ẋⱼ; ``layer_norm``, ``maximum``, ``minimum``,
  ``remainder``, ``fmod``: their own (below).

Every other Function (cross-entropy, binary cross-entropy, max pooling, convolution, attention, a
user's ``autograd.Function``) gets the **transpose trick**, :func:`transpose_jvp`: the
VJP u ↦ Jᵀu is linear in u, so J ẋ = ∂/∂u ⟨Jᵀu, ẋ⟩ — one forward and two backward
passes (the second differentiates the first: ``create_graph``). It is exact, not an
approximation; it needs the op's backward to be differentiable (as minigrad's are),
and it re-runs the forward, so a random op (dropout) needs a rule of its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.core import primitives as P
from minigrad.core.autograd import Function, Tensor
from minigrad.core.grad_mode import _state, enable_grad
from minigrad.fast import scalar_ops
from minigrad.nn.functional import _windows, attention, conv, loss_binary, pooling
from minigrad.nn.functional import loss_cross_entropy as cross_entropy
from minigrad.ops import (
    activations,
    binary,
    compare,
    indexing,
    linalg,
    nn_ops,
    reduce,
    shape,
    unary,
)


def _zeros(x: Tensor) -> Tensor:
    return Tensor._from_op(np.zeros_like(x.data), None)


def transpose_jvp(ctx: Function, *tangents: Tensor) -> Tensor:
    """J ẋ = ∂/∂u ⟨Jᵀu, ẋ⟩ (at u = 0; the VJP is linear in u): the op is re-run on its
    inputs (leaf copies for those that record nothing), its VJP taken with
    ``create_graph``, and that differentiated with respect to u. Recorded when grad
    mode is on, so the tangent stays differentiable in the inputs and in ẋ."""
    from minigrad import autograd

    if ctx.op_params.get("dropout_p"):  # a re-run would draw another dropout mask
        raise NotImplementedError(
            f"{type(ctx).__name__}: no forward-mode derivative with dropout_p="
            f"{ctx.op_params['dropout_p']} (its jvp re-runs the op, which would draw a new mask)"
        )
    recording = _state.enabled
    with enable_grad():
        xs = [
            x if x.requires_grad or x.dtype.kind != "f" else Tensor(x.data, requires_grad=True)
            for x in ctx.op_inputs
        ]
        y = type(ctx).apply(*xs, **ctx.op_params)
        u = Tensor(np.zeros_like(y.data), requires_grad=True)
        slots = [i for i, x in enumerate(xs) if x.requires_grad]
        gs = autograd.grad(y, [xs[i] for i in slots], u, create_graph=True, allow_unused=True)
        terms = [(g * tangents[i]).sum() for g, i in zip(gs, slots) if g is not None]
        total = terms[0] if terms else None
        for term in terms[1:]:
            total = total + term
        if total is None or not total.requires_grad:
            return _zeros(y)
        (jv,) = autograd.grad(total, [u], create_graph=recording, allow_unused=True)
    return _zeros(y) if jv is None else jv if recording else jv.detach()


def self_adjoint(ctx: Function, t: Tensor) -> Tensor:
    """J = Jᵀ: ẏ = J ẋ = the backward applied to ẋ."""
    return type(ctx).backward(ctx, t)


def linear(ctx: Function, *ts: Tensor) -> Tensor:
    """y = A x: ẏ = A ẋ, the op itself on the tangents."""
    return type(ctx).apply(*ts, **ctx.op_params)


def affine(ctx: Function, *ts: Tensor) -> Tensor:
    """y = A x + c (a constant fill): ẏ = A ẋ, the op with the fill set to 0."""
    key = "value" if "value" in ctx.op_params else "fill"
    return type(ctx).apply(*ts, **{**ctx.op_params, key: 0.0})


def multilinear(ctx: Function, *ts: Tensor) -> Tensor:
    """y = B(x₁, ..., xₙ), linear in each: ẏ = Σᵢ B(x₁, .., ẋᵢ, .., xₙ) over the inputs
    that have a tangent."""
    xs, total = list(ctx.op_inputs), None
    for i, t in enumerate(ts):
        if ctx.given[i]:
            term = type(ctx).apply(*xs[:i], t, *xs[i + 1 :], **ctx.op_params)
            total = term if total is None else total + term
    return total


def biased(ctx: Function, *ts: Tensor) -> Tensor:
    """y = B(x, W) + b, B bilinear: ẏ = B(ẋ, W) + B(x, Ẇ) + ḃ."""
    (x, w), apply, p = ctx.op_inputs[:2], type(ctx).apply, ctx.op_params
    out = apply(ts[0], w, **p) + apply(x, ts[1], **p)
    return out + ts[2] if len(ts) > 2 else out


def reduction(ctx: Function, t: Tensor) -> Tensor:
    """y = R(x) along axes: ẏ = Σⱼ ∂y/∂xⱼ ẋⱼ, with ∂y/∂x the backward of ones."""
    p = ctx.op_params
    axes = p["axes"] if "axes" in p else (p["axis"],)
    ones_shape = np.empty(t.shape).sum(axis=axes, keepdims=p["keepdim"]).shape
    dy_dx = type(ctx).backward(ctx, Tensor._from_op(np.ones(ones_shape, t.dtype), None))
    return (dy_dx * t).sum(dim=axes, keepdim=p["keepdim"])


def log_softmax(ctx: Function, t: Tensor) -> Tensor:
    """ẏ = ẋ - Σⱼ softmax(x)ⱼ ẋⱼ  (softmax = e^y)."""
    (y,) = ctx.saved_tensors
    return t - (y.exp() * t).sum(dim=ctx.axis, keepdim=True)


def layer_norm(ctx: Function, tx: Tensor, tw: Tensor, tb: Tensor) -> Tensor:
    """x̂ = (x - μ)·r, r = 1/√(σ² + ε):  ẋ̂ = r·(ẋ - mean ẋ - x̂·mean(x̂·ẋ)),
    ẏ = ẋ̂·w + x̂·ẇ + ḃ  (x̂ recomputed from x with recorded ops: differentiable again)."""
    (x, w), axes, eps = ctx.op_inputs[:2], ctx.op_params["axes"], ctx.op_params["eps"]
    xc = x - x.mean(dim=axes, keepdim=True)
    r = ((xc * xc).mean(dim=axes, keepdim=True) + eps).rsqrt()
    xhat = xc * r
    mean_t, mean_xt = tx.mean(dim=axes, keepdim=True), (xhat * tx).mean(dim=axes, keepdim=True)
    return r * (tx - mean_t - xhat * mean_xt) * w + xhat * tw + tb


def maximum(ctx: Function, ta: Tensor, tb: Tensor) -> Tensor:
    """z = max(a, b): ż = ȧ where a > b, ḃ where a < b, (ȧ + ḃ)/2 at ties."""
    a, b = (x.data for x in ctx.op_inputs)
    return P.where(a > b, ta, P.where(a < b, tb, (ta + tb) / 2))


def minimum(ctx: Function, ta: Tensor, tb: Tensor) -> Tensor:
    """z = min(a, b): ż = ȧ where a < b, ḃ where a > b, (ȧ + ḃ)/2 at ties."""
    a, b = (x.data for x in ctx.op_inputs)
    return P.where(a < b, ta, P.where(a > b, tb, (ta + tb) / 2))


def remainder(ctx: Function, ta: Tensor, tb: Tensor) -> Tensor:
    """z = a - floor(a/b)·b (floor is flat almost everywhere):  ż = ȧ - floor(a/b)·ḃ."""
    a, b = (x.data for x in ctx.op_inputs)
    return ta - tb * np.floor(a / b)


def fmod(ctx: Function, ta: Tensor, tb: Tensor) -> Tensor:
    """z = a - trunc(a/b)·b:  ż = ȧ - trunc(a/b)·ḃ."""
    a, b = (x.data for x in ctx.op_inputs)
    return ta - tb * np.trunc(a / b)


RULES: dict[Any, list[type[Function]]] = {
    self_adjoint: [
        # ops/unary.py
        *(unary.Abs, unary.Sign, unary.Log1p, unary.Expm1, unary.Sqrt, unary.Rsqrt, unary.Sin),
        *(unary.Cos, unary.Sigmoid, unary.Reciprocal, unary.Erf, unary.PowScalar, unary.Clamp),
        unary.RPowScalar,
        # ops/activations.py
        *(activations.ReLU, activations.LeakyReLU, activations.ELU, activations.GELU),
        *(activations.SiLU, activations.Softplus),
        # ops/nn_ops.py (softmax: J = diag(y) - y yᵀ; dropout: the saved mask, not a new one)
        *(nn_ops.Softmax, nn_ops.Dropout),
        # nn/functional/loss_binary.py, fast/scalar_ops.py
        *(loss_binary.LogSigmoid, scalar_ops.AddScalar, scalar_ops.MulScalar),
        scalar_ops.DivScalar,
    ],
    linear: [
        # ops/reduce.py
        *(reduce.Mean, reduce.Cumsum),
        # ops/shape.py
        *(shape.Repeat, shape.Flip, shape.Cat, shape.Triangle, shape.Clone),
        # ops/indexing.py, ops/nn_ops.py
        *(indexing.Gather, indexing.ScatterAdd, indexing.IndexPut, nn_ops.Embedding),
        # nn/functional/_windows.py (Fold has no fill)
        _windows.Fold,
    ],
    affine: [shape.Pad, _windows.Unfold],
    multilinear: [linalg.RowsMatMul, linalg.Einsum],
    biased: [linalg.Linear],
    reduction: [reduce.Prod, reduce.LogSumExp, reduce.Norm],
    log_softmax: [nn_ops.LogSoftmax],
    layer_norm: [nn_ops.LayerNorm],
    maximum: [binary.Maximum],
    minimum: [binary.Minimum],
    remainder: [compare.Remainder],
    fmod: [compare.Fmod],
}
# Left to the transpose trick (no rule here): listed so the choice is visible.
TRANSPOSED: list[type[Function]] = [
    cross_entropy.CrossEntropy,  # weights, label smoothing and ignored targets: one node
    loss_binary.BinaryCrossEntropy,
    pooling.MaxPool,
    conv.Conv,  # its bias broadcasts over the channel axis, and the kernel has array paths
    attention.Attention,
    attention.PackedAttention,
]

for _rule, _classes in RULES.items():
    for _cls in _classes:
        _cls.jvp = staticmethod(_rule)
Function.jvp = staticmethod(transpose_jvp)  # every Function without a rule of its own
