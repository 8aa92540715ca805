"""Datasets, samplers and the ``DataLoader`` that batches them, after ``torch.utils.data``.

A *dataset* maps an index ``0 <= i < len(dataset)`` to one sample (often a tuple such as
``(features, label)``), or, as an :class:`IterableDataset`, yields its samples. The
loader draws indices from a *sampler* (in order, shuffled, weighted...), groups them
into batches, fetches the samples (in the calling process or in worker processes) and
*collates* them: tensors, arrays and numbers at the same position in every sample are
stacked into one tensor with a new leading batch dimension.

Shuffling draws from a ``numpy.random.Generator`` (the one given, else minigrad's global
generator), so a seed fixes the order of every epoch.
"""

from minigrad.utils.data.collate import default_collate, default_convert
from minigrad.utils.data.dataloader import DataLoader, WorkerInfo, get_worker_info
from minigrad.utils.data.dataset import (
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from minigrad.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
