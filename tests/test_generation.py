"""Generation (greedy, beam search, sampling) and the KV cache against ``transformers``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad
import minigrad.models as mm
from comparison.hf_models import to_numpy
from comparison.report import Report
from comparison.seq2seq_compare import (
    SEARCHES,
    compare_gpt2_generate,
    frequent_token,
    gpt2_generation_pair,
    left_padded_prompts,
)

transformers = pytest.importorskip("transformers")
from transformers.generation import logits_process as hf_lp  # noqa: E402


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gpt2_generate_ids_match_transformers(dtype: str) -> None:
    report = Report()
    compare_gpt2_generate(report, dtype, searches=SEARCHES)
    assert len(report.rows) == 8
    assert report.passed, report.table()


@pytest.mark.parametrize(
    ("lengths", "new", "kwargs"),
    [
        ([4], 1, {}),
        ([7, 2], 9, {"num_beams": 2}),
        ([3, 3, 5], 15, {"num_beams": 3, "early_stopping": "never", "length_penalty": 1.5}),
        ([5, 1], 6, {"num_beams": 5, "num_return_sequences": 5, "length_penalty": -0.5}),
        ([8, 4, 2, 6], 20, {"num_beams": 2, "early_stopping": True}),
    ],
)
def test_gpt2_prompts_and_lengths(lengths: list[int], new: int, kwargs: dict) -> None:
    ref, ours = gpt2_generation_pair("float64", seed=len(lengths))
    prompts = left_padded_prompts(np.random.default_rng(new), 100, lengths, pad=0)
    eos = frequent_token(ref, prompts, max(new, 4))
    tin = {k: torch.from_numpy(v) for k, v in prompts.items()}
    expected = {}
    for cache in (True, False):  # both sides with and without their caches
        args = dict(max_new_tokens=new, eos_token_id=eos, pad_token_id=0, use_cache=cache)
        expected[cache] = ref.generate(**tin, do_sample=False, **args, **kwargs).numpy()
        got = ours.generate(**prompts, **args, **kwargs).data
        np.testing.assert_array_equal(got, expected[cache])
    np.testing.assert_array_equal(expected[True], expected[False])


def test_cached_steps_equal_the_full_forward() -> None:
    """Left-padded prompt, then one token at a time with the cache: each step's logits
    equal the full forward's at that position (HF's positions: cumsum(mask) - 1)."""
    ref, ours = gpt2_generation_pair("float64", seed=5)
    p = left_padded_prompts(np.random.default_rng(5), 100, [9, 4], pad=0)
    ids, mask = p["input_ids"], p["attention_mask"]
    pos = np.where(mask == 0, 0, np.cumsum(mask, 1) - 1)
    full = ours(ids, attention_mask=mask, position_ids=pos).logits.data
    hf = ref(
        torch.from_numpy(ids),
        attention_mask=torch.from_numpy(mask),
        position_ids=torch.from_numpy(pos),
    ).logits
    real = mask.astype(bool)
    np.testing.assert_allclose(full[real], to_numpy(hf)[real], rtol=1e-10, atol=1e-13)
    cache = mm.DynamicCache()
    out = ours(
        ids[:, :3],
        attention_mask=mask[:, :3],
        position_ids=pos[:, :3],
        past_key_values=cache,
        use_cache=True,
    )
    assert out.past_key_values is cache and cache.get_seq_length() == 3
    for t in range(3, ids.shape[1]):
        step = ours(
            ids[:, t : t + 1],
            attention_mask=mask[:, : t + 1],
            position_ids=pos[:, t : t + 1],
            past_key_values=cache,
        )
        rows = mask[:, t] == 1  # a padding query sees no key: its output means nothing
        np.testing.assert_allclose(step.logits.data[rows, 0], full[rows, t], rtol=1e-10, atol=1e-13)
    assert len(cache) == ours.config.n_layer


def _random_scores(seed: int, shape=(4, 50)) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 3


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(
    ("ours_cls", "hf_cls", "kwargs"),
    [
        (mm.TemperatureLogitsWarper, hf_lp.TemperatureLogitsWarper, {"temperature": 0.7}),
        (mm.TemperatureLogitsWarper, hf_lp.TemperatureLogitsWarper, {"temperature": 1.9}),
        (mm.TopKLogitsWarper, hf_lp.TopKLogitsWarper, {"top_k": 5}),
        (mm.TopKLogitsWarper, hf_lp.TopKLogitsWarper, {"top_k": 1, "min_tokens_to_keep": 3}),
        (mm.TopKLogitsWarper, hf_lp.TopKLogitsWarper, {"top_k": 80}),
        (mm.TopPLogitsWarper, hf_lp.TopPLogitsWarper, {"top_p": 0.9}),
        (mm.TopPLogitsWarper, hf_lp.TopPLogitsWarper, {"top_p": 0.3}),
        (mm.TopPLogitsWarper, hf_lp.TopPLogitsWarper, {"top_p": 0.05, "min_tokens_to_keep": 2}),
        (
            mm.ForcedEOSTokenLogitsProcessor,
            hf_lp.ForcedEOSTokenLogitsProcessor,
            {"max_length": 7, "eos_token_id": 3},
        ),
    ],
)
def test_logits_processors_equal_transformers(ours_cls, hf_cls, kwargs, seed: int) -> None:
    scores = _random_scores(seed)
    ids = np.zeros((4, 6), dtype=np.int64)
    expect = hf_cls(**kwargs)(torch.from_numpy(ids), torch.from_numpy(scores)).numpy()
    got = ours_cls(**kwargs)(ids, scores)
    np.testing.assert_array_equal(np.isinf(got), np.isinf(expect))
    np.testing.assert_allclose(got, expect, rtol=1e-6, atol=0)
    if ours_cls in (mm.TopKLogitsWarper, mm.TopPLogitsWarper):  # filters keep values exactly
        kept = np.isfinite(expect)
        np.testing.assert_array_equal(got[kept], scores[kept])


def test_warpers_in_sequence_equal_transformers() -> None:
    scores = _random_scores(7, (6, 200))
    ids = np.zeros((6, 3), dtype=np.int64)
    hf = hf_lp.LogitsProcessorList(
        [
            hf_lp.TemperatureLogitsWarper(0.8),
            hf_lp.TopKLogitsWarper(40),
            hf_lp.TopPLogitsWarper(0.85),
        ]
    )
    ours = mm.LogitsProcessorList(
        [mm.TemperatureLogitsWarper(0.8), mm.TopKLogitsWarper(40), mm.TopPLogitsWarper(0.85)]
    )
    expect = hf(torch.from_numpy(ids), torch.from_numpy(scores)).numpy()
    got = ours(ids, scores)
    np.testing.assert_array_equal(np.isinf(got), np.isinf(expect))
    np.testing.assert_allclose(got, expect, rtol=1e-6)


def test_sampling_draws_from_minigrads_generator_and_the_filtered_distribution() -> None:
    ref, ours = gpt2_generation_pair("float64", seed=1)
    prompts = left_padded_prompts(np.random.default_rng(1), 100, [5, 3], pad=0)
    args = dict(
        max_new_tokens=8,
        do_sample=True,
        top_k=10,
        top_p=0.9,
        temperature=0.8,
        eos_token_id=None,
        pad_token_id=0,
    )
    minigrad.manual_seed(3)
    a = ours.generate(**prompts, **args).data
    minigrad.manual_seed(3)
    np.testing.assert_array_equal(ours.generate(**prompts, **args).data, a)
    minigrad.manual_seed(4)
    assert not np.array_equal(ours.generate(**prompts, **args).data, a)
    # top_k=1 leaves one token: sampling is greedy search
    tin = {k: torch.from_numpy(v) for k, v in prompts.items()}
    greedy = ref.generate(**tin, max_new_tokens=8, do_sample=False, pad_token_id=0).numpy()
    one = ours.generate(**prompts, max_new_tokens=8, do_sample=True, top_k=1, pad_token_id=0)
    np.testing.assert_array_equal(one.data, greedy)
    # the first sampled token's frequencies follow softmax of the warped logits
    minigrad.manual_seed(0)
    first = np.stack(
        [ours.generate(**prompts, **{**args, "max_new_tokens": 1}).data[:, -1] for _ in range(300)]
    )
    mask = prompts["attention_mask"]
    pos = np.where(mask == 0, 0, np.cumsum(mask, 1) - 1)  # generate's positions
    logits = ours(**prompts, position_ids=pos).logits.data[:, -1].astype(np.float32)
    warp = mm.LogitsProcessorList(
        [mm.TemperatureLogitsWarper(0.8), mm.TopKLogitsWarper(10), mm.TopPLogitsWarper(0.9)]
    )(None, logits)
    probs = np.exp(warp - warp.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    for row in range(2):
        assert np.all(np.isfinite(warp[row, first[:, row]]))  # only allowed tokens drawn
        freq = np.bincount(first[:, row], minlength=probs.shape[1]) / len(first)
        assert np.abs(freq - probs[row]).max() < 0.1


def test_bad_arguments_are_reported() -> None:
    _, ours = gpt2_generation_pair("float64")
    ids = np.ones((1, 3), dtype=np.int64)
    with pytest.raises(ValueError, match="max_new_tokens"):
        ours.generate(ids, max_new_tokens=0)
    with pytest.raises(ValueError, match="num_return_sequences"):
        ours.generate(ids, num_beams=2, num_return_sequences=3)
    with pytest.raises(ValueError, match="greedy"):
        ours.generate(ids, num_return_sequences=2)
    with pytest.raises(ValueError, match="attention_mask"):
        ours.generate(ids, attention_mask=np.ones((1, 2), dtype=np.int64))
