"""Training one model on several processes or hosts: ``minigrad.distributed``.

minigrad itself needs only NumPy. The communication here goes through PyTorch's
``torch.distributed`` (process groups, ``gloo`` on CPUs), which is imported *lazily*,
only when a process group or a :class:`DistributedDataParallel` is made: importing this
package never imports PyTorch. The arrays exchanged are minigrad's own NumPy buffers,
shared with PyTorch without a copy (``torch.from_numpy``).

* :class:`DistributedDataParallel` (also ``minigrad.nn.parallel``): gradients averaged
  over the ranks by bucketed all-reduce; ``no_sync()`` for gradient accumulation.
* :class:`DistributedSampler`: each rank's share of a dataset, index for index as
  ``torch.utils.data.DistributedSampler``.
* :func:`seed_per_rank`: a different random stream per rank (dropout), the same model
  initialisation everywhere (it is broadcast from rank 0 anyway).
* :func:`launch.launch`: start N local ranks without ``torchrun``.

Start a job with ``torchrun --nproc-per-node=2 train.py`` (several hosts:
docs/distributed.md); in the script::

    import minigrad.distributed as dist
    dist.init_process_group("gloo")          # reads RANK, WORLD_SIZE, MASTER_ADDR...
    model = dist.DistributedDataParallel(model)
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from minigrad.distributed import launch
from minigrad.distributed.ddp import DistributedDataParallel
from minigrad.distributed.sampler import DistributedSampler
from minigrad.random import manual_seed

from . import _torch

__all__ = [
    "DistributedDataParallel",
    "DistributedSampler",
    "destroy_process_group",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_initialized",
    "launch",
    "seed_per_rank",
]


def init_process_group(backend: str = "gloo", **kwargs: Any) -> None:
    """``torch.distributed.init_process_group(backend, **kwargs)``; ``gloo`` (the CPU
    backend) by default. Without ``init_method`` it reads ``MASTER_ADDR``,
    ``MASTER_PORT``, ``RANK`` and ``WORLD_SIZE`` from the environment (torchrun sets them)."""
    _torch.distributed().init_process_group(backend, **kwargs)


def destroy_process_group() -> None:
    _torch.distributed().destroy_process_group()


def is_initialized() -> bool:
    return bool(_torch.distributed().is_initialized())


def get_rank() -> int:
    """This process's rank: the process group's, else ``$RANK``, else 0."""
    if is_initialized():
        return int(_torch.distributed().get_rank())
    return int(os.environ.get("RANK", 0))


def get_world_size() -> int:
    if is_initialized():
        return int(_torch.distributed().get_world_size())
    return int(os.environ.get("WORLD_SIZE", 1))


def seed_per_rank(seed: int, rank: int | None = None) -> int:
    """Seed minigrad's generator (dropout, ``randn``...) and NumPy's legacy global one
    with ``seed + rank``, so ranks draw different dropout masks reproducibly; returns
    the seed used. ``rank`` defaults to :func:`get_rank`."""
    s = int(seed) + (get_rank() if rank is None else int(rank))
    manual_seed(s)
    np.random.seed(s % 2**32)
    return s
