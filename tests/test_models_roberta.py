"""RoBERTa in minigrad against Hugging Face ``transformers`` (tiny seeded configs,
rows padded left and right with ``<pad>`` = 1, so the position ids, which count real
tokens from padding_idx + 1, and the attention mask are exercised)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import minigrad.models as mm
from comparison.encoders_compare import roberta_batch, roberta_case, roberta_config
from comparison.hf_models import to_numpy
from comparison.report import Report
from comparison.transformers_compare import run_case
from tests.hf_helpers import check_forward_backward, pair

transformers = pytest.importorskip("transformers")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_masked_lm_matches_transformers(dtype: str) -> None:
    """Hidden states, MLM logits, loss, every gradient, and 3 AdamW steps."""
    report = Report()
    run_case(report, roberta_case(dtype, steps=3), dtype, steps=3, echo=lambda s: None)
    quantities = {r.quantity.split(" (")[0] for r in report.rows}
    assert {"last_hidden_state", "logits", "loss", "gradients"} <= quantities
    assert report.passed, report.table()


def test_position_ids_are_transformers_own() -> None:
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 6, (5, 9))  # many pads (1), anywhere in the row
    ids[0] = 1  # a row of padding only
    hf = transformers.models.roberta.modeling_roberta.RobertaEmbeddings
    for past in (0, 3):
        expected = hf.create_position_ids_from_input_ids(torch.from_numpy(ids), 1, past)
        np.testing.assert_array_equal(
            mm.create_position_ids_from_input_ids(ids, 1, past), expected.numpy()
        )
    # padding_idx 1: real tokens at 2, 3, ...; padding at 1
    got = mm.create_position_ids_from_input_ids(np.array([[1, 1, 0, 7, 2], [0, 7, 2, 1, 1]]), 1)
    np.testing.assert_array_equal(got, [[1, 1, 2, 3, 4], [2, 3, 4, 1, 1]])


def test_left_and_right_padding_leave_real_tokens_unchanged() -> None:
    """Positions count real tokens only, so a sentence gives the same states whether
    padded on the left, on the right, or not at all (BERT's 0..T-1 would not)."""
    ref, ours = pair(transformers.RobertaModel, mm.RobertaModel, roberta_config())
    sentence = np.array([[0, 17, 45, 9, 2]])
    pad = np.ones((1, 3), dtype=np.int64)
    left, right = np.concatenate([pad, sentence], 1), np.concatenate([sentence, pad], 1)
    ids = np.concatenate([left, right])
    mask = (ids != 1).astype(np.int64)
    alone = ours(sentence).last_hidden_state.data[0]
    padded = ours(ids, attention_mask=mask).last_hidden_state.data
    np.testing.assert_allclose(padded[0, 3:], alone, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(padded[1, :5], alone, rtol=1e-11, atol=1e-13)
    hf = ref(torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state
    np.testing.assert_allclose(padded, to_numpy(hf), rtol=1e-10, atol=1e-13)
    # the same weights read as BERT (positions 0..T-1) give other states
    bert_config = mm.BertConfig.from_dict({**roberta_config().to_dict(), "model_type": "bert"})
    as_bert = mm.BertModel(bert_config).double().eval()
    as_bert.load_state_dict(ours.state_dict(), strict=True)
    assert not np.allclose(as_bert(sentence).last_hidden_state.data[0], alone)


@pytest.mark.parametrize(
    "num_labels, labels",
    [(3, "class"), (1, "regress"), (3, "multi")],
)
def test_sequence_classification_matches_transformers(num_labels: int, labels: str) -> None:
    config = roberta_config(num_labels=num_labels)
    ref, ours = pair(
        transformers.RobertaForSequenceClassification,
        mm.RobertaForSequenceClassification,
        config,
    )
    rng = np.random.default_rng(1)
    batch = roberta_batch(rng, config.vocab_size, 3, 10, mlm=False)
    y = {
        "class": rng.integers(0, 3, 3),
        "regress": rng.standard_normal(3),
        "multi": (rng.random((3, 3)) < 0.5).astype(np.float64),
    }[labels]
    diffs = check_forward_backward(ref, ours, {**batch, "labels": y})
    assert diffs["logits"] < 1e-12


def test_mlm_head_is_tied_and_loads_a_transformers_folder(tmp_path) -> None:
    config = roberta_config()
    ref, ours = pair(transformers.RobertaForMaskedLM, mm.RobertaForMaskedLM, config, seed=2)
    words = ours.roberta.embeddings.word_embeddings.weight
    assert ours.lm_head.decoder.weight is words
    assert ours.lm_head.bias is ours.lm_head.decoder.bias
    batch = roberta_batch(np.random.default_rng(2), config.vocab_size, 3, 8)
    check_forward_backward(ref, ours, batch)  # the tied gradient sums both uses
    # a folder written by transformers (tied decoder weight stored once) loads in full
    ref.save_pretrained(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "newly initialised" weights
        loaded = mm.RobertaForMaskedLM.from_pretrained(tmp_path).eval()
    for name, p in ours.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[name].data, p.data, err_msg=name)
    # strict loading of a transformers state dict; a BERT checkpoint is refused
    fresh = mm.RobertaForMaskedLM(config)
    mm.load_hf_state_dict(fresh, ref.state_dict(), strict=True)
    bert_dict = {**config.to_dict(), "model_type": "bert"}
    bert_ref = transformers.BertForMaskedLM(transformers.BertConfig(**bert_dict))
    with pytest.raises(RuntimeError, match="Missing key"):
        mm.load_hf_state_dict(fresh, bert_ref.state_dict(), strict=True)


def test_config_reads_hugging_face_dicts_and_checks_lengths() -> None:
    cfg = mm.RobertaConfig.from_dict(transformers.RobertaConfig().to_dict())
    assert (cfg.vocab_size, cfg.pad_token_id, cfg.bos_token_id, cfg.eos_token_id) == (
        50265,
        1,
        0,
        2,
    )
    with pytest.raises(ValueError, match="model_type='roberta'"):
        mm.BertConfig.from_dict(transformers.RobertaConfig().to_dict())
    with pytest.raises(ValueError, match="pad_token_id"):
        mm.RobertaConfig(pad_token_id=None)
    model = mm.RobertaModel(roberta_config(max_position_embeddings=10))
    model(np.full((1, 8), 5))  # positions 2..9 fit
    with pytest.raises(ValueError, match="position id 10 .* exceeds the 10 position"):
        model(np.full((1, 9), 5))
