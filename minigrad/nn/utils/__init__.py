"""Gradient clipping and flattening parameters to / from one vector.

``clip_grad_norm_`` treats all gradients as one long vector g and rescales it when its
norm is too large:

    total = ‖(‖g₁‖ₚ, ‖g₂‖ₚ, ...)‖ₚ = ‖g‖ₚ,
    gᵢ ← gᵢ · min(max_norm / (total + 1e-6), 1),

exactly PyTorch's formula (including the 1e-6, and the multiplication by 1 when no
clipping is needed). All of it happens in place, outside the graph.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

import numpy as np

from minigrad.autograd import version
from minigrad.core.grad_mode import no_grad
from minigrad.tensor import Tensor

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
    "parameters_to_vector",
    "vector_to_parameters",
]

TensorOrTensors = Tensor | Iterable[Tensor]


def _as_list(tensors: TensorOrTensors, warn_empty_generator: bool = False) -> list[Tensor]:
    if isinstance(tensors, Tensor):
        return [tensors]
    is_generator = not hasattr(tensors, "__len__")
    out = list(tensors)
    if warn_empty_generator and is_generator and not out:
        warnings.warn(
            "`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=3
        )
    return out


def _vector_norm(a: np.ndarray, p: float) -> np.ndarray:
    """‖a‖ₚ of all elements, in a's dtype."""
    if p == math.inf:
        return np.max(np.abs(a)) if a.size else np.zeros((), a.dtype)
    if p == -math.inf:
        return np.min(np.abs(a)) if a.size else np.full((), np.inf, a.dtype)
    if p == 0:
        return np.asarray(np.count_nonzero(a), dtype=a.dtype)
    if p == 1:
        return np.sum(np.abs(a))
    if p == 2:
        return np.sqrt(np.sum(a * a))
    return np.sum(np.abs(a) ** p) ** (1.0 / p)


def get_total_norm(
    tensors: TensorOrTensors,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The p-norm of all ``tensors`` seen as one vector (the norm of their norms)."""
    arrays = [t.data for t in _as_list(tensors)]
    p = float(norm_type)
    if not arrays:
        return Tensor(0.0)
    dtype = np.result_type(*arrays)
    norms = np.stack([_vector_norm(a, p).astype(dtype) for a in arrays])
    total = np.asarray(_vector_norm(norms, p), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, so it "
            "cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._from_op(total, None)


def clip_grads_with_norm_(
    parameters: TensorOrTensors,
    max_norm: float,
    total_norm: Tensor,
    foreach: bool | None = None,
) -> None:
    """Scale every gradient by min(max_norm / (total_norm + 1e-6), 1), in place."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    coef = float(max_norm) / (total_norm.data + 1e-6)
    coef = np.minimum(coef, 1.0).astype(total_norm.dtype)
    with no_grad():
        for g in grads:
            g.mul_(coef.astype(g.dtype))


def clip_grad_norm_(
    parameters: TensorOrTensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Rescale the gradients so that their joint ``norm_type``-norm is at most
    ``max_norm``; returns the norm before clipping (a 0-d Tensor)."""
    params = _as_list(parameters, warn_empty_generator=True)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_norm(
    parameters: TensorOrTensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Deprecated alias of :func:`clip_grad_norm_` (as in PyTorch)."""
    warnings.warn(
        "`minigrad.nn.utils.clip_grad_norm` is now deprecated in favor of "
        "`minigrad.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)


def clip_grad_value_(
    parameters: TensorOrTensors, clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient element to [-clip_value, clip_value], in place."""
    v = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(-v, v)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (differentiable)."""
    from minigrad import ops

    params = list(parameters)
    if not params:
        raise RuntimeError("parameters_to_vector: expected a non-empty iterable of tensors")
    return ops.cat([ops.reshape(p, (-1,)) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters' arrays (the
    inverse of :func:`parameters_to_vector`)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected minigrad.Tensor, but got: {type(vec).__name__}")
    if vec.ndim != 1:
        raise RuntimeError(f"vector_to_parameters: expected a 1-D vector, got shape {vec.shape}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if total != vec.numel():
        raise RuntimeError(
            f"vector_to_parameters: vector of {vec.numel()} elements does not match the "
            f"{total} elements of the parameters"
        )
    start = 0
    for p in params:
        n = p.numel()
        # As PyTorch (``param.data = ...``): replace the array, keep the Parameter object.
        p.data = vec.data[start : start + n].reshape(p.shape).astype(p.dtype, copy=True)
        version.bump(p.data)
        start += n


from minigrad.nn.utils import rnn as rnn  # noqa: E402  (packed sequences)
