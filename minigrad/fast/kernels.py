"""Array tricks shared by the fused kernels (softmax, layer norm, GELU, dropout,
attention).

Each helper below does what a plain NumPy expression would, with less memory
traffic; none changes a result:

- ``fresh(a)``: NumPy arithmetic on 0-d arrays gives scalars, which ``out=`` cannot
  take. ``fresh`` makes the result of an arithmetic step an ndarray again, so the next
  steps may run in place in it (it is new, so nobody else holds it).
- ``inplace(ufunc, op, a)``: the same kernel code runs on arrays (no graph recorded)
  and on Tensors (``create_graph``). On an array the caller owns, the ufunc writes into
  it (allocating a new array costs as much as a pass over it); on a Tensor the
  recording op runs instead.
- ``rowdot(a, b)``: Σ over the last dim of a·b, as one batched (1×n)(n×1) matrix
  product: no temporary the size of ``a`` (``(a * b).sum(-1)`` makes one).
- ``softmax_(a, axis)``: softmax computed in place in ``a``.
- ``keep_mask(shape, p)``: dropout's Bernoulli(1 - p) mask from the generator's raw
  64-bit draws cut into two 32-bit ones, which costs half as much as drawing floats.
  Fast and reference paths both draw their mask here, so they agree for a seed.
- ``keep_scale(p)``: 1/(1 - p), the scale of the kept elements (0 when p = 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad import random
from minigrad.ops._util import max_along
from minigrad.ops.linalg import matmul
from minigrad.ops.shape import squeeze, unsqueeze

__all__ = ["fresh", "inplace", "keep_mask", "keep_scale", "rowdot", "softmax_"]


def fresh(a: Any) -> np.ndarray:
    """``a`` as an ndarray the caller may overwrite (for results of arithmetic, which
    are new)."""
    return a if type(a) is np.ndarray else np.asarray(a)


def inplace(ufunc: np.ufunc, op: Callable[[Any], Any], a: Any) -> Any:
    """``op(a)``: recorded on a Tensor; on an array the caller owns, ``ufunc`` in place."""
    return ufunc(a, out=a) if type(a) is np.ndarray else op(a)


def rowdot(a: Any, b: Any) -> Any:
    """Σ over the last dim of a·b, kept as a dim of size 1 (Tensors or arrays)."""
    return squeeze(matmul(unsqueeze(a, -2), unsqueeze(b, -1)), -1)


def softmax_(a: np.ndarray, axis: int) -> np.ndarray:
    """softmax along ``axis`` computed in place in ``a`` (an array the caller owns)."""
    a -= max_along(a, axis)
    np.exp(a, out=a)
    a *= 1.0 / a.sum(axis=axis, keepdims=True)
    return a


def keep_mask(shape: tuple[int, ...], p: float) -> np.ndarray:
    """Booleans, each True with probability 1 - p (dropout's keep mask).

    Uniform 32-bit integers u, kept where u ≥ p·2³² (a probability exact to 2⁻³²). They
    are the global generator's raw 64-bit draws cut in two."""
    if p >= 1.0:
        return np.zeros(shape, dtype=bool)
    n = int(np.prod(shape))
    raw = random.generator().bit_generator.random_raw((n + 1) // 2)
    return (raw.view(np.uint32)[:n] >= np.uint32(min(p * 2.0**32, 2.0**32 - 1))).reshape(shape)


def keep_scale(p: float) -> float:
    """1/(1 - p), the scale of the kept elements (0 when p = 1: nothing is kept)."""
    return 0.0 if p >= 1.0 else 1.0 / (1.0 - p)
