"""PNG charts of a run (matplotlib, Agg backend: no display needed).

* ``times.png``: one panel per workload, a bar per framework/device (its unit; lower
  is better for times, higher for throughputs), whiskers from min to max;
* ``ratio.png``: minigrad's time / PyTorch CPU's per workload (log scale), with the
  targets;
* ``memory.png``: peak step memory, minigrad vs PyTorch CPU, per workload.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from benchmarks.backends import LABELS
from benchmarks.spec import RATE_UNITS

COLORS = {
    "minigrad": "#d62728",
    "minigrad-compiled": "#ff7f0e",
    "numpy": "#ff9896",
    "torch-cpu": "#1f77b4",
    "mygrad": "#8c564b",
    "dezero": "#e377c2",
    "autograd": "#7f7f7f",
    "cuda-fp32": "#2ca02c",
    "cuda-bf16": "#98df8a",
    "cuda-compile": "#9467bd",
}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ok(results: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in results["rows"] if r["status"] == "ok"]


def times_chart(results: dict[str, Any], path: Path) -> Path | None:
    plt = _plt()
    rows = _ok(results)
    names = list(dict.fromkeys(r["workload"] for r in rows))
    if not names:
        return None
    cols = min(3, len(names))
    nrows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5 * cols, 3.4 * nrows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        sub = [r for r in rows if r["workload"] == name]
        x = range(len(sub))
        vals = [r["median"] for r in sub]
        err = [
            [r["median"] - min(r["min"], r["max"]) for r in sub],
            [max(r["min"], r["max"]) - r["median"] for r in sub],
        ]
        ax.bar(x, vals, yerr=err, capsize=3, color=[COLORS[r["backend"]] for r in sub])
        ax.set_xticks(list(x), [r["backend"] for r in sub], rotation=30, ha="right", fontsize=8)
        better = "higher" if sub[0]["unit"] in RATE_UNITS else "lower"
        ax.set_title(f"{name} ({better} is better)", fontsize=10)
        ax.set_ylabel(sub[0]["unit"])
        top = max(max(r["min"], r["max"]) for r in sub)
        if top / max(min(vals), 1e-30) > 50:  # e.g. GPU vs CPU, or a wild outlier
            ax.set_yscale("log")
        for i, v in zip(x, vals):
            ax.annotate(
                f"{v:.3g}",
                (i, v),
                ha="center",
                va="bottom",
                fontsize=7,
                xytext=(0, 2),
                textcoords="offset points",
            )
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def ratio_chart(results: dict[str, Any], path: Path) -> Path | None:
    plt = _plt()
    mg = [r for r in _ok(results) if r["backend"] == "minigrad" and "ratio_to_torch_cpu" in r]
    if not mg:
        return None
    from benchmarks.workloads import WORKLOADS

    fig, ax = plt.subplots(figsize=(7, 0.5 * len(mg) + 1.5))
    y = range(len(mg))
    ratios = [r["ratio_to_torch_cpu"] for r in mg]
    ax.barh(list(y), ratios, color=[COLORS["minigrad"]] * len(mg))
    for i, r in enumerate(mg):
        goal = WORKLOADS[r["workload"]].targets.get("ratio")
        if goal is not None:
            ax.plot([goal, goal], [i - 0.4, i + 0.4], color="black", lw=2)
        ax.text(ratios[i], i, f" {ratios[i]:.2f}", va="center", fontsize=8)
    ax.axvline(1.0, color="#1f77b4", ls="--", lw=1, label="PyTorch CPU")
    ax.set_yticks(list(y), [r["workload"] for r in mg])
    ax.set_xscale("log")
    ax.set_xlabel("minigrad time / PyTorch CPU time (black tick: target)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def memory_chart(results: dict[str, Any], path: Path) -> Path | None:
    plt = _plt()
    rows = [
        r
        for r in _ok(results)
        if r["backend"] in ("minigrad", "torch-cpu")
        and r.get("peak_memory_bytes") is not None
        and r["workload"] != "gemm"
    ]
    names = list(dict.fromkeys(r["workload"] for r in rows))
    if not names:
        return None
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(names)), 3.5))
    width = 0.4
    for j, key in enumerate(("minigrad", "torch-cpu")):
        vals = []
        for n in names:
            r = next((r for r in rows if r["workload"] == n and r["backend"] == key), None)
            vals.append(max(r["peak_memory_bytes"], 1024) / (1 << 20) if r else 0.0)
        ax.bar(
            [i + (j - 0.5) * width for i in range(len(names))],
            vals,
            width,
            color=COLORS[key],
            label=LABELS[key],
        )
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("peak step memory (MiB, RSS growth)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def make_charts(results: dict[str, Any], out: Path) -> list[Path]:
    made = [
        times_chart(results, out / "times.png"),
        ratio_chart(results, out / "ratio.png"),
        memory_chart(results, out / "memory.png"),
    ]
    return [p for p in made if p is not None]
