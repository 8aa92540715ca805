"""One rank of the data-parallel tests (tests/test_distributed.py starts two).

Run as ``python tests/ddp_worker.py OUT_DIR`` with the torchrun environment (RANK,
WORLD_SIZE, MASTER_ADDR, MASTER_PORT): it trains the same small float64 models with
``minigrad.distributed.DistributedDataParallel`` and with
``torch.nn.parallel.DistributedDataParallel``, from the same weights on the same shares
of the data, and writes every figure the test checks to ``OUT_DIR/rank{R}.npz``.
The model and data builders are shared with the test's one-process reference runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import minigrad
import minigrad.distributed as mdist
from minigrad import nn

STEPS = 3
N, D_IN, D_H, D_OUT = 8, 5, 7, 3
LR = 0.05
BUCKET_MB = 100 / 2**20  # 100 bytes: every parameter in a bucket of its own


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.standard_normal((N, D_IN)), rng.standard_normal((N, D_OUT))


class Net(nn.Module):
    """``Linear -> Tanh -> Linear``, plus ``extra`` (used when asked) and ``never``
    (used by nobody): the unused-parameter cases."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(D_IN, D_H)
        self.fc2 = nn.Linear(D_H, D_OUT)
        self.extra = nn.Linear(D_IN, D_OUT)
        self.never = nn.Linear(D_IN, D_OUT)

    def forward(self, x: minigrad.Tensor, use_extra: bool = False) -> minigrad.Tensor:
        out = self.fc2(self.fc1(x).tanh())
        return out + self.extra(x) if use_extra else out


def net(seed: int, all_used: bool = True) -> Net:
    """The model, float64; ``all_used``: ``extra`` and ``never`` frozen (no gradient)."""
    minigrad.manual_seed(seed)
    model = Net().double()
    if all_used:
        model.extra.requires_grad_(False)
        model.never.requires_grad_(False)
    return model


def loss_fn(out: minigrad.Tensor, y: np.ndarray) -> minigrad.Tensor:
    return ((out - minigrad.tensor(y)) ** 2).mean()


def params(model: nn.Module) -> dict[str, np.ndarray]:
    return {n: p.data.copy() for n, p in model.named_parameters()}


def torch_net(model: nn.Module):  # noqa: ANN201 (torch is the worker's own import)
    import torch

    class TNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = torch.nn.Linear(D_IN, D_H)
            self.fc2 = torch.nn.Linear(D_H, D_OUT)
            self.extra = torch.nn.Linear(D_IN, D_OUT)
            self.never = torch.nn.Linear(D_IN, D_OUT)

        def forward(self, x: torch.Tensor, use_extra: bool = False) -> torch.Tensor:
            out = self.fc2(torch.tanh(self.fc1(x)))
            return out + self.extra(x) if use_extra else out

    t = TNet().double()
    t.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in params(model).items()})
    for (_, p), (_, q) in zip(model.named_parameters(), t.named_parameters()):
        q.requires_grad_(p.requires_grad)
    return t


def main(out_dir: Path) -> None:
    import torch
    import torch.nn.functional as TF
    from torch.nn.parallel import DistributedDataParallel as TorchDDP

    mdist.init_process_group("gloo")
    rank, world = mdist.get_rank(), mdist.get_world_size()
    x, y = data()
    share = list(mdist.DistributedSampler(range(N), shuffle=True, seed=3))
    xs, ys = x[share], y[share]
    res: dict[str, np.ndarray] = {"share": np.array(share)}

    # 1. Adam steps; rank 1 starts from other weights: the wrap broadcasts rank 0's.
    model = net(seed=rank)
    res.update({f"init/{k}": v for k, v in params(model).items()})
    ddp = mdist.DistributedDataParallel(model, bucket_cap_mb=BUCKET_MB)
    res.update({f"wrapped/{k}": v for k, v in params(model).items()})
    res["n_buckets"] = np.array(len(ddp._buckets))
    tmodel = torch_net(model)
    tddp = TorchDDP(tmodel)
    opt = minigrad.optim.Adam([p for p in ddp.parameters() if p.requires_grad], lr=LR)
    topt = torch.optim.Adam([p for p in tddp.parameters() if p.requires_grad], lr=LR, foreach=False)
    for _ in range(STEPS):
        opt.zero_grad()
        loss_fn(ddp(minigrad.tensor(xs)), ys).backward()
        opt.step()
        topt.zero_grad()
        TF.mse_loss(tddp(torch.from_numpy(xs)), torch.from_numpy(ys)).backward()
        topt.step()
    res.update({f"adam/{k}": v for k, v in params(model).items()})
    res.update({f"torch_adam/{k}": v.detach().numpy() for k, v in tmodel.state_dict().items()})

    # 2. Gradient accumulation: two micro-batches, the first under no_sync.
    model = net(seed=10)
    ddp = mdist.DistributedDataParallel(model, bucket_cap_mb=BUCKET_MB)
    tmodel = torch_net(model)
    tddp = TorchDDP(tmodel)
    half = len(share) // 2
    with ddp.no_sync():
        loss_fn(ddp(minigrad.tensor(xs[:half])), ys[:half]).backward()
    res.update(
        {
            f"local/{k}": p.grad.data.copy()
            for k, p in model.named_parameters()
            if p.grad is not None
        }
    )
    loss_fn(ddp(minigrad.tensor(xs[half:])), ys[half:]).backward()
    with tddp.no_sync():
        TF.mse_loss(tddp(torch.from_numpy(xs[:half])), torch.from_numpy(ys[:half])).backward()
    TF.mse_loss(tddp(torch.from_numpy(xs[half:])), torch.from_numpy(ys[half:])).backward()
    for k, p in model.named_parameters():
        if p.grad is not None:
            res[f"accum/{k}"] = p.grad.data.copy()
    for k, p in tmodel.named_parameters():
        if p.grad is not None:
            res[f"torch_accum/{k}"] = p.grad.numpy().copy()

    # 3. Unused parameters: only rank 0 uses ``extra``; nobody uses ``never``.
    model = net(seed=20, all_used=False)
    ddp = mdist.DistributedDataParallel(model, find_unused_parameters=True)
    tmodel = torch_net(model)
    tddp = TorchDDP(tmodel, find_unused_parameters=True)
    for _ in range(2):  # twice: the second backward starts from the first one's state
        ddp.zero_grad()
        loss_fn(ddp(minigrad.tensor(xs), use_extra=rank == 0), ys).backward()
        tddp.zero_grad()
        out = tddp(torch.from_numpy(xs), use_extra=rank == 0)
        TF.mse_loss(out, torch.from_numpy(ys)).backward()
    for k, p in model.named_parameters():
        res[f"unused/{k}"] = np.array([]) if p.grad is None else p.grad.data.copy()
    for k, p in tmodel.named_parameters():
        res[f"torch_unused/{k}"] = np.array([]) if p.grad is None else p.grad.numpy().copy()

    # 4. Without find_unused_parameters, a parameter left without a gradient is an error.
    ddp = mdist.DistributedDataParallel(net(seed=30, all_used=False))
    loss_fn(ddp(minigrad.tensor(xs)), ys).backward()
    try:
        ddp(minigrad.tensor(xs))
        res["error"] = np.array("")
    except RuntimeError as e:
        res["error"] = np.array(str(e))

    np.savez(out_dir / f"rank{rank}.npz", **res)
    mdist.destroy_process_group()
    print(f"rank {rank}/{world} done")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
