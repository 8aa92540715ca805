"""``minigrad.cuda``: the answers ``torch.cuda`` gives on a machine without CUDA.

minigrad computes on the CPU with NumPy only, so code written for PyTorch that asks
``cuda.is_available()`` before choosing a device takes its CPU branch.
"""

from __future__ import annotations


def is_available() -> bool:
    """False: minigrad has no CUDA backend."""
    return False


def device_count() -> int:
    """0: no CUDA device is visible to minigrad."""
    return 0


def manual_seed(seed: int) -> None:
    """Does nothing, as ``torch.cuda.manual_seed`` without CUDA (there is no CUDA
    generator to seed; ``minigrad.manual_seed`` seeds the CPU one)."""


def manual_seed_all(seed: int) -> None:
    """Does nothing, as ``torch.cuda.manual_seed_all`` without CUDA."""
