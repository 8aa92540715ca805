"""Gradient ownership: keep a gradient array as ``.grad`` without copying it.

The core's copy rule gives a leaf a *copy* of its first gradient, because the same
array may also reach another leaf (``a + b`` hands ``dz`` to both) and ``.grad`` is
later changed in place. Most gradient arrays, though, are fresh results that nothing
else refers to. PyTorch's ``AccumulateGrad`` then *steals* the buffer; this module
does the same, with a structural test: the array owns its (writeable) memory and
``sys.getrefcount`` shows no reference besides the engine's own, so no other leaf,
hook, retained ``.grad`` or view can see it. The same test lets a leaf's running sum
of several contributions be added into in place (a tied embedding in GPT-2 receives
two, of 154 MB each).

Reference mode copies, as the core does.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from minigrad.tensor import Tensor


def _refs_in_call(arr: Any) -> int:
    return sys.getrefcount(arr)


def _calibrate_refs() -> int:
    arr = np.empty(0)  # held by this variable alone
    return _refs_in_call(arr) - 1


# The references that a call like ``engine_only(arr)`` itself adds to what
# ``sys.getrefcount`` reports (measured once, the same way, so right on any CPython).
_CALL_REFS = _calibrate_refs()


def engine_only(arr: Any, holders: int) -> bool:
    """True when ``arr`` is an ndarray that owns its writeable memory and is referenced
    by the engine's ``holders`` references alone (the caller's variable among them)."""
    return (
        type(arr) is np.ndarray
        and arr.base is None
        and arr.flags.writeable
        and sys.getrefcount(arr) <= _CALL_REFS + holders
    )


class OwnershipTask:
    """GraphTask mixin: sums built in place and first gradients kept without a copy.

    ``finish`` runs after the walk has returned, so the walk's variables no longer hold
    the last gradients when the test runs."""

    create_graph: bool
    leaf_sums: dict[int, list]

    def add_to_sum(self, total: Any, grad: Any) -> Any:
        if (
            type(grad) is np.ndarray
            and total.dtype == grad.dtype
            and total.shape == grad.shape
            and engine_only(total, holders=2)  # the leaf_sums entry and ``total``
        ):
            total += grad
            return total
        return total + grad

    def accumulate(self, leaf: Tensor, grad: Any) -> None:
        if (
            leaf.grad is None
            and not self.create_graph
            and grad.dtype == leaf.dtype
            and engine_only(grad, holders=2)  # ``finish``'s variable and ``grad``
        ):
            leaf.grad = Tensor._from_op(grad, None)
            return
        super().accumulate(leaf, grad)  # type: ignore[misc]
