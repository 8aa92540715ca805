"""Collating samples into batches: ``default_collate`` and ``default_convert``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from minigrad.creation import from_numpy
from minigrad.tensor import Tensor


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


def default_convert(data: Any) -> Any:
    """Turn NumPy arrays (and NumPy scalars) into Tensors, recursively, leaving everything
    else as it is: PyTorch's ``default_convert``, the loader's collate when automatic
    batching is off (``batch_size=None``)."""
    if isinstance(data, (np.ndarray, np.generic)) and data.dtype.kind in "biuf":
        return from_numpy(np.asarray(data))
    if isinstance(data, Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # as PyTorch: a tuple becomes a list
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        return [default_convert(d) for d in data]
    return data
