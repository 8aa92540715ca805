"""What a workload is: how to build one step on a backend, and how to report it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.backends import Backend

# Display units. Times are per step (or per op); throughputs are work per second.
TIME_UNITS = {"µs/op": 1e6, "µs/step": 1e6, "ms/step": 1e3}
RATE_UNITS = ("tokens/s", "sentences/s", "GFLOP/s")


@dataclass
class Built:
    """One workload, ready to run on one backend.

    ``step()`` runs one step; ``work`` is the amount of the unit done by a step (ops
    for µs/op, tokens for tokens/s, GFLOP for GFLOP/s, 1 otherwise); ``flops`` the
    analytic FLOPs of a step (see :mod:`benchmarks.flops`), ``None`` where not
    meaningful; ``info`` the sizes, for the report; ``params``, where given, returns the
    current parameters as NumPy arrays in PyTorch's layout (the tests check that every
    engine's step computes the same update)."""

    step: Callable[[], None]
    work: float = 1.0
    flops: float | None = None
    info: str = ""
    params: Callable[[], list[Any]] | None = None


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    unit: str
    build: Callable[[Backend, bool], Built]  # (backend, quick) -> Built
    backends: tuple[str, ...]
    quick: bool = True  # part of --quick
    training: bool = True  # a training step (memory target, MFU)
    heavy: bool = False  # a step takes seconds on a CPU: fewer repeats
    targets: dict[str, Any] = field(default_factory=dict)

    def value(self, seconds: float, work: float) -> float:
        """``seconds`` per step in this workload's display unit."""
        if self.unit in TIME_UNITS:
            return seconds * TIME_UNITS[self.unit] / (work if self.unit == "µs/op" else 1.0)
        return work / seconds
