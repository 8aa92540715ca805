"""``DistributedSampler``: each rank's share of a dataset's indices, as PyTorch's.

With ``W`` replicas and a dataset of ``n`` samples, every rank gets ``m`` indices:

    m = ⌈(n − W) / W⌉ with ``drop_last`` when W does not divide n, else m = ⌈n / W⌉

The (shuffled or not) list of ``0..n−1`` is padded to ``W·m`` by repeating its start
(or cut to ``W·m`` with ``drop_last``), and rank ``r`` takes every ``W``-th index from
``r`` on: ``indices[r : W·m : W]``. The ranks' shares are disjoint apart from the
padding, and together cover the dataset.

The shuffle is ``torch.randperm(n)`` under a ``torch.Generator`` seeded with
``seed + epoch``, reproduced in NumPy without PyTorch: PyTorch's CPU generator is the
32-bit Mersenne Twister (MT19937, seeded with the low 32 bits of the seed, which is
NumPy's ``RandomState`` seeding), and its ``randperm`` is the Fisher–Yates shuffle

    r = [0, 1, …, n−1];  for i in 0..n−2:  z = u_i mod (n − i);  swap r[i], r[i + z]

with ``u_i`` the generator's successive 32-bit outputs. The indices are therefore
exactly those of ``torch.utils.data.DistributedSampler`` (the tests compare them).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized
from typing import Any

import numpy as np

import minigrad.utils.data as _data

from . import _torch

# ``torch.randperm`` switches to another generator call above this size.
_RANDPERM_SMALL = (2**32 - 1) // 20

_Base: Any = getattr(_data, "Sampler", object)


def randperm(n: int, seed: int) -> list[int]:
    """``torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()``,
    computed with NumPy (see the module docstring)."""
    if n >= _RANDPERM_SMALL:
        raise ValueError(
            f"randperm: reproducing torch.randperm for n={n} >= {_RANDPERM_SMALL} is not "
            "supported (PyTorch draws 64-bit numbers there)"
        )
    u = np.random.RandomState(seed & 0xFFFFFFFF).randint(
        0, 2**32, size=max(n - 1, 0), dtype=np.uint32
    )
    z = (u.astype(np.int64) % (n - np.arange(n - 1))).tolist()
    r = list(range(n))
    for i, zi in enumerate(z):
        j = i + zi
        r[i], r[j] = r[j], r[i]
    return r


def _default(what: str) -> int:
    dist = _torch.distributed()
    if not dist.is_initialized():
        raise RuntimeError(
            f"DistributedSampler: {what} not given and no process group is initialised"
        )
    return dist.get_world_size() if what == "num_replicas" else dist.get_rank()


class DistributedSampler(_Base):
    """The indices of ``dataset`` that rank ``rank`` of ``num_replicas`` reads in an
    epoch (``torch.utils.data.DistributedSampler``'s, index for index).

    ``num_replicas`` and ``rank`` default to the process group's. Call
    :meth:`set_epoch` at the start of every epoch: the shuffle is seeded with
    ``seed + epoch``, the same on every rank, so the shares stay disjoint and change
    from epoch to epoch. Feed the indices to a loader, e.g.
    ``DataLoader(Subset(dataset, list(sampler)), batch_size)`` each epoch.
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None:
            num_replicas = _default("num_replicas")
        if rank is None:
            rank = _default("rank")
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        indices = randperm(n, self.seed + self.epoch) if self.shuffle else list(range(n))
        if not self.drop_last:
            pad = self.total_size - len(indices)
            if pad <= len(indices):
                indices += indices[:pad]
            else:
                indices += (indices * math.ceil(pad / len(indices)))[:pad]
        else:
            indices = indices[: self.total_size]
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the shuffle of epoch ``epoch`` (the same on every rank)."""
        self.epoch = epoch
