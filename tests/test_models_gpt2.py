"""GPT-2 in minigrad against Hugging Face ``transformers`` (tiny configs, seeded).

Every reference value is computed here by ``transformers``; the minigrad model gets
the reference's weights through ``load_state_dict(strict=True)``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad
import minigrad.models as mm
import minigrad.nn as nn
from comparison.hf_models import hf_model, minigrad_twin, to_numpy
from comparison.report import Report
from comparison.transformers_compare import gpt2_batch, gpt2_case, run_case

transformers = pytest.importorskip("transformers")
CPU = torch.device("cpu")
TINY = {
    "vocab_size": 100,
    "n_positions": 64,
    "n_embd": 32,
    "n_layer": 2,
    "n_head": 4,
    "bos_token_id": 0,
    "eos_token_id": 0,
}


def pair(dtype: str = "float64", seed: int = 0, attn: str = "eager", **overrides):
    config = mm.GPT2Config(**{**TINY, **overrides})
    ref = hf_model(transformers.GPT2LMHeadModel, config, seed, dtype, CPU, attn)
    return ref.eval(), minigrad_twin(mm.GPT2LMHeadModel, config, ref, dtype).eval()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_forward_loss_gradients_and_adamw_match_transformers(dtype: str) -> None:
    report = Report()
    run_case(report, gpt2_case(dtype, "cpu", steps=3), dtype, steps=3, echo=lambda s: None)
    quantities = {r.quantity.split(" (")[0] for r in report.rows}
    assert {
        "last_hidden_state",
        "logits",
        "loss",
        "gradients",
        "parameters after 3 AdamW steps"
        if dtype == "float64"
        else "share of params within 1e-4, 3 AdamW steps",
    } <= quantities
    assert report.passed, report.table()


def test_float64_agrees_to_1e10_relative() -> None:
    ref, ours = pair("float64")
    batch = gpt2_batch(np.random.default_rng(1), 100, 3, 10)
    tb = {k: torch.from_numpy(v) for k, v in batch.items()}
    logits_ref = ref(**tb).logits
    logits = ours(**batch).logits.data
    np.testing.assert_allclose(logits, to_numpy(logits_ref), rtol=1e-10, atol=1e-13)


def test_lm_head_is_tied_and_its_gradient_sums_both_uses() -> None:
    _, ours = pair("float64")
    wte = ours.transformer.wte.weight
    assert ours.lm_head.weight is wte
    names = [n for n, _ in ours.named_parameters()]
    assert "transformer.wte.weight" in names and "lm_head.weight" not in names
    assert "lm_head.weight" in ours.state_dict()  # both names saved, as Hugging Face

    batch = gpt2_batch(np.random.default_rng(2), 100, 2, 8)
    ours(**batch).loss.backward()
    tied_grad = wte.grad.data.copy()

    # The same weights untied: two Parameters; the tied gradient is the sum of theirs.
    untied = mm.GPT2LMHeadModel(mm.GPT2Config(**TINY, tie_word_embeddings=False)).double()
    untied.load_state_dict(ours.state_dict(), strict=True)
    untied.eval()
    assert untied.lm_head.weight is not untied.transformer.wte.weight
    untied(**batch).loss.backward()
    np.testing.assert_allclose(
        tied_grad,
        untied.transformer.wte.weight.grad.data + untied.lm_head.weight.grad.data,
        rtol=1e-12,
        atol=1e-15,
    )
    assert np.abs(untied.lm_head.weight.grad.data).max() > 0


def test_right_padding_changes_nothing_for_real_tokens() -> None:
    ref, ours = pair("float64")
    rng = np.random.default_rng(3)
    short = rng.integers(0, 100, (1, 5))
    long = rng.integers(0, 100, (1, 9))
    batch = np.zeros((2, 9), dtype=np.int64)
    batch[0, :5], batch[1] = short[0], long[0]
    mask = (np.arange(9) < np.array([[5], [9]])).astype(np.int64)

    alone = ours(short).logits.data
    padded = ours(batch, attention_mask=mask).logits.data
    np.testing.assert_allclose(padded[0, :5], alone[0], rtol=1e-12, atol=1e-14)
    hf = to_numpy(ref(torch.from_numpy(batch), attention_mask=torch.from_numpy(mask)).logits)
    np.testing.assert_allclose(padded, hf, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_left_padding_matches_transformers(attn: str) -> None:
    """Left padding: the first query rows see no real key at all. minigrad follows
    Hugging Face's eager masking (finfo.min added, uniform weights, no NaN); real
    positions agree with both of Hugging Face's attention implementations."""
    ref, ours = pair("float64", attn=attn)
    rng = np.random.default_rng(4)
    ids = rng.integers(0, 100, (2, 7))
    mask = np.array([[0, 0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]])
    ours_h = ours.transformer(ids, attention_mask=mask).last_hidden_state.data
    ref_h = to_numpy(
        ref.transformer(
            torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
        ).last_hidden_state
    )
    assert np.isfinite(ours_h).all()
    real = mask.astype(bool)
    np.testing.assert_allclose(ours_h[real], ref_h[real], rtol=1e-10, atol=1e-13)
    if attn == "eager":  # padding rows too: same finfo.min semantics
        np.testing.assert_allclose(ours_h, ref_h, rtol=1e-10, atol=1e-13)


def test_dropout_active_in_train_and_off_in_eval() -> None:
    ref, ours = pair("float64", resid_pdrop=0.2, embd_pdrop=0.2, attn_pdrop=0.2)
    ids = np.random.default_rng(5).integers(0, 100, (2, 8))
    ours.eval()
    a, b = ours(ids).logits.data, ours(ids).logits.data
    np.testing.assert_array_equal(a, b)  # eval is deterministic
    np.testing.assert_allclose(
        a, to_numpy(ref(torch.from_numpy(ids)).logits), rtol=1e-10, atol=1e-13
    )
    ours.train()
    assert all(m.training for m in ours.modules())
    minigrad.manual_seed(0)
    c = ours(ids).logits.data
    d = ours(ids).logits.data
    assert not np.allclose(c, a) and not np.allclose(c, d)
    ours.eval()
    np.testing.assert_array_equal(ours(ids).logits.data, a)


def test_state_dict_round_trip_strict() -> None:
    ref, ours = pair("float64", seed=7)
    ids = np.random.default_rng(6).integers(0, 100, (2, 6))
    expected = ours(ids).logits.data

    sd = ours.state_dict()
    assert set(sd) == set(ref.state_dict())
    fresh = mm.GPT2LMHeadModel(mm.GPT2Config(**TINY)).double().eval()
    fresh.load_state_dict(sd, strict=True)
    np.testing.assert_array_equal(fresh(ids).logits.data, expected)

    # and back into transformers
    torch.manual_seed(123)
    back = transformers.GPT2LMHeadModel(
        transformers.GPT2Config(**mm.GPT2Config(**TINY).to_dict(), attn_implementation="eager")
    )
    back = back.double().eval()
    back.load_state_dict({k: torch.from_numpy(v.data.copy()) for k, v in sd.items()}, strict=True)
    np.testing.assert_allclose(
        to_numpy(back(torch.from_numpy(ids)).logits), expected, rtol=1e-10, atol=1e-13
    )

    with pytest.raises(RuntimeError, match="Missing key"):
        fresh.load_state_dict({k: v for k, v in sd.items() if "ln_f" not in k}, strict=True)


def test_checkpoint_quirks_are_converted() -> None:
    """Older checkpoints hold the causal-mask buffers ``attn.bias``/``attn.masked_bias``,
    leave out the tied ``lm_head.weight`` and have no ``transformer.`` prefix."""
    ref, ours = pair("float64", seed=8)
    ckpt = {
        k.removeprefix("transformer."): v
        for k, v in ref.state_dict().items()
        if k != "lm_head.weight"
    }
    ckpt["h.0.attn.bias"] = torch.tril(torch.ones(1, 1, 64, 64))
    ckpt["h.0.attn.masked_bias"] = torch.tensor(-1e4)
    fresh = mm.GPT2LMHeadModel(mm.GPT2Config(**TINY)).double().eval()
    with pytest.raises(RuntimeError):
        fresh.load_state_dict({k: to_numpy(v) for k, v in ckpt.items()}, strict=True)
    mm.load_hf_state_dict(fresh, ckpt, strict=True)
    ids = np.random.default_rng(9).integers(0, 100, (1, 6))
    np.testing.assert_array_equal(fresh(ids).logits.data, ours(ids).logits.data)


def test_config_reads_hugging_face_dicts() -> None:
    hf_cfg = transformers.GPT2Config(
        n_layer=3,
        n_embd=48,
        n_head=6,
        activation_function="relu",
        layer_norm_epsilon=1e-6,
        resid_pdrop=0.3,
    )
    cfg = mm.GPT2Config.from_dict(hf_cfg.to_dict())
    assert (cfg.n_layer, cfg.hidden_size, cfg.num_attention_heads) == (3, 48, 6)
    assert (cfg.activation_function, cfg.layer_norm_epsilon, cfg.resid_pdrop) == ("relu", 1e-6, 0.3)
    assert cfg.inner_size == 4 * 48
    with pytest.raises(ValueError, match="activation_function"):
        mm.GPT2Config(activation_function="swishy")
    with pytest.raises(ValueError, match="divisible"):
        mm.GPT2Config(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="model_type"):
        mm.GPT2Config.from_dict(transformers.BertConfig().to_dict())


def test_bad_inputs_are_reported() -> None:
    _, ours = pair("float64")
    with pytest.raises(ValueError, match="exceeds the 64 position"):
        ours(np.zeros((1, 65), dtype=np.int64))
    with pytest.raises(ValueError, match="attention_mask"):
        ours(np.zeros((2, 5), dtype=np.int64), attention_mask=np.ones((2, 4), dtype=np.int64))
    with pytest.raises(TypeError, match="integer"):
        ours(np.zeros((1, 3), dtype=np.float32))


def test_conv1d_layout_is_in_by_out() -> None:
    layer = mm.Conv1D(nf=5, nx=3).double()
    assert layer.weight.shape == (3, 5)
    x = minigrad.randn(2, 4, 3, dtype=minigrad.float64)
    ref = transformers.pytorch_utils.Conv1D(5, 3).double()
    ref.load_state_dict({k: torch.from_numpy(v.data) for k, v in layer.state_dict().items()})
    np.testing.assert_allclose(layer(x).data, to_numpy(ref(torch.from_numpy(x.data))), rtol=1e-12)
    assert isinstance(layer, nn.Module)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_reference_on_cuda(dtype: str) -> None:
    report = Report()
    run_case(report, gpt2_case(dtype, "cuda", steps=2), dtype, steps=2, echo=lambda s: None)
    assert report.passed, report.table()
