"""A benchmark worker: imports the libraries once, then runs the jobs it is sent.

Started by the runner as ``python -m benchmarks.worker`` with the thread-count
environment variables already set (so NumPy's BLAS and PyTorch read them at import).
Protocol, one JSON object per line: the runner sends a setup line (``backends``,
``threads``, ``fork``, ``preload``); the worker imports everything and answers
``{"ready": ..., "facts": ...}``; then each job line gets one result line, until
``{"cmd": "exit"}``. The worker's own stdout file descriptor is kept for the protocol;
anything a library prints goes to stderr (the runner's log file).

With ``fork`` (the CPU workers) every job runs in a child forked from the worker, so
each (workload, framework) pair starts from the same fresh heap (see
:mod:`benchmarks.memory`) while the imports, seconds each, are paid once. The CUDA
worker does not fork (CUDA does not survive a fork); PyTorch's allocator statistics
are per job there.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback
from importlib.metadata import PackageNotFoundError, version
from typing import Any

_threadpool_limit: Any = None  # kept alive: threadpoolctl's limits last while it does


def set_threads(n: int, torch_too: bool) -> None:
    global _threadpool_limit
    try:
        from threadpoolctl import threadpool_limits

        _threadpool_limit = threadpool_limits(limits=n)
    except ImportError:  # the environment variables set by the runner still apply
        pass
    if torch_too:
        import torch

        torch.set_num_threads(n)


def facts(backends: list[str]) -> dict[str, Any]:
    import numpy as np

    out: dict[str, Any] = {"numpy": np.__version__}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        out["numpy_blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # numpy < 1.26 has no dict mode
        out["numpy_blas"] = "unknown"
    try:
        from threadpoolctl import threadpool_info

        out["threadpools"] = [
            f"{p['internal_api']} {p.get('version')} ({p['num_threads']} threads)"
            for p in threadpool_info()
        ]
    except ImportError:
        pass
    from benchmarks.backends import PEER_KEYS, PEER_PINS, uses_torch

    for key in PEER_KEYS:
        if key in backends:
            try:
                out[key] = version(PEER_PINS[key].split("==")[0])
            except PackageNotFoundError:
                out[key] = "not installed"
    if uses_torch(backends):
        import torch

        out["torch"] = torch.__version__
        out["torch_threads"] = torch.get_num_threads()
        out["torch_blas"] = "MKL" if torch.backends.mkl.is_available() else "other"
        out["cuda_available"] = torch.cuda.is_available()
        if any(k.startswith("cuda") for k in backends) and torch.cuda.is_available():
            out["cuda_device"] = torch.cuda.get_device_name(0)
            out["torch_cuda"] = torch.version.cuda
            out["cuda_capability"] = ".".join(map(str, torch.cuda.get_device_capability(0)))
    return out


def run_job(job: dict[str, Any], backends: dict[str, Any]) -> dict[str, Any]:
    """Build the workload on the backend, measure memory and time, return the figures."""
    from benchmarks import memory
    from benchmarks.timing import PLANS, measure
    from benchmarks.workloads import WORKLOADS

    w = WORKLOADS[job["workload"]]
    b = backends[job["backend"]]
    if b.missing:
        return {"skipped": b.missing}
    quick = job["quick"]
    precision = b.prepare()
    t0 = time.perf_counter()
    built = w.build(b, quick)
    if precision:
        built.info = f"{built.info}; {precision}" if built.info else precision
    build_s = time.perf_counter() - t0
    mem: dict[str, Any] = {}
    t0 = time.perf_counter()  # the first step: a warm-up step, and the first-step memory
    if b.device == "cuda":
        mem["first_step_cuda_bytes"] = memory.cuda_growth(built.step, b.lib)
    else:
        mem["first_step_rss_bytes"], _ = memory.rss_growth(built.step)
    first_s = time.perf_counter() - t0
    plan = PLANS["heavy" if w.heavy and b.device == "cpu" else ("quick" if quick else "full")]
    # on CUDA the first step includes cuDNN autotuning / compilation: it says nothing about
    # the step's speed, so the warm-up is run in full
    timing = measure(built.step, plan, b.sync, None if b.device == "cuda" else first_s)
    if b.device == "cuda":
        mem["cuda_bytes"] = memory.cuda_growth(built.step, b.lib)
        mem["method"] = "cuda (torch.cuda.max_memory_allocated over the step's start)"
    else:
        mem["rss_bytes"], mem["method"] = memory.rss_growth(built.step)
        if b.key in ("minigrad", "minigrad-compiled", "numpy"):
            mem["tracemalloc_bytes"] = memory.tracemalloc_growth(built.step)
    program = built.step.stats() if hasattr(built.step, "stats") else None
    return {
        **timing,
        **({"program": program} if program else {}),
        "work": built.work,
        "flops": built.flops,
        "info": built.info,
        "memory": mem,
        "build_s": build_s,
        "first_step_s": first_s,
        "plan": plan.__dict__,
    }


def run_profile(job: dict[str, Any], backends: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.profile import profile_step
    from benchmarks.workloads import WORKLOADS

    built = WORKLOADS[job["workload"]].build(backends["minigrad"], job["quick"])
    return profile_step(built.step, steps=job["steps"], warmup=2)


def _run(job: dict[str, Any], backends: dict[str, Any]) -> dict[str, Any]:
    try:
        if job.get("cmd") == "profile":
            return {"ok": True, **run_profile(job, backends)}
        result = run_job(job, backends)
        return {"ok": "skipped" not in result, **result}
    except BaseException as e:  # report, never take the worker down
        return {
            "ok": False,
            "error": f"{type(e).__name__}: {e}",
            "traceback": traceback.format_exc(),
        }


def run_forked(job: dict[str, Any], backends: dict[str, Any]) -> dict[str, Any]:
    """``_run`` in a forked child; the result comes back through a pipe."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        code = 0
        try:
            data = json.dumps(_run(job, backends)).encode()
            with os.fdopen(w, "wb") as f:
                f.write(data)
        except BaseException:
            code = 1
        finally:
            os._exit(code)  # skip atexit handlers and buffers shared with the parent
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if data:
        return json.loads(data)
    how = (
        f"killed by signal {os.WTERMSIG(status)}"
        if os.WIFSIGNALED(status)
        else f"exit status {os.WEXITSTATUS(status)}"
    )
    return {
        "ok": False,
        "error": f"the job's process died without a result ({how}; out of memory?)",
    }


def main() -> None:
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # from here on, fd 1 (print, C libraries) goes to the log

    def send(obj: dict[str, Any]) -> None:
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    setup = json.loads(sys.stdin.readline())
    keys: list[str] = setup["backends"]
    from benchmarks.backends import Backend, uses_torch

    set_threads(setup["threads"], uses_torch(keys))
    backends = {k: Backend(k) for k in keys}
    for module in setup.get("preload", []):  # heavy imports, paid once before the forks
        __import__(module)
    import benchmarks.workloads  # noqa: F401

    gc.collect()
    gc.freeze()  # the imported modules' objects: never scanned again (fast gc.collect in jobs)
    send({"ready": True, "facts": facts(keys), "pid": os.getpid()})
    for line in sys.stdin:
        job = json.loads(line)
        if job.get("cmd") == "exit":
            break
        result = run_forked(job, backends) if setup["fork"] else _run(job, backends)
        if not setup["fork"] and "cuda" in job.get("backend", ""):
            import torch

            if job["backend"] == "cuda-compile":
                torch._dynamo.reset()  # drop the compiled graphs and the models they hold
            gc.collect()
            torch.cuda.empty_cache()
        send(result)


if __name__ == "__main__":
    main()
