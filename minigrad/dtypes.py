"""Dtypes and PyTorch's type-promotion rules.

minigrad's dtypes are NumPy dtypes (``minigrad.float32 is np.dtype("float32")``).
Promotion follows PyTorch, not NumPy:

* categories are ordered bool < integer < floating;
* operands come in three priority groups: tensors with one or more dimensions,
  zero-dimensional tensors, and Python scalars;
* the result is the promoted dtype of the highest-priority group, unless a
  lower-priority group has a *higher category*: then a 0-d tensor contributes its
  own dtype and a Python scalar the default dtype of its category (float32 for
  ``float``, int64 for ``int``).

So ``float32_tensor * 2.5`` stays float32, ``int64_tensor * 2.5`` is float32 and
``float32_tensor + float64_0d_tensor`` is float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.device import refuse_torch_tensor

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")
half, double, long = float16, float64, int64  # PyTorch's aliases

_default_float = float32


def get_default_dtype() -> np.dtype:
    return _default_float


def set_default_dtype(dtype: Any) -> None:
    global _default_float
    d = np.dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d}")
    _default_float = d


def category(dtype: np.dtype) -> int:
    """0 for bool, 1 for integers, 2 for floating point."""
    kind = dtype.kind
    if kind == "f":
        return 2
    if kind in "iu":
        return 1
    if kind == "b":
        return 0
    raise TypeError(f"unsupported dtype {dtype}")


def is_floating(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


def scalar_dtype(value: Any) -> np.dtype:
    """The dtype a Python scalar takes on its own: bool, int64 or the default float."""
    if isinstance(value, (bool, np.bool_)):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    if isinstance(value, (float, np.floating)):
        return _default_float
    raise TypeError(f"unsupported scalar {value!r} of type {type(value).__name__}")


def _promote_same_priority(a: np.dtype, b: np.dtype) -> np.dtype:
    """Two dtypes of the same priority group: the higher category wins outright
    (float32 with int64 stays float32, as PyTorch; NumPy would give float64);
    within one category NumPy's promotion matches PyTorch's."""
    ca, cb = category(a), category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def result_type(*operands: Any) -> np.dtype:
    """PyTorch's result dtype for tensors (anything with ``.dtype`` and ``.ndim``) and scalars."""
    groups: list[np.dtype | None] = [None, None, None]
    for op in operands:
        if hasattr(op, "dtype") and hasattr(op, "ndim"):
            g, d = (0 if op.ndim > 0 else 1), op.dtype
            if not isinstance(d, np.dtype):
                refuse_torch_tensor(op)
                raise TypeError(f"unsupported operand of type {type(op).__name__}")
        else:
            g, d = 2, scalar_dtype(op)
        groups[g] = d if groups[g] is None else _promote_same_priority(groups[g], d)
    result: np.dtype | None = None
    for g, d in enumerate(groups):
        if d is None:
            continue
        if result is None:
            result = d
        elif category(d) > category(result):
            # A higher category from a lower-priority group: a 0-d tensor brings its
            # dtype; a Python scalar brings its category's default dtype.
            result = d if g == 1 else (_default_float if category(d) == 2 else int64)
    assert result is not None
    return result
