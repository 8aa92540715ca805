"""Anomaly detection: find the op whose backward produced NaN or inf.

Inside ``detect_anomaly()`` every recorded node keeps the stack of the line that
created it, and the engine checks each gradient a node returns. The error names
the ``Function`` and shows where its forward ran.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any

import numpy as np


class _AnomalyState(threading.local):
    enabled: bool = False


_state = _AnomalyState()


def record_creation(node: Any) -> None:
    # Drop the two innermost frames (this function and Function.apply).
    node._creation_stack = "".join(traceback.format_stack()[:-2])


def check_gradients(node: Any, grads: tuple[Any, ...], where: str | None = None) -> None:
    for i, g in enumerate(grads):
        data = getattr(g, "data", g)  # a Tensor, or an array from an array-mode node
        if g is not None and not np.all(np.isfinite(data)):
            bad = "nan" if np.isnan(data).any() else "inf"
            where = where or "(creation stack not recorded)"
            raise RuntimeError(
                f"Function '{node.name()}' returned {bad} values in its gradient for input {i}. "
                f"Its forward was called at:\n{where}"
            )


class detect_anomaly:
    """Context manager: check every backward for NaN/inf and name the op at fault."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self._prev = _state.enabled
        _state.enabled = self.check_nan

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self._prev


def is_anomaly_enabled() -> bool:
    return _state.enabled
