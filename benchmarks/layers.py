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
    from minigrad.models._layers import attention_blocked
    from minigrad.nn import functional as F
    from minigrad.utils.checkpoint import checkpoint

    t = model.transformer
    pos = np.broadcast_to(np.arange(ids.shape[1]), ids.shape)
    h = t.drop(t.wte(minigrad.tensor(ids)) + t.wpe(minigrad.tensor(pos)))
    blocked = attention_blocked(None, ids.shape[1], causal=True)
    for block in t.h:
        h = checkpoint(block, h, blocked) if checkpointed else block(h, blocked)
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
    """GPT-2 tiny-ish (4 blocks, d=128, seq 64, batch 4) training step with every block
    checkpointed; compare its memory with the ``gpt2_tiny`` row."""
    import minigrad.optim

    layers, seq, batch = (4, 64, 4) if quick else (6, 128, 4)
    model = _gpt2(layers, 128, seq)
    ids = np.random.default_rng(SEED).integers(0, 256, (batch, seq))
    opt = minigrad.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        opt.zero_grad()
        gpt2_loss(model, ids, True).backward()
        opt.step()

    return Built(step, work=batch * seq, info=f"{layers} blocks, d=128, seq {seq}, batch {batch}")
