"""Argument helpers shared by the functional ops (kernel sizes, strides, float checks)."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.ops._util import float_input  # noqa: F401  (the functional ops' check)
from minigrad.tensor import Tensor


def ntuple(value: Any, n: int, name: str, op: str) -> tuple[int, ...]:
    """``3`` -> ``(3, 3)`` for n = 2; a sequence must already have n entries."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    try:
        out = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int or a tuple of ints, got {value!r}") from None
    if len(out) == 1:
        out = out * n
    if len(out) != n:
        raise ValueError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    return out


def check_same_dtype(op: str, x: Tensor, *others: Tensor | None) -> None:
    for o in others:
        if o is not None and o.dtype != x.dtype:
            raise RuntimeError(
                f"{op}: expected all tensors to have the same dtype, got input {x.dtype} "
                f"and parameter {o.dtype} (convert the module with .to(dtype))"
            )


def batched(x: Tensor, nd: int, op: str) -> tuple[Tensor, bool]:
    """``x`` with a batch dim: (C, *spatial) gets one added; returns (x, was_unbatched)."""
    from minigrad.ops.shape import unsqueeze

    if x.ndim == nd + 1:
        return unsqueeze(x, 0), True
    if x.ndim != nd + 2:
        raise RuntimeError(
            f"{op}: expected a {nd + 1}D (unbatched) or {nd + 2}D (batched) input, "
            f"but got input of shape {x.shape}"
        )
    return x, False
