"""Derived figures (display units, ratios, MFU, targets) and the written outputs:
``results.json`` (everything), ``results.md`` (the tables) and the charts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.backends import CPU_KEYS, CUDA_KEYS, LABELS, PEER_KEYS
from benchmarks.limits import limit
from benchmarks.machine import gpu_bf16_peak
from benchmarks.spec import RATE_UNITS
from benchmarks.workloads import WORKLOADS

ORDER = {k: i for i, k in enumerate((*CPU_KEYS, *CUDA_KEYS))}
MEMORY_TARGET = 1.2  # minigrad's peak step memory <= 1.2 x PyTorch's
MEMORY_FLOOR = 1 << 20  # below 1 MiB, RSS growth is page/allocator noise
MiB = float(1 << 20)
QUICK_STATUS = "not evaluated (--quick smoke run)"


def _fmt(v: float | None) -> str:
    if v is None:
        return "—"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "—"
    if n >= 1 << 30:
        return f"{n / (1 << 30):.2f} GiB"
    if n >= 1 << 20:
        return f"{n / MiB:.1f} MiB"
    return f"{n / 1024:.0f} KiB"


def _gflops(row: dict[str, Any] | None) -> float | None:
    if not row or row.get("status") != "ok" or not row.get("flops"):
        return None
    return row["flops"] / row["median_s"] / 1e9


def build(rows: list[dict[str, Any]], facts: dict[str, Any]) -> dict[str, Any]:
    """Add display values, ratios, memory and MFU to the rows; evaluate the targets."""
    rows = sorted(rows, key=lambda r: (list(WORKLOADS).index(r["workload"]), ORDER[r["backend"]]))
    by = {(r["workload"], r["backend"]): r for r in rows}
    ceilings = {k: _gflops(by.get(("gemm", k))) for k in ("numpy", "torch-cpu")}
    cpu_ceiling = max((v for v in ceilings.values() if v), default=None)
    gpu_peak = gpu_bf16_peak(facts.get("cuda_device"))
    facts["gemm_gflops"] = ceilings
    facts["cpu_ceiling_gflops"] = cpu_ceiling
    facts["gpu_bf16_peak_tflops"] = gpu_peak / 1e12 if gpu_peak else "not reported"
    for r in rows:
        w = WORKLOADS[r["workload"]]
        r["unit"] = w.unit
        if r["status"] != "ok":
            continue
        lo, hi = w.value(r["min_s"], r["work"]), w.value(r["max_s"], r["work"])
        r["median"] = w.value(r["median_s"], r["work"])
        r["min"], r["max"] = (hi, lo) if w.unit in RATE_UNITS else (lo, hi)
        ref = by.get((r["workload"], "torch-cpu"))
        if ref and ref["status"] == "ok":
            r["ratio_to_torch_cpu"] = (r["median_s"] / r["work"]) / (ref["median_s"] / ref["work"])
            # The same ratio of the fastest samples: the least disturbed by other work.
            r["best_ratio_to_torch_cpu"] = (r["min_s"] / r["work"]) / (ref["min_s"] / ref["work"])
        mem = r.get("memory", {})
        r["peak_memory_bytes"] = mem.get("cuda_bytes", mem.get("rss_bytes"))
        achieved = _gflops(r)
        r["achieved_gflops"] = achieved
        if achieved is None:
            r["mfu"] = None
        elif r["backend"] in CUDA_KEYS:
            r["mfu"] = achieved * 1e9 / gpu_peak if gpu_peak else "not reported"
        else:
            r["mfu"] = achieved / cpu_ceiling if cpu_ceiling else None
    targets = evaluate_targets(by)
    if facts.get("mode") == "quick":  # a smoke run measures nothing: no target is met
        for t in targets:
            t["status"] = QUICK_STATUS
    return {"facts": facts, "rows": rows, "targets": targets}


def _target(
    what: str, goal: str, measured: float | None, met: bool | None, note: str = "", limit: str = ""
) -> dict[str, Any]:
    status = "n/a (not measured)" if met is None else ("met" if met else "not met")
    return {
        "target": what,
        "goal": goal,
        "measured": measured,
        "status": status,
        "note": note,
        "limit": limit,
    }


def evaluate_targets(by: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """The speed and memory targets of the minigrad rows (ratio = minigrad / PyTorch CPU)."""
    out = []

    def ok(name: str, key: str) -> dict[str, Any] | None:
        r = by.get((name, key))
        return r if r and r["status"] == "ok" else None

    for name, w in WORKLOADS.items():
        if not any(n == name for n, _ in by):
            continue
        mg, ref = ok(name, "minigrad"), ok(name, "torch-cpu")
        if "ratio" in w.targets:
            goal = w.targets["ratio"]
            ratio = mg.get("ratio_to_torch_cpu") if mg else None
            best = mg.get("best_ratio_to_torch_cpu") if mg else None
            out.append(
                _target(
                    f"{name}: time minigrad / PyTorch CPU",
                    f"≤ {goal}",
                    ratio,
                    None if ratio is None else ratio <= goal,
                    "" if best is None else f"fastest samples: {best:.3g}",
                    limit("ratio", by, name, goal),
                )
            )
        if w.targets.get("peers"):
            peers = [r for k in PEER_KEYS if (r := ok(name, k))]
            best = min(peers, key=lambda r: r["median_s"] / r["work"], default=None)
            val = mg["median_s"] / best["median_s"] if mg and best else None
            note = ""
            if mg and best:
                fastest = min(r["min_s"] / r["work"] for r in peers) * mg["work"]
                note = (
                    f"fastest peer: {LABELS[best['backend']]}; "
                    f"fastest samples: {mg['min_s'] / fastest:.3g}"
                )
            out.append(
                _target(
                    f"{name}: time minigrad / fastest NumPy peer",
                    "< 1",
                    val,
                    None if val is None else val < 1,
                    note,
                    limit("peers", by, name),
                )
            )
        comp = ok(name, "minigrad-compiled")
        if "compiled_ratio" in w.targets:
            goal = w.targets["compiled_ratio"]
            ratio = comp.get("ratio_to_torch_cpu") if comp else None
            best = comp.get("best_ratio_to_torch_cpu") if comp else None
            out.append(
                _target(
                    f"{name}: time minigrad.compile / PyTorch CPU",
                    f"≤ {goal}",
                    ratio,
                    None if ratio is None else ratio <= goal,
                    "" if best is None else f"fastest samples: {best:.3g}",
                    limit("compiled_ratio", by, name, goal),
                )
            )
        if "compiled_floor" in w.targets:
            floor, goal = ok(name, "numpy"), w.targets["compiled_floor"]
            val = comp["median_s"] / floor["median_s"] if comp and floor else None
            out.append(
                _target(
                    f"{name}: time minigrad.compile / hand-written NumPy",
                    f"≤ {goal}",
                    val,
                    None if val is None else val <= goal,
                    limit=limit("compiled_floor", by, name, goal),
                )
            )
        if "floor" in w.targets:
            floor, goal = ok(name, "numpy"), w.targets["floor"]
            val = mg["median_s"] / floor["median_s"] if mg and floor else None
            out.append(
                _target(
                    f"{name}: time minigrad / hand-written NumPy",
                    f"≤ {goal}",
                    val,
                    None if val is None else val <= goal,
                    limit=limit("floor", by, name, goal),
                )
            )
        if "gemm_fraction" in w.targets:
            gemm, goal = _gflops(ok("gemm", "numpy")), w.targets["gemm_fraction"]
            val = mg["achieved_gflops"] / gemm if mg and gemm else None
            out.append(
                _target(
                    f"{name}: minigrad FLOP/s / NumPy GEMM FLOP/s",
                    f"≥ {goal}",
                    val,
                    None if val is None else val >= goal,
                    limit=limit("gemm_fraction", by, name, goal),
                )
            )
        if w.training and "ratio" in w.targets:
            a = mg.get("peak_memory_bytes") if mg else None
            b = ref.get("peak_memory_bytes") if ref else None
            val = a / max(b, MEMORY_FLOOR) if a is not None and b is not None else None
            note = "" if b is None or b >= MEMORY_FLOOR else "PyTorch under 1 MiB: vs 1 MiB"
            out.append(
                _target(
                    f"{name}: peak step memory minigrad / PyTorch CPU",
                    f"≤ {MEMORY_TARGET}",
                    val,
                    None if val is None else val <= MEMORY_TARGET,
                    note,
                    limit("memory", by, name),
                )
            )
    return out


# ----------------------------------------------------------------------------- Markdown
def _mfu(v: Any) -> str:
    if isinstance(v, str):
        return v
    return "—" if v is None else f"{100 * v:.1f}%"


def _memory(r: dict[str, Any]) -> str:
    mem = r.get("memory", {})
    if "cuda_bytes" in mem:
        return f"{fmt_bytes(mem['cuda_bytes'])} (cuda)"
    text = fmt_bytes(mem.get("rss_bytes"))
    if "tracemalloc_bytes" in mem:
        text += f" ({fmt_bytes(mem['tracemalloc_bytes'])} traced)"
    return text


def workloads_list(results: dict[str, Any]) -> str:
    """One line per workload: its title and the sizes each backend ran."""
    lines = []
    for name in dict.fromkeys(r["workload"] for r in results["rows"]):
        sizes = dict.fromkeys(
            r["info"] for r in results["rows"] if r["workload"] == name and r.get("info")
        )
        lines.append(
            f"- **{name}**: {WORKLOADS[name].title}" + (f" ({'; '.join(sizes)})" if sizes else "")
        )
    return "\n".join(lines)


def results_table(results: dict[str, Any]) -> str:
    lines = [
        "| workload | framework / device | median | min | max | unit | ratio to PyTorch CPU "
        "| peak memory (step) | MFU |",
        "|---|---|--:|--:|--:|---|--:|--:|--:|",
    ]
    for r in results["rows"]:
        if r["status"] != "ok":
            status = r["status"] if r["status"] != "error" else f"error: {r.get('error')}"
            lines.append(f"| {r['workload']} | {r['label']} | {status} | | | {r['unit']} | | | |")
            continue
        ratio = r.get("ratio_to_torch_cpu")
        lines.append(
            f"| {r['workload']} | {r['label']} | {_fmt(r['median'])} | {_fmt(r['min'])} "
            f"| {_fmt(r['max'])} | {r['unit']} | {_fmt(ratio)} "
            f"| {_memory(r)} | {_mfu(r.get('mfu'))} |"
        )
    return "\n".join(lines)


def targets_table(results: dict[str, Any]) -> str:
    lines = ["| target | goal | measured | status | what limits it |", "|---|---|--:|---|---|"]
    for t in results["targets"]:
        note = f" ({t['note']})" if t["note"] else ""
        lines.append(
            f"| {t['target']} | {t['goal']} | {_fmt(t['measured'])} | {t['status']}{note} "
            f"| {t.get('limit') or '—'} |"
        )
    return "\n".join(lines)


def _facts_md(f: dict[str, Any]) -> str:
    keys = [
        "date",
        "mode",
        "cpu_model",
        "logical_cpus",
        "cores_available",
        "threads_used",
        "load_average",
        "platform",
        "python",
        "numpy",
        "numpy_blas",
        "threadpools (cpu-numpy worker)",
        "threadpools (cpu-torch worker)",
        "torch",
        "torch_blas",
        "torch_threads",
        "cuda_available",
        "mygrad",
        "dezero",
        "autograd",
        "cuda_device",
        "torch_cuda",
        "cuda_capability",
        "threadpools (cuda worker)",
        "gpu_bf16_peak_tflops",
        "gemm_gflops",
        "cpu_ceiling_gflops",
        "suite_seconds",
    ]

    def show(v: Any) -> str:
        if isinstance(v, float):
            return _fmt(v)
        if isinstance(v, dict):
            return ", ".join(f"{k}: {show(x)}" for k, x in v.items())
        if isinstance(v, list):
            return ", ".join(show(x) for x in v)
        return str(v)

    return "\n".join(f"- **{k}**: {show(f[k])}" for k in keys if k in f)


NOTES = """\
- **Figures**: median of repeated samples after warm-up steps, with the fastest (min) and
  slowest (max) sample; microsecond steps are timed in blocks (see benchmarks/timing.py).
  Times are per step (per op for per_op); throughputs are work per second, so their
  "min" is the slowest sample.
- **Ratio** = minigrad (or the row's) time per unit of work / PyTorch eager CPU's, at the
  same thread count: below 1 means faster than PyTorch on the CPU.
- **Peak memory (step)**: resident-set growth during one training (or inference) step
  over the resident set just before it, each (workload, framework) in its own forked
  process (VmHWM after a clear_refs reset); minigrad and NumPy rows also give the exact
  tracemalloc peak ("traced"); CUDA rows PyTorch's allocator peak ("cuda"). Figures under
  1 MiB are at the resolution of the method. See benchmarks/README.md.
- **MFU**: analytic model FLOPs of a step (matmuls only: 2·m·n·k forward, 3x for a
  training step; 6·N·tokens + attention for transformers; see benchmarks/flops.py) per
  second, over the best float32 GEMM throughput measured on this CPU (CPU rows), or the
  GPU's dense bf16 peak (CUDA rows; an unknown GPU is "not reported").
"""


def notices(results: dict[str, Any]) -> list[str]:
    """What a reader must know before reading the figures, for the screen and results.md:
    a smoke run, a busy machine, CUDA rows not run."""
    f = results["facts"]
    out = []
    if f.get("mode") == "quick":
        out.append(
            "QUICK MODE (smoke test): small sizes and few repeats; the figures are not "
            "measurements and no target is evaluated."
        )
    # At the start: at the end the load includes the suite's own busy process.
    load = f.get("load_average_at_start") or f.get("load_average")
    if load and f.get("cores_available") and load[0] > 0.5 * f["cores_available"]:
        out.append(
            f"BUSY MACHINE: load average {load[0]:.1f} on {f['cores_available']} cores when "
            "the suite started; the figures are noisy."
        )
    if f.get("cuda_rows") not in (None, "run", "not run (--device cpu)"):
        out.append(f"CUDA: {f['cuda_rows']}.")
    return out


def markdown(results: dict[str, Any]) -> str:
    f = results["facts"]
    parts = ["# minigrad vs PyTorch: benchmark results", "", _facts_md(f), ""]
    for note in notices(results):
        parts += [f"> **Note**: {note}", ""]
    parts += ["## Workloads", "", workloads_list(results), ""]
    parts += [
        "## Results",
        "",
        results_table(results),
        "",
        "## Targets (minigrad)",
        "",
        targets_table(results),
        "",
        "## How",
        "",
        NOTES,
    ]
    errors = [r for r in results["rows"] if r["status"] == "error" and r.get("traceback")]
    if errors:
        parts += ["## Errors", ""]
        for r in errors:
            parts += [
                f"### {r['workload']} / {r['label']}",
                "",
                "```",
                r["traceback"].strip(),
                "```",
                "",
            ]
    return "\n".join(parts)


def ddp_section(out: Path) -> str:
    """The data-parallel table ``python -m benchmarks.ddp --out`` left in ``out``, or
    how to make it (it starts processes of its own: not part of the suite's run)."""
    ddp = out / "ddp.md"
    if ddp.is_file():
        return ddp.read_text()
    return (
        "## Data-parallel scaling\n\n"
        f"Not run here: `python -m benchmarks.ddp --out {out}` writes `ddp.md`, included "
        "in this file when the suite's report is written again (the last committed run: "
        "`benchmarks/results/cpu-2core-2026-12-02/ddp.md`).\n"
    )


def write(results: dict[str, Any], out: Path) -> list[Path]:
    """results.json, results.md and the charts; returns the chart paths."""
    out.mkdir(parents=True, exist_ok=True)
    from benchmarks.charts import make_charts

    charts = make_charts(results, out)
    results["charts"] = [p.name for p in charts]
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    md = markdown(results) + "\n" + ddp_section(out)
    if charts:
        md += "\n## Charts\n\n" + "\n".join(f"![{p.stem}]({p.name})" for p in charts) + "\n"
    (out / "results.md").write_text(md)
    return charts


def summary(results: dict[str, Any], out: Path) -> str:
    notes = notices(results)
    return "\n".join(
        [
            results_table(results),
            "",
            targets_table(results),
            "",
            *notes,
            *([""] if notes else []),
            f"written: {out / 'results.json'}, {out / 'results.md'}, "
            f"{len(results.get('charts', []))} charts in {out}",
        ]
    )
