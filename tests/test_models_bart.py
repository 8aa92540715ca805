"""BART in minigrad against Hugging Face ``transformers`` (tiny seeded configs).

The minigrad model gets the reference's weights through ``load_state_dict(strict=True)``;
every expected value is computed here by ``transformers``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad.models as mm
from comparison.hf_models import to_numpy
from comparison.report import Report
from comparison.seq2seq_compare import SEARCHES, compare_seq2seq, seq2seq_batch, seq2seq_pair

transformers = pytest.importorskip("transformers")


def _torch(batch: dict) -> dict:
    return {k: torch.from_numpy(v) for k, v in batch.items()}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_forward_loss_gradients_and_generation_match_transformers(dtype: str) -> None:
    report = Report()
    compare_seq2seq(report, "bart", dtype, searches=SEARCHES)
    quantities = {r.quantity.split(" (")[0] for r in report.rows}
    assert {"encoder_last_hidden_state", "logits", "loss", "gradients"} <= quantities
    assert sum("generate ids" in q for q in quantities) == 8
    assert report.passed, report.table()


def test_float64_every_gradient_to_1e10_relative() -> None:
    """Per parameter: |Δ| ≤ 1e-10·|g| + 1e-13·(largest gradient entry of the model),
    the floor for entries that are zero in exact arithmetic (the key projections'
    biases: softmax ignores a shift of all of a query's scores, so their gradient is
    rounding noise, ~1e-24, on both sides)."""
    ref, ours = seq2seq_pair("bart", "float64", seed=3)
    batch = seq2seq_batch(np.random.default_rng(3), ours.config, batch=4, src=11, tgt=8)
    out_ref = ref(**_torch(batch))
    out = ours(**batch)
    np.testing.assert_allclose(out.logits.data, to_numpy(out_ref.logits), rtol=1e-10, atol=1e-13)
    assert abs(out.loss.item() - out_ref.loss.item()) <= 1e-12 * abs(out_ref.loss.item())
    out_ref.loss.backward()
    out.loss.backward()
    ours_params = dict(ours.named_parameters())
    assert set(ours_params) == {n for n, _ in ref.named_parameters()}
    floor = 1e-13 * max(
        np.abs(to_numpy(p.grad)).max() for p in ref.parameters() if p.grad is not None
    )
    for name, p in ref.named_parameters():
        if p.grad is None:  # frozen
            assert ours_params[name].grad is None
            continue
        g = to_numpy(p.grad)
        np.testing.assert_allclose(
            ours_params[name].grad.data, g, rtol=1e-10, atol=floor, err_msg=name
        )


def test_shift_tokens_right_as_transformers() -> None:
    from transformers.models.bart.modeling_bart import shift_tokens_right

    labels = np.array([[5, 6, 7, 2], [8, 9, -100, -100]])
    expect = shift_tokens_right(torch.from_numpy(labels), 1, 2).numpy()
    np.testing.assert_array_equal(mm.shift_tokens_right(labels, 1, 2), expect)
    with pytest.raises(ValueError, match="pad_token_id"):
        mm.shift_tokens_right(labels, None, 2)


def test_decoder_inputs_default_to_shifted_source_and_embeddings_are_shared() -> None:
    ref, ours = seq2seq_pair("bart", "float64", seed=1)
    ids = np.random.default_rng(1).integers(3, 60, (2, 6))
    got = ours.model(ids).last_hidden_state.data
    expect = to_numpy(ref.model(torch.from_numpy(ids)).last_hidden_state)
    np.testing.assert_allclose(got, expect, rtol=1e-10, atol=1e-13)
    shared = ours.model.shared
    assert ours.model.encoder.embed_tokens is shared and ours.model.decoder.embed_tokens is shared
    assert ours.lm_head.weight is shared.weight
    assert set(ours.state_dict()) == set(ref.state_dict())  # final_logits_bias included


def test_cached_decoding_equals_full_decoding() -> None:
    """Logits of the last position, one token at a time with the cache, equal the full
    forward's (and Hugging Face's)."""
    ref, ours = seq2seq_pair("bart", "float64", seed=2)
    batch = seq2seq_batch(np.random.default_rng(2), ours.config)
    src = {k: batch[k] for k in ("input_ids", "attention_mask")}
    dec = mm.shift_tokens_right(batch["labels"], 1, 2)
    full = ours(**src, decoder_input_ids=dec).logits.data
    enc = ours.get_encoder()(**src)
    cache = mm.EncoderDecoderCache()
    for t in range(dec.shape[1]):
        step = ours(
            attention_mask=src["attention_mask"],
            decoder_input_ids=dec[:, t : t + 1],
            encoder_outputs=enc,
            past_key_values=cache,
            use_cache=True,
        )
        np.testing.assert_allclose(step.logits.data[:, 0], full[:, t], rtol=1e-10, atol=1e-13)
    assert cache.get_seq_length() == dec.shape[1]
    hf = ref(**_torch(src), decoder_input_ids=torch.from_numpy(dec)).logits
    np.testing.assert_allclose(full, to_numpy(hf), rtol=1e-10, atol=1e-13)


def test_dropout_only_in_training() -> None:
    _, ours = seq2seq_pair("bart", "float64", dropout=0.3, attention_dropout=0.2)
    batch = seq2seq_batch(np.random.default_rng(4), ours.config)
    a = ours(**batch).logits.data
    np.testing.assert_array_equal(a, ours(**batch).logits.data)
    ours.train()
    assert not np.allclose(ours(**batch).logits.data, a)


def test_config_round_trip_and_errors() -> None:
    hf = transformers.BartConfig(
        d_model=24, encoder_layers=1, encoder_attention_heads=4, decoder_attention_heads=3
    )
    cfg = mm.BartConfig.from_dict(hf.to_dict())
    assert (cfg.d_model, cfg.encoder_layers, cfg.decoder_attention_heads) == (24, 1, 3)
    assert transformers.BartConfig(**cfg.to_dict()).d_model == 24
    with pytest.raises(ValueError, match="divisible"):
        mm.BartConfig(d_model=30, encoder_attention_heads=4)
    with pytest.raises(ValueError, match="model_type"):
        mm.BartConfig.from_dict(transformers.MarianConfig().to_dict())
    _, ours = seq2seq_pair("bart", "float64")
    with pytest.raises(ValueError, match="exceeds the 48 position"):
        ours(np.full((1, 49), 5), decoder_input_ids=np.full((1, 2), 2))
    with pytest.raises(ValueError, match="attention_mask"):
        ours(np.full((1, 4), 5), attention_mask=np.ones((1, 3), dtype=np.int64))
