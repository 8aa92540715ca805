"""``python -m comparison``: minigrad against PyTorch, printed as a PASS/FAIL report.

With no flags it runs every comparison on its embedded defaults (no network, no
downloads), prints the table, writes ``report.json`` and ``report.md`` to
``--out``, and exits with status 1 if any row fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from comparison.report import Report


def _progress(label: str, total: int) -> Callable[[int], None]:
    """A light progress line on stderr (tqdm when installed)."""
    try:
        from tqdm import tqdm

        bar = tqdm(total=total, desc=label, leave=False, file=sys.stderr)
        return lambda n: bar.update(n - bar.n) if n < total else bar.close()
    except ImportError:  # pragma: no cover - tqdm is an optional extra
        return lambda n: print(f"\r{label}: {n}/{total}", end="", file=sys.stderr)


def run_seed(report: Report, args: argparse.Namespace) -> None:
    from comparison.seed_network import compare_seed_network

    for dtype in args.dtypes:
        steps = args.epochs * 10
        compare_seed_network(
            report, dtype, args.epochs, on_step=_progress(f"seed-net {dtype}", steps)
        )


COMPARISONS: dict[str, Callable[[Report, argparse.Namespace], None]] = {"seed": run_seed}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m comparison",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--models", nargs="+", default=list(COMPARISONS), choices=list(COMPARISONS),
        help="which comparisons to run (default: all). seed = the mission's "
        "Linear(100,50)-ReLU-Linear(50,10) network trained with SGD",
    )
    p.add_argument(
        "--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"],
        help="run each comparison in these dtypes (both sides use the same dtype)",
    )
    p.add_argument("--epochs", type=int, default=100,
                   help="epochs of the seed network over its 640-sample set (10 steps each)")
    p.add_argument("--out", default="comparison_report", help="folder for report.json/.md")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    report = Report()
    t0 = time.perf_counter()
    for name in args.models:
        COMPARISONS[name](report, args)
    print()
    print(report.table())
    js, md = report.write(Path(args.out))
    print(f"report written to {js} and {md} ({time.perf_counter() - t0:.1f} s)")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
