"""In-piece kernels: many elementwise passes over a large array, one piece at a time.

A computation of many elementwise passes over a large array (an Adam step, the erf
polynomial) is limited by memory bandwidth when every pass runs over the whole
array. Done piece by piece, all the passes over one piece run while it is in the
CPU's cache: several times faster, and each temporary is piece-sized. The arithmetic
per element, and so every rounding, is unchanged (tests check bit equality).

Reference mode hands out the whole arrays as one piece.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from minigrad import fast

# Elements per piece: the pieces a computation touches (a few arrays of 128-256 KiB)
# stay in the L2 cache between its passes.
PIECE = 1 << 15


def in_pieces(
    *arrays: np.ndarray, scratch: int = 1, dtype: Any = None
) -> Iterator[tuple[np.ndarray, ...]]:
    """Matching flat pieces of same-shaped arrays, each followed by ``scratch`` scratch
    pieces (of ``dtype``, by default the first array's). Arrays that are not
    C-contiguous (no flat view to write through) are passed whole."""
    first = arrays[0]
    n = first.size
    dtype = first.dtype if dtype is None else dtype
    if n <= PIECE or not fast.enabled("pieces") or not all(a.flags.c_contiguous for a in arrays):
        yield (*arrays, *(np.empty(first.shape, dtype) for _ in range(scratch)))
        return
    flat = [a.reshape(-1) for a in arrays]  # views: writes reach the arrays
    buffers = [np.empty(PIECE, dtype) for _ in range(scratch)]
    for i in range(0, n, PIECE):
        j = min(i + PIECE, n)
        yield (*[f[i:j] for f in flat], *[b[: j - i] for b in buffers])
