"""``python -m benchmarks``: runs the suite and writes results.json, results.md and charts.

The runner itself imports neither NumPy's BLAS nor PyTorch: it starts one worker
process per group of backends (``minigrad`` + ``numpy``; ``torch-cpu``; CUDA), with the
thread count in the environment before their imports, and sends them jobs (see
:mod:`benchmarks.worker`). The two CPU workers import concurrently, then take turns,
workload by workload (minigrad, PyTorch, NumPy, and in a full run back again): no two
measurements ever overlap, and the figures that a ratio compares are taken in the
same minutes (a shared machine's speed drifts).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.backends import CUDA_KEYS, LABELS, PEER_KEYS, uses_torch
from benchmarks.machine import machine_facts
from benchmarks.timing import summarize
from benchmarks.workloads import WORKLOADS

ROOT = Path(__file__).resolve().parent.parent
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from benchmarks.machine import available_cores

    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmarks: minigrad against PyTorch on CPU and GPU.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a smoke test (CI): small sizes, few repeats, no GPT-2 small / BERT-base; "
        "its figures are not measurements and no target is evaluated",
    )
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only these workloads (repeatable or comma-separated): " + ", ".join(WORKLOADS),
    )
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto: CPU rows, plus CUDA rows when a GPU is present; cpu: CPU rows "
        "only; cuda: CPU rows and CUDA rows (without a device, one line says so)",
    )
    p.add_argument("--out", type=Path, default=Path("benchmarks/out"), help="output folder")
    p.add_argument(
        "--threads",
        type=int,
        default=available_cores(),
        help="threads for NumPy's BLAS and PyTorch (default: all available cores)",
    )
    p.add_argument(
        "--profile",
        metavar="NAME",
        help="instead of the suite: profile NAME's minigrad step, op by op",
    )
    p.add_argument("--profile-steps", type=int, default=10, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    names = [n.strip() for item in args.only for n in item.split(",") if n.strip()]
    for n in names + ([args.profile] if args.profile else []):
        if n not in WORKLOADS:
            p.error(f"unknown workload {n!r}; known: {', '.join(WORKLOADS)}")
    args.only = names
    if args.threads < 1:
        p.error("--threads must be at least 1")
    return args


class Worker:
    """One ``python -m benchmarks.worker`` process and its line protocol."""

    def __init__(self, name: str, setup: dict[str, Any], threads: int, log: Path) -> None:
        self.name, self.setup, self.log = name, setup, log
        env = dict(os.environ)
        env.update({v: str(threads) for v in THREAD_VARS})
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"  # is_available() must not initialise CUDA
        env["TOKENIZERS_PARALLELISM"] = "false"  # the workers fork
        env["HF_HUB_OFFLINE"] = env["TRANSFORMERS_OFFLINE"] = "1"
        self.env = env
        self.proc: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.facts: dict[str, Any] = {}

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        err = open(self.log, "a")  # noqa: SIM115 (owned by the process)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            env=self.env,
            cwd=ROOT,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        err.close()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(self.setup) + "\n")
        self.proc.stdin.flush()
        out, lines = self.proc.stdout, self.lines

        def pump() -> None:
            for line in out:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def _read(self, timeout: float) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            return {"ok": False, "error": f"timed out after {timeout:.0f} s (see {self.log})"}
        if line is None:
            code = self.proc.wait() if self.proc else None
            self.proc = None
            return {"ok": False, "error": f"worker exited (status {code}; see {self.log})"}
        return json.loads(line)

    def ready(self, timeout: float = 300) -> bool:
        if self.proc is None:
            self.start()
        msg = self._read(timeout)
        self.facts = msg.get("facts", {})
        if not msg.get("ready"):
            self.facts["error"] = msg.get("error", "worker failed to start")
        return bool(msg.get("ready"))

    def run(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        if self.proc is None and not self.ready():
            return {"ok": False, "error": self.facts.get("error", "worker failed to start")}
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return self._read(timeout)

    def kill(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the worker and its forked job
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None
            self.lines = queue.Queue()  # the old pump thread ends on EOF

    def close(self) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "exit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.kill()
            self.proc = None


def _preload(names: list[str], torch_side: bool) -> list[str]:
    nlp = any(n.startswith("gpt2") or n in ("minilm", "bert_base") for n in names)
    if not nlp:
        return []
    if torch_side:
        return [
            "tokenizers",
            "transformers",
            "transformers.models.gpt2.modeling_gpt2",
            "transformers.models.bert.modeling_bert",
        ]
    return ["tokenizers", "minigrad.models", "safetensors.numpy"]


def selected(args: argparse.Namespace) -> list[str]:
    names = args.only or [n for n, w in WORKLOADS.items() if w.quick or not args.quick]
    if args.only and "gemm" not in names and any(WORKLOADS[n].training for n in names):
        names.append("gemm")  # MFU needs the ceiling
    return names


def _timeout(name: str, key: str, quick: bool) -> float:
    if quick:
        return 300.0
    return 3600.0 if WORKLOADS[name].heavy and not key.startswith("cuda") else 900.0


def _worker(name: str, keys: list[str], fork: bool, names: list[str], args: Any) -> Worker:
    torch_side = uses_torch(keys)
    setup = {
        "backends": keys,
        "threads": args.threads,
        "fork": fork,
        "preload": _preload(names, torch_side),
    }
    return Worker(name, setup, args.threads, args.out / "logs" / f"{name}.log")


def _run_jobs(
    workers: dict[str, Worker], jobs: list[tuple[str, str]], quick: bool, bar: Any
) -> list[dict]:
    """Run ``jobs`` in order, each (workload, backend) on the worker for its backend."""
    distinct = list({id(w): w for w in workers.values()}.values())  # one worker, many keys
    up = {id(w): w.ready() for w in distinct}
    rows = []
    for name, key in jobs:
        w = workers[key]
        bar.set_postfix_str(f"{name} / {key}")
        rows.append(_job(w, up[id(w)], name, key, quick))
        bar.update()
    for w in distinct:
        w.close()
    return rows


CPU_ORDER = ("minigrad", "torch-cpu", "numpy", *PEER_KEYS)


def _cpu_job_order(names: list[str], has: dict[str, list[str]], quick: bool) -> list[tuple]:
    """The CPU jobs, workload by workload: minigrad, PyTorch, NumPy, the NumPy peers, and
    in a full run the same again in reverse order (A B C … C B A). ``_pool_passes`` then
    pools each row's two passes, so a drift of a shared machine's speed during a workload
    weighs on every framework alike instead of on whichever ran in the slow minute."""
    jobs = []
    for n in names:
        one = [(n, k) for k in CPU_ORDER if n in has[k]]
        jobs += one if quick else one + one[::-1]
    return jobs


def _pool_passes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (workload, backend): the samples of its passes pooled (median, min,
    max over all of them), the memory and the rest from its first successful pass."""
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["workload"], row["backend"])
        kept = first.get(key)
        if kept is None or kept["status"] != "ok":
            first[key] = row
        elif row["status"] == "ok":
            samples = kept["samples_s"] + row["samples_s"]
            kept.update(summarize(samples), samples_s=samples)
            kept["passes"] = kept.get("passes", 1) + 1
            kept["job_wall_s"] += row["job_wall_s"]
    return list(first.values())


def _cuda_note(args: argparse.Namespace, cuda_ok: bool) -> str | None:
    """Why no CUDA row runs at all (said once, in place of the rows), or None."""
    if args.device == "cpu":
        return None  # not asked for: nothing to say
    if not cuda_ok:
        prefix = "--device cuda, but " if args.device == "cuda" else ""
        return f"{prefix}PyTorch sees no CUDA device: the CUDA rows were not run"
    return None


def _cuda_skip(args: argparse.Namespace, key: str) -> str | None:
    """Why one CUDA row does not run on a machine with a device, or None when it does."""
    if args.quick and key == "cuda-compile":
        return "skipped (--quick: compiling takes minutes)"
    return None


def run_suite(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from benchmarks import report

    args.out.mkdir(parents=True, exist_ok=True)
    # The load before the suite adds its own (one busy process): what else was running.
    load_at_start = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    names = selected(args)
    has = {k: [n for n in names if k in WORKLOADS[n].backends] for k in LABELS}
    cpu_jobs = _cpu_job_order(names, has, args.quick)
    cuda_jobs = [(n, k) for n in names for k in CUDA_KEYS if n in has[k] and args.device != "cpu"]
    cpu_numpy = _worker("cpu-numpy", ["minigrad", "numpy", *PEER_KEYS], True, names, args)
    cpu_torch = _worker("cpu-torch", ["torch-cpu"], True, names, args)
    cpu_numpy.start()  # both import at once; they measure one after the other
    cpu_torch.start()
    started = time.perf_counter()
    total = len(cpu_jobs) + len(cuda_jobs)
    cuda_facts: dict[str, Any] = {}
    # No bar where stderr is not a terminal (a log file): tqdm's disable=None.
    with tqdm(total=total, desc="benchmarks", unit="job", file=sys.stderr, disable=None) as bar:
        by_key = {k: cpu_numpy for k in ("minigrad", "numpy", *PEER_KEYS)}
        by_key["torch-cpu"] = cpu_torch
        rows = _pool_passes(_run_jobs(by_key, cpu_jobs, args.quick, bar))
        cuda_ok = bool(cpu_torch.facts.get("cuda_available"))
        cuda_note = _cuda_note(args, cuda_ok)
        if cuda_note is not None:
            bar.update(len(cuda_jobs))
            cuda_jobs = []
        run = [(n, k) for n, k in cuda_jobs if _cuda_skip(args, k) is None]
        for n, k in cuda_jobs:
            if (n, k) not in run:
                rows.append(
                    {"workload": n, "backend": k, "label": LABELS[k], "status": _cuda_skip(args, k)}
                )
                bar.update()
        if run:
            cuda = _worker("cuda", list(CUDA_KEYS), False, names, args)
            rows += _run_jobs({k: cuda for k in CUDA_KEYS}, run, args.quick, bar)
            cuda_facts = cuda.facts
    facts = machine_facts(args.threads)
    facts["load_average_at_start"] = load_at_start
    for name, f in (
        ("cpu-numpy", cpu_numpy.facts),
        ("cpu-torch", cpu_torch.facts),
        ("cuda", cuda_facts),
    ):
        for k, v in f.items():
            if k == "threadpools":
                facts[f"threadpools ({name} worker)"] = v
            elif k != "error":
                facts.setdefault(k, v)
    facts.update(
        {
            "mode": "quick" if args.quick else "full",
            "device_flag": args.device,
            "cuda_rows": cuda_note or ("not run (--device cpu)" if args.device == "cpu" else "run"),
            "suite_seconds": round(time.perf_counter() - started, 1),
        }
    )
    results = report.build(rows, facts)
    report.write(results, args.out)
    print(report.summary(results, args.out))
    return 1 if any(r["status"] == "error" for r in rows) else 0


def _job(w: Worker, up: bool, name: str, key: str, quick: bool) -> dict[str, Any]:
    """Run one (workload, backend) job on worker ``w`` (``up``: it started) as a row."""
    t0 = time.perf_counter()
    if up:
        result = w.run(
            {"workload": name, "backend": key, "quick": quick}, _timeout(name, key, quick)
        )
    else:
        result = {"ok": False, "error": w.facts.get("error")}
    row: dict[str, Any] = {
        "workload": name,
        "backend": key,
        "label": LABELS[key],
        "job_wall_s": time.perf_counter() - t0,
    }
    if result.get("ok"):
        row.update({k: v for k, v in result.items() if k != "ok"})
        row["status"] = "ok"
    elif result.get("skipped"):
        row["status"] = result["skipped"]
    else:
        row["status"] = "error"
        row["error"] = result.get("error")
        if result.get("traceback"):
            row["traceback"] = result["traceback"]
    return row


def run_profile(args: argparse.Namespace) -> int:
    from benchmarks.profile import format_profile

    args.out.mkdir(parents=True, exist_ok=True)
    w = Worker(
        "profile",
        {"backends": ["minigrad"], "threads": args.threads, "fork": False, "preload": []},
        args.threads,
        args.out / "logs" / "profile.log",
    )
    if not w.ready():
        print(f"profile: worker failed: {w.facts.get('error')}", file=sys.stderr)
        return 1
    result = w.run(
        {
            "cmd": "profile",
            "workload": args.profile,
            "quick": args.quick,
            "steps": args.profile_steps,
        },
        timeout=3600,
    )
    w.close()
    if not result.get("ok"):
        print(
            f"profile {args.profile}: {result.get('error')}\n{result.get('traceback', '')}",
            file=sys.stderr,
        )
        return 1
    text = format_profile(args.profile, result)
    (args.out / f"profile_{args.profile}.md").write_text(text)
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_profile(args) if args.profile else run_suite(args)
