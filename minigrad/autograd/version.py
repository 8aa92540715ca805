"""Version counters: detect a tensor changed in place after an op saved it.

PyTorch gives every storage a counter that in-place ops bump; a node records the
counter of each tensor it saves and checks it in backward. minigrad keys the
counter by the *root NumPy array* that owns the memory (following ``ndarray.base``),
so every view of the same memory -- ``detach()``, slices, reshapes -- shares it,
as PyTorch's views share theirs. Arrays never changed in place have no entry
(version 0).

Every bump also advances one global clock, ``epoch``, and stamps the counter with
it. A node then only needs the clock's value when it saved its arrays: if the clock
has not moved by the time backward reads them (the common case: optimizer steps
and other writes happen after backward), nothing anywhere was written and the check
costs one comparison; otherwise a saved array was overwritten exactly when its
counter's stamp is later than the node's.
"""

from __future__ import annotations

import weakref

import numpy as np

epoch = 0  # how many in-place writes happened so far, anywhere
_counters: dict[int, list] = {}  # id(root array) -> [version, epoch of last write, weakref]


def _root(arr: np.ndarray) -> np.ndarray:
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def version_of(arr: np.ndarray) -> int:
    entry = _counters.get(id(_root(arr)))
    return entry[0] if entry is not None else 0


def written_since(arr: np.ndarray, since: int) -> bool:
    """True when the memory behind ``arr`` was changed in place after clock ``since``."""
    entry = _counters.get(id(_root(arr)))
    return entry is not None and entry[1] > since


def bump(arr: np.ndarray) -> None:
    """Record that the memory behind ``arr`` was changed in place."""
    global epoch
    epoch += 1
    root = _root(arr)
    key = id(root)
    entry = _counters.get(key)
    if entry is None:
        # The entry goes when the array is freed, before its id can be reused.
        _counters[key] = [1, epoch, weakref.ref(root, lambda _, k=key: _counters.pop(k, None))]
    else:
        entry[0] += 1
        entry[1] = epoch
