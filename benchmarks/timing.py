"""Wall-clock timing: warm-up, then repeated samples; the median, min and max per step.

Each sample times a block of ``inner`` consecutive steps and divides by ``inner``;
``inner`` is chosen from the warm-up so that a block lasts at least ``block_s`` (a few
milliseconds), which keeps microsecond-sized steps above the timer's resolution and
the loop's own overhead. Samples are taken until both ``min_repeats`` samples and
``budget_s`` seconds are reached, or ``max_repeats`` samples, whichever comes first;
a step slower than ``slow_s`` gets just ``slow_repeats`` samples (a quick run must stay
quick whatever the engine's speed).
A device ``sync`` (``torch.cuda.synchronize``) brackets every sample, so asynchronous
CUDA work is inside the timed interval.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    warmup: int
    min_repeats: int
    max_repeats: int
    budget_s: float
    block_s: float
    slow_s: float = math.inf
    slow_repeats: int = 3


PLANS = {
    # quick: a smoke test (CI) that must stay within a few minutes on 2 busy cores
    "quick": Plan(
        warmup=2,
        min_repeats=5,
        max_repeats=40,
        budget_s=0.3,
        block_s=0.002,
        slow_s=0.2,
        slow_repeats=3,
    ),
    "full": Plan(
        warmup=5,
        min_repeats=15,
        max_repeats=200,
        budget_s=3.0,
        block_s=0.005,
        slow_s=2.0,
        slow_repeats=7,
    ),
    # steps of a second or more (GPT-2 small, BERT-base on a CPU)
    "heavy": Plan(
        warmup=2,
        min_repeats=5,
        max_repeats=20,
        budget_s=20.0,
        block_s=0.0,
        slow_s=10.0,
        slow_repeats=3,
    ),
}


def summarize(samples: list[float]) -> dict[str, float | int]:
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "max_s": max(samples),
        "repeats": len(samples),
    }


def measure(
    step: Callable[[], None],
    plan: Plan,
    sync: Callable[[], None] = lambda: None,
    first_step_s: float | None = None,
) -> dict[str, float | int]:
    """Time ``step``; returns median/min/max seconds per step, the number of samples
    and the steps per sample. The warm-up steps are not timed; ``first_step_s`` says
    that the caller already ran (and timed) one of them."""
    t_last = first_step_s or 0.0
    # a step slower than slow_s has amortised its one-time costs in the caller's first step
    warmup = 0 if t_last >= plan.slow_s else plan.warmup - (first_step_s is not None)
    for _ in range(warmup):
        t0 = time.perf_counter()
        step()
        sync()
        t_last = time.perf_counter() - t0
    inner = max(1, math.ceil(plan.block_s / t_last)) if t_last > 0 else 1
    slow = t_last >= plan.slow_s
    min_repeats = min(plan.min_repeats, plan.slow_repeats) if slow else plan.min_repeats
    max_repeats = min_repeats if slow else plan.max_repeats
    gc.collect()
    samples: list[float] = []
    start = time.perf_counter()
    while len(samples) < max_repeats:
        sync()
        t0 = time.perf_counter()
        for _ in range(inner):
            step()
        sync()
        samples.append((time.perf_counter() - t0) / inner)
        if len(samples) >= min_repeats and time.perf_counter() - start >= plan.budget_s:
            break
    return {**summarize(samples), "inner": inner, "samples_s": samples}
