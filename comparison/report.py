"""The comparison report: one row per compared quantity, PASS/FAIL against a tolerance.

A row compares arrays ``a`` (minigrad) and ``ref`` (PyTorch / transformers) element by
element. It passes when every element satisfies

    |a - ref| <= atol + rtol·|ref|

(the ``numpy.allclose`` rule, so tiny reference values do not inflate the test), that
is when the row's ``worst / allowed`` ratio

    max_i |a_i - ref_i| / (atol + rtol·|ref_i|)

is at most 1. The row also shows ``max abs`` = max |a - ref| and ``max rel`` =
max |a - ref| / |ref| (over |ref| > atol). Where |ref| is small the atol term carries
the allowance, so ``max rel`` can exceed ``rtol`` in a passing row; the ratio is the
number the verdict rests on. Non-finite reference values must be matched exactly
(inf by the same inf, NaN by NaN); a mismatch makes the ratio inf.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

RULE = (
    "PASS when every element satisfies |a - ref| <= atol + rtol·|ref| "
    "(a: minigrad, ref: PyTorch / transformers), i.e. when worst/allowed = "
    "max |a - ref| / (atol + rtol·|ref|) <= 1. Where |ref| is small the atol term "
    "dominates, so max rel may exceed rtol in a passing row."
)


@dataclass
class Row:
    model: str
    quantity: str
    max_abs: float
    max_rel: float
    rtol: float
    atol: float
    worst_over_allowed: float  # max_i |a_i - ref_i| / (atol + rtol·|ref_i|); PASS iff <= 1
    passed: bool
    note: str = ""


def compare_arrays(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> tuple[float, ...]:
    """``(max_abs, max_rel, worst_over_allowed)`` of ``a`` against the reference ``b``
    (same shapes, float64)."""
    if a.size == 0:
        return 0.0, 0.0, 0.0
    finite = np.isfinite(b)
    same_nonfinite = (a == b) | (np.isnan(a) & np.isnan(b))
    # An element fails outright when its finiteness differs from the reference's.
    mismatch = np.where(finite, ~np.isfinite(a), ~same_nonfinite)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.where(finite & ~mismatch, np.abs(a - b), 0.0)
        mag = np.abs(np.where(finite, b, 0.0))
        allowed = atol + rtol * mag
        ratio = np.where(diff == 0, 0.0, diff / allowed)  # diff > 0 with allowed 0: inf
        # Relative error only where the reference is clearly non-zero: near 0 the
        # absolute tolerance is the meaningful bound, and x/0 would dominate the column.
        big = finite & (mag > max(atol, np.finfo(np.float64).tiny))
        rel = np.where(big, diff / np.where(big, mag, 1.0), 0.0)
    if mismatch.any():
        return float("inf"), float("inf"), float("inf")
    return float(diff.max()), float(rel.max()), float(ratio.max())


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

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
            inf = float("inf")
            note = f"shape {a.shape} vs reference {b.shape}" + (f"; {note}" if note else "")
            row = Row(model, quantity, inf, inf, rtol, atol, inf, False, note)
        else:
            max_abs, max_rel, worst = compare_arrays(a, b, rtol, atol)
            row = Row(model, quantity, max_abs, max_rel, rtol, atol, worst, worst <= 1.0, note)
        self.rows.append(row)
        return row

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.passed for r in self.rows)

    def _summary(self) -> str:
        n_fail = sum(not r.passed for r in self.rows)
        return f"{len(self.rows) - n_fail} passed, {n_fail} failed"

    def table(self) -> str:
        head = (
            f"{'model':<22} {'quantity':<44} {'max abs':>9} {'max rel':>9} {'rtol':>7} "
            f"{'atol':>7} {'worst/allowed':>13}  result"
        )
        lines = [textwrap.fill(RULE, 100), "", head, "-" * len(head)]
        for r in self.rows:
            lines.append(
                f"{r.model:<22} {r.quantity[:44]:<44} {r.max_abs:>9.2e} {r.max_rel:>9.2e} "
                f"{r.rtol:>7.0e} {r.atol:>7.0e} {r.worst_over_allowed:>13.3g}  "
                f"{'PASS' if r.passed else 'FAIL'}{'  ' + r.note if r.note else ''}"
            )
        lines.append(self._summary())
        lines.append(f"OVERALL: {'PASS' if self.passed else 'FAIL'}")
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [
            f"**Rule.** {RULE}",
            "",
            "| model | quantity | max abs diff | max rel diff | rtol | atol | worst / allowed "
            "| result | notes |",
            "|---|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for r in self.rows:
            cells = [
                r.model,
                r.quantity,
                f"{r.max_abs:.2e}",
                f"{r.max_rel:.2e}",
                f"{r.rtol:.0e}",
                f"{r.atol:.0e}",
                f"{r.worst_over_allowed:.3g}",
                "PASS" if r.passed else "FAIL",
                r.note,
            ]
            lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
        lines.append("")
        lines.append(f"{self._summary()}. **Overall: {'PASS' if self.passed else 'FAIL'}**")
        return "\n".join(lines) + "\n"

    def provenance_markdown(self) -> str:
        """The provenance as a bulleted list (empty when none was recorded)."""
        p = self.provenance
        if not p:
            return ""
        versions = ", ".join(f"{k} {'n/a' if v is None else v}" for k, v in p["versions"].items())
        m = p["machine"]
        lines = [
            f"- date (UTC): {p['date']}",
            f"- command: `{p['command']}`",
            f"- versions: {versions}",
            f"- machine: {m['platform']}; CPU {m['cpu']}; {m['cores']} cores",
            f"- devices: minigrad on {p['devices']['minigrad']}, reference on "
            f"{p['devices']['reference']}",
        ]
        return "\n".join(lines) + "\n"

    def write(self, out_dir: Path) -> tuple[Path, Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        js = out_dir / "report.json"
        md = out_dir / "report.md"
        payload = {
            "passed": self.passed,
            "rule": RULE,
            "provenance": self.provenance,
            "rows": [asdict(r) for r in self.rows],
            "extras": self.extras,
        }
        js.write_text(json.dumps(_strict_json(payload), indent=2, allow_nan=False))
        head = "# minigrad vs PyTorch: equivalence report\n\n"
        prov = self.provenance_markdown()
        md.write_text(head + (prov + "\n" if prov else "") + self.markdown())
        return js, md


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _strict_json(x: Any) -> Any:
    """``x`` with arrays as lists and non-finite floats as the strings "inf", "-inf" and
    "nan": strict JSON, which every reader accepts (``Infinity`` is not JSON)."""
    if isinstance(x, dict):
        return {k: _strict_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_strict_json(v) for v in x]
    if isinstance(x, (np.ndarray, np.generic)):
        return _strict_json(x.tolist())
    if isinstance(x, float) and not np.isfinite(x):
        return str(x)
    if x is None or isinstance(x, (str, int, float)):
        return x
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")
