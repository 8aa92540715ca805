"""Decoding workloads: GPT-2 ``generate``, greedy, with and without the KV cache.

One step = one prompt (8 tokens) continued by N new tokens; the unit is new tokens per
second. Without the cache every new token re-runs the model over the whole prefix
(O(N²) work in all); with it, each token costs one position's projections plus its
attention over the cached keys. Both sides use the same config (GPT-2 tiny, as the
training workload, with no eos so exactly N tokens are made) and seeded weights;
``transformers`` runs its default attention implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.backends import Backend
from benchmarks.nlp import GPT2_TINY, SEED, _transformers
from benchmarks.spec import Built

PROMPT = 8
DECODE_CFG = {**GPT2_TINY, "n_positions": 512, "bos_token_id": None, "eos_token_id": None}
QUICK_TOKENS = 16  # --quick: fewer new tokens, the same code


def build_decode(new_tokens: int, use_cache: bool) -> Callable[[Backend, bool], Built]:
    def build(b: Backend, quick: bool) -> Built:
        n = min(new_tokens, QUICK_TOKENS) if quick else new_tokens
        b.seed(SEED)
        ids = np.random.default_rng(SEED).integers(0, DECODE_CFG["vocab_size"], (1, PROMPT))
        if b.is_torch:
            import torch

            tf = _transformers()
            model: Any = tf.GPT2LMHeadModel(tf.GPT2Config(**DECODE_CFG)).to(b.device).eval()
            prompt: Any = torch.from_numpy(ids).to(b.device)
            mask: Any = torch.ones_like(prompt)
        else:
            import minigrad.models as mm

            model = mm.GPT2LMHeadModel(mm.GPT2Config(**DECODE_CFG)).eval()
            prompt, mask = ids, np.ones_like(ids)

        def step() -> None:
            model.generate(
                prompt,
                attention_mask=mask,
                max_new_tokens=n,
                do_sample=False,
                use_cache=use_cache,
                pad_token_id=0,
            )

        info = f"prompt {PROMPT}, {n} new tokens, greedy, {'with' if use_cache else 'no'} cache"
        return Built(step, work=n, info=info)

    return build
