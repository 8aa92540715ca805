"""Translation fine-tuning side by side (minigrad vs ``transformers``) on the toy
number corpus, shortened: the loss curves, the held-out translations and their
BLEU / chrF (``sacrebleu``) must agree."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from comparison import translation as tr
from comparison.report import Report

pytest.importorskip("transformers")
pytest.importorskip("sacrebleu")
pytest.importorskip("tokenizers")


def test_corpus_file_is_what_the_script_writes() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_numbers", tr.CORPUS.parent / "make_numbers.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_numbers"] = mod
    spec.loader.exec_module(mod)
    lines = tr.CORPUS.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "split\ten\tfr"
    assert [tuple(line.split("\t")) for line in lines[1:]] == mod.rows()
    corpus = tr.load_corpus()
    assert (len(corpus["train"]), len(corpus["test"])) == (829, 170)
    assert not {en for en, _ in corpus["train"]} & {en for en, _ in corpus["test"]}
    fr = dict(corpus["train"] + corpus["test"])
    assert fr["seventy-one"] == "soixante et onze" and fr["eighty"] == "quatre-vingts"
    assert fr["two hundred"] == "deux cents" and fr["two hundred one"] == "deux cent un"


def test_tokenizer_round_trip() -> None:
    corpus = tr.load_corpus()
    tok = tr.train_tokenizer(corpus["train"])
    assert [tok.token_to_id(t) for t in tr.SPECIALS] == [tr.PAD, tr.EOS, 2]
    texts = [fr for _, fr in corpus["test"][:20]]
    ids, mask = tr.encode(tok, texts)
    assert (ids[np.arange(len(texts)), mask.sum(1) - 1] == tr.EOS).all()
    assert tr.decode(tok, ids) == texts


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_training_side_by_side_agrees(dtype: str) -> None:
    report = Report()
    settings = tr.TranslationSettings(steps=25, max_new_tokens=8)
    result = tr.compare_translation(report, dtype, settings, echo=lambda s: None)
    assert report.passed, report.table()
    losses = result["losses_minigrad"]
    assert losses[-1] < 0.7 * losses[0]  # it learns
    if dtype == "float64":
        np.testing.assert_allclose(losses, result["losses_transformers"], rtol=1e-10)
        assert result["scores_minigrad"] == result["scores_transformers"]
