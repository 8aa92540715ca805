"""Version counters: detect a tensor changed in place after an op saved it.

PyTorch gives every storage a counter that in-place ops bump; a node records the
counter of each tensor it saves and checks it in backward. minigrad keys the
counter by the *root NumPy array* that owns the memory (following ``ndarray.base``),
so every view of the same memory -- ``detach()``, slices, reshapes -- shares it,
as PyTorch's views share theirs. Arrays never changed in place have no entry
(version 0), so the common case costs one dictionary lookup.
"""

from __future__ import annotations

import weakref

import numpy as np

_counters: dict[int, list] = {}  # id(root array) -> [version, weakref to the root]


def _root(arr: np.ndarray) -> np.ndarray:
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def version_of(arr: np.ndarray) -> int:
    entry = _counters.get(id(_root(arr)))
    return entry[0] if entry is not None else 0


def bump(arr: np.ndarray) -> None:
    """Record that the memory behind ``arr`` was changed in place."""
    root = _root(arr)
    key = id(root)
    entry = _counters.get(key)
    if entry is None:
        # The entry goes when the array is freed, before its id can be reused.
        _counters[key] = [1, weakref.ref(root, lambda _, k=key: _counters.pop(k, None))]
    else:
        entry[0] += 1
