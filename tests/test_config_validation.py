"""Configs validate every field before any model is built: a clear ValueError naming
the field, where ``transformers`` builds the model and fails later (or not at all)."""

from __future__ import annotations

import math

import pytest

import minigrad.models as mm

transformers = pytest.importorskip("transformers")

TINY_BERT = {"vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 1,
             "num_attention_heads": 2, "intermediate_size": 16}  # fmt: skip
TINY_GPT2 = {"vocab_size": 30, "n_positions": 8, "n_embd": 8, "n_layer": 1, "n_head": 2}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("vocab_size", 2**40, "vocab_size=1099511627776 is out of range"),
        ("vocab_size", 0, "vocab_size=0 is out of range"),
        ("num_attention_heads", 0, "num_attention_heads=0 is out of range"),
        ("num_attention_heads", 3, "hidden_size=8 is not divisible by num_attention_heads=3"),
        ("hidden_size", 8.0, "hidden_size=8.0 must be an integer"),
        ("hidden_size", "8", "hidden_size='8' must be an integer"),
        ("num_hidden_layers", True, "num_hidden_layers=True must be an integer"),
        ("num_hidden_layers", -1, "num_hidden_layers=-1 is out of range"),
        ("intermediate_size", None, "intermediate_size=None must be an integer"),
        ("hidden_dropout_prob", 1.5, "hidden_dropout_prob=1.5 is out of range"),
        ("layer_norm_eps", math.nan, "layer_norm_eps=nan must be a finite number"),
        ("layer_norm_eps", -1e-12, "layer_norm_eps=-1e-12 is out of range"),
        ("classifier_dropout", "0.1", "classifier_dropout='0.1' must be a finite number or None"),
        ("hidden_act", 3, "hidden_act=3 must be a string"),
        ("max_position_embeddings", 2**31, "max_position_embeddings=2147483648 is out of range"),
    ],
)
def test_bert_config_fields(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"^BertConfig: {message}"):
        mm.BertConfig(**{**TINY_BERT, field: value})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n_head", 0, "n_head=0 is out of range"),
        ("n_embd", 9, "n_embd=9 is not divisible by n_head=2"),
        ("n_inner", 0, "n_inner=0 is out of range"),
        ("n_positions", 2**40, "n_positions=1099511627776 is out of range"),
        ("attn_pdrop", -0.1, "attn_pdrop=-0.1 is out of range"),
        ("scale_attn_weights", 1, "scale_attn_weights=1 must be true or false"),
        ("bos_token_id", 1.0, "bos_token_id=1.0 must be an integer or None"),
    ],
)
def test_gpt2_config_fields(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"^GPT2Config: {message}"):
        mm.GPT2Config(**{**TINY_GPT2, field: value})


def test_zero_heads_where_transformers_divides_by_zero() -> None:
    with pytest.raises(ZeroDivisionError):  # transformers' own failure, for the record
        transformers.BertModel(transformers.BertConfig(**{**TINY_BERT, "num_attention_heads": 0}))
    with pytest.raises(ValueError, match="num_attention_heads=0"):
        mm.BertConfig(**{**TINY_BERT, "num_attention_heads": 0})


def test_id2label_keys_must_be_integers() -> None:
    with pytest.raises(ValueError, match="id2label keys must be integers"):
        mm.BertConfig.from_dict({**TINY_BERT, "id2label": {"a": "x"}})


def test_valid_configs_still_match_transformers_dicts() -> None:
    pairs = [(mm.BertConfig, transformers.BertConfig), (mm.GPT2Config, transformers.GPT2Config)]
    for ours, theirs in pairs:
        ref = theirs()  # transformers' defaults are valid here too
        config = ours.from_dict(ref.to_dict())
        for key, value in config.to_dict().items():
            if key in ref.to_dict():
                assert ref.to_dict()[key] == value, key
