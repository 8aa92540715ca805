"""``python -m benchmarks.ddp``: data-parallel training step time at 1 and 2 processes.

Each configuration is started as ranks of one job on this host (``minigrad.distributed
.launch``: the environment torchrun sets), one BLAS thread per rank, gloo over
127.0.0.1. Every rank trains the same model on its own batch of ``--batch`` samples
(weak scaling: the global batch grows with the ranks), so with perfect scaling the step
time stays flat and

    scaling efficiency = t_step(1 process) / t_step(W processes)

(samples per second grow W-fold exactly when it is 1). The step is the suite's:
``zero_grad -> forward -> loss -> backward (+ bucketed all-reduce) -> Adam step``.
Also reported: the bytes all-reduced per step (every bucket, once) and the buckets.
The table goes to the screen and to ``--out`` (default ``benchmarks/out``): ``ddp.md``
(with the machine's load average) and ``ddp.json``; the suite's ``results.md`` includes
the ``ddp.md`` it finds in its own output folder.
On a machine with fewer free cores than ranks, the ranks share cores and the
efficiency measures that sharing, not the communication: the core count is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODELS = {"mission_net": (100, 50, 10), "wide_mlp": (784, 512, 512, 10)}


def _rank_main(args: argparse.Namespace) -> None:
    import minigrad
    import minigrad.distributed as dist
    from minigrad import nn

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    sizes = MODELS[args.model]
    minigrad.manual_seed(0)
    layers: list[Any] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
    model = dist.DistributedDataParallel(nn.Sequential(*layers), bucket_cap_mb=args.bucket_mb)
    rng = np.random.default_rng(rank)
    x = minigrad.tensor(rng.standard_normal((args.batch, sizes[0]), dtype=np.float32))
    y = minigrad.tensor(rng.integers(0, sizes[-1], args.batch))
    opt = minigrad.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    times = []
    import torch.distributed as torch_dist

    torch_dist.barrier()
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    # The communication alone: all-reduces of the same bytes, back to back.
    import torch

    flat = torch.from_numpy(np.concatenate([b.flat for b in model._buckets]))
    comm = []
    for _ in range(max(5, args.steps // 2)):
        t0 = time.perf_counter()
        torch_dist.all_reduce(flat)
        comm.append(time.perf_counter() - t0)
    result = {
        "allreduce_s": statistics.median(comm),
        "rank": rank,
        "world_size": world,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "bytes_per_step": model.bytes_per_sync,
        "buckets": len(model._buckets),
    }
    print("RESULT " + json.dumps(result), flush=True)
    dist.destroy_process_group()


def _run(world: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    from minigrad.distributed.launch import launch

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.update({v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    argv = [sys.executable, "-m", "benchmarks.ddp", "--rank-main", *args.passthrough]
    results = launch(argv, world, env=env, timeout=args.timeout, cwd=str(ROOT))
    rows = []
    for r in results:
        if r.returncode != 0:
            raise RuntimeError(f"a rank of the {world}-process run failed:\n{r.stderr[-3000:]}")
        lines = r.stdout.splitlines()
        rows += [json.loads(line[7:]) for line in lines if line.startswith("RESULT ")]
    return rows


def table(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """The Markdown section: the setup (with the load average before the runs) and one row per
    process count; fills each row's ``efficiency`` (None without a 1-process row)."""
    from benchmarks.machine import available_cores

    base = rows[0]["median_s"] if rows and rows[0]["world_size"] == 1 else None
    sizes = "-".join(map(str, MODELS[args.model]))
    lines = [
        "## Data-parallel scaling (`python -m benchmarks.ddp`)",
        "",
        f"DDP {args.model} {sizes}, batch {args.batch} per rank (weak scaling), Adam, "
        f"{args.steps} timed steps after {args.warmup}, gloo on 127.0.0.1, 1 BLAS thread per "
        f"rank; {available_cores()} cores available, load average "
        + ", ".join(f"{x:.2f}" for x in args.load)
        + ". Scaling efficiency = step time at 1 process / step time at W processes.",
        "",
        "| processes | step (median) | samples/s | scaling efficiency "
        "| bytes all-reduced / step | buckets | all-reduce of those bytes alone |",
        "|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        r["efficiency"] = base / r["median_s"] if base else None
        eff = "—" if r["efficiency"] is None else f"{100 * r['efficiency']:.0f}%"
        lines.append(
            f"| {r['world_size']} | {1e3 * r['median_s']:.2f} ms | {r['samples_per_s']:,.0f} "
            f"| {eff} | {r['bytes_per_step']:,} | {r['buckets']} "
            f"| {1e3 * r['allreduce_s']:.2f} ms |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.ddp", description=(__doc__ or "").split("\n")[0]
    )
    p.add_argument("--model", choices=sorted(MODELS), default="wide_mlp")
    p.add_argument("--batch", type=int, default=128, help="samples per rank and step")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--bucket-mb", type=float, default=25.0)
    p.add_argument("--procs", default="1,2", help="process counts, comma-separated")
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out", help="output folder")
    p.add_argument("--json", type=Path, help="also write the rows alone here")
    p.add_argument("--rank-main", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rank_main:
        _rank_main(args)
        return 0
    args.passthrough = [
        f"--model={args.model}",
        f"--batch={args.batch}",
        f"--steps={args.steps}",
        f"--warmup={args.warmup}",
        f"--bucket-mb={args.bucket_mb}",
    ]
    args.load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    rows = []
    for world in (int(w) for w in args.procs.split(",")):
        ranks = _run(world, args)
        slowest = max(ranks, key=lambda r: r["median_s"])  # the step ends with the slowest
        rate = world * args.batch / slowest["median_s"]
        rows.append({**slowest, "world_size": world, "samples_per_s": rate})
    text = table(rows, args)
    print(text, end="")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ddp.md").write_text(text)
    record = {"load_average": list(args.load), "rows": rows}
    (args.out / "ddp.json").write_text(json.dumps(record, indent=2) + "\n")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"written: {args.out / 'ddp.md'}, {args.out / 'ddp.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
