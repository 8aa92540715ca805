"""Samplers, IterableDataset and the DataLoader's worker processes against
torch.utils.data: the same index sequences where they are deterministic, the same
lengths and distributions where they are random, and the same batches with workers.

Random samplers draw from NumPy's generator, so their draws are not PyTorch's; what is
compared is what must hold for any draw (a permutation, the counts, the length) and
reproducibility under a seed.
"""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import numpy as np
import pytest
import torch
import torch.utils.data as tdata
from hypothesis import given
from hypothesis import strategies as st
from test_data import _assert_same_batch

import minigrad
from minigrad.utils import data as mdata


@given(n=st.integers(0, 30), batch_size=st.integers(1, 8), drop_last=st.booleans())
def test_sequential_and_batch_sampler_match_torch(n: int, batch_size: int, drop_last: bool):
    ds = list(range(n))
    seq_m, seq_t = mdata.SequentialSampler(ds), tdata.SequentialSampler(ds)
    assert list(seq_m) == list(seq_t) and len(seq_m) == len(seq_t)
    for source_m, source_t in [(seq_m, seq_t), (ds[::-1], ds[::-1])]:
        mine = mdata.BatchSampler(source_m, batch_size, drop_last)
        theirs = tdata.BatchSampler(source_t, batch_size, drop_last)
        assert list(mine) == list(theirs)
        assert len(mine) == len(theirs)


@given(
    n=st.integers(1, 20),
    replacement=st.booleans(),
    num_samples=st.none() | st.integers(1, 50),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_sampler(n: int, replacement: bool, num_samples: int | None, seed: int) -> None:
    ds = list(range(n))
    kwargs = {"replacement": replacement, "num_samples": num_samples}
    mine = mdata.RandomSampler(ds, generator=np.random.default_rng(seed), **kwargs)
    theirs = tdata.RandomSampler(ds, **kwargs)
    drawn = list(mine)
    assert len(drawn) == len(mine) == len(theirs) == len(list(theirs))
    assert all(0 <= i < n for i in drawn)
    if not replacement:  # consecutive blocks of n are permutations, as in PyTorch
        for start in range(0, len(drawn), n):
            block = drawn[start : start + n]
            assert len(set(block)) == len(block)
    again = mdata.RandomSampler(ds, generator=np.random.default_rng(seed), **kwargs)
    assert list(again) == drawn


def test_random_sampler_uses_the_global_generator_each_pass() -> None:
    sampler = mdata.RandomSampler(range(50))
    minigrad.manual_seed(1)
    first, second = list(sampler), list(sampler)
    assert first != second and sorted(first) == list(range(50))
    minigrad.manual_seed(1)
    assert list(sampler) == first
    minigrad.manual_seed(2)
    assert list(sampler) != first


def test_subset_random_sampler() -> None:
    indices = [3, 9, 4, 17, 0]
    mine = mdata.SubsetRandomSampler(indices, generator=np.random.default_rng(0))
    theirs = tdata.SubsetRandomSampler(indices)
    drawn = list(mine)
    assert sorted(drawn) == sorted(indices) and len(mine) == len(theirs) == len(indices)


@pytest.mark.parametrize("replacement", [True, False])
def test_weighted_random_sampler(replacement: bool) -> None:
    weights = [0.0, 1.0, 3.0, 0.0, 6.0]
    num_samples = 20000 if replacement else 3
    mine = mdata.WeightedRandomSampler(
        weights, num_samples, replacement, generator=np.random.default_rng(0)
    )
    theirs = tdata.WeightedRandomSampler(weights, num_samples, replacement)
    drawn, drawn_t = list(mine), list(theirs)
    assert len(drawn) == len(mine) == len(theirs) == len(drawn_t)
    assert set(drawn) <= {1, 2, 4} and set(drawn_t) <= {1, 2, 4}  # zero weight: never
    if replacement:  # frequencies near weights / sum (4 sigma of a binomial)
        counts = Counter(drawn)
        for i, w in enumerate(weights):
            p = w / sum(weights)
            sigma = (num_samples * p * (1 - p)) ** 0.5
            assert abs(counts[i] - num_samples * p) <= 4 * sigma + 1e-9
    else:
        assert sorted(drawn) == [1, 2, 4] == sorted(drawn_t)


def _squares(n: int) -> tuple[Any, Any]:
    x = np.arange(n, dtype=np.float32).reshape(n, 1) ** 2
    y = np.arange(n)
    mine = mdata.TensorDataset(minigrad.tensor(x), minigrad.tensor(y))
    theirs = tdata.TensorDataset(torch.tensor(x), torch.tensor(y))
    return mine, theirs


def test_loader_with_sampler_batch_sampler_and_no_batching_matches_torch() -> None:
    ds_m, ds_t = _squares(11)
    order = [4, 1, 7, 7, 0, 10]
    batches = [[3, 1], [0], [5, 6, 2]]
    cases = [
        ({"sampler": order, "batch_size": 4}, {"sampler": order, "batch_size": 4}),
        ({"batch_sampler": batches}, {"batch_sampler": batches}),
        ({"batch_size": None}, {"batch_size": None}),
        ({"batch_size": 3, "drop_last": True}, {"batch_size": 3, "drop_last": True}),
    ]
    for kwargs_m, kwargs_t in cases:
        mine, theirs = mdata.DataLoader(ds_m, **kwargs_m), tdata.DataLoader(ds_t, **kwargs_t)
        assert len(mine) == len(theirs)
        got_m, got_t = list(mine), list(theirs)
        assert len(got_m) == len(got_t)
        for bm, bt in zip(got_m, got_t):
            _assert_same_batch(list(bm), list(bt))


def test_default_collate_of_nested_tensors_matches_torch() -> None:
    rng = np.random.default_rng(0)
    samples = [
        {
            "x": rng.standard_normal((2, 3)).astype(np.float32),
            "ids": rng.integers(0, 9, 4),
            "mask": rng.random(4) < 0.5,
            "pair": (rng.standard_normal(2), [np.int32(i), 1.5 * i]),
        }
        for i in range(3)
    ]

    def convert(sample: Any, lib: Any) -> Any:
        if isinstance(sample, dict):
            return {k: convert(v, lib) for k, v in sample.items()}
        if isinstance(sample, (tuple, list)):
            return type(sample)(convert(v, lib) for v in sample)
        return lib.tensor(sample) if isinstance(sample, np.ndarray) else sample

    mine = mdata.default_collate([convert(s, minigrad) for s in samples])
    theirs = tdata.default_collate([convert(s, torch) for s in samples])
    _assert_same_batch(mine, theirs)


# ---------------------------------------------------------------- worker processes
class _Probe(mdata.Dataset):
    """Each sample reports where and with which random state it was made."""

    def __len__(self) -> int:
        return 12

    def __getitem__(self, i: int) -> dict[str, Any]:
        info = mdata.get_worker_info()
        return {
            "index": i,
            "worker": -1 if info is None else info.id,
            "seed": -1 if info is None else info.seed,
            "init": _INIT_MARK.get("worker", -1),
            "draw": float(minigrad.rand(1).item()),
        }


_INIT_MARK: dict[str, int] = {}


def _mark_init(worker_id: int) -> None:
    _INIT_MARK["worker"] = worker_id + 100


def _epochs(loader: mdata.DataLoader, n: int = 2) -> list[list[int]]:
    return [[int(i) for batch in loader for i in batch["index"].data] for _ in range(n)]


def test_workers_preserve_order_and_seed_per_worker() -> None:
    ds = _Probe()

    def loader(seed: int, workers: int, **kw: Any) -> mdata.DataLoader:
        gen = np.random.default_rng(seed)
        return mdata.DataLoader(
            ds, batch_size=2, shuffle=True, num_workers=workers, generator=gen, **kw
        )

    # Order: with 2 workers the same batches as in the main process, epoch after epoch.
    assert _epochs(loader(5, 2)) == _epochs(loader(5, 0))
    assert _epochs(loader(5, 2)) != _epochs(loader(6, 2))  # another seed, another order
    # Persistent workers keep their seeds: as in PyTorch no base seed is drawn after the
    # first epoch, so only that one matches; later ones are still permutations.
    persistent = _epochs(loader(5, 2, persistent_workers=True), 3)
    assert persistent[0] == _epochs(loader(5, 0), 1)[0]
    assert all(sorted(epoch) == list(range(12)) for epoch in persistent)
    assert persistent[1] != persistent[2]

    batches = list(loader(5, 2, worker_init_fn=_mark_init, prefetch_factor=1))
    workers = {int(w) for b in batches for w in b["worker"].data}
    assert workers == {0, 1}
    for b in batches:
        for w, init in zip(b["worker"].data, b["init"].data):
            assert init == w + 100  # worker_init_fn ran in that worker first
        assert len(set(b["seed"].data.tolist())) == 1  # one batch, one worker
    seeds = {int(w): int(s) for b in batches for w, s in zip(b["worker"].data, b["seed"].data)}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker_id
    draws = [d for b in batches for d in b["draw"].data.tolist()]
    assert len(set(draws)) == len(draws)  # the workers' generators differ
    assert _INIT_MARK == {}  # worker_init_fn ran in the workers only


class _Shard(mdata.IterableDataset):
    """``range(start, stop)``, split across workers in contiguous parts (PyTorch's docs)."""

    def __init__(self, start: int, stop: int, worker_info: Any) -> None:
        self.start, self.stop, self.worker_info = start, stop, worker_info

    def __iter__(self) -> Any:
        info = self.worker_info()
        start, stop = self.start, self.stop
        if info is not None:
            per_worker = -(-(stop - start) // info.num_workers)
            start = start + info.id * per_worker
            stop = min(start + per_worker, self.stop)
        return iter(np.arange(start, stop).tolist())

    def __len__(self) -> int:
        return self.stop - self.start


class _TorchShard(_Shard, tdata.IterableDataset):
    pass


@pytest.mark.parametrize("drop_last", [False, True])
def test_iterable_dataset_sharding_matches_torch(drop_last: bool) -> None:
    mine = mdata.DataLoader(
        _Shard(3, 20, mdata.get_worker_info), batch_size=3, num_workers=2, drop_last=drop_last
    )
    theirs = tdata.DataLoader(
        _TorchShard(3, 20, tdata.get_worker_info),
        batch_size=3,
        num_workers=2,
        drop_last=drop_last,
    )
    got_m = [b.data.tolist() for b in mine]
    got_t = [b.tolist() for b in theirs]
    assert got_m == got_t
    flat = list(itertools.chain(*got_m))
    assert len(flat) == len(set(flat))  # no sample twice
    if not drop_last:
        assert sorted(flat) == list(range(3, 20))
    assert len(mine) == len(theirs)
    # In the main process the whole range, once.
    single = mdata.DataLoader(_Shard(3, 20, mdata.get_worker_info), batch_size=4)
    assert [v for b in single for v in b.data.tolist()] == list(range(3, 20))


class _Faulty(mdata.Dataset):
    def __len__(self) -> int:
        return 6

    def __getitem__(self, i: int) -> int:
        if i == 4:
            raise KeyError(f"sample {i} is missing")
        return i


def test_worker_error_is_reraised_with_its_type() -> None:
    loader = mdata.DataLoader(_Faulty(), batch_size=1, num_workers=2)
    with pytest.raises(KeyError, match=r"(?s)worker process 0.*sample 4 is missing"):
        list(loader)


class _Slow(mdata.Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> int:
        import time

        time.sleep(3)
        return i


class _Dies(mdata.Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> int:
        import os

        os._exit(3)  # a worker killed mid-batch (as by the OOM killer)


def test_worker_timeout_and_death_are_errors_not_hangs() -> None:
    with pytest.raises(RuntimeError, match="timed out after 0.5 seconds"):
        list(mdata.DataLoader(_Slow(), num_workers=1, timeout=0.5))
    with pytest.raises(RuntimeError, match=r"worker \(pid\(s\) \d+\) exited unexpectedly"):
        list(mdata.DataLoader(_Dies(), num_workers=1))
