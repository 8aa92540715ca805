"""Marian (``MarianMTModel``) in minigrad against Hugging Face ``transformers``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import minigrad.models as mm
from comparison.hf_models import to_numpy
from comparison.report import Report
from comparison.seq2seq_compare import SEARCHES, compare_seq2seq, seq2seq_batch, seq2seq_pair

transformers = pytest.importorskip("transformers")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_forward_loss_gradients_and_generation_match_transformers(dtype: str) -> None:
    report = Report()
    compare_seq2seq(report, "marian", dtype, seed=1, searches=SEARCHES)
    quantities = {r.quantity.split(" (")[0] for r in report.rows}
    assert {"encoder_last_hidden_state", "logits", "loss", "gradients"} <= quantities
    assert sum("generate ids" in q for q in quantities) == 8
    assert report.passed, report.table()


@pytest.mark.parametrize("dim", [16, 15])
def test_sinusoidal_table_is_transformers_layout(dim: int) -> None:
    from transformers.models.marian.modeling_marian import MarianSinusoidalPositionalEmbedding

    ref = MarianSinusoidalPositionalEmbedding(20, dim)
    expect = ref.create_weight().numpy()
    ours = mm.marian.MarianSinusoidalPositionalEmbedding(20, dim)
    np.testing.assert_array_equal(ours.weight.data, expect)
    assert not ours.weight.requires_grad


def test_positions_frozen_embeddings_scaled_and_shared() -> None:
    ref, ours = seq2seq_pair("marian", "float64", seed=2)
    batch = seq2seq_batch(np.random.default_rng(2), ours.config)
    ours(**batch).loss.backward()
    for stack in (ours.model.encoder, ours.model.decoder):
        assert stack.embed_positions.weight.grad is None
        assert stack.embed_tokens is ours.model.shared
        assert not hasattr(stack, "layernorm_embedding")
        assert stack.embed_scale == np.sqrt(ours.config.d_model)
    assert ours.lm_head.weight is ours.model.shared.weight
    with pytest.raises(ValueError, match="decoder_input_ids"):
        ours.model(batch["input_ids"])


def test_from_pretrained_reads_a_folder_saved_by_transformers(tmp_path) -> None:
    """``save_pretrained`` leaves the sinusoidal tables out; they are rebuilt."""
    ref, _ = seq2seq_pair("marian", "float32", seed=3)
    ref.save_pretrained(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "newly initialised" warning for the tables
        ours = mm.MarianMTModel.from_pretrained(tmp_path).eval()
    batch = seq2seq_batch(np.random.default_rng(3), ours.config)
    tb = {k: torch.from_numpy(v) for k, v in batch.items()}
    np.testing.assert_allclose(
        ours(**batch).logits.data, to_numpy(ref(**tb).logits), rtol=1e-4, atol=1e-5
    )


def test_config_reads_transformers_dicts() -> None:
    hf = transformers.MarianConfig(
        vocab_size=99,
        d_model=32,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        pad_token_id=98,
    )
    cfg = mm.MarianConfig.from_dict(hf.to_dict())
    assert (cfg.vocab_size, cfg.decoder_vocab_size, cfg.pad_token_id) == (99, 99, 98)
    assert cfg.decoder_start_token_id == hf.decoder_start_token_id
    with pytest.raises(NotImplementedError, match="share_encoder_decoder_embeddings"):
        mm.MarianConfig(share_encoder_decoder_embeddings=False)
