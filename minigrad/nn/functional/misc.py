"""linear, bilinear, dropout, embedding, pad and one_hot.

Most are thin, checked wrappers around the core ops (``minigrad.ops``); ``pad`` adds
the reflect / replicate / circular modes, each of which is a gather with an index
array (so its gradient is the matching scatter-add, computed by ``getitem``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from minigrad import ops, random
from minigrad.autograd import version
from minigrad.core.grad_mode import no_grad
from minigrad.nn.functional._util import float_input
from minigrad.ops._util import as_tensor, check_dropout_p, constant
from minigrad.tensor import Tensor

__all__ = [
    "alpha_dropout",
    "bilinear",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "embedding",
    "linear",
    "one_hot",
    "pad",
]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b, W of shape (out_features, in_features)."""
    return ops.linear(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """yₖ = x₁ᵀ Aₖ x₂ + bₖ for A = weight of shape (out, in1, in2); leading dims are batch."""
    x1, x2 = as_tensor(input1), as_tensor(input2)
    if weight.ndim != 3 or x1.shape[-1] != weight.shape[1] or x2.shape[-1] != weight.shape[2]:
        raise RuntimeError(
            f"bilinear: inputs of shape {x1.shape} and {x2.shape} don't match weight of shape "
            f"{weight.shape} (expected (out, in1, in2))"
        )
    if x1.shape[:-1] != x2.shape[:-1]:
        raise RuntimeError(
            f"bilinear: inputs must have the same batch dims, got {x1.shape} and {x2.shape}"
        )
    lead = x1.shape[:-1]
    a = ops.reshape(x1, (-1, x1.shape[-1]))
    b = ops.reshape(x2, (-1, x2.shape[-1]))
    y = ops.einsum("ni,kij,nj->nk", a, weight, b)
    if bias is not None:
        y = y + bias
    return ops.reshape(y, lead + (weight.shape[0],))


# ------------------------------------------------------------------ dropout
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1 - p) (so the
    expectation is unchanged); the identity when not training. ``inplace`` is accepted
    for compatibility; minigrad always returns a new tensor."""
    check_dropout_p(p)
    return ops.dropout(input, p, training)


def _channel_dropout(x: Tensor, p: float, training: bool, nd: int, op: str) -> Tensor:
    """Zero whole channels: one Bernoulli draw per (batch, channel), broadcast over the
    ``nd`` spatial dims."""
    check_dropout_p(p)
    x = float_input(x, op)
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"{op}: expected a {nd + 1}D (unbatched) or {nd + 2}D (batched) input, got {x.shape}"
        )
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    mask_shape = x.shape[: x.ndim - nd] + (1,) * nd
    keep = random.generator().random(mask_shape) >= p
    return x * constant(keep / (1.0 - p), x.dtype)


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    return _channel_dropout(input, p, training, 1, "dropout1d")


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    return _channel_dropout(input, p, training, 2, "dropout2d")


def dropout3d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    return _channel_dropout(input, p, training, 3, "dropout3d")


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """SELU's dropout: dropped units are set to the SELU saturation value α' and the
    result is affinely rescaled so mean and variance are kept."""
    check_dropout_p(p)
    x = float_input(input, "alpha_dropout")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    alpha_p = -1.7580993408473766  # -scale * alpha of SELU
    keep = random.generator().random(x.shape) >= p
    a = ((1 - p) * (1 + p * alpha_p**2)) ** -0.5
    b = -a * alpha_p * p
    kept = constant(keep, x.dtype)
    return (x * kept + constant(~keep * alpha_p, x.dtype)) * a + b


# ------------------------------------------------------------------ embedding
def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` selected by the integer ``input``. The ``padding_idx`` row gets
    no gradient; with ``max_norm``, the selected rows whose ``norm_type``-norm exceeds it
    are first rescaled in place to that norm (as PyTorch)."""
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse are not supported")
    n = weight.shape[0]
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(
                f"embedding: padding_idx {padding_idx} must be within num_embeddings {n}"
            )
        padding_idx = padding_idx % n
    if max_norm is not None:
        idx = np.unique(as_tensor(input).data)
        idx = idx[(idx >= 0) & (idx < n)]
        rows = weight.data[idx]
        norms = np.linalg.norm(rows.reshape(len(idx), -1), ord=norm_type, axis=1)
        scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        with no_grad():
            weight.data[idx] = (rows * scale[:, None]).astype(weight.dtype)
            version.bump(weight.data)
    return ops.embedding(input, weight, padding_idx)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """An int64 tensor with a trailing dim of size num_classes: 1 at each index, else 0."""
    return ops.one_hot(tensor, num_classes)


# ------------------------------------------------------------------ pad
def _pad_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """Which input position each output position of a padded dim reads from."""
    j = np.arange(-lo, n + hi)
    if mode == "reflect":  # mirror without repeating the edge: -1 -> 1, n -> n - 2
        period = 2 * (n - 1)
        j = np.abs(j) % period if period else np.zeros_like(j)
        return np.where(j >= n, period - j, j)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    return j % n  # circular


def pad(
    input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
) -> Tensor:
    """PyTorch's pad: ``pad`` lists (before, after) pairs starting from the LAST dim.

    ``constant`` fills with ``value`` (negative widths crop); ``reflect`` mirrors the
    input without repeating the edge, ``replicate`` repeats the edge, ``circular`` wraps
    around."""
    x = as_tensor(input)
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise RuntimeError(
            f"pad: padding length {len(pad)} must be even and at most 2 × the input's "
            f"{x.ndim} dims (input shape {x.shape})"
        )
    pairs = [(pad[2 * i], pad[2 * i + 1], x.ndim - 1 - i) for i in range(len(pad) // 2)]
    if mode == "constant":
        if any(lo < 0 or hi < 0 for lo, hi, _ in pairs):  # negative padding crops
            index = [slice(None)] * x.ndim
            for lo, hi, d in pairs:
                index[d] = slice(max(-lo, 0), x.shape[d] - max(-hi, 0))
            x = x[tuple(index)]
            pad = [max(p, 0) for p in pad]
        if not any(pad):
            return x
        return ops.pad(x, pad, value=0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(
            f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}"
        )
    if value not in (None, 0, 0.0):
        raise ValueError(f"pad: padding mode {mode!r} doesn't take in value argument")
    for lo, hi, d in pairs:
        n = x.shape[d]
        if lo < 0 or hi < 0:
            raise NotImplementedError("pad: negative padding is only supported in constant mode")
        limit = n - 1 if mode == "reflect" else n
        if mode != "replicate" and (lo > limit or hi > limit):
            raise RuntimeError(
                f"pad: {mode} padding ({lo}, {hi}) must be at most {limit} for dim {d} of "
                f"size {n} (input shape {x.shape})"
            )
        if n == 0:
            raise RuntimeError(f"pad: {mode} padding needs a non-empty dim {d}, got {x.shape}")
        if lo or hi:
            x = x[(slice(None),) * d + (_pad_index(n, lo, hi, mode),)]
    return x
