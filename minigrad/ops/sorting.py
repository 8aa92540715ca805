"""Order statistics and scans: sort, argsort, msort, topk, kthvalue, median, cumprod,
cummax, cummin, logcumsumexp.

The selecting ops compute indices on the data and return ``gather(x, dim, indices)``:
the values' gradient therefore scatters back to the positions they came from (PyTorch's
rule), and higher orders follow from gather's own backward.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.ops.binary import where
from minigrad.ops.declare import op
from minigrad.ops.helpers import as_tensor
from minigrad.ops.indexing import gather
from minigrad.ops.reduce import MaxMin, sum
from minigrad.ops.shape import flip, narrow, reshape, squeeze, unsqueeze
from minigrad.ops.unary import exp
from minigrad.tensor import Tensor, _normalize_dim

__all__ = [
    "argsort",
    "cummax",
    "cummin",
    "cumprod",
    "kthvalue",
    "logcumsumexp",
    "median",
    "msort",
    "quantile",
    "sort",
    "topk",
]


def _order(data: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """Stable sorting indices along ``dim`` (equal values keep their order)."""
    if descending:
        flipped = np.flip(data, dim)
        idx = np.argsort(flipped, axis=dim, kind="stable")
        idx = np.flip(idx, dim)
        return (data.shape[dim] - 1 - idx).astype(np.int64)
    return np.argsort(data, axis=dim, kind="stable").astype(np.int64)


def _dim_of(x: Tensor, dim: int, name: str) -> int:
    return _normalize_dim(dim, x.ndim, name) if x.ndim else 0


def _take(x: Tensor, dim: int, idx: np.ndarray) -> Tensor:
    return gather(x, dim, Tensor._from_op(idx, None)) if x.ndim else x


def _indices(idx: np.ndarray) -> Tensor:
    return Tensor._from_op(idx, None)


@op()
def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> MaxMin:
    """(values, indices) sorted along ``dim`` (stable: ties keep their order)."""
    x = as_tensor(x)
    d = _dim_of(x, dim, "sort")
    idx = _order(x.data, d, descending) if x.ndim else np.zeros((), np.int64)
    return MaxMin((_take(x, d, idx), _indices(idx)))


@op()
def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``x`` along ``dim``."""
    return sort(x, dim, descending, stable)[1]


@op()
def msort(x: Tensor) -> Tensor:
    """``sort(x, dim=0).values``."""
    return sort(x, 0)[0]


@op()
def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> MaxMin:
    """The k largest (or smallest) values along ``dim`` and their indices, in order."""
    x = as_tensor(x)
    d = _dim_of(x, dim, "topk")
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) out of range for dimension {dim} of size {n}")
    idx = _order(x.data, d, largest) if x.ndim else np.zeros((), np.int64)
    idx = np.take(idx, np.arange(k), axis=d) if x.ndim else idx
    return MaxMin((_take(x, d, idx), _indices(idx)))


def _select_kth(x: Tensor, k: int, dim: int, keepdim: bool, name: str) -> MaxMin:
    """The k-th smallest (0-based) along ``dim``: values and indices."""
    d = _dim_of(x, dim, name)
    if not x.ndim:
        return MaxMin((x, _indices(np.zeros((), np.int64))))
    idx = np.take(_order(x.data, d, False), [k], axis=d)
    values = _take(x, d, idx)
    if not keepdim:
        values, idx = squeeze(values, d), idx.squeeze(d)
    return MaxMin((values, _indices(idx)))


@op()
def kthvalue(x: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> MaxMin:
    """The k-th smallest value (k from 1) along ``dim`` and its index."""
    x = as_tensor(x)
    n = x.shape[_dim_of(x, dim, "kthvalue")] if x.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue: k ({k}) out of range for dimension of size {n}")
    return _select_kth(x, k - 1, dim, keepdim, "kthvalue")


@op()
def median(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """The lower median (the ⌊(n-1)/2⌋-th smallest, an element of x, as PyTorch): one
    value for ``dim=None``, else (values, indices) along ``dim``. Its gradient goes to
    that element."""
    x = as_tensor(x)
    if dim is None:
        flat = reshape(x, (-1,))
        if flat.shape[0] == 0:
            raise RuntimeError("median: cannot take the median of an empty tensor")
        return _select_kth(flat, (flat.shape[0] - 1) // 2, 0, False, "median")[0]
    n = x.shape[_dim_of(x, dim, "median")] if x.ndim else 1
    return _select_kth(x, (n - 1) // 2, dim, keepdim, "median")


class Cumprod(Function):
    """yᵢ = Πⱼ≤ᵢ xⱼ along dim;  dxⱼ = Σᵢ≥ⱼ dyᵢ · Πₖ≤ᵢ,ₖ≠ⱼ xₖ.

    Without zeros in x that is Σᵢ≥ⱼ dyᵢ yᵢ / xⱼ (a reversed cumulative sum, divided by
    xⱼ). With zeros the division fails, so the products that leave xⱼ out are formed
    directly: the cumulative product of x with xⱼ replaced by 1, for every j (an n×n
    table along dim)."""

    @staticmethod
    def forward(ctx, x, dim):
        y = np.cumprod(x, axis=dim)
        ctx.save_for_backward(x, y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        from minigrad.ops.reduce import cumsum

        x, y = ctx.saved_tensors
        d = ctx.dim
        if not np.any(x.data == 0):
            return flip(cumsum(flip(g * y, (d,)), d), (d,)) / x
        n = x.shape[d]
        xl = unsqueeze(x.swapaxes(d, -1), -2)  # (..., 1, n)
        eye = Tensor._from_op(np.eye(n, dtype=bool), None)
        left_out = cumprod(where(eye, 1.0, xl), -1)  # row j: cumprod with x_j := 1
        later = Tensor._from_op(np.triu(np.ones((n, n), dtype=bool)), None)  # i >= j
        gl = unsqueeze(g.swapaxes(d, -1), -2)
        dx = sum(where(later, gl * left_out, 0.0), -1)
        return dx.swapaxes(d, -1)


@op()
def cumprod(x: Tensor, dim: int, dtype: Any = None) -> Tensor:
    """Cumulative product along ``dim``."""
    x = as_tensor(x, np.dtype(dtype) if dtype is not None else None)
    if x.ndim == 0:
        return x
    d = _normalize_dim(dim, x.ndim, "cumprod")
    if x.dtype.kind != "f":
        return Tensor._from_op(np.cumprod(x.data, axis=d), None)
    return Cumprod.apply(x, dim=d)


def _cumulative_extreme(x: Tensor, dim: int, largest: bool, name: str) -> MaxMin:
    """Running max (min) and the index where it was reached (the latest one on ties, as
    PyTorch); values gathered there, so the gradient goes to that element."""
    x = as_tensor(x)
    if x.ndim == 0:
        return MaxMin((x, _indices(np.zeros((), np.int64))))
    d = _normalize_dim(dim, x.ndim, name)
    data = np.moveaxis(x.data, d, -1)
    idx = np.zeros(data.shape, np.int64)
    best = data[..., 0].copy()
    for i in range(1, data.shape[-1]):
        v = data[..., i]
        take = (v >= best) if largest else (v <= best)
        take |= np.isnan(v)
        best = np.where(take, v, best)
        idx[..., i] = np.where(take, i, idx[..., i - 1])
    idx = np.moveaxis(idx, -1, d)
    return MaxMin((gather(x, d, _indices(idx)), _indices(idx)))


@op()
def cummax(x: Tensor, dim: int) -> MaxMin:
    """(values, indices) of the running maximum along ``dim``."""
    return _cumulative_extreme(x, dim, True, "cummax")


@op()
def cummin(x: Tensor, dim: int) -> MaxMin:
    """(values, indices) of the running minimum along ``dim``."""
    return _cumulative_extreme(x, dim, False, "cummin")


class LogCumSumExp(Function):
    """yᵢ = ln Σⱼ≤ᵢ e^xⱼ along dim (by ``logaddexp.accumulate``: no overflow);
    dxⱼ = Σᵢ≥ⱼ dyᵢ · e^(xⱼ - yᵢ), each factor ≤ 1 (an n×n table along dim)."""

    @staticmethod
    def forward(ctx, x, dim):
        y = np.logaddexp.accumulate(x, axis=dim)
        ctx.save_for_backward(x, y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        d = ctx.dim
        n = x.shape[d]
        xs = unsqueeze(x.swapaxes(d, -1), -2)  # (..., 1, n): x_j along the last axis
        ys = unsqueeze(y.swapaxes(d, -1), -1)  # (..., n, 1): y_i along the rows
        gs = unsqueeze(g.swapaxes(d, -1), -1)
        later = Tensor._from_op(np.tril(np.ones((n, n), dtype=bool)), None)  # i >= j
        w = where(later, exp(where(later, xs - ys, 0.0)), 0.0)
        return sum(gs * w, -2).swapaxes(d, -1)


@op()
def logcumsumexp(x: Tensor, dim: int) -> Tensor:
    """ln of the cumulative sum of eˣ along ``dim``, computed without overflow."""
    x = as_tensor(x)
    if x.ndim == 0:
        return x
    return LogCumSumExp.apply(x, dim=_normalize_dim(dim, x.ndim, "logcumsumexp"))


@op()
def quantile(
    x: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, interpolation: str = "linear"
) -> Tensor:
    """The q-quantiles along ``dim`` (of all elements for None): with the sorted values v
    and position p = q·(n - 1), v[⌊p⌋] + (v[⌈p⌉] - v[⌊p⌋])·(p - ⌊p⌋) ('linear'; also 'lower',
    'higher', 'nearest', 'midpoint'). A 1-D q puts its dim first, as PyTorch."""
    x = as_tensor(x)
    qs = np.asarray(q.data if isinstance(q, Tensor) else q, dtype=np.float64)
    if qs.ndim > 1 or np.any((qs < 0) | (qs > 1)):
        raise RuntimeError(f"quantile: q must be a number or 1-D tensor in [0, 1], got {q!r}")
    if interpolation not in ("linear", "lower", "higher", "nearest", "midpoint"):
        raise RuntimeError(f"quantile: unknown interpolation {interpolation!r}")
    in_ndim = x.ndim
    if dim is None:
        x, d = reshape(x, (-1,)), 0
    else:
        d = _dim_of(x, dim, "quantile")
    if x.ndim == 0:
        x = reshape(x, (1,))
    n = x.shape[d]
    v = sort(x, d)[0]
    outs = []
    for qi in np.atleast_1d(qs):
        p = qi * (n - 1)
        lo, hi = math.floor(p), math.ceil(p)
        if interpolation == "nearest":
            lo = hi = int(np.round(p))  # half to even, as PyTorch
        elif interpolation == "lower":
            hi = lo
        elif interpolation == "higher":
            lo = hi
        frac = 0.5 if interpolation == "midpoint" else p - lo
        v_lo = narrow(v, d, lo, 1)
        out = v_lo if hi == lo else v_lo + (narrow(v, d, hi, 1) - v_lo) * frac
        if not keepdim:
            out = squeeze(out, d)
        elif dim is None:
            out = reshape(out, (1,) * in_ndim)
        outs.append(out)
    if qs.ndim == 0:
        return outs[0]
    from minigrad.ops.shape import stack

    return stack(outs, 0)
