"""Digits (scikit-learn's bundled 8x8 handwritten digits): an MLP and a small CNN,
trained with Adam and a learning-rate schedule in minigrad and in PyTorch from the
same initial weights, on the same batches.

The model code is written once and built with either library: minigrad's names
are PyTorch's, so ``make_cnn(torch.nn)`` and ``make_cnn(minigrad.nn)`` are the
same network.

    python examples/digits.py                 # both models, both libraries
    python examples/digits.py --model cnn --epochs 5
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits

import minigrad


def make_mlp(nn: ModuleType, dropout: float = 0.1) -> Any:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 128),
        nn.BatchNorm1d(128),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(128, 10),
    )


def make_cnn(nn: ModuleType, dropout: float = 0.25) -> Any:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 8x8 -> 4x4
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),  # 4x4 -> 2x2
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(32 * 2 * 2, 10),
    )


MODELS = {"mlp": make_mlp, "cnn": make_cnn}


def load_data(seed: int = 0, dtype: str = "float32") -> tuple[np.ndarray, ...]:
    """Images scaled to [0, 1] as (N, 1, 8, 8); a fixed 80/20 train/test split."""
    digits = load_digits()
    x = (digits.images / 16.0).astype(dtype)[:, None, :, :]
    y = digits.target.astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(x))
    n_train = int(0.8 * len(x))
    tr, te = perm[:n_train], perm[n_train:]
    return x[tr], y[tr], x[te], y[te]


@dataclass
class Result:
    library: str
    losses: list[float]
    test_accuracy: float
    seconds_per_epoch: float


def train(
    library: str,
    model_name: str,
    state: dict[str, np.ndarray],
    data: tuple[np.ndarray, ...],
    epochs: int,
    batch_size: int = 64,
    lr: float = 0.01,
    dropout: float | None = None,
    seed: int = 0,
    dtype: str = "float32",
) -> Result:
    """Train one library's copy of the model from ``state`` (PyTorch's initial weights)."""
    lib: Any = torch if library == "pytorch" else minigrad
    kwargs = {} if dropout is None else {"dropout": dropout}
    model = MODELS[model_name](lib.nn, **kwargs)
    if library == "pytorch":
        model = model.to(getattr(torch, dtype))
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
        as_tensor = torch.from_numpy
    else:
        model = model.to(getattr(minigrad, dtype))
        model.load_state_dict(state)
        as_tensor = minigrad.tensor
    opt = lib.optim.Adam(model.parameters(), lr=lr)
    sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = lib.nn.CrossEntropyLoss()

    x_tr, y_tr, x_te, y_te = data
    order = np.random.default_rng(seed + 1)  # the same batches for both libraries
    losses: list[float] = []
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        perm = order.permutation(len(x_tr))
        for s in range(0, len(perm), batch_size):
            idx = perm[s : s + batch_size]
            loss = loss_fn(model(as_tensor(x_tr[idx])), as_tensor(y_tr[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
    elapsed = (time.perf_counter() - t0) / max(epochs, 1)

    model.eval()
    with lib.no_grad():
        logits = model(as_tensor(x_te))
    pred = np.asarray(logits.argmax(dim=1).tolist())
    return Result(library, losses, float((pred == y_te).mean()), elapsed)


def initial_state(model_name: str, seed: int = 0, dtype: str = "float32") -> dict[str, np.ndarray]:
    torch.manual_seed(seed)
    model = MODELS[model_name](torch.nn).to(getattr(torch, dtype))
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", choices=[*MODELS, "both"], default="both")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--threads", type=int, default=None, help="PyTorch threads (default: all)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_data()
    names = list(MODELS) if args.model == "both" else [args.model]
    print(f"{'model':<5} {'library':<9} {'test accuracy':>14} {'s/epoch':>9} {'final loss':>11}")
    for name in names:
        state = initial_state(name)
        for library in ("minigrad", "pytorch"):
            r = train(library, name, state, data, args.epochs)
            print(
                f"{name:<5} {library:<9} {r.test_accuracy:>14.2%} {r.seconds_per_epoch:>9.3f} "
                f"{r.losses[-1]:>11.4f}"
            )


if __name__ == "__main__":
    main()
