"""Smoke test: every example runs (shortened where it trains) and does what it says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# (script, arguments, a fragment its output must contain)
RUNS = [
    ("seed_network.py", [], "mean loss"),
    ("newton.py", [], "minimum found at [1. 1.]"),
    ("func_transforms.py", [], "minimum found at [1. 1.]"),
    ("digits.py", ["--epochs", "2"], "pytorch"),
    ("char_gpt.py", ["--steps", "40"], "sample:"),
    ("char_lstm.py", ["--steps", "20"], "pytorch"),
    ("minilm_similarity.py", ["--compare"], ""),
    ("finetune_minilm.py", ["--steps", "3"], ""),
    ("translate.py", ["--steps", "20"], "held-out BLEU"),
]


def test_every_example_is_smoke_tested() -> None:
    scripts = {p.name for p in EXAMPLES.glob("*.py")}
    assert scripts == {r[0] for r in RUNS}, "add the new example to RUNS"


@pytest.mark.slow
@pytest.mark.parametrize("script,args,fragment", RUNS, ids=[r[0] for r in RUNS])
def test_example_runs(script: str, args: list[str], fragment: str) -> None:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    # the scripts import the minigrad of this tree, not whichever one is installed
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    if script == "seed_network.py":  # shortened: 5 epochs instead of 100
        cmd = [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, 'examples'); import seed_network; "
            "losses = seed_network.main(5); assert losses[-1] < losses[0], losses",
        ]
    else:
        cmd = [sys.executable, str(EXAMPLES / script), *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert fragment in proc.stdout, proc.stdout[-2000:]
