"""A character-level LSTM language model, trained in minigrad and in PyTorch from the
same initial weights on the same batches, with both loss curves printed side by side.

Model: Embedding(vocab, 32) -> LSTM(32, 96) -> Linear(96, vocab); each position predicts
the next character (cross-entropy); Adam. The minigrad model's weights are copied into
the PyTorch twin with ``load_state_dict`` (the parameter names are the same), so the
two runs differ only by floating-point rounding. The text is the one ``char_gpt.py``
uses, ``examples/data/autodiff.txt``.

    python examples/char_lstm.py --steps 60
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import minigrad
import minigrad.nn.functional as F

TEXT = Path(__file__).parent / "data" / "autodiff.txt"


def build(lib, vocab: int, emb: int = 32, hidden: int = 96):
    """The same model in either library (``lib.nn`` is minigrad.nn or torch.nn)."""
    return lib.nn.ModuleDict(
        {
            "embed": lib.nn.Embedding(vocab, emb),
            "lstm": lib.nn.LSTM(emb, hidden, batch_first=True),
            "head": lib.nn.Linear(hidden, vocab),
        }
    )


def loss_of(model, x, y, cross_entropy):
    out, _ = model["lstm"](model["embed"](x))
    logits = model["head"](out)
    return cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def main(steps: int = 60, batch: int = 16, block: int = 48, seed: int = 0, compare: bool = True):
    text = TEXT.read_text()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = np.array([stoi[c] for c in text], dtype=np.int64)

    minigrad.manual_seed(seed)
    model = build(minigrad, len(chars))
    opt = minigrad.optim.Adam(model.parameters(), lr=1e-2)
    torch_run = None
    if compare:
        import torch

        tmodel = build(torch, len(chars))
        tmodel.load_state_dict(
            {k: torch.from_numpy(v.data.copy()) for k, v in model.state_dict().items()}
        )
        torch_run = (torch, tmodel, torch.optim.Adam(tmodel.parameters(), lr=1e-2))

    rng = np.random.default_rng(seed)
    losses, tlosses = [], []
    t0 = time.perf_counter()
    for step in range(steps):
        starts = rng.integers(0, len(data) - block - 1, batch)
        x = np.stack([data[s : s + block] for s in starts])
        y = np.stack([data[s + 1 : s + block + 1] for s in starts])
        loss = loss_of(model, minigrad.tensor(x), minigrad.tensor(y), F.cross_entropy)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if torch_run is not None:
            torch, tmodel, topt = torch_run
            tl = loss_of(
                tmodel, torch.from_numpy(x), torch.from_numpy(y), torch.nn.functional.cross_entropy
            )
            topt.zero_grad()
            tl.backward()
            topt.step()
            tlosses.append(tl.item())
        if step % 10 == 0 or step == steps - 1:
            other = (
                f"  pytorch {tlosses[-1]:.4f}  |diff| {abs(losses[-1] - tlosses[-1]):.1e}"
                if tlosses
                else ""
            )
            print(f"step {step:4d}  minigrad {losses[-1]:.4f}{other}")
    print(f"{(time.perf_counter() - t0) / steps * 1000:.0f} ms per step (both libraries)")

    # greedy-ish sampling from the trained minigrad model
    model.eval()
    ids, state = [stoi[c] for c in "The "], None
    with minigrad.no_grad():
        out, state = model["lstm"](model["embed"](minigrad.tensor(np.array([ids]))))
        for _ in range(120):
            logits = model["head"](out[:, -1]).data[0].astype(np.float64) / 0.7
            p = np.exp(logits - logits.max())
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
            out, state = model["lstm"](
                model["embed"](minigrad.tensor(np.array([[ids[-1]]]))), state
            )
    print("\nsample:\n" + "".join(chars[i] for i in ids))
    return {"losses": losses, "torch_losses": tlosses}


if __name__ == "__main__":
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--no-compare", action="store_true", help="skip the PyTorch run")
    args = p.parse_args()
    main(args.steps, compare=not args.no_compare)
