"""The primitive operations: each forward beside its derivative.

Every op below is a :class:`Function`. Its docstring gives the math; ``forward``
computes the value with NumPy; ``backward`` maps ∂loss/∂output to ∂loss/∂input,
written with these same primitives, so it can itself be differentiated.

Everything else minigrad offers (activations, losses, normalisation, convolution,
attention, ...) is a composition of these, or a fused kernel proven equal to such a
composition.

Each ``jvp`` (forward mode) sits beside its ``backward``: the same derivative, pushed
forwards (a tangent ẋ in, ẏ = J ẋ out) instead of pulled back (ȳ in, x̄ = Jᵀ ȳ out).
The linear ops share one: the op itself applied to the tangents.

A rule for every backward here: it uses only operators, ``.shape``/``.ndim``/``.dtype``
and the functions of this module, never ``.data``. The same formula then also runs on
bare arrays, which is how the fast engine evaluates it when nothing is recorded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .autograd import Function, Tensor
from .broadcast import broadcast_to, sum_to

# ----------------------------------------------------------------- arithmetic


def linear_jvp(ctx: Function, *tangents: Tensor) -> Tensor:
    """Forward mode for a linear op (sums, copies, reshapes, selections): its Jacobian is
    itself, so the output's tangent is the op applied to the inputs' tangents."""
    return type(ctx).apply(*tangents, **ctx.op_params)


class Add(Function):
    """z = a + b;  da = dz,  db = dz  (each summed back to its input's shape)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = a.shape, b.shape
        return a + b

    @staticmethod
    def backward(ctx, g):
        (sa, sb), need = ctx.shapes, ctx.needs_input_grad
        return (sum_to(g, sa) if need[0] else None), (sum_to(g, sb) if need[1] else None)

    jvp = staticmethod(linear_jvp)


class Sub(Function):
    """z = a - b;  da = dz,  db = -dz."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = a.shape, b.shape
        return a - b

    @staticmethod
    def backward(ctx, g):
        (sa, sb), need = ctx.shapes, ctx.needs_input_grad
        return (sum_to(g, sa) if need[0] else None), (sum_to(-g, sb) if need[1] else None)

    jvp = staticmethod(linear_jvp)


class Neg(Function):
    """y = -x;  dx = -dy."""

    @staticmethod
    def forward(ctx, x):
        return np.negative(x)

    @staticmethod
    def backward(ctx, g):
        return -g

    jvp = staticmethod(linear_jvp)


class Mul(Function):
    """z = a · b;  da = dz · b,  db = dz · a;
    forward: ż = ȧ · b + a · ḃ."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (sum_to(g * b, a.shape) if need[0] else None), (
            sum_to(g * a, b.shape) if need[1] else None
        )

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.saved_tensors
        return ta * b + a * tb


class Div(Function):
    """z = a / b;  da = dz / b,  db = -dz · a / b²;
    forward: ż = ȧ / b - ḃ · a / b²."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        return (sum_to(g / b, a.shape) if need[0] else None), (
            sum_to(-g * a / (b * b), b.shape) if need[1] else None
        )

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.saved_tensors
        return ta / b - tb * a / (b * b)


class Pow(Function):
    """z = a ** b;  da = dz · b · a^(b-1),  db = dz · z · ln a.

    PyTorch's conventions at the edges: da = 0 where b = 0, and db = 0 where a = 0 and
    b ≥ 0 (the limit of a^b ln a as a → 0⁺). Forward: ż = ȧ · b · a^(b-1) + ḃ · z · ln a,
    the second term only when b has a tangent (ln a is NaN for a < 0)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        ctx.b_zero, ctx.a_zero = b == 0, (a == 0) & (b >= 0)
        return np.power(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        da = sum_to(where(ctx.b_zero, 0.0, g * b * a ** (b - 1)), a.shape) if need[0] else None
        db = sum_to(where(ctx.a_zero, 0.0, g * a**b * log(a)), b.shape) if need[1] else None
        return da, db

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.saved_tensors
        dz = where(ctx.b_zero, 0.0, ta * b * a ** (b - 1))
        return dz + where(ctx.a_zero, 0.0, tb * a**b * log(a)) if ctx.given[1] else dz


# ----------------------------------------------------------------- elementwise


class Exp(Function):
    """y = eˣ;  dx = dy · y;  forward: ẏ = ẋ · y."""

    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y

    @staticmethod
    def jvp(ctx, t):
        return t * ctx.saved_tensors[0]


class Log(Function):
    """y = ln x;  dx = dy / x;  forward: ẏ = ẋ / x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x

    @staticmethod
    def jvp(ctx, t):
        return t / ctx.saved_tensors[0]


class Tanh(Function):
    """y = tanh x;  dx = dy · (1 - y²);  forward: ẏ = ẋ · (1 - y²)."""

    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 - y * y)

    @staticmethod
    def jvp(ctx, t):
        (y,) = ctx.saved_tensors
        return t * (1 - y * y)


class Where(Function):
    """z = cond ? a : b;  da = cond ? dz : 0,  db = cond ? 0 : dz.

    ``cond`` is a bool array parameter, not an input: it gets no gradient."""

    @staticmethod
    def forward(ctx, a, b, cond):
        ctx.cond, ctx.shapes = cond, (a.shape, b.shape)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        (sa, sb), need = ctx.shapes, ctx.needs_input_grad
        da = sum_to(where(ctx.cond, g, 0.0), sa) if need[0] else None
        db = sum_to(where(ctx.cond, 0.0, g), sb) if need[1] else None
        return da, db

    jvp = staticmethod(linear_jvp)


class Cast(Function):
    """y = x converted to another dtype;  dx = dy converted back to x's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.src = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return cast(g, ctx.src)

    jvp = staticmethod(linear_jvp)


# ----------------------------------------------------------------- reductions


def _kept(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of a reduction over ``axes`` with the reduced axes kept as size 1."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """y = Σ x over ``axes``;  dx = dy broadcast back (each x counts once)."""

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.in_shape, ctx.axes = x.shape, axes
        return x.sum(axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return broadcast_to(reshape(g, _kept(ctx.in_shape, ctx.axes)), ctx.in_shape)

    jvp = staticmethod(linear_jvp)


class Amax(Function):
    """y = max x over ``axes``;  dx = dy / k at the k elements equal to the max, else 0
    (ties share the gradient evenly, as PyTorch's amax);  forward: ẏ = the mean of ẋ over
    the maxima."""

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        y = x.max(axis=axes, keepdims=True)
        ctx.hit = x == y  # where the max is, and how many times per reduced slice
        ctx.count = ctx.hit.sum(axis=axes, keepdims=True)
        ctx.in_shape, ctx.axes = x.shape, axes
        return y if keepdim else np.squeeze(y, axis=axes)

    @staticmethod
    def backward(ctx, g):
        share = (ctx.hit / ctx.count).astype(g.dtype)
        return broadcast_to(reshape(g, _kept(ctx.in_shape, ctx.axes)), ctx.in_shape) * share

    @staticmethod
    def jvp(ctx, t):
        return Sum.apply(t * (ctx.hit / ctx.count).astype(t.dtype), **ctx.op_params)


# ----------------------------------------------------------------- shape


class Reshape(Function):
    """y = x with a new shape (same elements, same order);  dx = dy reshaped back."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return reshape(g, ctx.in_shape)

    jvp = staticmethod(linear_jvp)


class Permute(Function):
    """y = x with its axes reordered, yᵢⱼ.. = x at the permuted position;
    dx = dy permuted back by the inverse permutation."""

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return permute(g, tuple(np.argsort(ctx.dims)))

    jvp = staticmethod(linear_jvp)


class GetItem(Function):
    """y = x[index];  dx = zeros of x's shape with dy added at ``index``."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.in_shape, ctx.index = x.shape, index
        return x[index]

    @staticmethod
    def backward(ctx, g):
        return index_add(g, ctx.in_shape, ctx.index)

    jvp = staticmethod(linear_jvp)


class IndexAdd(Function):
    """y = zeros(shape) with g added at ``index`` (an element indexed twice gets both:
    ``np.add.at``); the adjoint of getitem, so  dg = dy[index]."""

    @staticmethod
    def forward(ctx, g, shape, index):
        ctx.index = index
        out = np.zeros(shape, g.dtype)
        if all(isinstance(i, (int, slice)) or i is None or i is Ellipsis for i in index):
            out[index] = g  # ints and slices never repeat an element: a plain write
        else:
            np.add.at(out, index, g)
        return out

    @staticmethod
    def backward(ctx, g):
        return getitem(g, ctx.index)

    jvp = staticmethod(linear_jvp)


# ----------------------------------------------------------------- linear algebra


class MatMul(Function):
    """C = A @ B (both ≥ 2-D; leading dims broadcast as batches);
    dA = dC @ Bᵀ,  dB = Aᵀ @ dC, each summed back over broadcast batch dims;
    forward: Ċ = Ȧ @ B + A @ Ḃ."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        da = sum_to(matmul(g, transpose_last(b)), a.shape) if need[0] else None
        db = sum_to(matmul(transpose_last(a), g), b.shape) if need[1] else None
        return da, db

    @staticmethod
    def jvp(ctx, ta, tb):
        a, b = ctx.saved_tensors
        return matmul(ta, b) + matmul(a, tb)


# ----------------------------------------------------------------- functions


def lift(x: Any, like: Any) -> Any:
    """A Python number or array as a constant Tensor (numbers take ``like``'s dtype, as
    PyTorch's scalars do); a Tensor as itself."""
    if isinstance(x, Tensor):
        return x
    dtype = getattr(like, "dtype", None) if isinstance(x, (int, float)) else None
    return Tensor._from_op(np.asarray(x, dtype), None)


def add(a: Any, b: Any) -> Tensor:
    return Add.apply(lift(a, b), lift(b, a))


def sub(a: Any, b: Any) -> Tensor:
    return Sub.apply(lift(a, b), lift(b, a))


def mul(a: Any, b: Any) -> Tensor:
    return Mul.apply(lift(a, b), lift(b, a))


def div(a: Any, b: Any) -> Tensor:
    return Div.apply(lift(a, b), lift(b, a))


def pow(a: Any, b: Any) -> Tensor:
    return Pow.apply(lift(a, b), lift(b, a))


def neg(x: Tensor) -> Tensor:
    return Neg.apply(x)


def exp(x: Tensor) -> Tensor:
    return Exp.apply(x)


def log(x: Tensor) -> Tensor:
    return Log.apply(x)


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(x)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    cond = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
    return Where.apply(lift(a, b), lift(b, a), cond=cond)


def cast(x: Tensor, dtype: Any) -> Tensor:
    return x if x.dtype == dtype else Cast.apply(x, dtype=np.dtype(dtype))


def _axes(x: Tensor, dim: Any) -> tuple[int, ...]:
    dims = range(x.ndim) if dim is None else [dim] if isinstance(dim, int) else dim
    return tuple(sorted(d % x.ndim for d in dims))


def sum(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return Sum.apply(x, axes=_axes(x, dim), keepdim=keepdim)


def amax(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return Amax.apply(x, axes=_axes(x, dim), keepdim=keepdim)


def reshape(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    return x if x.shape == tuple(shape) else Reshape.apply(x, shape=tuple(shape))


def permute(x: Tensor, dims: tuple[int, ...]) -> Tensor:
    return Permute.apply(x, dims=tuple(dims))


def transpose_last(x: Tensor) -> Tensor:
    """x with its last two axes swapped (the batched matrix transpose)."""
    dims = list(range(x.ndim))
    dims[-2:] = dims[-1], dims[-2]
    return permute(x, tuple(dims))


def getitem(x: Tensor, index: Any) -> Tensor:
    return GetItem.apply(x, index=index)


def index_add(g: Tensor, shape: tuple[int, ...], index: Any) -> Tensor:
    return IndexAdd.apply(g, shape=tuple(shape), index=index)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    return MatMul.apply(a, b)


# The core's own operators; the full engine replaces them with the public ops, which
# add PyTorch's argument checks, dtype promotion and error messages.
OPERATORS = {
    "__add__": add,
    "__radd__": lambda x, y: add(y, x),
    "__sub__": sub,
    "__rsub__": lambda x, y: sub(y, x),
    "__mul__": mul,
    "__rmul__": lambda x, y: mul(y, x),
    "__truediv__": div,
    "__rtruediv__": lambda x, y: div(y, x),
    "__pow__": pow,
    "__rpow__": lambda x, y: pow(y, x),
    "__neg__": neg,
    "__matmul__": matmul,
    "__getitem__": getitem,
    "sum": sum,
    "exp": exp,
    "log": log,
    "reshape": lambda x, *shape: reshape(x, shape[0] if len(shape) == 1 else shape),
}
for _name, _fn in OPERATORS.items():
    setattr(Tensor, _name, _fn)
