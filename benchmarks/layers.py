"""Workloads of the recurrent and checkpointing layers: an LSTM training step, and a
GPT-2 training step with every block checkpointed (``minigrad.utils.checkpoint``).

``gpt2_loss`` and ``peak_memory`` are also what ``tests/test_checkpoint.py`` uses to
check that checkpointing keeps the gradients and lowers the peak memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.backends import Backend, train_step
from benchmarks.memory import tracemalloc_growth
from benchmarks.spec import Built

SEED = 0


# --------------------------------------------------------------------------- LSTM
def build_lstm(b: Backend, quick: bool) -> Built:
    """A 2-layer LSTM (input 32, hidden 64) over (T=16, B=16) sequences, a linear read-out
    of every step, mean squared error, Adam."""
    b.seed(SEED)
    nn = b.nn
    steps, batch, feat, hidden = (16, 16, 32, 64) if quick else (64, 32, 32, 128)
    model = b.to_device(
        nn.ModuleDict({"rnn": nn.LSTM(feat, hidden, 2), "head": nn.Linear(hidden, 1)})
    )
    rng = np.random.default_rng(SEED)
    x = b.tensor(rng.standard_normal((steps, batch, feat), dtype=np.float32))
    y = b.tensor(rng.standard_normal((steps, batch, 1), dtype=np.float32))

    def loss_fn(m: Any, x: Any, y: Any) -> Any:
        out, _ = m["rnn"](x)
        return ((m["head"](out) - y) ** 2).mean()

    opt = b.optim.Adam(model.parameters(), lr=1e-3)
    step = train_step(b, model, loss_fn, opt, x, y)
    return Built(step, info=f"2 layers, hidden {hidden}, T={steps}, batch {batch}, adam")


# --------------------------------------------------------------------------- checkpointing
def gpt2_loss(model: Any, ids: np.ndarray, checkpointed: bool) -> Any:
    """The causal LM loss of a minigrad ``GPT2LMHeadModel`` on ``ids`` (B, T), its blocks
    run through ``checkpoint`` when ``checkpointed`` (the same function either way)."""
    import minigrad
    from minigrad.models.cache import build_mask
    from minigrad.nn import functional as F
    from minigrad.utils.checkpoint import checkpoint

    t = model.transformer
    pos = np.broadcast_to(np.arange(ids.shape[1]), ids.shape)
    h = t.drop(t.wte(minigrad.tensor(ids)) + t.wpe(minigrad.tensor(pos)))
    mask = build_mask(None, ids.shape[1], causal=True)
    for block in t.h:
        h = checkpoint(block, h, mask) if checkpointed else block(h, mask)
    logits = model.lm_head(t.ln_f(h))
    vocab = logits.shape[-1]
    return F.cross_entropy(
        logits[:, :-1].reshape(-1, vocab), minigrad.tensor(ids[:, 1:].reshape(-1))
    )


def _gpt2(layers: int, n_embd: int, seq: int) -> Any:
    import minigrad
    from minigrad.models import GPT2Config, GPT2LMHeadModel

    minigrad.manual_seed(SEED)
    cfg = GPT2Config(
        vocab_size=256, n_positions=max(seq, 16), n_embd=n_embd, n_layer=layers, n_head=4
    )
    return GPT2LMHeadModel(cfg)


def peak_memory(
    layers: int = 6, seq: int = 128, batch: int = 4, n_embd: int = 128
) -> tuple[int, int]:
    """Peak traced bytes of one forward + backward of a GPT-2, plain and checkpointed."""
    model = _gpt2(layers, n_embd, seq)
    ids = np.random.default_rng(SEED).integers(0, 256, (batch, seq))

    def run(ckpt: bool) -> None:
        model.zero_grad()
        gpt2_loss(model, ids, ckpt).backward()

    run(False)  # warm up: gradients allocated once, caches filled
    return tracemalloc_growth(lambda: run(False)), tracemalloc_growth(lambda: run(True))


def build_gpt2_checkpointed(b: Backend, quick: bool) -> Built:
    """The ``gpt2_tiny`` step (2 blocks, d=128, batch 4 x seq 64, AdamW) with every block
    checkpointed: ``minigrad.utils.checkpoint`` here, Hugging Face's
    ``gradient_checkpointing_enable`` (``torch.utils.checkpoint``, non-reentrant) on
    PyTorch. Compare its peak memory with the ``gpt2_tiny`` row's."""
    from benchmarks.nlp import GPT2_TINY, _lm_loss, _transformers

    b.seed(SEED)
    batch, seq = 4, 64
    ids = np.random.default_rng(SEED).integers(0, GPT2_TINY["vocab_size"], (batch, seq))
    if b.is_torch:
        tf = _transformers()
        model = tf.GPT2LMHeadModel(tf.GPT2Config(**GPT2_TINY)).to(b.device)
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        loss_fn, inputs = _lm_loss, b.tensor(ids.astype(np.int64))
    else:
        import minigrad.models as mm

        model = mm.GPT2LMHeadModel(mm.GPT2Config(**GPT2_TINY))

        def loss_fn(m: Any, x: np.ndarray) -> Any:
            return gpt2_loss(m, x, checkpointed=True)

        inputs = ids
    model.train()
    opt = b.optim.AdamW(model.parameters(), lr=1e-4)
    step = train_step(b, model, loss_fn, opt, inputs)
    info = f"d={GPT2_TINY['n_embd']}, {GPT2_TINY['n_layer']} layers, batch {batch} x seq {seq}"
    return Built(step, work=batch * seq, info=info + ", every block checkpointed, adamw")
