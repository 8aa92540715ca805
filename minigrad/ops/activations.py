"""Activation functions: y = f(x), dx = dy · f'(x), each derivative beside its forward."""

from __future__ import annotations

import math

import numpy as np

from minigrad import fast
from minigrad.autograd.function import Function, saves_output
from minigrad.fast.fused import reference_of
from minigrad.fast.kernels import fresh, inplace
from minigrad.ops._util import array_of, as_tensor, constant, float_input
from minigrad.ops.binary import where
from minigrad.ops.declare import op
from minigrad.ops.unary import erf, erf_array, exp, expm1, hardtanh_, log1p, select, sigmoid, tanh
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


@reference_of(ReLU)
def relu_reference(x: Tensor) -> Tensor:
    """0 where x ≤ 0, else x (NaN stays NaN, as PyTorch)."""
    return where(x <= 0, constant(0, x.dtype), x)


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


@reference_of(LeakyReLU)
def leaky_relu_reference(x: Tensor, slope: float) -> Tensor:
    return where(x > 0, x, x * slope)


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


@reference_of(ELU)
def elu_reference(x: Tensor, alpha: float) -> Tensor:
    """x where x > 0, else α(eˣ - 1) (of min(x, 0): the unused branch never overflows,
    so its zero gradient stays zero)."""
    return where(x > 0, x, alpha * expm1(where(x > 0, 0.0, x)))


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


@reference_of(GELU)
def gelu_reference(x: Tensor, approximate: str) -> Tensor:
    """½x(1 + erf(x/√2)), or ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    if approximate == "tanh":
        return 0.5 * x * (1 + tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1 + erf(x * _INV_SQRT_2))


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


@reference_of(SiLU)
def silu_reference(x: Tensor) -> Tensor:
    return x * sigmoid(x)


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


def stable_softplus(z: Tensor) -> Tensor:
    """ln(1 + e^z) = max(z, 0) + ln(1 + e^(-|z|)), with the kink of max and |·| at 0
    taken from the side z ≤ 0, where the formula is ln(1 + e^z) itself (so the gradient
    at 0 is σ(0) = ½, and e^(-|z|) ≤ 1 never overflows)."""
    positive = z > 0
    return where(positive, z, 0.0) + log1p(exp(where(positive, -z, z)))


@reference_of(Softplus)
def softplus_reference(x: Tensor, beta: float, threshold: float) -> Tensor:
    """ln(1 + e^(βx))/β, or x where βx > threshold."""
    bx = x * beta
    return where(bx > threshold, x, stable_softplus(bx) / beta)


# ------------------------------------------------------------------ functional API
@op()
def relu(x) -> Tensor:
    x = as_tensor(x)
    return ReLU.apply(x) if fast.enabled() else saves_output(relu_reference(x))


@op(methods=False)
def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    x = float_input(x, "leaky_relu")
    if not fast.enabled():
        return leaky_relu_reference(x, negative_slope)
    return LeakyReLU.apply(x, slope=negative_slope)


@op(methods=False)
def elu(x, alpha: float = 1.0) -> Tensor:
    x = float_input(x, "elu")
    return ELU.apply(x, alpha=alpha) if fast.enabled() else elu_reference(x, alpha)


@op(methods=False)
def gelu(x, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    x = float_input(x, "gelu")
    if not fast.enabled():
        return gelu_reference(x, approximate)
    return GELU.apply(x, approximate=approximate)


@op(methods=False)
def silu(x) -> Tensor:
    x = float_input(x, "silu")
    return SiLU.apply(x) if fast.enabled() else silu_reference(x)


@op(methods=False)
def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    x = float_input(x, "softplus")
    if not fast.enabled():
        return softplus_reference(x, beta, threshold)
    return Softplus.apply(x, beta=beta, threshold=threshold)


@op(methods=False)
def relu6(x) -> Tensor:
    """hardtanh(x, 0, 6): its gradient is 0 at 0 and at 6, as PyTorch's."""
    return hardtanh_(x, 0.0, 6.0)
