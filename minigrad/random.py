"""The global random generator (``minigrad.manual_seed``) and random tensor factories.

minigrad draws from NumPy's PCG64 generator, so its random streams differ from
PyTorch's; the comparisons therefore copy initial weights across instead of
relying on equal seeds.
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the global generator (dropout masks, initialisers, ``randn``...)."""
    global _generator
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator() -> np.random.Generator:
    return _generator


def seed() -> int:
    """Seed from OS entropy; returns the seed used."""
    s = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(s)
    return s
