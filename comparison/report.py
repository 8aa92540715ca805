"""The comparison report: one row per compared quantity, PASS/FAIL against a tolerance.

A row compares arrays ``ours`` (minigrad) and ``ref`` (PyTorch) by

    max_abs = max |ours - ref|,   max_rel = max |ours - ref| / |ref|  (where |ref| > atol)

and passes when every element satisfies ``|ours - ref| <= atol + rtol·|ref|``
(the ``numpy.allclose`` rule, so tiny reference values do not inflate the test).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Row:
    model: str
    quantity: str
    max_abs: float
    max_rel: float
    rtol: float
    atol: float
    passed: bool
    note: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def compare(
        self,
        model: str,
        quantity: str,
        ours: Any,
        ref: Any,
        rtol: float,
        atol: float,
        note: str = "",
    ) -> Row:
        a = np.asarray(ours, dtype=np.float64)
        b = np.asarray(ref, dtype=np.float64)
        if a.shape != b.shape:
            row = Row(
                model,
                quantity,
                float("inf"),
                float("inf"),
                rtol,
                atol,
                False,
                f"shape {a.shape} vs reference {b.shape}",
            )
        else:
            diff = np.abs(a - b)
            finite_match = bool(np.array_equal(np.isfinite(a), np.isfinite(b)))
            same_nonfinite = np.where(np.isfinite(b), True, (a == b) | (np.isnan(a) & np.isnan(b)))
            diff = np.where(np.isfinite(b), diff, 0.0)
            max_abs = float(diff.max()) if diff.size else 0.0
            # Relative error only where the reference is clearly non-zero: near 0 the
            # absolute tolerance is the meaningful bound, and x/0 would dominate the column.
            big = np.isfinite(b) & (np.abs(b) > max(atol, np.finfo(np.float64).tiny))
            rel = np.where(big, diff / np.where(big, np.abs(b), 1.0), 0.0)
            max_rel = float(rel.max()) if diff.size else 0.0
            ok = (
                finite_match
                and bool(np.all(same_nonfinite))
                and bool(np.all(diff <= atol + rtol * np.abs(np.where(np.isfinite(b), b, 0.0))))
            )
            row = Row(model, quantity, max_abs, max_rel, rtol, atol, ok, note)
        self.rows.append(row)
        return row

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.passed for r in self.rows)

    def table(self) -> str:
        head = f"{'model':<22} {'quantity':<44} {'max abs':>10} {'max rel':>10} {'rtol':>8}  result"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            lines.append(
                f"{r.model:<22} {r.quantity[:44]:<44} {r.max_abs:>10.2e} {r.max_rel:>10.2e} "
                f"{r.rtol:>8.0e}  {'PASS' if r.passed else 'FAIL'}{'  ' + r.note if r.note else ''}"
            )
        n_fail = sum(not r.passed for r in self.rows)
        lines.append(f"{len(self.rows) - n_fail} passed, {n_fail} failed")
        lines.append(f"OVERALL: {'PASS' if self.passed else 'FAIL'}")
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [
            "| model | quantity | max abs diff | max rel diff | rtol | atol | result |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for r in self.rows:
            lines.append(
                f"| {r.model} | {r.quantity} | {r.max_abs:.2e} | {r.max_rel:.2e} | {r.rtol:.0e} "
                f"| {r.atol:.0e} | {'PASS' if r.passed else 'FAIL'} |"
            )
        lines.append("")
        lines.append(f"**Overall: {'PASS' if self.passed else 'FAIL'}**")
        return "\n".join(lines) + "\n"

    def write(self, out_dir: Path) -> tuple[Path, Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        js = out_dir / "report.json"
        md = out_dir / "report.md"
        payload = {
            "passed": self.passed,
            "rows": [asdict(r) for r in self.rows],
            "extras": self.extras,
        }
        js.write_text(json.dumps(payload, indent=2, default=_jsonable))
        md.write_text("# minigrad vs PyTorch: equivalence report\n\n" + self.markdown())
        return js, md


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")
