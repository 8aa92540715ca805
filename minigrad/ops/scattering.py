"""scatter_reduce: y = x, then every src[i] (along ``dim``, at ``index[i]``) reduced into
its target, as ``torch.scatter_reduce``.

For a target t with the set S(t) of src elements sent to it (and x[t] itself when
``include_self``; a target that receives nothing keeps x[t]):

* sum:   y = x + Σ s;              x̄ = ȳ,          s̄ = ȳ[t]
* mean:  y = (x + Σ s) / N,        x̄ = ȳ / N,      s̄ = ȳ[t] / N   (N counts the terms)
* prod:  y = x · Π s;              x̄ = ȳ · y / x,  s̄ = ȳ[t] · y / s, where a single zero's
  "y / s" is the product of the others (computed by masking the zero to 1), and two or
  more zeros give 0 (then the second derivative is refused, as PyTorch refuses it)
* amax / amin: y = the max / min;  the gradient is split evenly among every term equal to
  y (PyTorch's rule, which counts x[t] as a tie even when ``include_self=False``).

With ``include_self=False``, x̄ is 0 wherever something was scattered. Each backward is
written with minigrad ops (gather, scatter_add, where, scatter_reduce itself), so it is
differentiable again. The forward-mode tangent (``ScatterReduce.jvp``) is built from
the same partial derivatives.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd.custom_function import _DoubleBackward
from minigrad.autograd.function import Function
from minigrad.ops.binary import where
from minigrad.ops.declare import op
from minigrad.ops.helpers import as_tensor
from minigrad.ops.indexing import (
    _along_axis_index,
    _check_index_tensor,
    gather,
    getitem,
    scatter_add,
)
from minigrad.tensor import Tensor, _normalize_dim

REDUCES = ("sum", "prod", "mean", "amax", "amin")
_UFUNC = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum}
_UFUNC["amin"] = np.minimum


def _const(a: Any) -> Tensor:
    return Tensor._from_op(np.asarray(a), None)


def _identity(reduce: str, dtype: np.dtype) -> Any:
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    big = np.inf if dtype.kind == "f" else np.iinfo(dtype).max
    return -big if reduce == "amax" else big


def _counts(shape: tuple, index: np.ndarray, dim: int, start: int) -> np.ndarray:
    """How many terms each target reduces: ``start`` (1 for x itself) plus its src count."""
    n = np.full(shape, start, dtype=np.int64)
    np.add.at(n, _along_axis_index(index, dim), 1)
    return n


class ScatterReduce(Function):
    """y = x with src reduced into it along ``dim`` at ``index`` (src cut to index's shape)."""

    @staticmethod
    def forward(ctx, x, src, index, dim, reduce, include_self):
        ctx.index, ctx.dim, ctx.reduce, ctx.include_self = index, dim, reduce, include_self
        targets = _along_axis_index(index, dim)
        out = x.copy()
        if not include_self:
            out[targets] = _identity(reduce, x.dtype)
        _UFUNC[reduce].at(out, targets, src)
        if reduce == "mean":
            n = np.maximum(_counts(x.shape, index, dim, int(include_self)), 1)
            out = out // n if x.dtype.kind in "iu" else (out / n).astype(x.dtype)
        ctx.save_for_backward(x, src, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, src, out = ctx.saved_tensors
        index, d, reduce, include_self = ctx.index, ctx.dim, ctx.reduce, ctx.include_self
        idx = _const(index)
        if reduce == "sum":
            gx, gsrc = g, gather(g, d, idx)
        elif reduce == "mean":
            n = np.maximum(_counts(x.shape, index, d, int(include_self)), 1).astype(g.dtype)
            gx, gsrc = g / _const(n), gather(g, d, idx) / _const(n[_along_axis_index(index, d)])
        elif reduce in ("amax", "amin"):
            self_is = x.data == out.data
            src_is = src.data == out.data[_along_axis_index(index, d)]
            ties = self_is.astype(g.dtype)
            np.add.at(ties, _along_axis_index(index, d), src_is)
            share = g / _const(ties)
            gx = where(_const(self_is), share, 0.0)
            gsrc = where(_const(src_is), gather(share, d, idx), 0.0)
        else:
            gx, gsrc = _prod_backward(x, src, out, g, index, d, include_self)
        if not include_self:
            hit = np.zeros(x.shape, dtype=bool)
            hit[_along_axis_index(index, d)] = True
            gx = where(_const(hit), 0.0, gx)
        return gx, gsrc

    @staticmethod
    def jvp(ctx, tx, tsrc):
        """Each target depends on its own x and the src sent to it alone, so the backward
        of ones gives every partial derivative: ẏ = ∂y/∂x · ẋ + scatter_add(∂y/∂s · ṡ).
        (PyTorch's forward-mode formula for prod returns 0; this is the derivative.)"""
        ones = Tensor._from_op(np.ones(tx.shape, tx.dtype), None)
        dx, ds = ScatterReduce.backward(ctx, ones)
        zeros = Tensor._from_op(np.zeros(tx.shape, tx.dtype), None)
        return dx * tx + scatter_add(zeros, ctx.dim, _const(ctx.index), ds * tsrc)


_TWO_ZEROS = (
    "scatter_reduce(): Double backward is unsupported for src when >1 zeros in src are "
    "scattered to the same position. This is because the gradient is zero everywhere "
    "there, while the second derivative is not."
)


def _prod_backward(x, src, out, g, index, d, include_self):
    """PyTorch's formula for prod, zeros included (see the module docstring)."""
    idx = _const(index)
    kw = {"index": index, "dim": d, "reduce": "prod", "include_self": include_self}
    masked_x = where(_const(x.data == 0), 1.0, x)
    gx = g * ScatterReduce.apply(masked_x, src, **kw) / masked_x
    src_zero = src.data == 0
    zeros = np.zeros(x.shape, dtype=np.int64)
    np.add.at(zeros, _along_axis_index(index, d), src_zero)
    zeros_at = zeros[_along_axis_index(index, d)]
    single = src_zero & (zeros_at == 1)
    masked_src = where(_const(single), 1.0, src)
    others = gather(g * ScatterReduce.apply(x, masked_src, **kw), d, idx)
    gsrc = where(
        _const(single), others, gather(g * out, d, idx) / where(_const(src_zero), 1.0, src)
    )
    if np.any(zeros_at > 1):  # the first derivative there is 0, the second is not
        gsrc = _DoubleBackward.apply(gsrc, message=_TWO_ZEROS)
    return gx, gsrc


@op()
def scatter_reduce(
    x: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True
) -> Tensor:
    """x with ``src[i]`` reduced into ``x[..index[i]..]`` along ``dim`` by ``reduce``
    ('sum', 'prod', 'mean', 'amax', 'amin'); ``include_self=False`` leaves x's own
    values out of every target that receives something. index must have x's number of
    dims and be no larger than src in any dim (nor than x outside ``dim``)."""
    if reduce not in REDUCES:
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    x = as_tensor(x)
    d = _normalize_dim(dim, x.ndim, "scatter_reduce")
    idx = _check_index_tensor("scatter_reduce", index, x, d)
    src = as_tensor(src)
    if src.dtype != x.dtype:
        raise RuntimeError(
            f"scatter_reduce(): Expected self.dtype to be equal to src.dtype (got {x.dtype} "
            f"and {src.dtype})"
        )
    if (
        idx.ndim != x.ndim
        or src.ndim != x.ndim
        or any(idx.shape[i] > src.shape[i] for i in range(idx.ndim))
        or any(idx.shape[i] > x.shape[i] for i in range(idx.ndim) if i != d)
    ):
        raise RuntimeError(
            f"scatter_reduce: index of shape {idx.shape} must have as many dims as the input "
            f"{x.shape} and be no larger than src {src.shape} in any dim (nor than the input "
            f"outside dim {d})"
        )
    if src.shape != idx.shape:
        src = getitem(src, tuple(slice(n) for n in idx.shape))
    return ScatterReduce.apply(
        x, src, index=idx.astype(np.int64), dim=d, reduce=reduce, include_self=include_self
    )
