"""Helpers shared by the loss functions: the ``reduction`` argument (and PyTorch's
legacy ``size_average``/``reduce`` pair), dtype checks and the broadcasting warning.

Every loss first computes one value per element (or per sample), then *reduces*:

* ``'none'``: return the per-element losses as they are;
* ``'sum'``:  Σᵢ ℓᵢ;
* ``'mean'``: Σᵢ ℓᵢ / n (a weighted mean for the losses that take class weights).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minigrad import dtypes
from minigrad.ops._util import as_tensor
from minigrad.tensor import Tensor

REDUCTIONS = ("none", "mean", "sum")


def legacy_reduction(size_average: bool | None, reduce: bool | None) -> str:
    """The ``reduction`` string meant by PyTorch's deprecated ``size_average`` and
    ``reduce`` flags (either defaults to True when left as None)."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    result = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(
        "size_average and reduce args will be deprecated, please use "
        f"reduction='{result}' instead.",
        UserWarning,
        stacklevel=3,
    )
    return result


def reduction_mode(
    fn: str,
    reduction: str,
    size_average: bool | None = None,
    reduce: bool | None = None,
    allowed: tuple[str, ...] = REDUCTIONS,
) -> str:
    """Validate ``reduction`` (after resolving the legacy flags, which take precedence)."""
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce)
    if reduction == "elementwise_mean":  # PyTorch still accepts this old spelling of 'mean'
        warnings.warn(
            "reduction='elementwise_mean' is deprecated, please use reduction='mean' instead.",
            UserWarning,
            stacklevel=3,
        )
        return "mean"
    if reduction not in allowed:
        raise ValueError(
            f"{fn}: {reduction!r} is not a valid value for reduction "
            f"(expected one of {', '.join(repr(r) for r in allowed)})"
        )
    return reduction


def reduce_loss(loss: Tensor, reduction: str) -> Tensor:
    """Apply a validated ``reduction`` to per-element losses (mean over all elements)."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean()


def promote_pair(fn: str, input: Any, target: Any) -> tuple[Tensor, Tensor]:
    """Input and target cast to their common (PyTorch) dtype, which must be floating point."""
    input, target = as_tensor(input), as_tensor(target)
    dt = dtypes.result_type(input, target)
    if np.dtype(dt).kind != "f":
        raise RuntimeError(
            f"{fn}: expected a floating point input or target, got input of dtype {input.dtype} "
            f"and target of dtype {target.dtype}"
        )
    return as_tensor(input, dt), as_tensor(target, dt)


def warn_if_broadcast(fn: str, input: Tensor, target: Tensor) -> None:
    """PyTorch's warning for regression losses whose target does not have the input's
    shape: they broadcast, which is rarely what was meant (e.g. (N, 1) against (N,))."""
    if input.shape != target.shape:
        warnings.warn(
            f"{fn}: using a target size ({tuple(target.shape)}) that is different to the input "
            f"size ({tuple(input.shape)}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )


def check_broadcastable(fn: str, name: str, shape: tuple[int, ...], to: tuple[int, ...]) -> None:
    """Raise unless ``shape`` broadcasts to exactly ``to`` (weights of elementwise losses)."""
    try:
        ok = np.broadcast_shapes(shape, to) == tuple(to)
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(
            f"{fn}: {name} of shape {tuple(shape)} cannot be broadcast to the input's shape "
            f"{tuple(to)}"
        )
