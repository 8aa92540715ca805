"""Reductions: y = reduce(x) over ``dim``.

Every element of x that contributed to an output element gets that element's
gradient, weighted by its local derivative: 1 for sum, 1/n for mean, the
indicator of "was the extreme" for max/min. ``_grad_to_input`` re-inserts the
reduced dims (when ``keepdim=False``) and broadcasts dy back to x's shape.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad import dtypes, fast
from minigrad.autograd.function import Function, saves_output
from minigrad.core.grad_mode import is_grad_enabled
from minigrad.core.primitives import Amax, Sum
from minigrad.fast.fused import reference_of
from minigrad.ops.binary import where
from minigrad.ops.declare import op
from minigrad.ops.helpers import as_tensor, broadcast_to, constant, is_array
from minigrad.ops.indexing import gather
from minigrad.ops.shape import flip, reshape, squeeze, unsqueeze
from minigrad.ops.unary import exp
from minigrad.tensor import Tensor, _normalize_dim, normalize_dims

Dim = int | Sequence[int] | None


def _reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...], keepdim: bool) -> tuple:
    """The shape of a reduction of ``shape`` over ``axes``: reduced axes kept as 1, or
    dropped."""
    if keepdim:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _grad_to_input(g: Tensor, in_shape: tuple[int, ...], axes: tuple[int, ...]) -> Tensor:
    """dy (reduced shape) → broadcast over x's shape."""
    return broadcast_to(reshape(g, _reduced_shape(in_shape, axes, True)), in_shape)


class Mean(Function):
    """y = (1/n) Σ x over axes;  dx = dy / n broadcast back."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.in_shape, ctx.axes = x.shape, axes
        ctx.n = int(np.prod([x.shape[a] for a in axes]))
        return x.mean(axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return _grad_to_input(g / ctx.n, ctx.in_shape, ctx.axes)


@reference_of(Mean)
def mean_reference(x: Tensor, axes: tuple[int, ...], keepdim: bool) -> Tensor:
    """Σ x / n."""
    return sum(x, axes, keepdim) / int(np.prod([x.shape[a] for a in axes]))


class Prod(Function):
    """y = Π x over one axis;  dxᵢ = dy · Π_{j≠i} xⱼ (computed without dividing by x,
    so zeros are handled as PyTorch does)."""

    output_saved = True  # PyTorch saves the output: writing it in place refuses

    @staticmethod
    def forward(ctx, x, axis, keepdim):
        ctx.save_for_backward(x)
        ctx.axis = axis
        return x.prod(axis=axis, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        a = ctx.axis
        xa = x.data
        if np.all(xa != 0):  # differentiable form, for higher orders: Π_{j≠i} xⱼ = y / xᵢ
            others = x.prod(dim=a, keepdim=True) / x
        elif is_grad_enabled():  # create_graph with zeros, where y / x would be 0/0
            others = _prod_of_others(x, a)
        else:
            # product of the elements before and after each position: exclusive cumprods
            ones = np.ones_like(np.take(xa, [0], axis=a))
            before = np.cumprod(np.concatenate([ones, np.delete(xa, -1, axis=a)], axis=a), axis=a)
            after = np.flip(
                np.cumprod(
                    np.concatenate([ones, np.delete(np.flip(xa, a), -1, axis=a)], axis=a), axis=a
                ),
                a,
            )
            others = Tensor._from_op(before * after, None)
        return _grad_to_input(g, x.shape, (a,)) * others


def _prod_of_others(x: Tensor, a: int) -> Tensor:
    """Π_{j≠i} xⱼ along axis a with graph-recording ops (O(n²) memory): row i of an n×n
    stack is x with xᵢ replaced by 1, and each row is multiplied out."""
    n = x.shape[a]
    rows = broadcast_to(unsqueeze(x, a), x.shape[:a] + (n,) + x.shape[a:])
    eye = np.eye(n, dtype=bool).reshape((n, n) + (1,) * (x.ndim - a - 1))
    return where(Tensor._from_op(eye, None), constant(1, x.dtype), rows).prod(dim=a + 1)


class LogSumExp(Function):
    """y = log Σ exp(x) = m + log Σ exp(x - m) with m = max x (so exp never overflows);
    dx = dy · exp(x - y) = dy · softmax(x).

    An op of its own, not a fused kernel: its backward is PyTorch's e^(x - y), from the
    rounded output y, which the composition's derivative e^(x - m) / Σ e^(x - m) does not
    reproduce (in float32, at |x| ~ 1e4, they differ in the fourth digit)."""

    output_saved = True  # PyTorch saves the output: writing it in place refuses

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        m = x.max(axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)  # all -inf (or inf) slices: keep x - m defined
        y = np.log(np.exp(x - m).sum(axis=axes, keepdims=True)) + m
        ctx.save_for_backward(x)
        ctx.axes, ctx.y_keep = axes, y
        return y.reshape(_reduced_shape(x.shape, axes, keepdim))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        y = Tensor._from_op(ctx.y_keep, None)
        if x.requires_grad:  # higher order: y must stay a function of x
            y = logsumexp(x, ctx.axes, keepdim=True)
        return _grad_to_input(g, x.shape, ctx.axes) * exp(x - y)


class Norm(Function):
    """y = (Σ |x|ᵖ)^(1/p);  dx = dy · x·|x|^(p-2) / y^(p-1)  (0 where y = 0, as PyTorch)."""

    output_saved = True  # PyTorch saves the output: writing it in place refuses

    @staticmethod
    def forward(ctx, x, p, axes, keepdim):
        ax = np.abs(x)
        y = (
            np.sqrt((x * x).sum(axis=axes, keepdims=True))
            if p == 2
            else ((ax**p).sum(axis=axes, keepdims=True) ** (1.0 / p))
        )
        ctx.save_for_backward(x)
        ctx.p, ctx.axes = p, axes
        return y.reshape(_reduced_shape(x.shape, axes, keepdim))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        p = ctx.p
        y = norm(x, p, ctx.axes, keepdim=True)
        gy = _grad_to_input(g, x.shape, ctx.axes)
        with np.errstate(divide="ignore", invalid="ignore"):  # y = 0: where discards it
            if p == 2:
                local = x / y
            else:
                local = x * abs(x) ** (p - 2) / y ** (p - 1)
            zero = constant(0, g.dtype)
            return where(broadcast_to(y, x.shape) == 0, zero, gy * local)


@reference_of(Norm)
def norm_reference(x: Tensor, p: float, axes: tuple[int, ...], keepdim: bool) -> Tensor:
    """(Σ |x|ᵖ)^(1/p), with PyTorch's gradient 0 where the norm is 0: there the root is
    taken of 1 instead (its derivative would be infinite) and replaced by 0."""
    s = sum(x * x if p == 2 else abs(x) ** p, axes, keepdim)
    zero = s == 0
    return where(zero, 0.0, where(zero, 1.0, s) ** (1.0 / p))


class Cumsum(Function):
    """yᵢ = Σ_{j≤i} xⱼ;  dxⱼ = Σ_{i≥j} dyᵢ, a cumsum of dy run backwards."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return np.cumsum(x, axis=axis).reshape(x.shape)  # NumPy turns a 0-d x into 1-d

    @staticmethod
    def backward(ctx, g):
        return flip(cumsum(flip(g, ctx.axis), ctx.axis), ctx.axis)


# ------------------------------------------------------------------ functional API
def _reduce_dtype(x: Tensor, dtype: Any) -> Tensor:
    if dtype is not None:
        return as_tensor(x, np.dtype(dtype))
    if x.dtype.kind in "biu":  # integer sums give int64, as PyTorch
        return as_tensor(x, dtypes.int64)
    return x


@op()
def sum(x: Tensor, dim: Dim = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    if is_array(x):  # array-mode backward
        return x.sum(axis=normalize_dims(dim, x.ndim, "sum"), keepdims=keepdim)
    x = _reduce_dtype(as_tensor(x), dtype)
    return Sum.apply(x, axes=normalize_dims(dim, x.ndim, "sum"), keepdim=keepdim)


@op()
def mean(x: Tensor, dim: Dim = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    if is_array(x):  # array-mode backward
        return x.mean(axis=normalize_dims(dim, x.ndim, "mean"), keepdims=keepdim)
    x = as_tensor(x) if dtype is None else as_tensor(x, np.dtype(dtype))
    if x.dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be floating point, got "
            f"{x.dtype}"
        )
    axes = normalize_dims(dim, x.ndim, "mean")
    if not fast.enabled():
        return mean_reference(x, axes, keepdim)
    return Mean.apply(x, axes=axes, keepdim=keepdim)


def _check_nonempty(op: str, x: Tensor, axes: tuple[int, ...], dim: Any = 0) -> None:
    """Refuse an empty reduction as PyTorch: RuntimeError for amax/amin/max/min over all
    of an empty tensor (``dim`` None), IndexError for a zero-size ``dim``."""
    if dim is None and x.numel() == 0:
        raise RuntimeError(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0 (input "
            f"shape {x.shape}). Specify the reduction dim with the 'dim' argument."
        )
    if any(x.shape[a] == 0 for a in axes) or (not axes and x.numel() == 0):
        raise IndexError(f"{op}: cannot reduce over a zero-size dimension (input shape {x.shape})")


@op()
def amax(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    axes = normalize_dims(dim if dim != () else None, x.ndim, "amax")
    _check_nonempty("amax", x, axes, dim if dim != () else None)
    return Amax.apply(x, axes=axes, keepdim=keepdim)


@op()
def amin(x: Tensor, dim: Dim = None, keepdim: bool = False) -> Tensor:
    axes = normalize_dims(dim if dim != () else None, x.ndim, "amin")
    _check_nonempty("amin", x, axes, dim if dim != () else None)
    # min x = -max(-x), ties alike; PyTorch's amin saves its output, so a later in-place
    # write to it makes backward refuse here too
    return saves_output(-Amax.apply(-x, axes=axes, keepdim=keepdim))


def _arg_extreme(x: Tensor, dim: int | None, keepdim: bool, largest: bool, op: str) -> Tensor:
    fn = np.argmax if largest else np.argmin
    if dim is None:
        _check_nonempty(op, x, ())
        idx = fn(x.data.reshape(-1))
        shape = (1,) * x.ndim if keepdim else ()
        return Tensor._from_op(np.asarray(idx, dtype=np.int64).reshape(shape), None)
    d = _normalize_dim(dim, x.ndim, op)
    _check_nonempty(op, x, (d,) if x.ndim else ())
    idx = fn(x.data, axis=d, keepdims=keepdim) if x.ndim else np.asarray(0)
    return Tensor._from_op(idx.astype(np.int64), None)


@op()
def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg_extreme(x, dim, keepdim, True, "argmax")


@op()
def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _arg_extreme(x, dim, keepdim, False, "argmin")


class MaxMin(tuple):
    """``(values, indices)`` as returned by ``max(dim)`` / ``min(dim)``."""

    @property
    def values(self) -> Tensor:
        return self[0]

    @property
    def indices(self) -> Tensor:
        return self[1]


def _max_min(x: Tensor, dim: Any, keepdim: bool, largest: bool, op: str) -> Any:
    if isinstance(dim, Tensor):  # max(a, b): the elementwise form
        from minigrad.ops.binary import maximum, minimum

        return maximum(x, dim) if largest else minimum(x, dim)
    if dim is None:
        return amax(x) if largest else amin(x)
    # values are the gathered elements at the returned indices, so the whole gradient
    # goes to that one element (PyTorch's rule for max(dim)).
    idx = _arg_extreme(x, dim, True, largest, op)
    d = _normalize_dim(dim, x.ndim, op) if x.ndim else 0
    values = gather(x, d, idx) if x.ndim else x
    if not keepdim and x.ndim:
        values, idx = squeeze(values, d), squeeze(idx, d)
    return MaxMin((values, idx))


@op()
def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    return _max_min(x, dim, keepdim, True, "max")


@op()
def min(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    return _max_min(x, dim, keepdim, False, "min")


@op()
def var(
    x: Tensor,
    dim: Dim = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    correction: float | None = None,
) -> Tensor:
    """Σ (x - mean)² / (n - correction); correction=1 (Bessel) by default."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    axes = normalize_dims(dim, x.ndim, "var")
    n = int(np.prod([x.shape[a] for a in axes]))
    centered = x - mean(x, axes, keepdim=True)
    return sum(centered * centered, axes, keepdim=keepdim) / builtins.max(n - correction, 0)


@op()
def std(
    x: Tensor,
    dim: Dim = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    correction: float | None = None,
) -> Tensor:
    """√var; its gradient is 0 where std is 0 (PyTorch's convention), not nan."""
    v = var(x, dim, unbiased, keepdim, correction)
    if v.requires_grad or v._fw is not None:  # (_fw: a forward-mode tangent)
        return saves_output(_safe_sqrt(v))  # (PyTorch's std saves its output)
    return v.sqrt()


def _safe_sqrt(v: Tensor) -> Tensor:
    # d√v/dv = 1/(2√v) is infinite at v = 0; PyTorch's std backward masks it to 0.
    zero_mask = Tensor._from_op(v.data == 0, None)
    safe = where(zero_mask, constant(1, v.dtype), v)
    return where(zero_mask, constant(0, v.dtype), safe.sqrt())


@op()
def prod(x: Tensor, dim: int | None = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    x = _reduce_dtype(as_tensor(x), dtype)
    if dim is not None and x.ndim == 0:
        _normalize_dim(dim, 0, "prod")  # a 0-d tensor has dims 0 and -1 only
        dim = None
    if dim is None:
        out = Prod.apply(reshape(x, (-1,)), axis=0, keepdim=False)
        return reshape(out, (1,) * x.ndim) if keepdim else out
    return Prod.apply(x, axis=_normalize_dim(dim, x.ndim, "prod"), keepdim=keepdim)


@op()
def logsumexp(x: Tensor, dim: Dim, keepdim: bool = False) -> Tensor:
    """log Σ exp(x) over ``dim``; over an empty dim log 0 = -inf (as PyTorch)."""
    axes = normalize_dims(dim, x.ndim, "logsumexp")
    if x.data.size == 0:  # an empty sum is 0 (log: -inf); an empty result stays empty
        return sum(x, axes, keepdim) + float("-inf")
    return LogSumExp.apply(x, axes=axes, keepdim=keepdim)


@op()
def norm(x: Tensor, p: float | str | None = 2, dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default); 'fro' is p = 2."""
    if p is None or p == "fro":
        p = 2
    axes = normalize_dims(dim, x.ndim, "norm")
    if p == float("inf"):
        return amax(abs(x), axes, keepdim)
    if p == -float("inf"):
        return amin(abs(x), axes, keepdim)
    if p == 0:
        return sum((x != 0).to(x.dtype), axes, keepdim)
    if p == 1:
        return sum(abs(x), axes, keepdim)
    if not isinstance(p, (int, float)) or p < 0:
        raise ValueError(f"norm: unsupported order p={p!r}")
    if not fast.enabled():
        return saves_output(norm_reference(x, float(p), axes, keepdim))
    return Norm.apply(x, p=float(p), axes=axes, keepdim=keepdim)


@op()
def cumsum(x: Tensor, dim: int, dtype: Any = None) -> Tensor:
    x = _reduce_dtype(as_tensor(x), dtype)
    return Cumsum.apply(x, axis=_normalize_dim(dim, x.ndim, "cumsum"))
