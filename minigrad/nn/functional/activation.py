"""Activation functions with PyTorch's ``torch.nn.functional`` signatures.

The differentiable kernels live in ``minigrad/ops`` (``ops/activations.py``,
``ops/unary.py``, ``ops/nn_ops.py``: each derivative is written beside its forward);
the few extra ones here are compositions of those. ``inplace`` arguments are accepted
for compatibility; minigrad always returns a new tensor.
"""

from __future__ import annotations

import warnings
from typing import Any

from minigrad import ops
from minigrad.nn.functional._util import float_input
from minigrad.ops.unary import hardtanh_
from minigrad.tensor import Tensor

__all__ = [
    "celu",
    "elu",
    "gelu",
    "glu",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "leaky_relu",
    "log_softmax",
    "logsigmoid",
    "mish",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "softmax",
    "softmin",
    "softplus",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    return ops.relu(input)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6); gradient 1 on 0 < x < 6 only (0 at the bounds, as PyTorch)."""
    return ops.relu6(input)


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """clamp(x, min_val, max_val); gradient 1 strictly inside, 0 at the bounds (PyTorch's)."""
    return hardtanh_(input, min_val, max_val)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    x = float_input(input, "threshold")
    return ops.where(x > threshold, x, value)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope · x."""
    return ops.leaky_relu(input, negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else α(eˣ - 1)."""
    return ops.elu(input, alpha)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale · elu(x, α) with the self-normalising constants of Klambauer et al."""
    return ops.elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, α(e^(x/α) - 1)) = α · elu(x/α)."""
    return ops.elu(float_input(input, "celu") / alpha, 1.0) * alpha


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x · Φ(x) (``approximate='tanh'``: GPT-2's tanh form)."""
    return ops.gelu(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x · σ(x) (a.k.a. swish)."""
    return ops.silu(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x · tanh(softplus(x))."""
    x = float_input(input, "mish")
    return x * ops.tanh(ops.softplus(x))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """hardtanh(x/6 + 1/2, 0, 1): gradient 1/6 for -3 < x < 3, 0 at ±3 (PyTorch's)."""
    return hardtanh_(float_input(input, "hardsigmoid") / 6.0 + 0.5, 0.0, 1.0)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x · hardsigmoid(x)."""
    x = float_input(input, "hardswish")
    return x * hardsigmoid(x)


def tanh(input: Tensor) -> Tensor:
    return ops.tanh(input)


def sigmoid(input: Tensor) -> Tensor:
    return ops.sigmoid(input)


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = -softplus(-x), computed without overflow."""
    return -ops.softplus(-float_input(input, "logsigmoid"))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(βx))/β, linear above ``threshold``."""
    return ops.softplus(input, beta, threshold)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    x = float_input(input, "softsign")
    return x / (ops.abs(x) + 1.0)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    x = float_input(input, "tanhshrink")
    return x - ops.tanh(x)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a ⊗ σ(b), where a and b are the two halves of ``input`` along ``dim``."""
    x = float_input(input, "glu")
    if x.shape[dim] % 2:
        raise RuntimeError(
            f"glu: halving dimension must be even, but dimension {dim} is size {x.shape[dim]}"
        )
    a, b = ops.chunk(x, 2, dim)
    return a * ops.sigmoid(b)


def _softmax_dim(op: str, ndim: int, dim: int | None) -> int:
    if dim is not None:
        return dim
    warnings.warn(
        f"Implicit dimension choice for {op} has been deprecated. Change the call to include "
        "dim=X as an argument.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """e^(xᵢ) / Σⱼ e^(xⱼ) along ``dim`` (computed with the max subtracted, so no overflow)."""
    return ops.softmax(input, _softmax_dim("softmax", input.ndim, dim), dtype=dtype)


def softmin(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """softmax(-x)."""
    return ops.softmax(-input, _softmax_dim("softmin", input.ndim, dim), dtype=dtype)


def log_softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """xᵢ - log Σⱼ e^(xⱼ) along ``dim`` (the stable log-sum-exp form)."""
    return ops.log_softmax(input, _softmax_dim("log_softmax", input.ndim, dim), dtype=dtype)
