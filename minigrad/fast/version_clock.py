"""The in-place clock: a version check that costs one comparison.

Every node records, when it saves arrays for backward, the global in-place clock
``version.epoch`` (``minigrad/autograd/version.py``: every in-place write bumps the
counter of the memory it wrote *and* advances the clock). The reference path then
checks each saved array's counter stamp when ``saved_tensors`` is read. Usually
nothing was written between forward and backward (optimizer steps come after), so
the fast engine first compares the clock with the node's stamp: equal means no
write happened anywhere, and the per-array check is skipped.
"""

from __future__ import annotations

from minigrad.autograd import version


def unchanged_since(epoch: int) -> bool:
    """True when no in-place write happened anywhere after clock value ``epoch``."""
    return version.epoch == epoch
