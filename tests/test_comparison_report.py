"""The comparison report as a sceptic reads it: every row shows rtol, atol and the
``worst / allowed`` ratio its verdict rests on; the rule is printed with the table, in
``--help`` and in both files; both files record how the report was made."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np
import pytest
import torch

import minigrad
from comparison.__main__ import build_parser, main
from comparison.provenance import provenance
from comparison.report import RULE, Report

RULE_TEXT = "|a - ref| <= atol + rtol·|ref|"


def _ratio(ours: np.ndarray, ref: np.ndarray, rtol: float, atol: float) -> float:
    return float(np.max(np.abs(ours - ref) / (atol + rtol * np.abs(ref))))


def test_ratio_is_the_verdict_and_agrees_with_torch_allclose() -> None:
    rng = np.random.default_rng(0)
    ref = rng.standard_normal(50)
    ref[:5] = 1e-5  # small references: the atol term carries the allowance there
    rtol, atol = 1e-4, 1e-6
    report = Report()
    # max rel far above rtol (the tiny entries) and still within the rule
    near = ref.copy()
    near[:5] += 5e-7
    far = ref * (1 + 3e-4)
    for name, ours in (("near", near), ("far", far)):
        row = report.compare("m", name, ours, ref, rtol, atol)
        expected = _ratio(ours, ref, rtol, atol)
        assert row.worst_over_allowed == pytest.approx(expected, rel=1e-12)
        allclose = torch.allclose(
            torch.from_numpy(ours), torch.from_numpy(ref), rtol=rtol, atol=atol
        )
        assert row.passed == allclose == (row.worst_over_allowed <= 1)
    near_row, far_row = report.rows
    assert near_row.passed and near_row.max_rel > rtol  # the case the ratio explains
    assert not far_row.passed and far_row.worst_over_allowed > 1
    assert not report.passed


def test_non_finite_and_shape_mismatches_fail_with_an_infinite_ratio() -> None:
    report = Report()
    ref = np.array([1.0, np.inf, np.nan])
    assert report.compare("m", "same", ref.copy(), ref, 1e-4, 1e-6).worst_over_allowed == 0
    for ours in ([1.0, 1.0, np.nan], [np.nan, np.inf, np.nan], [1.0, -np.inf, np.nan]):
        row = report.compare("m", "bad", np.array(ours), ref, 1e-4, 1e-6)
        assert not row.passed and row.worst_over_allowed == np.inf
    row = report.compare("m", "shape", np.zeros(3), np.zeros(4), 1e-4, 1e-6, note="why")
    assert not row.passed and "(3,)" in row.note and "(4,)" in row.note and "why" in row.note
    empty = report.compare("m", "empty", np.zeros(0), np.zeros(0), 1e-4, 0.0)
    assert empty.passed and empty.worst_over_allowed == 0
    # atol 0 and an exact-zero reference: any difference is infinitely over the allowance
    assert report.compare("m", "zero", [1e-30], [0.0], 1e-4, 0.0).worst_over_allowed == np.inf


def test_files_keep_every_column_the_rule_and_the_provenance(tmp_path: Path) -> None:
    report = Report()
    report.compare("seed-net/float32", "gradients | all", [1.0, 2.0], [1.0, 2.0001], 1e-4, 1e-6)
    report.compare("gpt2/float32", "logits", [1.0], [1.1], 1e-4, 1e-6, note="worst: wte.weight")
    report.provenance = provenance(["--models", "seed"], "cpu")
    table = report.table()
    assert "worst/allowed" in table and "atol" in table and "worst: wte.weight" in table
    assert RULE_TEXT in table.replace("\n", " ")
    js, md = report.write(tmp_path)

    payload = json.loads(js.read_text(), parse_constant=_not_json)  # strict JSON
    assert payload["rule"] == RULE and RULE_TEXT in RULE
    rows = payload["rows"]
    assert {"rtol", "atol", "worst_over_allowed", "note", "max_abs", "max_rel"} <= set(rows[0])
    assert rows[0]["worst_over_allowed"] == pytest.approx(1e-4 / (1e-6 + 1e-4 * 2.0001))
    prov = payload["provenance"]
    versions = prov["versions"]
    assert versions["minigrad"] == minigrad.__version__
    assert versions["numpy"] == np.__version__ and versions["torch"] == torch.__version__
    assert versions["transformers"] is not None and "minigrad_commit" in versions
    assert prov["command"] == "python -m comparison --models seed"
    assert prov["machine"]["platform"] == platform.platform() and prov["machine"]["cores"] >= 1
    assert prov["devices"]["reference"] == "cpu" and prov["date"].endswith("+00:00")

    text = md.read_text()
    assert RULE in text
    header = next(line for line in text.splitlines() if line.startswith("| model"))
    for column in ("rtol", "atol", "worst / allowed", "result", "notes"):
        assert column in header
    assert "worst: wte.weight" in text and "gradients \\| all" in text  # cell pipes escaped
    for fact in (versions["numpy"], versions["torch"], prov["command"], prov["date"]):
        assert fact in text


def test_report_json_is_strict_json_with_infinite_ratios(tmp_path: Path) -> None:
    report = Report()
    report.compare("m", "shape", np.zeros(3), np.zeros(4), 1e-4, 1e-6)
    report.extras["m"] = {"losses": np.array([1.0, np.nan]), "steps": np.int64(2)}
    js, _ = report.write(tmp_path)
    payload = json.loads(js.read_text(), parse_constant=_not_json)
    assert payload["rows"][0]["worst_over_allowed"] == "inf" and not payload["passed"]
    assert payload["extras"]["m"] == {"losses": [1.0, "nan"], "steps": 2}


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def test_help_states_the_rule(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert RULE_TEXT in out and "worst/allowed" in out


def test_main_records_the_command_line(tmp_path: Path) -> None:
    argv = ["--models", "seed", "--epochs", "1", "--dtypes", "float64", "--out", str(tmp_path)]
    assert main(argv) == 0
    payload = json.loads((tmp_path / "report.json").read_text())
    assert payload["provenance"]["command"] == "python -m comparison " + " ".join(argv)
    assert all(r["worst_over_allowed"] <= 1 for r in payload["rows"])
