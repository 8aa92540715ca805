"""Tensor factories with PyTorch's names and signatures.

Each takes PyTorch's ``device=`` argument: ``"cpu"`` (or ``minigrad.device("cpu")``, or
None) is where minigrad computes; any other device is refused in one sentence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import dtypes, random
from minigrad.device import check_device, refuse_torch_tensor
from minigrad.tensor import Tensor, _to_array


def _size(size: tuple) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if not isinstance(n, (int, np.integer)) or n < 0:
            raise RuntimeError(f"invalid size {tuple(size)}: sizes must be non-negative integers")
    return tuple(int(n) for n in size)


def _make(arr: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._from_op(arr, None)
    if requires_grad:
        t.requires_grad = True  # validates the dtype
    return t


def _float(dtype: Any) -> np.dtype:
    return dtypes.get_default_dtype() if dtype is None else np.dtype(dtype)


def _random_float(dtype: Any, op: str) -> np.dtype:
    """The dtype of a continuous random draw: a floating one. PyTorch refuses integer
    and bool dtypes here (``randn(dtype=int64)`` would be all zeros)."""
    dt = _float(dtype)
    if dt.kind != "f":
        raise NotImplementedError(
            f"{op}: not implemented for dtype {dt} (a continuous distribution needs a "
            "floating dtype; use randint for integers)"
        )
    return dt


def _count(n: Any, op: str, what: str = "n") -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"{op}: {what} must be an integer, got {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"{op}: {what} must be greater or equal to 0, got {n}")
    return int(n)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A new leaf tensor holding a copy of ``data``: Python floats become the default
    float dtype, ints int64, bools bool (unlike ``Tensor(data)``, always floating)."""
    check_device(device, "tensor")
    return _make(_to_array(data, dtype), requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    check_device(device, "as_tensor")
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    return _make(_to_array(data, dtype), False)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``arr`` (no copy)."""
    if not isinstance(arr, np.ndarray):
        refuse_torch_tensor(arr, "from_numpy")
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(arr).__name__})")
    return Tensor._from_op(arr, None)


def zeros(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device(device, "zeros")
    return _make(np.zeros(_size(size), _float(dtype)), requires_grad)


def ones(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device(device, "ones")
    return _make(np.ones(_size(size), _float(dtype)), requires_grad)


def empty(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device(device, "empty")
    return _make(np.empty(_size(size), _float(dtype)), requires_grad)


def full(
    size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    check_device(device, "full")
    if dtype is None:
        dtype = dtypes.scalar_dtype(fill_value)
    return _make(np.full(_size((size,)), fill_value, np.dtype(dtype)), requires_grad)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    check_device(device, "arange")
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(
            f"arange: upper bound and lower bound inconsistent with step sign "
            f"(start={start}, end={end}, step={step})"
        )
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = dtypes.int64 if is_int else dtypes.get_default_dtype()
    return _make(np.arange(start, end, step).astype(dtype), requires_grad)


def linspace(
    start: float,
    end: float,
    steps: int,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    check_device(device, "linspace")
    return _make(np.linspace(start, end, steps).astype(_float(dtype)), requires_grad)


def eye(
    n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    check_device(device, "eye")
    n = _count(n, "eye")
    m = n if m is None else _count(m, "eye", "m")
    return _make(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def rand(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Uniform on [0, 1) from the global generator."""
    check_device(device, "rand")
    arr = random.generator().random(_size(size)).astype(_random_float(dtype, "rand"))
    return _make(arr, requires_grad)


def randn(*size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Standard normal from the global generator."""
    check_device(device, "randn")
    arr = random.generator().standard_normal(_size(size)).astype(_random_float(dtype, "randn"))
    return _make(arr, requires_grad)


def randint(
    low: int, high: Any = None, size: Any = (), dtype: Any = None, device: Any = None
) -> Tensor:
    """Integers uniform on [low, high); ``randint(high, size)`` as PyTorch."""
    check_device(device, "randint")
    if isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"randint: expected low < high, got low={low}, high={high}")
    arr = random.generator().integers(low, high, _size((size,)))
    return _make(arr.astype(dtypes.int64 if dtype is None else np.dtype(dtype)), False)


def randperm(n: int, dtype: Any = None, device: Any = None) -> Tensor:
    check_device(device, "randperm")
    n = _count(n, "randperm")
    return _make(random.generator().permutation(n).astype(dtype or dtypes.int64), False)


def zeros_like(
    x: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    check_device(device, "zeros_like")
    return _make(np.zeros(x.shape, dtype or x.dtype), requires_grad)


def ones_like(
    x: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    check_device(device, "ones_like")
    return _make(np.ones(x.shape, dtype or x.dtype), requires_grad)


def empty_like(
    x: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    check_device(device, "empty_like")
    return _make(np.empty(x.shape, dtype or x.dtype), requires_grad)


def full_like(
    x: Tensor, fill_value: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    check_device(device, "full_like")
    return _make(np.full(x.shape, fill_value, dtype or x.dtype), requires_grad)


def rand_like(
    x: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    check_device(device, "rand_like")
    return rand(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def randn_like(
    x: Tensor, dtype: Any = None, requires_grad: bool = False, device: Any = None
) -> Tensor:
    check_device(device, "randn_like")
    return randn(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)
