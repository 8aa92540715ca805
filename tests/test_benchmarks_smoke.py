"""Smoke test of the benchmark suite: ``python -m benchmarks --quick`` runs and writes
well-formed outputs. Asserts that the suite works, never how fast anything is."""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from benchmarks import flops, gpt_block, peers
from benchmarks.backends import PEER_KEYS, PEER_PINS, Backend
from benchmarks.machine import gpu_bf16_peak
from benchmarks.nlp import BERT_BASE, GPT2_TINY
from benchmarks.report import (
    QUICK_STATUS,
    ddp_section,
    markdown,
    notices,
    results_table,
    summary,
)
from benchmarks.runner import _cuda_note
from benchmarks.timing import Plan, measure
from benchmarks.workloads import WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_proc(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Any]:
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    return out, json.loads((out / "results.json").read_text()), proc


@pytest.fixture(scope="module")
def quick_run(quick_proc: tuple[Path, dict, Any]) -> tuple[Path, dict]:
    return quick_proc[0], quick_proc[1]


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
    # a smoke run evaluates no target, and says so on screen
    assert results["targets"] and all(t["status"] == QUICK_STATUS for t in results["targets"])


def test_quick_run_says_so_on_screen(quick_proc: tuple[Path, dict, Any]) -> None:
    _, results, proc = quick_proc
    assert "QUICK MODE (smoke test)" in proc.stdout
    cells = [
        c.strip()
        for line in proc.stdout.splitlines()
        if line.startswith("|")
        for c in line.strip("|").split("|")
    ]
    assert QUICK_STATUS in cells[0] or any(c.startswith(QUICK_STATUS) for c in cells)
    assert not any(c.startswith(("met", "not met")) for c in cells)
    assert "\r" not in proc.stderr  # no progress bar when stderr is not a terminal


def test_peer_rows(quick_run: tuple[Path, dict]) -> None:
    _, results = quick_run
    rows = {(r["workload"], r["backend"]): r for r in results["rows"]}
    for name in ("short_graph", "mission_net", "wide_mlp", "gpt_block"):
        for key in (k for k in PEER_KEYS if k in WORKLOADS[name].backends):
            r = rows[(name, key)]
            if importlib.util.find_spec(key) is None:
                assert r["status"] == f"skipped ({key} not installed: pip install {PEER_PINS[key]})"
            else:
                assert r["status"] == "ok" and r["median_s"] > 0, (name, key, r.get("error"))
    assert rows[("backward_call", "minigrad")]["status"] == "ok"
    names = [t["target"] for t in results["targets"]]
    assert "mission_net: time minigrad / fastest NumPy peer" in names


def test_cuda_rows_said_once(quick_run: tuple[Path, dict]) -> None:
    out, results = quick_run
    cuda = [r for r in results["rows"] if r["backend"].startswith("cuda")]
    md = (out / "results.md").read_text()
    if torch.cuda.is_available():
        assert cuda and all(
            r["status"] in ("ok", "error") or "skipped" in r["status"] for r in cuda
        )
    else:
        assert not cuda  # no row per workload, one line instead
        assert md.count("PyTorch sees no CUDA device") == 1
    assert "no CUDA device" not in results_table(results)


def _args(**kw: Any) -> argparse.Namespace:
    return argparse.Namespace(**{"device": "auto", "quick": False, **kw})


def test_cuda_notes_and_busy_flag() -> None:
    assert _cuda_note(_args(device="cpu"), cuda_ok=False) is None
    assert _cuda_note(_args(device="cpu"), cuda_ok=True) is None
    assert "no CUDA device" in _cuda_note(_args(), cuda_ok=False)
    assert _cuda_note(_args(device="cuda"), cuda_ok=False).startswith("--device cuda, but")
    assert _cuda_note(_args(device="cuda"), cuda_ok=True) is None
    base = {"cores_available": 2, "mode": "full", "cuda_rows": "not run (--device cpu)"}
    quiet = {"facts": {**base, "load_average_at_start": [0.4, 0.4, 0.4]}}
    busy = {"facts": {**base, "load_average_at_start": [3.0, 2.0, 1.0]}}
    assert notices(quiet) == []
    (note,) = notices(busy)
    assert note.startswith("BUSY MACHINE: load average 3.0 on 2 cores")
    shown = summary({**busy, "rows": [], "targets": []}, Path("out"))
    assert note in shown and note in markdown({**busy, "rows": [], "targets": []})


def test_cuda_fp32_turns_tf32_off() -> None:
    """What the cuda-fp32 row claims is what it sets (the flags exist without a GPU)."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        fp32 = Backend("cuda-fp32")
        assert "TF32 off" in fp32.prepare()
        assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
        Backend("cuda-bf16").prepare()  # PyTorch's defaults again for the next rows
        assert not torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        assert Backend("torch-cpu").prepare() == ""
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("key", ["numpy", *PEER_KEYS])
def test_every_engine_takes_torchs_step(key: str, optimizer: str) -> None:
    """Same data, same initial weights, the same two training steps as PyTorch's."""
    sizes, batch, lr = (6, 5, 4, 3), 8, 0.05
    if key == "numpy":
        built = peers.build_mlp_numpy(sizes, batch, optimizer, lr)
    else:
        backend = Backend(key)
        if backend.missing:  # an optional library (the bench extra)
            pytest.skip(backend.missing)
        built = peers.build_mlp_peer(backend, sizes, batch, optimizer, lr)
    layers, x, y = peers.mlp_arrays(sizes, batch)
    mods: list[torch.nn.Module] = []
    for i, (w, b) in enumerate(layers):
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        lin.weight.data, lin.bias.data = torch.from_numpy(w.copy()), torch.from_numpy(b.copy())
        mods += [lin] + ([torch.nn.ReLU()] if i < len(layers) - 1 else [])
    model = torch.nn.Sequential(*mods)
    cls = torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam
    opt = cls(model.parameters(), lr=lr, foreach=False)
    for _ in range(2):
        built.step()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(
            model(torch.from_numpy(x)), torch.from_numpy(y)
        ).backward()
        opt.step()
    theirs = [p.detach().numpy() for p in model.parameters()]
    assert built.params is not None
    ours = built.params()
    assert len(ours) == len(theirs)
    # DeZero's Adam adds ε to √v before the bias correction (ε/√(1−β₂ᵗ) in PyTorch's
    # terms, 30x PyTorch's ε at step 1): the same update up to that, not to rounding.
    tol = {"rtol": 1e-2, "atol": 1e-3} if (key, optimizer) == ("dezero", "adam") else {}
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, **{"rtol": 1e-5, "atol": 1e-6, **tol})
    assert not np.allclose(theirs[0], layers[0][0])  # the step moved the weights


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


def test_targets_say_what_limits_them(quick_run: tuple[Path, dict]) -> None:
    """Every speed target of a workload with a NumPy floor names it, with the ratio the
    run measured; the compiled rows report their program's make-up."""
    out, results = quick_run
    assert (
        "| target | goal | measured | status | what limits it |" in (out / "results.md").read_text()
    )
    rows = {(r["workload"], r["backend"]): r for r in results["rows"]}
    by_name = {t["target"]: t for t in results["targets"]}
    t = by_name["per_op: time minigrad.compile / PyTorch CPU"]
    floor, ref = rows[("per_op", "numpy")], rows[("per_op", "torch-cpu")]
    want = (floor["median_s"] / floor["work"]) / (ref["median_s"] / ref["work"])
    assert f"hand-written NumPy is {want:.3g}x PyTorch" in t["limit"]
    prog = rows[("per_op", "minigrad-compiled")]["program"]
    assert prog["ops_lowered"] >= 99 and f"{prog['ops_lowered']} ops lowered" in t["limit"]
    assert "BLAS: the matmuls" in by_name["wide_mlp: time minigrad.compile / PyTorch CPU"]["limit"]


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
    out = tmp_path / "rows.json"
    cmd = [sys.executable, "-m", "benchmarks.ddp", "--model", "mission_net", "--procs", "2"]
    cmd += ["--steps", "3", "--warmup", "1", "--json", str(out), "--out", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "| processes | step (median) |" in proc.stdout
    (row,) = json.loads(out.read_text())
    assert "load average" in (tmp_path / "ddp.md").read_text()
    record = json.loads((tmp_path / "ddp.json").read_text())
    assert record["rows"] == [row] and len(record["load_average"]) == 3
    # the suite's results.md in the same folder includes the table
    assert (tmp_path / "ddp.md").read_text() in ddp_section(tmp_path)
    assert row["world_size"] == 2 and row["median_s"] > 0 and row["samples_per_s"] > 0
    # float32 parameters of Linear(100, 50) and Linear(50, 10): every byte, once
    assert row["bytes_per_step"] == 4 * (100 * 50 + 50 + 50 * 10 + 10)


def test_gpt_block_engines_take_torchs_steps() -> None:
    """The generic-ops GPT block: every engine's two Adam steps end where PyTorch's do."""
    w = WORKLOADS["gpt_block"]
    finals = {}
    for key in w.backends:
        backend = Backend(key)
        if backend.missing:  # an optional library (the bench extra)
            continue
        built = w.build(backend, True)
        built.step()
        built.step()
        assert built.params is not None
        finals[key] = [np.array(a, copy=True) for a in built.params()]
    ref = finals.pop("torch-cpu")
    assert "minigrad" in finals
    start = gpt_block.init()[0]
    assert not np.allclose(ref[2], start["w_qkv"])  # the steps moved the weights
    for key, params in finals.items():
        for a, b in zip(params, ref):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=key)
