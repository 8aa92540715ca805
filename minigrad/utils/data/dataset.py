"""Datasets, after ``torch.utils.data``.

A *map-style* dataset maps an index ``0 <= i < len(dataset)`` to one sample (often a
tuple such as ``(features, label)``); an *iterable-style* one (:class:`IterableDataset`)
yields its samples from ``__iter__``, for streams that cannot be indexed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Generic, TypeVar

import numpy as np

from minigrad.creation import from_numpy
from minigrad.random import generator as _global_generator
from minigrad.tensor import Tensor

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """Abstract map-style dataset: subclasses define ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index: int) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


class IterableDataset(Dataset[T_co]):
    """Abstract iterable-style dataset: subclasses define ``__iter__`` (and may define
    ``__len__``).

    With ``DataLoader(num_workers=N)`` every worker process holds its own copy of the
    dataset and iterates it in full, so without care each sample arrives ``N`` times.
    Inside ``__iter__``, :func:`minigrad.utils.data.get_worker_info` tells the copy which
    worker it is in (``None`` in the main process), so that it can yield its share only,
    e.g. ``itertools.islice(stream, info.id, None, info.num_workers)``.
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __getitem__(self, index: int) -> T_co:
        raise TypeError(f"{type(self).__name__} is an IterableDataset: it cannot be indexed")


class TensorDataset(Dataset[tuple[Tensor, ...]]):
    """Samples are the ``index``-th rows of each of the given tensors, as a tuple.

    Example: ``TensorDataset(x, y)[i] == (x[i], y[i])``; all tensors must have the same
    first dimension.
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        sizes = [t.shape[0] if t.shape else None for t in tensors]
        if None in sizes or len(set(sizes)) != 1:
            raise ValueError(f"Size mismatch between tensors: first dimensions are {sizes}")
        self.tensors = tensors

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        # Rows are new leaf tensors viewing the same memory (a data pipeline needs no graph);
        # asarray turns the NumPy scalar that a 1-d row is into a 0-d array.
        return tuple(from_numpy(np.asarray(t.data[index])) for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset[T_co], indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: int) -> T_co:
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(
    dataset: Dataset[T_co],
    lengths: Sequence[int | float],
    generator: np.random.Generator | None = None,
) -> list[Subset[T_co]]:
    """Split ``dataset`` at random into non-overlapping subsets of the given lengths.

    ``lengths`` are sizes summing to ``len(dataset)``, or fractions summing to 1. With
    fractions each subset gets ``floor(n * fraction)`` samples, and the remainder is
    dealt out one by one from the first subset on, as PyTorch does.
    """
    n = len(dataset)
    sizes_given = not (math.isclose(sum(lengths), 1) and sum(lengths) <= 1)
    if not sizes_given:
        sizes = []
        for i, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(int(math.floor(n * fraction)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
    else:
        sizes = [int(length) for length in lengths]
    # As PyTorch, lengths that are not fractions must sum to n as given: fractions a
    # hair above 1 are refused, even for an empty dataset.
    if sum(sizes) != n or (sizes_given and sum(lengths) != n):
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    rng = generator if generator is not None else _global_generator()
    order = rng.permutation(n).tolist()
    ends = itertools.accumulate(sizes)
    return [Subset(dataset, order[end - size : end]) for end, size in zip(ends, sizes)]
