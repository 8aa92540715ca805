"""RoBERTa and token classification (BERT and RoBERTa) against ``transformers``.

The same side-by-side run as GPT-2's and BERT's (``transformers_compare.run_case``):
both sides start from the reference's seeded weights, see the same padded batches
with attention masks, and are compared on the outputs, the loss, every parameter's
gradient and the parameters after AdamW steps.

* ``roberta``: ``RobertaForMaskedLM``. The batches pad with RoBERTa's ``<pad>`` = 1,
  one row on the left and the others on the right, so the position ids (which count
  real tokens only and start after the padding index) differ from BERT's 0..T-1 and
  are exercised; no ``token_type_ids`` are passed (both sides default them to 0).
* ``token-cls``: ``BertForTokenClassification`` and ``RobertaForTokenClassification``
  with 5 labels per token; labels are -100 (ignored) on padding and on a random share
  of the real tokens (as sub-word continuations are in named-entity recognition).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minigrad.models as mm
from comparison.hf_models import SIZES, hf_model, minigrad_twin, resolve_device
from comparison.transformers_compare import Case, padded_lengths, transformers_cls

ROBERTA_PAD, ROBERTA_BOS, ROBERTA_EOS = 1, 0, 2
TOKEN_LABELS = 5
# Tiny RoBERTa: BERT's tiny sizes, RoBERTa's special tokens and a single segment; the
# position table has pad + 1 extra rows, since positions start at pad + 1.
TINY_ROBERTA_EXTRA = {"max_position_embeddings": 66, "type_vocab_size": 1}


def roberta_config(size: str = "tiny", **overrides: Any) -> mm.RobertaConfig:
    base = dict(SIZES[size][1], **TINY_ROBERTA_EXTRA) if size == "tiny" else {}
    return mm.RobertaConfig(**{**base, **overrides})


def roberta_batch(
    rng: np.random.Generator, vocab: int, batch: int, seq: int, mlm: bool = True
) -> dict[str, Any]:
    """``<s> w … </s>`` rows padded with ``<pad>`` = 1: row 0 full, row 1 padded on the
    left, the others on the right. ``labels``: MLM targets (-100 elsewhere) with
    ``mlm``, else none."""
    ids = np.full((batch, seq), ROBERTA_PAD, dtype=np.int64)
    mask = np.zeros((batch, seq), dtype=np.int64)
    for i, n in enumerate(padded_lengths(batch, seq)):
        start = seq - n if i == 1 else 0
        row = rng.integers(3, vocab, n)
        row[0], row[-1] = ROBERTA_BOS, ROBERTA_EOS
        ids[i, start : start + n], mask[i, start : start + n] = row, 1
    out: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
    if mlm:
        chosen = (rng.random((batch, seq)) < 0.3) & (mask == 1)
        chosen[np.arange(batch), mask.argmax(1) + 1] = True  # a target in every row
        out["labels"] = np.where(chosen, ids, -100)
    return out


def token_labels(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    """One of ``TOKEN_LABELS`` classes per real token; -100 on padding and on ~20% of
    the real tokens."""
    labels = rng.integers(0, TOKEN_LABELS, mask.shape)
    ignored = (mask == 0) | (rng.random(mask.shape) < 0.2)
    return np.where(ignored, -100, labels)


def _case(
    label: str,
    hf_name: str,
    ours_cls: type,
    config: Any,
    batches: list[dict[str, Any]],
    dtype: str,
    device: str,
    seed: int,
) -> Case:
    ref = hf_model(transformers_cls(hf_name), config, seed, dtype, resolve_device(device))
    ours = minigrad_twin(ours_cls, config, ref, dtype)
    return Case(
        f"{label}/{dtype}",
        ref,
        ours,
        batches,
        [("logits", "logits")],
        lambda out, tb: out.loss,
        "loss",
        {"device": str(resolve_device(device))},
    )


def roberta_case(
    dtype: str,
    device: str = "cpu",
    size: str = "tiny",
    steps: int = 3,
    seed: int = 0,
    batch: int = 3,
    seq: int = 12,
) -> Case:
    """RobertaForMaskedLM, MLM loss."""
    config = roberta_config(size)
    rng = np.random.default_rng(seed)
    batches = [roberta_batch(rng, config.vocab_size, batch, seq) for _ in range(max(steps, 1))]
    return _case(
        f"roberta-mlm-{size}",
        "RobertaForMaskedLM",
        mm.RobertaForMaskedLM,
        config,
        batches,
        dtype,
        device,
        seed,
    )


def bert_token_cls_case(
    dtype: str,
    device: str = "cpu",
    size: str = "tiny",
    steps: int = 3,
    seed: int = 0,
    batch: int = 3,
    seq: int = 12,
) -> Case:
    """BertForTokenClassification, 5 labels, -100 ignored."""
    from comparison.transformers_compare import bert_batch

    config = mm.BertConfig(**SIZES[size][1], num_labels=TOKEN_LABELS)
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(max(steps, 1)):
        b = bert_batch(rng, config.vocab_size, batch, seq)
        b = {k: b[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
        batches.append({**b, "labels": token_labels(rng, b["attention_mask"])})
    return _case(
        f"bert-token-cls-{size}",
        "BertForTokenClassification",
        mm.BertForTokenClassification,
        config,
        batches,
        dtype,
        device,
        seed,
    )


def roberta_token_cls_case(
    dtype: str,
    device: str = "cpu",
    size: str = "tiny",
    steps: int = 3,
    seed: int = 0,
    batch: int = 3,
    seq: int = 12,
) -> Case:
    """RobertaForTokenClassification, 5 labels, -100 ignored."""
    config = roberta_config(size, num_labels=TOKEN_LABELS)
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(max(steps, 1)):
        b = roberta_batch(rng, config.vocab_size, batch, seq, mlm=False)
        batches.append({**b, "labels": token_labels(rng, b["attention_mask"])})
    return _case(
        f"roberta-token-cls-{size}",
        "RobertaForTokenClassification",
        mm.RobertaForTokenClassification,
        config,
        batches,
        dtype,
        device,
        seed,
    )


CASES = {
    "roberta": roberta_case,
    "bert-token-cls": bert_token_cls_case,
    "roberta-token-cls": roberta_token_cls_case,
}
