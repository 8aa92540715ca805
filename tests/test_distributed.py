"""minigrad.distributed: two ranks on 127.0.0.1 (gloo) against a one-process run and
against torch.nn.parallel.DistributedDataParallel; DistributedSampler against PyTorch's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from ddp_worker import LR, STEPS, data, loss_fn, net, params
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.data import DistributedSampler as TorchSampler

import minigrad
from minigrad.distributed import DistributedSampler
from minigrad.distributed.launch import launch
from minigrad.distributed.sampler import randperm

ROOT = Path(__file__).resolve().parent.parent
TOL = {"rtol": 1e-12, "atol": 1e-12}


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, np.ndarray]]:
    out = tmp_path_factory.mktemp("ddp")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    worker = str(ROOT / "tests" / "ddp_worker.py")
    results = launch([sys.executable, worker, str(out)], 2, env=env, timeout=240, cwd=str(ROOT))
    for r in results:
        assert r.returncode == 0, r.stderr[-4000:]
    loaded = []
    for rank in range(2):
        with np.load(out / f"rank{rank}.npz", allow_pickle=False) as f:
            loaded.append(dict(f))
    return loaded


def _grads(model: minigrad.nn.Module) -> dict[str, np.ndarray]:
    return {k: p.grad.data for k, p in model.named_parameters() if p.grad is not None}


def _close(a: dict[str, np.ndarray], b: dict[str, np.ndarray], prefix_a: str, prefix_b: str):
    keys = [k[len(prefix_a) :] for k in a if k.startswith(prefix_a)]
    assert keys
    for k in keys:
        np.testing.assert_allclose(a[prefix_a + k], b[prefix_b + k], **TOL, err_msg=k)


def test_wrap_broadcasts_rank0(ranks: list[dict[str, np.ndarray]]) -> None:
    r0, r1 = ranks
    assert not np.array_equal(r0["init/fc1.weight"], r1["init/fc1.weight"])
    for k in (k for k in r1 if k.startswith("wrapped/")):
        np.testing.assert_array_equal(r1[k], r0["init/" + k[len("wrapped/") :]])
    assert int(r0["n_buckets"]) == 4  # a 100-byte cap: one bucket per trainable tensor


def test_adam_steps_equal_one_process_and_torch_ddp(ranks: list[dict[str, np.ndarray]]) -> None:
    x, y = data()
    assert sorted(np.concatenate([r["share"] for r in ranks]).tolist()) == list(range(len(x)))
    model = net(seed=0)  # rank 0's initial weights, the whole batch in one process
    opt = minigrad.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=LR)
    for _ in range(STEPS):
        opt.zero_grad()
        loss_fn(model(minigrad.tensor(x)), y).backward()
        opt.step()
    ref = {f"adam/{k}": v for k, v in params(model).items()}
    assert not np.allclose(ref["adam/fc1.weight"], ranks[0]["init/fc1.weight"])  # it moved
    for r in ranks:
        _close(r, ref, "adam/", "adam/")
        _close(r, r, "adam/", "torch_adam/")


def test_no_sync_accumulates_then_averages(ranks: list[dict[str, np.ndarray]]) -> None:
    x, y = data()
    assert not np.allclose(ranks[0]["local/fc1.weight"], ranks[1]["local/fc1.weight"])
    model = net(seed=10)
    # The local gradient inside no_sync: each rank's first micro-batch alone.
    for r in ranks:
        half = len(r["share"]) // 2
        model.zero_grad()
        loss_fn(model(minigrad.tensor(x[r["share"][:half]])), y[r["share"][:half]]).backward()
        _close(r, {f"local/{k}": v for k, v in _grads(model).items()}, "local/", "local/")
    # After the synchronised micro-batch: (sum of each rank's two micro-batch losses) / 2.
    model.zero_grad()
    total = None
    for r in ranks:
        half = len(r["share"]) // 2
        for part in (r["share"][:half], r["share"][half:]):
            loss = loss_fn(model(minigrad.tensor(x[part])), y[part])
            total = loss if total is None else total + loss
    (total / 2).backward()
    ref = {f"accum/{k}": v for k, v in _grads(model).items()}
    for r in ranks:
        _close(r, ref, "accum/", "accum/")
        _close(r, r, "accum/", "torch_accum/")


def test_unused_parameters_as_torch(ranks: list[dict[str, np.ndarray]]) -> None:
    for r in ranks:
        assert r["unused/never.weight"].size == 0 and r["torch_unused/never.weight"].size == 0
        assert r["unused/extra.weight"].shape == (3, 5)  # rank 1 did not use it: still averaged
        assert np.abs(r["unused/extra.weight"]).max() > 0
        _close(r, r, "unused/", "torch_unused/")
    np.testing.assert_array_equal(ranks[0]["unused/extra.bias"], ranks[1]["unused/extra.bias"])
    for r in ranks:
        msg = str(r["error"])
        assert "never.weight" in msg and "find_unused_parameters=True" in msg


def test_import_does_not_import_torch() -> None:
    code = (
        "import sys, minigrad.distributed, minigrad.nn.parallel; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@given(n=st.integers(0, 300), seed=st.integers(0, 2**40))
def test_randperm_is_torchs(n: int, seed: int) -> None:
    g = torch.Generator()
    g.manual_seed(seed)
    assert randperm(n, seed) == torch.randperm(n, generator=g).tolist()


@given(
    n=st.integers(1, 40),
    replicas=st.integers(1, 7),
    data_=st.data(),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
    seed=st.integers(0, 1000),
    epoch=st.integers(0, 5),
)
def test_sampler_indices_are_torchs(
    n: int,
    replicas: int,
    data_: st.DataObject,
    shuffle: bool,
    drop_last: bool,
    seed: int,
    epoch: int,
) -> None:
    rank = data_.draw(st.integers(0, replicas - 1))
    kw = {"num_replicas": replicas, "rank": rank, "shuffle": shuffle, "seed": seed}
    ours = DistributedSampler(range(n), drop_last=drop_last, **kw)
    theirs = TorchSampler(range(n), drop_last=drop_last, **kw)
    ours.set_epoch(epoch)
    theirs.set_epoch(epoch)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)


def test_sampler_errors_as_torch() -> None:
    for rank in (-1, 2):
        with pytest.raises(ValueError) as ours:
            DistributedSampler(range(4), num_replicas=2, rank=rank)
        with pytest.raises(ValueError) as theirs:
            TorchSampler(range(4), num_replicas=2, rank=rank)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="no process group"):
        DistributedSampler(range(4))


def test_seed_per_rank(monkeypatch: pytest.MonkeyPatch) -> None:
    import minigrad.distributed as mdist

    assert mdist.seed_per_rank(5, rank=1) == 6
    a = minigrad.randn(3).data
    minigrad.manual_seed(6)
    np.testing.assert_array_equal(a, minigrad.randn(3).data)
    monkeypatch.setenv("RANK", "3")  # no process group: torchrun's environment
    assert mdist.seed_per_rank(5) == 8
    b = minigrad.randn(3).data
    assert not np.array_equal(a, b)
