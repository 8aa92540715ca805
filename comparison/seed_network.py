"""The mission's seed network, trained side by side in minigrad and PyTorch.

    Linear(100, 50) -> ReLU -> Linear(50, 10),  CrossEntropyLoss,  SGD(lr=0.01)

Both start from the same weights (PyTorch's initialisation, copied into minigrad)
and see the same batches in the same order. Every step's loss, every step's
gradients and the final parameters are compared.

In float64 the two runs go their own ways for all 1,000 steps and still agree to
rounding error. In float32 they cannot: BLAS sums in another order, and after some
hundred steps a rounding difference tips one ReLU input across 0, after which the
trajectories part (two PyTorch builds would part the same way). So in float32 each
step starts minigrad from PyTorch's parameters (``sync=True``): every row then checks
one step of minigrad against one step of PyTorch from the same state, 1,000 times, and
the free-running drift is reported beside the table, not judged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

import minigrad
import minigrad.nn as mnn
import minigrad.nn.functional as mF
from comparison.report import Report

# Tolerances: float64 must agree to rounding error over the whole run; float32
# accumulates reordering differences (BLAS sums in another order), reported as drift.
TOLERANCES = {"float64": (1e-9, 1e-12), "float32": (1e-4, 1e-6)}


class MinigradNet(mnn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = mnn.Linear(100, 50)
        self.fc2 = mnn.Linear(50, 10)

    def forward(self, x: minigrad.Tensor) -> minigrad.Tensor:
        return self.fc2(mF.relu(self.fc1(x)))


class TorchNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(100, 50)
        self.fc2 = torch.nn.Linear(50, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


@dataclass
class SeedRun:
    losses_ours: np.ndarray
    losses_ref: np.ndarray
    grads_ours: np.ndarray  # (steps, n_params) flattened gradients
    grads_ref: np.ndarray
    params_ours: np.ndarray
    params_ref: np.ndarray
    ours: MinigradNet


def make_data(n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed classification set: 100 features, 10 classes, labels from a hidden linear rule."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_samples, 100))
    w = rng.standard_normal((100, 10))
    y = np.argmax(x @ w + 0.5 * rng.standard_normal((n_samples, 10)), axis=1)
    return x, y.astype(np.int64)


def train_side_by_side(
    dtype: str = "float64",
    epochs: int = 100,
    batch_size: int = 64,
    n_samples: int = 640,
    lr: float = 0.01,
    seed: int = 0,
    on_step: Callable[[int], None] | None = None,
    sync: bool = False,
) -> SeedRun:
    x_all, y_all = make_data(n_samples, seed)
    x_all = x_all.astype(dtype)
    torch_dtype = getattr(torch, dtype)

    torch.manual_seed(seed)
    ref = TorchNet().to(torch_dtype)
    ours = MinigradNet().to(getattr(minigrad, dtype))
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    opt_ref = torch.optim.SGD(ref.parameters(), lr=lr)
    opt_ours = minigrad.optim.SGD(ours.parameters(), lr=lr)
    criterion_ref = torch.nn.CrossEntropyLoss()
    criterion_ours = mnn.CrossEntropyLoss()

    order_rng = np.random.default_rng(seed + 1)
    losses_ours, losses_ref, grads_ours, grads_ref = [], [], [], []
    step = 0
    for _ in range(epochs):
        perm = order_rng.permutation(n_samples)
        for start in range(0, n_samples, batch_size):
            idx = perm[start : start + batch_size]
            xb, yb = x_all[idx], y_all[idx]

            before = [p.detach().numpy().copy() for p in ref.parameters()] if sync else []
            out = ref(torch.from_numpy(xb))
            loss = criterion_ref(out, torch.from_numpy(yb))
            opt_ref.zero_grad()
            loss.backward()
            grads_ref.append(np.concatenate([p.grad.numpy().ravel() for p in ref.parameters()]))
            opt_ref.step()
            losses_ref.append(loss.item())

            if sync:  # start this step from PyTorch's parameters (before its update)
                for p, q in zip(ours.parameters(), before):
                    p.data[...] = q
            out_m = ours(minigrad.tensor(xb))
            loss_m = criterion_ours(out_m, minigrad.tensor(yb))
            opt_ours.zero_grad()
            loss_m.backward()
            grads_ours.append(np.concatenate([p.grad.data.ravel() for p in ours.parameters()]))
            opt_ours.step()
            losses_ours.append(loss_m.item())

            step += 1
            if on_step is not None:
                on_step(step)

    def flat(params: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([p.ravel() for p in params])

    return SeedRun(
        losses_ours=np.array(losses_ours),
        losses_ref=np.array(losses_ref),
        grads_ours=np.stack(grads_ours),
        grads_ref=np.stack(grads_ref),
        params_ours=flat([p.data for p in ours.parameters()]),
        params_ref=flat([p.detach().numpy() for p in ref.parameters()]),
        ours=ours,
    )


def compare_seed_network(
    report: Report,
    dtype: str,
    epochs: int,
    on_step: Callable[[int], None] | None = None,
    echo: Callable[[str], None] = print,
) -> SeedRun:
    sync = dtype != "float64"
    run = train_side_by_side(dtype=dtype, epochs=epochs, on_step=on_step, sync=sync)
    rtol, atol = TOLERANCES[dtype]
    model = f"seed-net/{dtype}"
    n = len(run.losses_ref)
    how = "each step from PyTorch's parameters" if sync else "free-running"
    echo(f"\n{model}: {n} SGD steps; per-step losses (every {max(1, n // 10)}th step shown)")
    echo(f"{'step':>6} {'minigrad loss':>16} {'PyTorch loss':>16} {'rel diff':>10}")
    for i in list(range(0, n, max(1, n // 10))) + [n - 1]:
        a, b = run.losses_ours[i], run.losses_ref[i]
        echo(f"{i + 1:>6} {a:>16.10f} {b:>16.10f} {abs(a - b) / abs(b):>10.2e}")
    grad_diff = float(np.abs(run.grads_ours - run.grads_ref).max())
    echo(f"largest gradient difference over all steps and parameters: {grad_diff:.3e}")
    report.compare(
        model, f"loss at every step ({n} steps, {how})", run.losses_ours, run.losses_ref, rtol, atol
    )
    report.compare(model, "gradients at every step", run.grads_ours, run.grads_ref, rtol, atol)
    if sync:
        free = train_side_by_side(dtype=dtype, epochs=epochs)
        drift = float(abs(free.losses_ours[-1] - free.losses_ref[-1]) / abs(free.losses_ref[-1]))
        echo(f"free-running {dtype} (not judged): final loss drift {drift:.2e} relative")
        report.extras[f"{model}/free-running"] = {"final_loss_drift_rel": drift}
    report.compare(model, "parameters after training", run.params_ours, run.params_ref, rtol, atol)
    report.extras[model] = {
        "steps": n,
        "losses_minigrad": run.losses_ours,
        "losses_pytorch": run.losses_ref,
        "max_gradient_difference": grad_diff,
        "final_loss_drift_rel": float(
            abs(run.losses_ours[-1] - run.losses_ref[-1]) / abs(run.losses_ref[-1])
        ),
    }
    return run
