"""Datasets and the ``DataLoader`` that batches them, after ``torch.utils.data``.

A *dataset* maps an index ``0 <= i < len(dataset)`` to one sample (often a tuple such as
``(features, label)``). The loader draws indices in order or shuffled, groups
``batch_size`` of them, fetches the samples and *collates* them: tensors, arrays and
numbers at the same position in every sample are stacked into one tensor with a new
leading batch dimension.

Everything runs in the calling process (there are no worker processes), and shuffling
draws from a ``numpy.random.Generator``, so a seed fixes the order of every epoch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

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
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(int(math.floor(n * fraction)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
    else:
        sizes = [int(length) for length in lengths]
    if sum(sizes) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    rng = generator if generator is not None else _global_generator()
    order = rng.permutation(n).tolist()
    ends = itertools.accumulate(sizes)
    return [Subset(dataset, order[end - size : end]) for end, size in zip(ends, sizes)]


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into a batch, recursively, as PyTorch's ``default_collate``.

    * Tensors and NumPy arrays (or NumPy scalars) are stacked along a new first dimension
      into a Tensor of the same dtype;
    * Python ``bool``/``int``/``float`` become a 1-d Tensor of bool / int64 / float64
      (a Python float is a double, as in PyTorch);
    * strings are returned as a list;
    * dicts are collated key by key, sequences position by position (a tuple sample
      gives a list, a namedtuple stays that namedtuple, as in PyTorch).

    The result is a new leaf tensor: the batch is data, not part of a graph.
    """
    elem = batch[0]
    if isinstance(elem, (Tensor, np.ndarray, np.generic)):
        arrays = [x.data if isinstance(x, Tensor) else np.asarray(x) for x in batch]
        if elem.dtype.kind not in "biuf":
            raise TypeError(f"default_collate: cannot batch arrays of dtype {elem.dtype}")
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise RuntimeError(
                f"default_collate: stack expects each tensor to be equal size, but got {shapes}"
            )
        return from_numpy(np.stack(arrays))
    if isinstance(elem, bool):
        return from_numpy(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return from_numpy(np.array(batch, dtype=np.int64))
    if isinstance(elem, float):
        return from_numpy(np.array(batch, dtype=np.float64))
    if isinstance(elem, str):
        return list(batch)
    if isinstance(elem, Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(samples)) for samples in zip(*batch)]
    raise TypeError(
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(elem).__name__}"
    )


class DataLoader(Generic[T_co]):
    """Iterate over ``dataset`` in batches of ``batch_size`` samples.

    ``shuffle`` draws a fresh permutation at the start of every epoch (every ``iter``)
    from ``generator``, or from minigrad's global generator (``minigrad.manual_seed``)
    when none is given: the same seed gives the same sequence of epochs, and each epoch
    visits every sample exactly once. ``drop_last`` drops a final, smaller batch.
    ``collate_fn`` turns a list of samples into a batch (default: :func:`default_collate`).
    """

    def __init__(
        self,
        dataset: Dataset[T_co],
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: np.random.Generator | None = None,
        collate_fn: Callable[[list[T_co]], Any] | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(
                f"generator must be a numpy.random.Generator, got {type(generator).__name__}"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator
        self.collate_fn = collate_fn if collate_fn is not None else default_collate

    def _indices(self) -> Sequence[int]:
        n = len(self.dataset)
        if not self.shuffle:
            return range(n)
        rng = self.generator if self.generator is not None else _global_generator()
        return rng.permutation(n).tolist()

    def __iter__(self) -> Iterator[Any]:
        indices = self._indices()
        stop = len(self) * self.batch_size if self.drop_last else len(indices)
        for start in range(0, stop, self.batch_size):
            batch_indices = indices[start : start + self.batch_size]
            yield self.collate_fn([self.dataset[i] for i in batch_indices])

    def __len__(self) -> int:
        """The number of batches per epoch."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
