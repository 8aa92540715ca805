"""BART, Marian and generation in minigrad against Hugging Face ``transformers``.

Row groups of ``python -m comparison``:

* ``bart`` / ``marian``: a tiny seeded ``BartForConditionalGeneration`` /
  ``MarianMTModel`` (weights copied into minigrad with ``load_state_dict(strict=True)``),
  a padded batch of sources with an attention mask and labels with -100 entries:
  encoder output, logits, loss, every parameter's gradient; then ``generate`` token
  ids for greedy and beam search (with and without the cache) on the same batch;
* ``gpt2-generate``: GPT-2 ``generate`` ids on a left-padded batch of prompts, greedy
  and beam search (length penalty, several returned sequences), with and without the
  KV cache.

Token ids must agree exactly (a row compares them with zero tolerance).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

import minigrad.models as mm
from comparison.hf_models import gpt2_config, to_numpy, transformers
from comparison.report import Report
from comparison.transformers_compare import TOLERANCES, compare_named

TINY_SEQ2SEQ = {
    "vocab_size": 64,
    "d_model": 32,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 4,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 48,
    "decoder_ffn_dim": 40,
    "max_position_embeddings": 48,
    "dropout": 0.0,
}
KINDS: dict[str, dict[str, Any]] = {
    "bart": {
        "config": {"pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2},
        "classes": ("BartConfig", "BartForConditionalGeneration"),
    },
    "marian": {
        "config": {
            "pad_token_id": 63,
            "eos_token_id": 0,
            "decoder_start_token_id": 63,
            "forced_eos_token_id": 0,
            "scale_embedding": True,
        },
        "classes": ("MarianConfig", "MarianMTModel"),
    },
}
# generate settings compared: (label, keyword arguments)
SEARCHES: list[tuple[str, dict[str, Any]]] = [
    ("greedy", {}),
    ("beam 3", {"num_beams": 3}),
    (
        "beam 4, 2 returned, length_penalty 0.6",
        {"num_beams": 4, "num_return_sequences": 2, "length_penalty": 0.6},
    ),
    ("beam 3, early_stopping", {"num_beams": 3, "early_stopping": True}),
]


# the default report's subset (the tests run all of SEARCHES)
QUICK_SEARCHES = [SEARCHES[0], SEARCHES[2]]


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run PyTorch on one thread inside the block: these models are tiny, and on a
    shared machine extra threads only spin (``generate`` several times slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def seq2seq_config(kind: str, **overrides: Any) -> Any:
    cls = getattr(mm, KINDS[kind]["classes"][0])
    return cls(**{**TINY_SEQ2SEQ, **KINDS[kind]["config"], **overrides})


def seq2seq_pair(kind: str, dtype: str = "float64", seed: int = 0, **overrides: Any):
    """(transformers model, minigrad twin) of ``kind`` ("bart" or "marian"), both in
    eval mode, the reference initialised after ``torch.manual_seed(seed)``."""
    config = seq2seq_config(kind, **overrides)
    hf_cfg_cls, hf_cls = (getattr(transformers, n) for n in KINDS[kind]["classes"])
    torch.manual_seed(seed)
    ref = hf_cls(hf_cfg_cls(**config.to_dict(), attn_implementation="eager"))
    ref = ref.to(getattr(torch, dtype)).eval()
    with mm.no_init_weights():
        ours = getattr(mm, KINDS[kind]["classes"][1])(config)
    ours.load_state_dict({k: to_numpy(v) for k, v in ref.state_dict().items()}, strict=True)
    return ref, ours.to(np.dtype(dtype)).eval()


def seq2seq_batch(
    rng: np.random.Generator, config: Any, batch: int = 3, src: int = 9, tgt: int = 7
) -> dict[str, np.ndarray]:
    """Sources padded on the right (mask 0 there), labels ending in eos with -100 after
    the end of shorter targets."""
    low = 3
    ids = rng.integers(low, config.vocab_size - 1, (batch, src))
    mask = np.ones((batch, src), dtype=np.int64)
    labels = rng.integers(low, config.vocab_size - 1, (batch, tgt))
    for i in range(1, batch):
        mask[i, src - 2 * i :] = 0
        labels[i, tgt - i :] = -100
    ids = np.where(mask == 1, ids, config.pad_token_id)
    for i in range(batch):
        labels[i, (labels[i] != -100).sum() - 1] = config.eos_token_id
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _grads(named: Any, get: Any) -> dict[str, np.ndarray]:
    return {n: get(p) for n, p in named}


def compare_seq2seq(
    report: Report,
    kind: str,
    dtype: str,
    seed: int = 0,
    searches: list[tuple[str, dict[str, Any]]] = QUICK_SEARCHES,
) -> None:
    """Forward, loss, gradients and generation ids of ``kind`` against transformers."""
    tol = TOLERANCES[dtype]
    ref, ours = seq2seq_pair(kind, dtype, seed)
    label = f"{kind}-tiny/{dtype}"
    batch = seq2seq_batch(np.random.default_rng(seed), ours.config)
    tb = {k: torch.from_numpy(v) for k, v in batch.items()}
    out_ref, out = ref(**tb), ours(**batch)
    report.compare(
        label,
        "encoder_last_hidden_state",
        out.encoder_last_hidden_state.data,
        to_numpy(out_ref.encoder_last_hidden_state),
        *tol["forward"],
    )
    report.compare(label, "logits", out.logits.data, to_numpy(out_ref.logits), *tol["forward"])
    report.compare(label, "loss", out.loss.item(), out_ref.loss.item(), *tol["forward"])
    out_ref.loss.backward()
    out.loss.backward()
    ref_grads = _grads(
        ref.named_parameters(),
        lambda p: to_numpy(p.grad) if p.grad is not None else np.zeros(tuple(p.shape)),
    )
    our_grads = _grads(
        ours.named_parameters(),
        lambda p: p.grad.data if p.grad is not None else np.zeros_like(p.data),
    )
    compare_named(report, label, "gradients", our_grads, ref_grads, tol["grad"])
    src = {k: batch[k] for k in ("input_ids", "attention_mask")}
    compare_generation(report, label, ref, ours, src, 10, searches)


def compare_generation(
    report: Report,
    label: str,
    ref: Any,
    ours: Any,
    inputs: dict[str, np.ndarray],
    max_new_tokens: int,
    searches: list[tuple[str, dict[str, Any]]],
    **fixed: Any,
) -> None:
    """One row per search setting and cache choice: minigrad's generated ids, with and
    without its cache, against ``transformers``' (computed once, with its cache:
    ``tests/test_generation.py`` checks that its ids do not depend on the cache)."""
    tin = {k: torch.from_numpy(v) for k, v in inputs.items()}
    for name, kwargs in searches:
        args = dict(max_new_tokens=max_new_tokens, **fixed, **kwargs)
        with one_torch_thread():
            expect = ref.generate(**tin, do_sample=False, use_cache=True, **args).numpy()
        for cache in (True, False):
            got = ours.generate(**inputs, use_cache=cache, **args).data
            report.compare(
                label,
                f"generate ids: {name}, {'with' if cache else 'without'} cache",
                got,
                expect,
                0.0,
                0.0,
                note=f"{expect.shape[0]} sequences of {expect.shape[1]} ids",
            )


def gpt2_generation_pair(dtype: str, seed: int = 0) -> tuple[Any, Any]:
    from comparison.hf_models import hf_model, minigrad_twin

    config = gpt2_config("tiny")
    ref = hf_model(transformers.GPT2LMHeadModel, config, seed, dtype, torch.device("cpu"))
    return ref.eval(), minigrad_twin(mm.GPT2LMHeadModel, config, ref, dtype).eval()


def left_padded_prompts(rng: np.random.Generator, vocab: int, lengths: list[int], pad: int):
    """Prompts of the given lengths, left-padded to the longest, with their mask."""
    width = max(lengths)
    ids = np.full((len(lengths), width), pad, dtype=np.int64)
    mask = np.zeros_like(ids)
    for i, n in enumerate(lengths):
        ids[i, width - n :] = rng.integers(1, vocab, n)
        mask[i, width - n :] = 1
    return {"input_ids": ids, "attention_mask": mask}


def frequent_token(ref: Any, inputs: dict[str, np.ndarray], max_new_tokens: int) -> int:
    """A token that greedy decoding produces early (so eos ends some beams and rows)."""
    tin = {k: torch.from_numpy(v) for k, v in inputs.items()}
    out = ref.generate(**tin, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=None)
    gen = out[:, inputs["input_ids"].shape[1] :].numpy()
    values, counts = np.unique(gen[:, : max_new_tokens // 2], return_counts=True)
    return int(values[np.argmax(counts)])


def compare_gpt2_generate(
    report: Report,
    dtype: str,
    seed: int = 0,
    searches: list[tuple[str, dict[str, Any]]] = QUICK_SEARCHES,
) -> None:
    ref, ours = gpt2_generation_pair(dtype, seed)
    prompts = left_padded_prompts(np.random.default_rng(seed), 100, [6, 3, 5, 1], pad=0)
    eos = frequent_token(ref, prompts, 12)
    compare_generation(
        report,
        f"gpt2-tiny/{dtype}",
        ref,
        ours,
        prompts,
        12,
        searches,
        eos_token_id=eos,
        pad_token_id=0,
    )
