"""Facts about the machine a run happened on, and GPU peak throughputs.

The GPU table gives each device's *dense* bf16 tensor-core peak (no sparsity), from
the vendor's data sheets; a device not in the table gets no GPU MFU (reported as
"not reported") rather than a guess.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import sys
from typing import Any

# (pattern matched against torch.cuda.get_device_name(), dense bf16 peak in FLOP/s).
# Order matters: the first match wins (H100 PCIe before the other H100s).
GPU_BF16_PEAK: list[tuple[str, float]] = [
    (r"\bH200\b", 989.4e12),
    (r"\bH100\b.*\bPCIe\b", 756.0e12),
    (r"\bH100\b", 989.4e12),  # SXM (HBM3)
    (r"\bA100\b", 312.0e12),
    (r"\bL4\b", 121.0e12),
]


def gpu_bf16_peak(device_name: str | None) -> float | None:
    """Dense bf16 peak of ``device_name`` in FLOP/s, or ``None`` for an unknown device."""
    if not device_name:
        return None
    for pattern, peak in GPU_BF16_PEAK:
        if re.search(pattern, device_name):
            return peak
    return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def machine_facts(threads: int) -> dict[str, Any]:
    """What the runner itself can tell; the workers add library versions and BLAS."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "cores_available": available_cores(),
        "threads_used": threads,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
