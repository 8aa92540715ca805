"""minigrad.utils.data against torch.utils.data: same batches, shapes and dtypes."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np
import pytest
import torch
import torch.utils.data as tdata
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad.utils.data import (
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def _np_dtype(t: torch.Tensor) -> np.dtype:
    return torch.empty(0, dtype=t.dtype).numpy().dtype


def _assert_same_batch(mine: Any, theirs: Any) -> None:
    """Recursively: Tensors equal (values, shape, dtype) and containers of the same kind."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(mine, minigrad.Tensor)
        assert mine.dtype == _np_dtype(theirs)
        assert mine.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(mine.data, theirs.numpy())
    elif isinstance(theirs, dict):
        assert isinstance(mine, dict) and mine.keys() == theirs.keys()
        for key in theirs:
            _assert_same_batch(mine[key], theirs[key])
    elif isinstance(theirs, (list, tuple)):
        assert type(mine) is type(theirs) and len(mine) == len(theirs)
        for m, t in zip(mine, theirs):
            _assert_same_batch(m, t)
    else:
        assert mine == theirs


def _datasets(n: int) -> tuple[TensorDataset, tdata.TensorDataset]:
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, 3, 2)).astype(np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    mask = rng.random(n) < 0.5
    mine = TensorDataset(minigrad.tensor(x), minigrad.tensor(y), minigrad.tensor(mask))
    theirs = tdata.TensorDataset(torch.tensor(x), torch.tensor(y), torch.tensor(mask))
    return mine, theirs


@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), drop_last=st.booleans())
def test_batches_match_torch(n: int, batch_size: int, drop_last: bool) -> None:
    mine_ds, theirs_ds = _datasets(n)
    mine = DataLoader(mine_ds, batch_size=batch_size, drop_last=drop_last)
    theirs = tdata.DataLoader(theirs_ds, batch_size=batch_size, drop_last=drop_last)
    assert len(mine) == len(theirs)
    batches_m, batches_t = list(mine), list(theirs)
    assert len(batches_m) == len(batches_t) == len(theirs)
    for bm, bt in zip(batches_m, batches_t):
        _assert_same_batch(bm, bt)


class _PythonSamples(Dataset):
    """Samples made of Python and NumPy values, to exercise the default collate."""

    Point = namedtuple("Point", ["x", "y"])

    def __len__(self) -> int:
        return 7

    def __getitem__(self, i: int) -> Any:
        return {
            "int": i,
            "float": i / 2,
            "bool": i % 2 == 0,
            "name": f"s{i}",
            "np_scalar": np.float32(i),
            "np_array": np.arange(3, dtype=np.int32) + i,
            "nested": (np.full(2, i, np.float64), [i, i + 1]),
            "point": self.Point(i, float(i)),
        }


class _TorchView(tdata.Dataset):
    def __init__(self, ds: Dataset) -> None:
        self.ds = ds

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> Any:
        return self.ds[i]


def test_default_collate_matches_torch_on_python_and_numpy_values() -> None:
    ds = _PythonSamples()
    for bm, bt in zip(DataLoader(ds, batch_size=3), tdata.DataLoader(_TorchView(ds), 3)):
        _assert_same_batch(bm, bt)


def test_default_collate_dtypes() -> None:
    batch = default_collate([(1, 1.0, True), (2, 2.0, False)])
    assert [t.dtype for t in batch] == [np.int64, np.float64, np.bool_]
    tensors = default_collate([minigrad.tensor([1.0, 2.0]), minigrad.tensor([3.0, 4.0])])
    assert tensors.dtype == np.float32 and tensors.shape == (2, 2)
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([minigrad.tensor([1.0]), minigrad.tensor([1.0, 2.0])])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object()])


def test_tensor_dataset() -> None:
    x = minigrad.tensor(np.arange(12.0).reshape(4, 3))
    y = minigrad.tensor([0, 1, 2, 3])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    row, label = ds[2]
    np.testing.assert_array_equal(row.data, [6.0, 7.0, 8.0])
    assert label.shape == () and label.item() == 2
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(x, minigrad.tensor([0, 1]))


def _labels(loader: DataLoader) -> list[int]:
    return [int(v) for batch in loader for v in batch[1].data]


@given(n=st.integers(1, 40), batch_size=st.integers(1, 9), seed=st.integers(0, 2**32 - 1))
def test_shuffle_is_a_seeded_permutation(n: int, batch_size: int, seed: int) -> None:
    ds = TensorDataset(minigrad.zeros(n, 2), minigrad.tensor(np.arange(n)))
    loader = DataLoader(
        ds, batch_size=batch_size, shuffle=True, generator=np.random.default_rng(seed)
    )
    again = DataLoader(
        ds, batch_size=batch_size, shuffle=True, generator=np.random.default_rng(seed)
    )
    epochs = [_labels(loader) for _ in range(3)]
    assert epochs == [_labels(again) for _ in range(3)]  # same seed, same epochs
    for epoch in epochs:  # every sample exactly once per epoch
        assert sorted(epoch) == list(range(n))


def test_shuffle_draws_a_new_order_each_epoch_from_the_global_generator() -> None:
    ds = TensorDataset(minigrad.zeros(30, 1), minigrad.tensor(np.arange(30)))
    loader = DataLoader(ds, batch_size=4, shuffle=True)
    minigrad.manual_seed(7)
    first, second = _labels(loader), _labels(loader)
    assert first != second and first != list(range(30))
    minigrad.manual_seed(7)
    assert _labels(loader) == first


def test_drop_last_and_len() -> None:
    ds = TensorDataset(minigrad.zeros(10, 1), minigrad.tensor(np.arange(10)))
    assert [len(b[1].data) for b in DataLoader(ds, batch_size=4)] == [4, 4, 2]
    assert [len(b[1].data) for b in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]
    assert len(DataLoader(ds, batch_size=4)) == 3
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2
    assert len(DataLoader(ds, batch_size=20, drop_last=True)) == 0


def test_custom_collate_fn() -> None:
    ds = TensorDataset(minigrad.tensor(np.arange(5.0)))
    sizes = list(DataLoader(ds, batch_size=2, collate_fn=len))
    assert sizes == [2, 2, 1]


def test_loader_argument_errors() -> None:
    ds = TensorDataset(minigrad.zeros(3))
    with pytest.raises(ValueError, match="positive integer"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        DataLoader(ds, shuffle=True, generator=0)  # type: ignore[arg-type]


@given(
    n=st.integers(0, 30),
    lengths=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
@pytest.mark.filterwarnings("ignore:Length of split")
def test_random_split_fractions_match_torch_sizes(n: int, lengths: list[float], seed: int) -> None:
    total = sum(lengths)
    fractions = [x / total for x in lengths] if total > 0 else [1.0] + [0.0] * (len(lengths) - 1)
    ds = TensorDataset(minigrad.tensor(np.arange(n)))
    try:  # fractions summing to 1 + ulp are rejected by PyTorch: minigrad must agree
        theirs = tdata.random_split(range(n), fractions)
    except ValueError as e:
        with pytest.raises(ValueError, match=str(e)):
            random_split(ds, fractions)
        return
    mine = random_split(ds, fractions, generator=np.random.default_rng(seed))
    assert [len(s) for s in mine] == [len(s) for s in theirs]
    indices = [i for subset in mine for i in subset.indices]
    assert sorted(indices) == list(range(n))  # disjoint and complete
    again = random_split(ds, fractions, generator=np.random.default_rng(seed))
    assert [s.indices for s in again] == [s.indices for s in mine]


def test_random_split_sizes_and_errors() -> None:
    ds = TensorDataset(minigrad.tensor(np.arange(10)))
    a, b = random_split(ds, [3, 7], generator=np.random.default_rng(0))
    assert isinstance(a, Subset) and (len(a), len(b)) == (3, 7)
    assert int(a[0][0].item()) == a.indices[0]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(ds, [3, 3])
