"""Peak memory of one step, measured the same way for every framework.

Every (workload, framework) job runs in its own process (forked from a worker that
has only imported the libraries), so no other workload's heap is around. Methods:

* ``rss`` (all CPU rows): the growth of the process's resident set during one step
  over the resident set just before it: ``VmHWM - VmRSS_before`` read from
  ``/proc/self/status``, after resetting the high-water mark (``echo 5 >
  /proc/self/clear_refs``, Linux >= 4.0) and returning freed heap pages to the OS
  (``malloc_trim``). Where the reset is not allowed the fallback is
  ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (then the figure may include an
  earlier, larger peak of the same process; the method string says so).
* ``tracemalloc`` (minigrad and NumPy rows, in addition): NumPy reports every array
  buffer to :mod:`tracemalloc`, so its peak over the start of the step is the exact
  number of bytes of arrays and Python objects alive at the worst moment.
* ``cuda`` (CUDA rows): ``torch.cuda.max_memory_allocated() - memory_allocated()``
  around the step, after ``torch.cuda.reset_peak_memory_stats()``: PyTorch's own
  allocator statistics, exact for tensors.

The step measured follows a warm-up step, so the parameters, their gradients from
the previous step and the optimizer state are in the baseline; what is measured is
what one step allocates on top (activations, gradients, temporaries). The growth over
the baseline taken right after building the model (optimizer state and lazy library
initialisation included) is recorded too, as ``first_step_rss_bytes``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import re
import resource
import tracemalloc
from collections.abc import Callable
from typing import Any

_STATUS = "/proc/self/status"


def _status_kb(field: str) -> int | None:
    try:
        with open(_STATUS) as f:
            m = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.MULTILINE)
    except OSError:
        return None
    return int(m.group(1)) if m else None


def rss_bytes() -> int:
    kb = _status_kb("VmRSS")
    if kb is None:  # not Linux: the peak is the best we have
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return kb * 1024


def reset_peak() -> bool:
    """Reset the kernel's resident-set high-water mark; False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_bytes() -> int:
    kb = _status_kb("VmHWM")
    if kb is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return kb * 1024


def _load_libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


_LIBC = _load_libc()


def trim() -> None:
    """Collect garbage and hand free heap pages back to the OS (glibc's malloc_trim),
    so a step's allocations show up as resident-set growth instead of reusing pages
    freed earlier."""
    gc.collect()
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


def rss_growth(run: Callable[[], None]) -> tuple[int, str]:
    """Peak resident-set growth while ``run()`` executes, and the method used."""
    trim()
    base = rss_bytes()
    if reset_peak():
        run()
        return max(0, peak_bytes() - base), "rss (VmHWM after clear_refs reset)"
    run()
    return max(0, peak_bytes() - base), "rss (ru_maxrss, not resettable: upper bound)"


def tracemalloc_growth(run: Callable[[], None]) -> int:
    """Exact peak of traced (NumPy + Python) bytes during ``run()`` over its start."""
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return max(0, peak - base)


def cuda_growth(run: Callable[[], None], torch: Any) -> int:
    """Peak bytes PyTorch's CUDA allocator had allocated during ``run()`` over its start."""
    gc.collect()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    run()
    torch.cuda.synchronize()
    return max(0, torch.cuda.max_memory_allocated() - base)
