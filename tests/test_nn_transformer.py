"""TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder/Decoder and
Transformer against torch.nn, with weights copied both ways: outputs, input gradients
and every parameter gradient, over drawn options and masks.

Compared in training mode with dropout = 0 (PyTorch's inference fast path does not run
while gradients are recorded) and, separately, in eval mode under no_grad without a key
padding mask, where the fast path computes the same function.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from nn_helpers import TORCH_DTYPE, assert_close, compare_module, sync

import minigrad
from minigrad import nn
from minigrad.nn import functional as F

dtypes = st.sampled_from([np.float64, np.float32])
directions = st.sampled_from(["mg->torch", "torch->mg"])
ACTIVATIONS = {
    "relu": ("relu", "relu"),
    "gelu": ("gelu", "gelu"),
    "silu": (F.silu, torch.nn.functional.silu),
}


def _data(seed, shape, dtype):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _is_mg(mod) -> bool:
    return isinstance(mod, nn.Module)


def _const(mod, arr):
    return minigrad.tensor(arr) if _is_mg(mod) else torch.from_numpy(np.array(arr))


def _attn_mask(kind, length, src, rng, dtype):
    """None, the causal mask, a random bool mask or a random float mask (every query row
    keeps key 0, so no row is fully masked)."""
    if kind == "none":
        return None
    if kind == "causal":
        return np.triu(np.full((length, src), -np.inf), 1).astype(dtype)
    blocked = rng.random((length, src)) < 0.4
    blocked[:, 0] = False
    if kind == "bool":
        return blocked
    return np.where(blocked, -np.inf, rng.standard_normal((length, src))).astype(dtype)


def _kpm(kind, batch, src, rng, dtype):
    if kind == "none" or batch is None:
        return None
    blocked = rng.random((batch, src)) < 0.4
    blocked[:, 0] = False
    return blocked if kind == "bool" else np.where(blocked, -np.inf, 0.0).astype(dtype)


@st.composite
def layer_options(draw):
    nhead = draw(st.sampled_from([1, 2]))
    d_model = nhead * draw(st.integers(1, 3)) * 2
    act = draw(st.sampled_from(list(ACTIVATIONS)))
    kw = dict(
        dim_feedforward=draw(st.integers(1, 6)),
        dropout=0.0,
        layer_norm_eps=draw(st.sampled_from([1e-5, 1e-3])),
        batch_first=draw(st.booleans()),
        norm_first=draw(st.booleans()),
        bias=draw(st.booleans()),
    )
    return d_model, nhead, act, kw


def _layout(batch, length, d, batch_first):
    if batch is None:
        return (length, d)
    return (batch, length, d) if batch_first else (length, batch, d)


@given(
    layer_options(),
    st.sampled_from([None, 1, 2]),
    st.integers(1, 4),
    st.sampled_from(["none", "causal", "bool", "float"]),
    st.sampled_from(["none", "bool", "float"]),
    dtypes,
    directions,
    st.integers(0, 99),
)
def test_encoder_layer_matches_torch(options, batch, length, mask, kpm, dtype, direction, seed):
    d_model, nhead, act, kw = options
    rng = np.random.default_rng(seed)
    am, km = _attn_mask(mask, length, length, rng, dtype), _kpm(kpm, batch, length, rng, dtype)
    if km is not None and am is not None and km.dtype != am.dtype:
        km = km if am.dtype == np.bool_ else np.where(km, -np.inf, 0.0).astype(dtype)
    m = nn.TransformerEncoderLayer(
        d_model, nhead, activation=ACTIVATIONS[act][0], dtype=dtype, **kw
    )
    t = torch.nn.TransformerEncoderLayer(
        d_model, nhead, activation=ACTIVATIONS[act][1], dtype=TORCH_DTYPE[dtype], **kw
    )

    def call(mod, xs):
        return mod(
            xs[0],
            src_mask=None if am is None else _const(mod, am),
            src_key_padding_mask=None if km is None else _const(mod, km),
            is_causal=mask == "causal",
        )

    x = _data(seed, _layout(batch, length, d_model, kw["batch_first"]), dtype)
    compare_module(m, t, [x], dtype, direction, seed, call)


@given(
    layer_options(),
    st.sampled_from([None, 2]),
    st.integers(1, 4),
    st.integers(1, 4),
    st.sampled_from(["none", "causal", "bool"]),
    st.sampled_from(["none", "bool", "float"]),
    st.sampled_from(["none", "bool"]),
    dtypes,
    directions,
    st.integers(0, 99),
)
def test_decoder_layer_matches_torch(
    options, batch, length, src, mask, mem_mask, kpm, dtype, direction, seed
):
    d_model, nhead, act, kw = options
    rng = np.random.default_rng(seed)
    tm = _attn_mask(mask, length, length, rng, dtype)
    mm = _attn_mask(mem_mask, length, src, rng, dtype)
    tk, mk = _kpm(kpm, batch, length, rng, dtype), _kpm(kpm, batch, src, rng, dtype)
    if tm is not None and tm.dtype != np.bool_ and tk is not None:
        tk = np.where(tk, -np.inf, 0.0).astype(dtype)
    if mm is not None and mm.dtype != np.bool_ and mk is not None:
        mk = np.where(mk, -np.inf, 0.0).astype(dtype)
    m = nn.TransformerDecoderLayer(
        d_model, nhead, activation=ACTIVATIONS[act][0], dtype=dtype, **kw
    )
    t = torch.nn.TransformerDecoderLayer(
        d_model, nhead, activation=ACTIVATIONS[act][1], dtype=TORCH_DTYPE[dtype], **kw
    )

    def call(mod, xs):
        def c(a):
            return None if a is None else _const(mod, a)

        return mod(xs[0], xs[1], c(tm), c(mm), c(tk), c(mk), tgt_is_causal=mask == "causal")

    bf = kw["batch_first"]
    tgt = _data(seed, _layout(batch, length, d_model, bf), dtype)
    memory = _data(seed + 1, _layout(batch, src, d_model, bf), dtype)
    compare_module(m, t, [tgt, memory], dtype, direction, seed, call)


@given(layer_options(), st.integers(1, 3), st.booleans(), dtypes, directions, st.integers(0, 99))
def test_transformer_matches_torch(options, length, causal, dtype, direction, seed):
    """The whole encoder-decoder (two layers each, final norms), including the Xavier init
    of PyTorch's Transformer and its causal-mask helper."""
    d_model, nhead, act, kw = options
    kw = {**kw, "num_encoder_layers": 2, "num_decoder_layers": 1}
    m = nn.Transformer(d_model, nhead, activation=ACTIVATIONS[act][0], dtype=dtype, **kw)
    t = torch.nn.Transformer(
        d_model, nhead, activation=ACTIVATIONS[act][1], dtype=TORCH_DTYPE[dtype], **kw
    )
    mask_m = nn.Transformer.generate_square_subsequent_mask(length, dtype=dtype)
    mask_t = torch.nn.Transformer.generate_square_subsequent_mask(length, dtype=TORCH_DTYPE[dtype])
    assert_close(mask_m, mask_t, dtype)

    def call(mod, xs):
        tgt_mask = (mask_m if _is_mg(mod) else mask_t) if causal else None
        return mod(xs[0], xs[1], tgt_mask=tgt_mask)

    bf = kw["batch_first"]
    src = _data(seed, _layout(2, length + 1, d_model, bf), dtype)
    tgt = _data(seed + 1, _layout(2, length, d_model, bf), dtype)
    compare_module(m, t, [src, tgt], dtype, direction, seed, call)


def test_xavier_init_of_transformer():
    m = nn.Transformer(8, 2, 1, 1, 16)
    w = m.encoder.layers[0].linear1.weight.data
    bound = np.sqrt(6 / (8 + 16))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_stack_in_eval_mode_matches_torch_fast_path(norm_first):
    """Eval mode under no_grad: PyTorch may take its fused fast path; the numbers agree."""
    layer_m = nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.3, norm_first=norm_first, dtype=np.float64
    )
    layer_t = torch.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.3, norm_first=norm_first, dtype=torch.float64
    )
    m = nn.TransformerEncoder(layer_m, 2, nn.LayerNorm(8, dtype=np.float64))
    t = torch.nn.TransformerEncoder(layer_t, 2, torch.nn.LayerNorm(8, dtype=torch.float64))
    sync(m, t, "torch->mg")
    m.eval(), t.eval()
    x = _data(3, (5, 3, 8), np.float64)
    with minigrad.no_grad(), torch.no_grad():
        assert_close(m(minigrad.tensor(x)), t(torch.from_numpy(x)))


def test_layers_are_deep_copies():
    layer = nn.TransformerEncoderLayer(4, 1, 8)
    enc = nn.TransformerEncoder(layer, 2)
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    assert list(enc.state_dict()) == list(
        torch.nn.TransformerEncoder(
            torch.nn.TransformerEncoderLayer(4, 1, 8), 2, enable_nested_tensor=False
        ).state_dict()
    )
