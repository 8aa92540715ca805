"""BERT in minigrad against Hugging Face ``transformers`` (tiny configs, seeded):
the encoder, the pre-training heads (MLM + NSP), masked LM and sequence
classification."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad
import minigrad.models as mm
from comparison.hf_models import hf_model, minigrad_twin, to_numpy
from comparison.report import Report
from comparison.transformers_compare import (
    _named_grads_ours,
    _named_grads_ref,
    bert_batch,
    bert_case,
    run_case,
)

transformers = pytest.importorskip("transformers")
CPU = torch.device("cpu")
TINY = {
    "vocab_size": 100,
    "max_position_embeddings": 64,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
}


def pair(hf_name: str, ours_cls, dtype: str = "float64", seed: int = 0, **overrides):
    config = mm.BertConfig(**{**TINY, **overrides})
    ref = hf_model(getattr(transformers, hf_name), config, seed, dtype, CPU)
    return ref.eval(), minigrad_twin(ours_cls, config, ref, dtype).eval()


def batch(seed: int = 0, b: int = 3, t: int = 10) -> dict[str, np.ndarray]:
    return bert_batch(np.random.default_rng(seed), 100, b, t)


def torch_batch(d: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v) for k, v in d.items()}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_pretraining_heads_match_transformers(dtype: str) -> None:
    """Encoder output, MLM and NSP scores, the combined loss, every gradient, and the
    parameters after 3 AdamW steps."""
    report = Report()
    run_case(report, bert_case(dtype, "cpu", steps=3), dtype, steps=3, echo=lambda s: None)
    quantities = {r.quantity.split(" (")[0] for r in report.rows}
    assert {
        "last_hidden_state",
        "prediction_logits",
        "seq_relationship_logits",
        "loss",
        "gradients",
        "parameters after 3 AdamW steps"
        if dtype == "float64"
        else "share of params within 1e-4, 3 AdamW steps",
    } <= quantities
    assert report.passed, report.table()


def test_pretraining_loss_is_mlm_plus_nsp() -> None:
    _, ours = pair("BertForPreTraining", mm.BertForPreTraining)
    d = batch(1)
    out = ours(**d)
    v = out.prediction_logits.shape[-1]
    mlm = torch.nn.functional.cross_entropy(
        torch.from_numpy(out.prediction_logits.data.reshape(-1, v)),
        torch.from_numpy(d["labels"].reshape(-1)),
        ignore_index=-100,
    )
    nsp = torch.nn.functional.cross_entropy(
        torch.from_numpy(out.seq_relationship_logits.data),
        torch.from_numpy(d["next_sentence_label"]),
    )
    assert out.loss.item() == pytest.approx((mlm + nsp).item(), rel=1e-12)
    assert ours(d["input_ids"], d["attention_mask"], d["token_type_ids"]).loss is None


@pytest.mark.parametrize(
    "hf_name, ours_cls, num_labels, labels",
    [
        ("BertForMaskedLM", mm.BertForMaskedLM, 2, "mlm"),
        ("BertForSequenceClassification", mm.BertForSequenceClassification, 3, "class"),
        ("BertForSequenceClassification", mm.BertForSequenceClassification, 1, "regress"),
    ],
)
def test_other_heads_match_transformers(hf_name, ours_cls, num_labels, labels) -> None:
    ref, ours = pair(hf_name, ours_cls, num_labels=num_labels)
    d = batch(2)
    inputs = {k: d[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    rng = np.random.default_rng(0)
    y = {"mlm": d["labels"], "class": rng.integers(0, 3, 3), "regress": rng.standard_normal(3)}[
        labels
    ]
    out_ref = ref(**torch_batch(inputs), labels=torch.from_numpy(y))
    out = ours(**inputs, labels=y)
    np.testing.assert_allclose(out.logits.data, to_numpy(out_ref.logits), rtol=1e-10, atol=1e-13)
    assert out.loss.item() == pytest.approx(out_ref.loss.item(), rel=1e-10)
    out_ref.loss.backward()
    out.loss.backward()
    g_ours, g_ref = _named_grads_ours(ours), _named_grads_ref(ref)
    assert set(g_ours) == set(g_ref)
    for name in g_ref:
        np.testing.assert_allclose(g_ours[name], g_ref[name], rtol=1e-8, atol=1e-12, err_msg=name)


def test_mlm_decoder_is_tied_to_word_embeddings() -> None:
    ref, ours = pair("BertForPreTraining", mm.BertForPreTraining)
    words = ours.bert.embeddings.word_embeddings.weight
    head = ours.cls.predictions
    assert head.decoder.weight is words and head.bias is head.decoder.bias
    names = [n for n, _ in ours.named_parameters()]
    assert names == [n for n, _ in ref.named_parameters()]  # HF's names, HF's order
    ours(**batch(3)).loss.backward()
    ref(**torch_batch(batch(3))).loss.backward()
    # one Parameter, its gradient the sum of the embedding and decoder uses (as HF)
    np.testing.assert_allclose(
        words.grad.data,
        to_numpy(ref.bert.embeddings.word_embeddings.weight.grad),
        rtol=1e-9,
        atol=1e-14,
    )
    # the padding row gets gradient only from the decoder
    untied = mm.BertForPreTraining(mm.BertConfig(**TINY, tie_word_embeddings=False)).double()
    untied.load_state_dict(ours.state_dict(), strict=True)
    untied.eval()
    untied(**batch(3)).loss.backward()
    np.testing.assert_allclose(
        words.grad.data,
        untied.bert.embeddings.word_embeddings.weight.grad.data
        + untied.cls.predictions.decoder.weight.grad.data,
        rtol=1e-12,
        atol=1e-15,
    )
    assert np.all(untied.bert.embeddings.word_embeddings.weight.grad.data[0] == 0)


def test_padding_changes_nothing_for_real_tokens() -> None:
    ref, ours = pair("BertModel", mm.BertModel)
    rng = np.random.default_rng(4)
    short, long = rng.integers(1, 100, (1, 4)), rng.integers(1, 100, (1, 9))
    ids = np.zeros((2, 9), dtype=np.int64)
    ids[0, :4], ids[1] = short[0], long[0]
    mask = (np.arange(9) < np.array([[4], [9]])).astype(np.int64)
    alone = ours(short)
    padded = ours(ids, attention_mask=mask)
    np.testing.assert_allclose(
        padded.last_hidden_state.data[0, :4],
        alone.last_hidden_state.data[0],
        rtol=1e-11,
        atol=1e-13,
    )
    np.testing.assert_allclose(
        padded.pooler_output.data[0], alone.pooler_output.data[0], rtol=1e-11, atol=1e-13
    )
    hf = ref(torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
    np.testing.assert_allclose(
        padded.last_hidden_state.data, to_numpy(hf.last_hidden_state), rtol=1e-10, atol=1e-13
    )
    # without the mask the padding is attended to, and the result changes
    unmasked = ours(ids).last_hidden_state.data
    assert not np.allclose(unmasked[0, :4], alone.last_hidden_state.data[0])


def test_token_types_and_positions_are_used_as_in_transformers() -> None:
    ref, ours = pair("BertModel", mm.BertModel)
    ids = np.random.default_rng(5).integers(1, 100, (2, 6))
    types = np.array([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 1]])
    pos = np.array([[5, 6, 7, 8, 9, 10], [0, 1, 2, 3, 4, 5]])
    with_types = ours(ids, token_type_ids=types, position_ids=pos).last_hidden_state.data
    hf = ref(
        torch.from_numpy(ids),
        token_type_ids=torch.from_numpy(types),
        position_ids=torch.from_numpy(pos),
    ).last_hidden_state
    np.testing.assert_allclose(with_types, to_numpy(hf), rtol=1e-10, atol=1e-13)
    assert not np.allclose(with_types, ours(ids, position_ids=pos).last_hidden_state.data)


def test_dropout_active_in_train_and_off_in_eval() -> None:
    ref, ours = pair(
        "BertModel", mm.BertModel, hidden_dropout_prob=0.2, attention_probs_dropout_prob=0.2
    )
    d = batch(6)
    inputs = {k: d[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    a = ours(**inputs).last_hidden_state.data
    np.testing.assert_array_equal(a, ours(**inputs).last_hidden_state.data)
    np.testing.assert_allclose(
        a, to_numpy(ref(**torch_batch(inputs)).last_hidden_state), rtol=1e-10, atol=1e-13
    )
    ours.train()
    minigrad.manual_seed(0)
    b = ours(**inputs).last_hidden_state
    c = ours(**inputs).last_hidden_state.data
    assert not np.allclose(b.data, a) and not np.allclose(b.data, c)
    b.sum().backward()  # gradients flow through the dropout masks
    assert ours.encoder.layer[0].attention.self.query.weight.grad is not None
    ours.eval()
    np.testing.assert_array_equal(ours(**inputs).last_hidden_state.data, a)


def test_state_dict_round_trip_and_checkpoint_quirks() -> None:
    ref, ours = pair("BertForPreTraining", mm.BertForPreTraining, seed=3)
    d = batch(7)
    expected = ours(**d).prediction_logits.data
    sd = ours.state_dict()
    assert set(sd) == set(ref.state_dict())
    fresh = mm.BertForPreTraining(mm.BertConfig(**TINY)).double().eval()
    fresh.load_state_dict(sd, strict=True)
    np.testing.assert_array_equal(fresh(**d).prediction_logits.data, expected)

    # a bare-encoder checkpoint with the legacy position_ids buffer, as MiniLM ships
    bare = {
        k.removeprefix("bert."): v for k, v in ref.state_dict().items() if k.startswith("bert.")
    }
    bare["embeddings.position_ids"] = torch.arange(64)[None]
    enc = mm.BertModel(mm.BertConfig(**TINY)).double().eval()
    mm.load_hf_state_dict(enc, bare, strict=True)
    np.testing.assert_array_equal(
        enc(d["input_ids"]).last_hidden_state.data, ours.bert(d["input_ids"]).last_hidden_state.data
    )
    # ... which lacks the heads of a pre-training model: strict loading says so
    with pytest.raises(RuntimeError, match="Missing key.*cls.seq_relationship"):
        mm.load_hf_state_dict(mm.BertForPreTraining(mm.BertConfig(**TINY)), bare, strict=True)
    # ... and a full checkpoint loads into the bare encoder (the heads are dropped)
    enc2 = mm.BertModel(mm.BertConfig(**TINY)).double().eval()
    mm.load_hf_state_dict(enc2, ref.state_dict(), strict=True)
    np.testing.assert_array_equal(
        enc2(d["input_ids"]).last_hidden_state.data,
        ours.bert(d["input_ids"]).last_hidden_state.data,
    )


def test_config_reads_hugging_face_dicts() -> None:
    hf_cfg = transformers.BertConfig(
        hidden_size=48,
        num_attention_heads=3,
        hidden_act="gelu_new",
        layer_norm_eps=1e-7,
        attention_probs_dropout_prob=0.25,
        type_vocab_size=3,
        pad_token_id=1,
        num_labels=5,
    )
    cfg = mm.BertConfig.from_dict(hf_cfg.to_dict())
    assert (cfg.hidden_size, cfg.num_attention_heads, cfg.hidden_act) == (48, 3, "gelu_new")
    assert (cfg.layer_norm_eps, cfg.attention_probs_dropout_prob) == (1e-7, 0.25)
    assert (cfg.type_vocab_size, cfg.pad_token_id, cfg.num_labels) == (3, 1, 5)
    assert mm.BertConfig.from_dict(hf_cfg.to_dict(), num_labels=2).num_labels == 2
    assert cfg.classifier_dropout_prob == cfg.hidden_dropout_prob
    with pytest.raises(NotImplementedError, match="relative_key"):
        mm.BertConfig(position_embedding_type="relative_key")
    with pytest.raises(ValueError, match="hidden_act"):
        mm.BertConfig(hidden_act="gelu_fancy")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_reference_on_cuda(dtype: str) -> None:
    report = Report()
    run_case(report, bert_case(dtype, "cuda", steps=2), dtype, steps=2, echo=lambda s: None)
    assert report.passed, report.table()
