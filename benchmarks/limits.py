"""What limits each target: a sentence per target of the Targets table, made from the
figures of the same run (``benchmarks/report.py`` calls :func:`limit`).

The figures used:

* the **hand-written NumPy floor** (the ``numpy`` row): its time over PyTorch's is the
  best any engine calling NumPy op by op can expect, so a target below it is limited
  by NumPy's own per-call cost, not by minigrad;
* the **matmul share**: the step's analytic matmul FLOPs (``benchmarks/flops.py``) at
  the GEMM rate NumPy reached in this run's ``gemm`` workload, as a fraction of the
  row's step time, and PyTorch's GEMM rate over NumPy's (MKL against OpenBLAS on a
  CPU): where the matmuls are most of the step, the BLAS sets the ratio;
* the **compiled program's make-up** (``CompiledFunction.stats`` in the worker): how
  many ops were lowered to NumPy lines, which still call their formulas and why, and
  the calls replayed whole (optimizer, target checks);
* eager over compiled: the share of eager's time that is graph bookkeeping.
"""

from __future__ import annotations

from typing import Any

from benchmarks.backends import LABELS, PEER_KEYS


def _ok(by: dict, name: str, key: str) -> dict[str, Any] | None:
    r = by.get((name, key))
    return r if r and r.get("status") == "ok" else None


def _per_work(r: dict[str, Any]) -> float:
    return r["median_s"] / r["work"]


def _gemm(by: dict, key: str) -> float | None:
    r = _ok(by, "gemm", key)
    return r["flops"] / r["median_s"] / 1e9 if r and r.get("flops") else None


def floor_part(by: dict, name: str, goal: float | None = None) -> str:
    floor, ref = _ok(by, name, "numpy"), _ok(by, name, "torch-cpu")
    if not floor or not ref:
        return ""
    f = _per_work(floor) / _per_work(ref)
    text = f"hand-written NumPy is {f:.3g}x PyTorch"
    if goal is not None and f > goal:
        text += " (the goal is below it: NumPy's own per-call cost)"
    return text


def blas_part(by: dict, name: str, key: str) -> str:
    """The matmuls' share of the row's step at NumPy's measured GEMM rate."""
    row, g_np, g_t = _ok(by, name, key), _gemm(by, "numpy"), _gemm(by, "torch-cpu")
    if not row or not row.get("flops") or not g_np:
        return ""
    matmul_s = row["flops"] / 1e9 / g_np
    text = (
        f"BLAS: the matmuls at NumPy's GEMM rate ({g_np:.0f} GFLOP/s) take "
        f"{1e3 * matmul_s:.3g} ms = {100 * matmul_s / row['median_s']:.0f}% of the step"
    )
    if g_t:
        text += f"; PyTorch's GEMM rate / NumPy's = {g_t / g_np:.2f}"
    return text


def program_part(by: dict, name: str) -> str:
    row = _ok(by, name, "minigrad-compiled")
    prog = (row or {}).get("program")
    if not prog:
        return ""
    text = f"program: {prog['ops_lowered']} ops lowered to NumPy lines"
    if prog["ops_called"]:
        why = "; ".join(f"{k}: {v.split(': ', 1)[-1]}" for k, v in prog["not_lowered"].items())
        text += f", {prog['ops_called']} call their formulas ({why})"
    if prog["whole_calls"]:
        text += ", replayed whole: " + ", ".join(dict.fromkeys(prog["whole_calls"]))
    return text


def _ratio(by: dict, name: str, a: str, b: str, what: str) -> str:
    ra, rb = _ok(by, name, a), _ok(by, name, b)
    return f"{what} = {_per_work(ra) / _per_work(rb):.3g}" if ra and rb else ""


def limit(kind: str, by: dict, name: str, goal: float | None = None) -> str:
    """The sentence for target ``kind`` of workload ``name`` (empty if nothing measured)."""
    eager_over_compiled = _ratio(
        by, name, "minigrad", "minigrad-compiled", "minigrad / minigrad.compile (bookkeeping)"
    )
    compiled_over_floor = _ratio(by, name, "minigrad-compiled", "numpy", "compiled / NumPy floor")
    if kind == "ratio":
        parts = [floor_part(by, name, goal), eager_over_compiled, blas_part(by, name, "minigrad")]
    elif kind == "compiled_ratio":
        parts = [
            floor_part(by, name, goal),
            compiled_over_floor,
            blas_part(by, name, "minigrad-compiled"),
            program_part(by, name),
        ]
    elif kind == "compiled_floor":
        parts = [compiled_over_floor, floor_part(by, name), program_part(by, name)]
    elif kind == "floor":
        parts = [eager_over_compiled, compiled_over_floor]
    elif kind == "peers":
        peers = [(k, r) for k in PEER_KEYS if (r := _ok(by, name, k))]
        floor = _ok(by, name, "numpy")
        parts = []
        if peers and floor:
            k, r = min(peers, key=lambda kr: _per_work(kr[1]))
            parts.append(f"{LABELS[k]} is {_per_work(r) / _per_work(floor):.3g}x the NumPy floor")
        parts.append(eager_over_compiled)
    elif kind == "gemm_fraction":
        parts = [blas_part(by, name, "minigrad")]
    else:  # memory
        a, b = _ok(by, name, "minigrad"), _ok(by, name, "torch-cpu")
        parts = []
        if a and b and a.get("peak_memory_bytes") is not None and b.get("peak_memory_bytes"):
            parts.append(
                f"resident-set growth of a step: minigrad {a['peak_memory_bytes'] / 1024:.0f} "
                f"KiB, PyTorch {b['peak_memory_bytes'] / 1024:.0f} KiB (page resolution)"
            )
    return "; ".join(p for p in parts if p)
