"""Digits, reduced: the MLP and the CNN of examples/digits.py train in minigrad as in
PyTorch -- step for step in float64 with dropout off, and to the same accuracy in
float32 with dropout on."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import digits  # noqa: E402


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_float64_training_matches_pytorch_step_for_step(model: str) -> None:
    data = digits.load_data(dtype="float64")
    data = (data[0][:256], data[1][:256], data[2], data[3])  # 4 batches an epoch
    state = digits.initial_state(model, dtype="float64")
    kw = dict(epochs=2, dropout=0.0, dtype="float64")
    ours = digits.train("minigrad", model, state, data, **kw)
    ref = digits.train("pytorch", model, state, data, **kw)
    # Adam, a cosine schedule, BatchNorm (running statistics included), conv and pooling
    np.testing.assert_allclose(ours.losses, ref.losses, rtol=1e-9)
    assert ours.test_accuracy == ref.test_accuracy


@pytest.mark.slow
@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_reduced_run_reaches_the_same_accuracy(model: str) -> None:
    data = digits.load_data()
    state = digits.initial_state(model)
    ours = digits.train("minigrad", model, state, data, epochs=4)
    ref = digits.train("pytorch", model, state, data, epochs=4)
    assert ours.test_accuracy >= 0.9 and ref.test_accuracy >= 0.9
    assert abs(ours.test_accuracy - ref.test_accuracy) <= 0.03
