"""A character-level GPT trained in minigrad on a short text shipped with the examples.

The model is minigrad's ``GPT2LMHeadModel`` at a tiny size (characters as tokens);
the loss is the causal language-model loss (each position predicts the next
character); the optimizer is AdamW. After training it samples new text.

The text, ``examples/data/autodiff.txt``, was written for this project: four short
paragraphs about how an autograd engine works.

    python examples/char_gpt.py --steps 300
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import minigrad
from minigrad.models import GPT2Config, GPT2LMHeadModel

TEXT = Path(__file__).parent / "data" / "autodiff.txt"


def sample(
    model: GPT2LMHeadModel,
    start: list[int],
    length: int,
    block: int,
    temperature: float,
    rng: np.random.Generator,
) -> list[int]:
    """Autoregressive sampling: feed the text so far, draw the next character."""
    ids = list(start)
    model.eval()
    with minigrad.no_grad():
        for _ in range(length):
            context = np.array([ids[-block:]], dtype=np.int64)
            logits = model(context).logits.data[0, -1].astype(np.float64) / temperature
            p = np.exp(logits - logits.max())
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
    model.train()
    return ids


def main(steps: int = 300, batch: int = 16, block: int = 64, seed: int = 0) -> dict:
    text = TEXT.read_text()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = np.array([stoi[c] for c in text], dtype=np.int64)

    minigrad.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(chars),
        n_positions=block,
        n_embd=64,
        n_layer=2,
        n_head=4,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
    )
    model = GPT2LMHeadModel(config)
    opt = minigrad.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    rng = np.random.default_rng(seed)

    losses = []
    t0 = time.perf_counter()
    for step in range(steps):
        starts = rng.integers(0, len(data) - block, batch)
        x = np.stack([data[s : s + block] for s in starts])
        loss = model(x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {losses[-1]:.3f}")
    print(f"{(time.perf_counter() - t0) / steps * 1000:.0f} ms per step")

    ids = sample(model, [stoi[c] for c in "The "], 200, block, 0.8, rng)
    print("\nsample:\n" + "".join(chars[i] for i in ids))
    return {"first_loss": losses[0], "last_loss": float(np.mean(losses[-10:]))}


if __name__ == "__main__":
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--steps", type=int, default=300)
    main(p.parse_args().steps)
