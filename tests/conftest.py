"""Shared test settings: hypothesis profiles and the PyTorch reference.

Profiles (choose with ``MINIGRAD_HYPOTHESIS_PROFILE``):
- ``ci`` (default): few examples, derandomized, so CI is fast and repeatable;
- ``thorough``: many examples, random seeds, for hunting bugs.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=15,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("MINIGRAD_HYPOTHESIS_PROFILE", "ci"))

# One thread for both libraries: the tests compare values, not speed, and on a small
# shared machine multi-threaded BLAS is slower for many of the tests' small shapes.
torch.set_num_threads(1)
try:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
    pass


@pytest.fixture(autouse=True)
def _seed() -> None:
    np.random.seed(0)
    torch.manual_seed(0)
