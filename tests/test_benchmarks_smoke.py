"""Smoke test of the benchmark suite: ``python -m benchmarks --quick`` runs and writes
well-formed outputs. Asserts that the suite works, never how fast anything is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from benchmarks import flops
from benchmarks.machine import gpu_bf16_peak
from benchmarks.nlp import BERT_BASE, GPT2_TINY
from benchmarks.timing import Plan, measure
from benchmarks.workloads import WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    return out, json.loads((out / "results.json").read_text())


def test_quick_rows_have_positive_figures(quick_run: tuple[Path, dict]) -> None:
    _, results = quick_run
    rows = {(r["workload"], r["backend"]): r for r in results["rows"]}
    quick = [n for n, w in WORKLOADS.items() if w.quick]
    assert quick and all(n in {w for w, _ in rows} for n in quick)
    for name in quick:
        ours = "minigrad" if "minigrad" in WORKLOADS[name].backends else "numpy"
        for key in (ours, "torch-cpu"):
            r = rows[(name, key)]
            assert r["status"] == "ok", (name, key, r.get("error"))
            assert 0 < r["min_s"] <= r["median_s"] <= r["max_s"], (name, key)
            assert r["median"] > 0 and r["repeats"] >= 3
            assert r["peak_memory_bytes"] is not None and r["peak_memory_bytes"] >= 0
        assert rows[(name, "torch-cpu")]["ratio_to_torch_cpu"] == pytest.approx(1.0)
    assert rows[("mission_net", "numpy")]["status"] == "ok"  # the hand-written floor
    assert "tracemalloc_bytes" in rows[("mission_net", "minigrad")]["memory"]
    facts = results["facts"]
    for key in ("cpu_model", "threads_used", "numpy", "numpy_blas", "torch", "date"):
        assert facts.get(key), key
    assert facts["cpu_ceiling_gflops"] > 0
    assert results["targets"] and all(
        t["status"] in ("met", "not met", "n/a (not measured)") for t in results["targets"]
    )


def test_cuda_rows_are_marked(quick_run: tuple[Path, dict]) -> None:
    out, results = quick_run
    cuda = [r for r in results["rows"] if r["backend"].startswith("cuda")]
    assert cuda, "every workload has CUDA rows"
    if torch.cuda.is_available():
        assert all(r["status"] in ("ok", "error") for r in cuda)
    else:
        assert all(r["status"] == "no CUDA device" for r in cuda)
        assert "no CUDA device" in (out / "results.md").read_text()


def test_markdown_and_charts(quick_run: tuple[Path, dict]) -> None:
    out, results = quick_run
    md = (out / "results.md").read_text()
    header = "| workload | framework / device | median | min | max | unit | ratio to PyTorch CPU"
    assert header in md and "## Targets" in md
    for name in (n for n, w in WORKLOADS.items() if w.quick):
        assert f"| {name} | minigrad" in md or f"| {name} | NumPy" in md
    pngs = sorted(out.glob("*.png"))
    assert pngs and sorted(results["charts"]) == sorted(p.name for p in pngs)
    for p in pngs:
        assert p.read_bytes()[:8] == PNG_MAGIC


def test_profile_prints_op_table(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--profile", "mission_net", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "| op | fwd calls |" in proc.stdout
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")][1:]
    rows = [r for r in rows if r.split("|")[-2].strip()]  # not the "... more ops" line
    assert rows, "at least one op profiled"
    pct = [float(r.split("|")[-2]) for r in rows]
    assert all(p >= 0 for p in pct) and sum(pct) <= 100.5
    assert (tmp_path / "profile_mission_net.md").is_file()


def test_flop_counts_match_the_models() -> None:
    """The analytic parameter counts agree with the models' own (minigrad's models carry
    Hugging Face's parameter names and load its state dicts strictly, so the counts are
    transformers' too)."""
    import minigrad.models as mm

    gpt2 = mm.GPT2LMHeadModel(mm.GPT2Config(**GPT2_TINY))
    n = sum(p.numel() for name, p in gpt2.named_parameters() if "wpe" not in name)
    assert flops.gpt2_matmul_params(GPT2_TINY) == n
    small = {
        **BERT_BASE,
        "vocab_size": 100,
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 96,
    }
    bert = mm.BertModel(mm.BertConfig(**small))
    n = sum(p.numel() for _, p in bert.encoder.named_parameters())
    assert flops.bert_encoder_params(small) == n
    assert flops.linear_train(64, (100, 50, 10)) == 3 * 2 * 64 * (100 * 50 + 50 * 10)


def test_gpu_peak_table_and_timing() -> None:
    assert gpu_bf16_peak("NVIDIA H200") == pytest.approx(989.4e12)
    assert gpu_bf16_peak("NVIDIA H100 PCIe") == pytest.approx(756e12)
    assert gpu_bf16_peak("NVIDIA L40S") is None and gpu_bf16_peak(None) is None
    calls = []
    r = measure(lambda: calls.append(np.zeros(4)), Plan(1, 3, 5, 0.0, 0.0))
    assert len(calls) == 1 + 3 and r["repeats"] == 3
    assert 0 < r["min_s"] <= r["median_s"] <= r["max_s"]


def test_ddp_benchmark_runs_two_ranks(tmp_path: Path) -> None:
    out = tmp_path / "ddp.json"
    cmd = [sys.executable, "-m", "benchmarks.ddp", "--model", "mission_net", "--procs", "2"]
    cmd += ["--steps", "3", "--warmup", "1", "--json", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "| processes | step (median) |" in proc.stdout
    (row,) = json.loads(out.read_text())
    assert row["world_size"] == 2 and row["median_s"] > 0 and row["samples_per_s"] > 0
    # float32 parameters of Linear(100, 50) and Linear(50, 10): every byte, once
    assert row["bytes_per_step"] == 4 * (100 * 50 + 50 + 50 * 10 + 10)
