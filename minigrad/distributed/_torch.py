"""PyTorch, imported on first use: minigrad's only runtime dependency is NumPy, and
``import minigrad.distributed`` must work without PyTorch installed."""

from __future__ import annotations

from typing import Any


def torch() -> Any:
    try:
        import torch as _t
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "minigrad.distributed communicates through torch.distributed: install PyTorch "
            "(pip install torch) to train on several processes"
        ) from e
    return _t


def distributed() -> Any:
    t = torch()
    if not t.distributed.is_available():  # pragma: no cover - a build without it
        raise RuntimeError("this PyTorch build has no torch.distributed")
    return t.distributed
