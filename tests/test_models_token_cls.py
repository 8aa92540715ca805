"""Token classification (BERT and RoBERTa) and standalone next-sentence prediction
against Hugging Face ``transformers`` (tiny seeded configs, padded batches)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad
import minigrad.models as mm
from comparison.encoders_compare import (
    TOKEN_LABELS,
    bert_token_cls_case,
    roberta_config,
    roberta_token_cls_case,
)
from comparison.hf_models import bert_config
from comparison.report import Report
from comparison.transformers_compare import bert_batch, run_case
from tests.hf_helpers import check_forward_backward, pair

transformers = pytest.importorskip("transformers")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("make_case", [bert_token_cls_case, roberta_token_cls_case])
def test_token_classification_matches_transformers(make_case, dtype: str) -> None:
    """Hidden states, per-token logits, the loss (-100 ignored), every gradient and
    3 AdamW steps."""
    report = Report()
    run_case(report, make_case(dtype, steps=3), dtype, steps=3, echo=lambda s: None)
    quantities = {r.quantity.split(" (")[0] for r in report.rows}
    assert {"last_hidden_state", "logits", "loss", "gradients"} <= quantities
    assert report.passed, report.table()


@pytest.mark.parametrize("model", ["Bert", "Roberta"])
def test_ignored_labels_take_no_part_in_the_loss(model: str) -> None:
    config = (
        bert_config(num_labels=TOKEN_LABELS)
        if model == "Bert"
        else roberta_config(num_labels=TOKEN_LABELS)
    )
    name = f"{model}ForTokenClassification"
    ref, ours = pair(getattr(transformers, name), getattr(mm, name), config)
    d = bert_batch(np.random.default_rng(3), 100, 2, 7)
    ids, mask = d["input_ids"], d["attention_mask"]
    labels = np.full(ids.shape, -100)
    labels[0, 2], labels[1, 1] = 4, 0  # two labelled tokens
    diffs = check_forward_backward(
        ref, ours, {"input_ids": ids, "attention_mask": mask, "labels": labels}
    )
    assert diffs["loss"] < 1e-14
    logits = ours(ids, attention_mask=mask).logits.data
    expected = torch.nn.functional.cross_entropy(
        torch.from_numpy(logits[[0, 1], [2, 1]]), torch.tensor([4, 0])
    )
    loss = ours(ids, attention_mask=mask, labels=labels).loss
    assert loss.item() == pytest.approx(expected.item(), rel=1e-13)
    # every label ignored: the mean over no token is NaN, as in transformers
    none = np.full(ids.shape, -100)
    ref_none = ref(torch.from_numpy(ids), labels=torch.from_numpy(none)).loss
    assert np.isnan(ours(ids, labels=none).loss.item()) and torch.isnan(ref_none)


def test_token_classifier_dropout_in_training_only() -> None:
    config = bert_config(num_labels=3, classifier_dropout=0.5)
    ours = mm.BertForTokenClassification(config).double()
    assert ours.dropout.p == 0.5
    ids = np.random.default_rng(4).integers(1, 100, (2, 6))
    ours.eval()
    a = ours(ids).logits.data
    np.testing.assert_array_equal(a, ours(ids).logits.data)
    ours.train()
    minigrad.manual_seed(0)
    assert not np.allclose(ours(ids).logits.data, a)


def test_next_sentence_prediction_matches_transformers() -> None:
    config = bert_config()
    ref, ours = pair(
        transformers.BertForNextSentencePrediction, mm.BertForNextSentencePrediction, config
    )
    d = bert_batch(np.random.default_rng(5), 100, 4, 9)
    batch = {k: d[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    diffs = check_forward_backward(ref, ours, {**batch, "labels": d["next_sentence_label"]})
    assert diffs["logits"] < 1e-12
    out = ours(**batch)
    assert out.loss is None and out.logits.shape == (4, 2)
    # the head is the pre-training model's cls.seq_relationship: its weights load as is
    pre = mm.BertForPreTraining(config).double().eval()
    nsp_keys = {k for k in pre.state_dict() if not k.startswith("cls.predictions")}
    mm.load_hf_state_dict(ours, {k: pre.state_dict()[k] for k in nsp_keys}, strict=True)
    np.testing.assert_allclose(
        ours(**batch).logits.data, pre(**batch).seq_relationship_logits.data, rtol=1e-13
    )


def test_a_row_without_real_tokens_gives_transformers_numbers() -> None:
    """Attention through F.scaled_dot_product_attention with Hugging Face's additive
    finfo.min mask: a row whose mask is all 0 attends uniformly (no NaN), as HF."""
    config = bert_config(num_labels=3)
    ref, ours = pair(transformers.BertForTokenClassification, mm.BertForTokenClassification, config)
    ids = np.array([[5, 6, 7, 8], [9, 10, 0, 0]])
    mask = np.array([[0, 0, 0, 0], [1, 1, 0, 0]])
    out = ours(ids, attention_mask=mask).logits.data
    expected = ref(torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).logits
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-10, atol=1e-13)
