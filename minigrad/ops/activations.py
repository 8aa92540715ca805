"""Activation functions: y = f(x), dx = dy · f'(x), each derivative beside its forward."""

from __future__ import annotations

import math

import numpy as np

from minigrad.autograd.function import Function
from minigrad.ops._util import array_of, as_tensor
from minigrad.ops.binary import where
from minigrad.ops.declare import op
from minigrad.ops.nn_ops import fresh, inplace
from minigrad.ops.unary import erf, erf_array, exp, hardtanh_, select, sigmoid, tanh
from minigrad.tensor import Tensor

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class ReLU(Function):
    """y = max(x, 0);  dx = dy where x > 0, else 0 (selected, not dy · mask: see
    ``select``).

    The node keeps only the boolean mask x > 0 (a quarter of the output's bytes in
    float32), freed after its backward."""

    output_saved = True  # PyTorch saves the output: writing it in place refuses

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        y = np.maximum(x, 0)
        ctx.save_for_backward(y > 0)
        return y

    @staticmethod
    def backward(ctx, g):
        (positive,) = ctx.saved_tensors
        return select(positive, g)


class LeakyReLU(Function):
    """y = x if x > 0 else s·x;  dx = dy if x > 0 else s·dy."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return np.where(x > 0, x, x * x.dtype.type(slope))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * np.where(array_of(x) > 0, 1, ctx.slope).astype(g.dtype)


class ELU(Function):
    """y = x if x > 0 else α(eˣ - 1);  dx = dy if x > 0 else dy·α·eˣ."""

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return where(x > 0, g, g * ctx.alpha * exp(x))


class GELU(Function):
    """y = x·Φ(x), Φ the standard normal CDF;  dx = dy · (Φ(x) + x·φ(x)).

    With ``approximate='tanh'`` (GPT-2's form): y = ½x(1 + tanh u),
    u = √(2/π)(x + 0.044715x³), and dx = dy · (½(1 + tanh u) + ½x(1 - tanh²u)·du/dx),
    du/dx = √(2/π)(1 + 3·0.044715x²).

    Only x is kept; backward recomputes tanh u (one pass) rather than hold a second
    activation-sized array. The in-place steps act on new arrays only.
    """

    array_backward = True

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if approximate == "tanh":
            y = fresh(x * x)
            y *= _SQRT_2_OVER_PI * 0.044715
            y += _SQRT_2_OVER_PI
            y *= x  # u
            np.tanh(y, out=y)
        else:
            y = fresh(erf_array(x * _INV_SQRT_2))
        y += 1.0
        y *= x
        y *= 0.5
        return y

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            # d = ½(1 + t) + ½x(1 - t²)·du/dx with t = tanh u, computed as
            # -½((t² - 1)·x·du/dx - t - 1): three new arrays, the rest in place.
            w = x * x
            w *= _SQRT_2_OVER_PI * 0.044715  # w = √(2/π)·0.044715x²
            t = w + _SQRT_2_OVER_PI
            t *= x  # u = x(√(2/π) + w)
            t = inplace(np.tanh, tanh, t)
            x_du = w  # x·du/dx = x(√(2/π) + 3w), in w's place
            x_du *= 3.0
            x_du += _SQRT_2_OVER_PI
            x_du *= x
            d = t * t
            d -= 1
            d *= x_du
            d -= t
            d -= 1
            d *= -0.5
        else:
            d = erf(x * _INV_SQRT_2)  # d = Φ(x) + x·φ(x)
            d += 1
            d *= 0.5
            pdf = exp(x * x * -0.5)
            pdf *= x * _INV_SQRT_2PI
            d += pdf
        d *= g
        return d


class SiLU(Function):
    """y = x·σ(x);  dx = dy · σ(x)·(1 + x·(1 - σ(x)))."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * sigmoid(Tensor._from_op(x, None)).data

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = sigmoid(x)
        return g * s * (x * (1 - s) + 1)


class Softplus(Function):
    """y = ln(1 + e^(βx))/β, linear (y = x) where βx > threshold;  dx = dy · σ(βx)."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        bx = x * beta
        # ln(1 + e^z) = max(z, 0) + ln(1 + e^-|z|): never overflows.
        soft = (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / beta
        return np.where(bx > threshold, x, soft).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        bx = x * ctx.beta
        return where(bx > ctx.threshold, g, g * sigmoid(bx))


# ------------------------------------------------------------------ functional API
def _float(x) -> Tensor:
    x = as_tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"activation functions need a floating tensor, got dtype {x.dtype}")
    return x


@op()
def relu(x) -> Tensor:
    return ReLU.apply(as_tensor(x))


@op(methods=False)
def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    return LeakyReLU.apply(_float(x), slope=negative_slope)


@op(methods=False)
def elu(x, alpha: float = 1.0) -> Tensor:
    return ELU.apply(_float(x), alpha=alpha)


@op(methods=False)
def gelu(x, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(_float(x), approximate=approximate)


@op(methods=False)
def silu(x) -> Tensor:
    return SiLU.apply(_float(x))


@op(methods=False)
def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return Softplus.apply(_float(x), beta=beta, threshold=threshold)


@op(methods=False)
def relu6(x) -> Tensor:
    """hardtanh(x, 0, 6): its gradient is 0 at 0 and at 6, as PyTorch's."""
    return hardtanh_(x, 0.0, 6.0)
