"""Broadcasting and its adjoint.

``a + b`` with ``a`` of shape (3, 1) and ``b`` of shape (4,) computes on (3, 4):
NumPy *broadcasts* each operand, copying it along the dimensions where its size is 1
or missing. A copy's derivative is the sum: every place an element was copied to
sends its gradient back, so ``∂loss/∂a = sum_to(∂loss/∂(a+b), a.shape)``.

``broadcast_to`` and ``sum_to`` are each other's adjoint (⟨broadcast(x), y⟩ =
⟨x, sum_to(y)⟩), so each is the other's backward, and both are differentiable to any
order. Every broadcasting op ends its backward with ``sum_to``; nothing else in the
core needs to know about broadcasting.
"""

from __future__ import annotations

import numpy as np

from .autograd import Function, Tensor


def reduce_to_shape(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` over its leading extra axes and the axes where ``shape`` has size 1."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    out = g.sum(axis=axes, keepdims=True) if axes else g
    return out.reshape(shape)


class SumTo(Function):
    """y = Σ of g over the broadcast axes, giving ``shape``;  dg = broadcast_to(dy, g.shape)."""

    @staticmethod
    def forward(ctx, g, shape):
        ctx.in_shape = g.shape
        return reduce_to_shape(g, shape)

    @staticmethod
    def backward(ctx, grad):
        return broadcast_to(grad, ctx.in_shape)

    @staticmethod
    def jvp(ctx, t):  # linear: the op itself on the tangent
        return sum_to(t, ctx.op_params["shape"])


class BroadcastTo(Function):
    """y = x copied along the broadcast axes (a read-only view);  dx = sum_to(dy, x.shape)."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return sum_to(grad, ctx.in_shape)

    @staticmethod
    def jvp(ctx, t):  # linear: the op itself on the tangent
        return broadcast_to(t, ctx.op_params["shape"])


def sum_to(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``g`` summed down to ``shape`` (itself when it already has it)."""
    shape = tuple(shape)
    return g if g.shape == shape else SumTo.apply(g, shape=shape)


def broadcast_to(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``x`` broadcast to ``shape`` (itself when it already has it)."""
    shape = tuple(shape)
    return x if x.shape == shape else BroadcastTo.apply(x, shape=shape)
