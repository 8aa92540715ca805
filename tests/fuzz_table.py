"""The fuzzers' table of further ops: trigonometric and special functions, rounding,
rounding divisions, interpolation, scans, sorting, arrangement, products, indexed
writes, masks and linear algebra. Adding an op is one line.

Inputs are made domain-aware inside each step, with the same smooth maps in both
libraries, so that every comparison is meaningful wherever the program's values land:

- ``pos``: 2·sigmoid(x) + 0.3 ∈ (0.3, 2.3) (logs, roots, lgamma/digamma, divisors);
- ``unit``: 0.9·tanh(x) ∈ (−0.9, 0.9) (asin, acos, atanh, erfinv);
- ``gt1``: 2·sigmoid(x) + 1.1 ∈ (1.1, 3.1) (acosh);
- ``small``: 1.4·tanh(x) (tan, sinh, cosh, expm1: bounded results);
- ``offgrid``: x + 0.3183 for rounding (its jumps off 0, see the function);
- ``distinct``: x + 0.0137·(0, 1, 2, ...) for sorting and scans: PyTorch does not define
  which of two equal elements a sort or cummax picks, so the gradient's position
  would be unspecified at a tie; the offsets make ties impossible;
- ``spd``: t·tᵀ/n + D with t = tanh(x), D = diag(1.0731, 1.1462, ...): eigenvalues in
  [1, 2.4], none a round number (t·tᵀ has rank n, so t·tᵀ/n + I would have eigenvalues
  exactly 1, on a jump of ``ceil``) and distinct where t·tᵀ vanishes (inv, det, solve, ...).

The constants are not round numbers so that no exactly-computed value (an integer
from ``round``, a 0 from a mask) lands on a jump of a rounding op or division.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from fuzz_programs import FUZZ_OPS, FuzzOp, Shape
from hypothesis import strategies as st

import minigrad


def lib_of(x: Any) -> Any:
    """The library a value belongs to (PyTorch's batched and dual tensors included)."""
    return torch if isinstance(x, torch.Tensor) else minigrad


def _const(x: Any, array: np.ndarray) -> Any:
    """A constant (index, mask) built in the library of ``x``."""
    return lib_of(x).tensor(array)


# ------------------------------------------------------------------ domains
def ident(x: Any) -> Any:
    return x


def pos(x: Any) -> Any:
    return x.sigmoid() * 2 + 0.3


def unit(x: Any) -> Any:
    return x.tanh() * 0.9


def gt1(x: Any) -> Any:
    return x.sigmoid() * 2 + 1.1


def small(x: Any) -> Any:
    return x.tanh() * 1.4


def offgrid(x: Any) -> Any:
    """x + 0.3183: moves the jumps of floor, ceil and remainder off 0, where a value that
    is 0 in exact arithmetic (cross(a, a), a - a) is 0 in one library and ±1e-17 in the
    other."""
    return x + 0.3183


def distinct(x: Any) -> Any:
    offsets = np.arange(int(np.prod(x.shape)), dtype=np.float64).reshape(x.shape) * 0.0137
    return x + _const(x, offsets)


def spd(x: Any) -> Any:
    t = x.tanh()
    diag = _const(x, np.diag(1.0 + 0.0731 * np.arange(1, x.shape[-2] + 1)))
    return t @ t.transpose(-1, -2) / x.shape[-1] + diag


# ------------------------------------------------------------------ plans
def _any(shapes: list[Shape], draw: Any) -> dict:
    return {}


def _broadcast(shapes: list[Shape], draw: Any) -> dict | None:
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return None
    return {}


def _dim(shapes: list[Shape], draw: Any) -> dict | None:
    """A non-empty dim (PyTorch refuses to sort, scan or reduce along an empty one)."""
    dims = [d for d, n in enumerate(shapes[0]) if n >= 1]
    return {"dim": draw(st.sampled_from(dims))} if dims else None


def _same_shape_dim(shapes: list[Shape], draw: Any) -> dict | None:
    return _dim(shapes, draw) if all(s == shapes[0] for s in shapes) else None


def _dim2(shapes: list[Shape], draw: Any) -> dict | None:
    """A dim of size >= 2 (std and var of one element are NaN, as PyTorch's)."""
    dims = [d for d, n in enumerate(shapes[0]) if n >= 2]
    return {"dim": draw(st.sampled_from(dims))} if dims else None


def _matrix(shapes: list[Shape], draw: Any) -> dict | None:
    return {} if len(shapes[0]) >= 2 and min(shapes[0][-2:]) >= 1 else None


def _topk(shapes: list[Shape], draw: Any) -> dict | None:
    p = _dim(shapes, draw)
    if p is None:
        return None
    return {**p, "k": draw(st.integers(1, shapes[0][p["dim"]]))}


def _roll(shapes: list[Shape], draw: Any) -> dict | None:
    p = _dim(shapes, draw)
    return None if p is None else {"shifts": draw(st.integers(-5, 5)), "dims": p["dim"]}


def _diagonal(shapes: list[Shape], draw: Any) -> dict | None:
    if len(shapes[0]) < 2:
        return None
    return {"offset": draw(st.integers(-1, 1)), "dim1": 0, "dim2": len(shapes[0]) - 1}


def _cross(shapes: list[Shape], draw: Any) -> dict | None:
    dims = [d for d, n in enumerate(shapes[0]) if n == 3]
    if shapes[0] != shapes[1] or not dims:
        return None
    return {"dim": draw(st.sampled_from(dims))}


def _tensordot(shapes: list[Shape], draw: Any) -> dict | None:
    a, b = shapes
    return {} if a and b and a[-1] == b[0] else None


def _index_of(draw: Any, n: int, size: int, unique: bool) -> list[int]:
    if unique:
        return draw(st.permutations(range(size)))[:n]
    return draw(st.lists(st.integers(0, size - 1), min_size=n, max_size=n))


def _along(unique: bool) -> Callable[[list[Shape], Any], dict | None]:
    """An index of the first input's shape with values in range of dim (for
    take_along_dim, scatter: unique along dim, so no element is written twice)."""

    def plan(shapes: list[Shape], draw: Any) -> dict | None:
        if any(s != shapes[0] for s in shapes):
            return None
        p = _dim(shapes, draw)
        if p is None:
            return None
        shape, d = shapes[0], p["dim"]
        moved = shape[:d] + shape[d + 1 :]
        rows = [_index_of(draw, shape[d], shape[d], unique) for _ in range(int(np.prod(moved)))]
        index = np.moveaxis(np.array(rows, dtype=np.int64).reshape(*moved, shape[d]), -1, d)
        return {"dim": d, "index": index}

    return plan


def _index_dim(unique: bool) -> Callable[[list[Shape], Any], dict | None]:
    """A 1-d index along dim for index_add (repeats accumulate) and index_copy (unique)."""

    def plan(shapes: list[Shape], draw: Any) -> dict | None:
        if any(s != shapes[0] for s in shapes):
            return None
        p = _dim(shapes, draw)
        if p is None:
            return None
        n = shapes[0][p["dim"]]
        return {"dim": p["dim"], "index": np.array(_index_of(draw, n, n, unique), np.int64)}

    return plan


def _mask(shapes: list[Shape], draw: Any) -> dict | None:
    n = int(np.prod(shapes[0]))
    bits = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return {"mask": np.array(bits, dtype=bool).reshape(shapes[0])}


def _solve(shapes: list[Shape], draw: Any) -> dict | None:
    a, b = shapes
    return {} if len(a) == 2 and min(a) >= 1 and len(b) in (1, 2) and b[0] == a[0] else None


# ------------------------------------------------------------------ rows
def unary(name: str, dom: Callable = ident) -> FuzzOp:
    """``lib.name(dom(a))``."""
    return FuzzOp(name, 1, _any, lambda a: getattr(lib_of(a), name)(dom(a)))


def binary(name: str, dom_a: Callable = ident, dom_b: Callable = ident) -> FuzzOp:
    """``lib.name(dom_a(a), dom_b(b))``, the shapes broadcasting."""
    return FuzzOp(name, 2, _broadcast, lambda a, b: getattr(lib_of(a), name)(dom_a(a), dom_b(b)))


def along(name: str, dom: Callable = ident, plan: Callable = _dim, **kw: Any) -> FuzzOp:
    """``lib.name(dom(a), dim=d, **kw)`` (the values of a (values, indices) result)."""

    def apply(a: Any, dim: int) -> Any:
        out = getattr(lib_of(a), name)(dom(a), dim=dim, **kw)
        return out[0] if isinstance(out, tuple) else out

    return FuzzOp(name, 1, plan, apply)


def _strided(x: Any) -> Any:
    """x with standard strides (flattened and reshaped: a view of a contiguous copy)."""
    return x.contiguous().reshape(-1).reshape(tuple(x.shape))


def _lin(name: str) -> Callable[..., Any]:
    return lambda a: getattr(lib_of(a).linalg, name)(spd(a))


TABLE: list[FuzzOp] = [
    # trigonometric, hyperbolic and their inverses
    unary("cos"),
    unary("tan", small),
    unary("asin", unit),
    unary("acos", unit),
    unary("atan"),
    unary("sinh", small),
    unary("cosh", small),
    unary("asinh"),
    unary("acosh", gt1),
    unary("atanh", unit),
    # (off the origin: there PyTorch's gradient is 0 but its jvp and 2nd derivative NaN)
    FuzzOp("atan2", 2, _broadcast, lambda a, b: lib_of(a).atan2(a, b + 0.3183)),
    binary("hypot"),
    # logs, exponentials, special functions
    unary("log2", pos),
    unary("log10", pos),
    unary("log1p", pos),
    unary("expm1", small),
    unary("rsqrt", pos),
    unary("lgamma", pos),
    unary("digamma", pos),
    unary("erf"),
    unary("erfc"),
    unary("erfinv", unit),
    unary("sinc"),
    # PyTorch's float64 trigamma is accurate to ~5e-10 relative (minigrad's to 1e-15),
    # and later ops may cancel: its programs are compared at 1e-6
    FuzzOp("polygamma", 1, _any, lambda a: lib_of(a).polygamma(1, pos(a)), rtol=1e-6),
    binary("logaddexp"),
    binary("xlogy", ident, pos),
    # rounding (zero derivatives, values exact) and rounding divisions
    unary("floor", offgrid),
    unary("ceil", offgrid),
    unary("round", offgrid),
    unary("trunc", offgrid),
    unary("frac", offgrid),
    binary("fmod", offgrid, pos),
    binary("remainder", offgrid, pos),
    binary("minimum"),
    # interpolation and fused multiply-adds
    FuzzOp("lerp", 2, _broadcast, lambda a, b: lib_of(a).lerp(a, b, 0.3183)),
    FuzzOp("lerp_tensor", 3, _broadcast, lambda a, b, w: lib_of(a).lerp(a, b, w.sigmoid())),
    FuzzOp("addcmul", 3, _broadcast, lambda a, b, c: lib_of(a).addcmul(a, b, c, value=0.6931)),
    FuzzOp("addcdiv", 3, _broadcast, lambda a, b, c: lib_of(a).addcdiv(a, b, pos(c), value=0.7)),
    # scans and sorting
    along("cumprod"),
    along("cummax", distinct),
    along("cummin", distinct),
    along("logcumsumexp"),
    along("sort", distinct),
    along("sort", distinct, descending=True),
    FuzzOp("topk", 1, _topk, lambda a, dim, k: lib_of(a).topk(distinct(a), k, dim=dim).values),
    FuzzOp(
        "kthvalue",
        1,
        _topk,
        lambda a, dim, k: lib_of(a).kthvalue(distinct(a), k, dim=dim).values,
    ),
    along("median", distinct),
    along("prod"),
    along("amin"),
    along("std", plan=_dim2),
    along("var", plan=_dim2),
    # arrangement and products
    FuzzOp("roll", 1, _roll, lambda a, shifts, dims: lib_of(a).roll(a, shifts, dims)),
    FuzzOp("flip", 1, _dim, lambda a, dim: lib_of(a).flip(a, (dim,))),
    FuzzOp("diagonal", 1, _diagonal, lambda a, **kw: lib_of(a).diagonal(a, **kw)),
    FuzzOp("trace", 1, lambda s, d: {} if len(s[0]) == 2 else None, lambda a: a.trace()),
    FuzzOp("tril", 1, _matrix, lambda a: lib_of(a).tril(a)),
    FuzzOp("triu", 1, _matrix, lambda a: lib_of(a).triu(a, 1)),
    FuzzOp(
        "kron",
        2,
        lambda s, d: {} if len(s[0]) <= 2 and len(s[1]) <= 2 else None,
        # PyTorch's kron raises (a failed view) unless its operands have standard strides,
        # even those of size-1 dims: (2, 1) with strides (1, 2) fails; a reshape resets them
        lambda a, b: lib_of(a).kron(_strided(a), _strided(b)),
    ),
    FuzzOp("cross", 2, _cross, lambda a, b, dim: lib_of(a).cross(a, b, dim=dim)),
    FuzzOp(
        "outer",
        2,
        lambda s, d: {} if len(s[0]) == len(s[1]) == 1 else None,
        lambda a, b: lib_of(a).outer(a, b),
    ),
    FuzzOp("tensordot", 2, _tensordot, lambda a, b: lib_of(a).tensordot(a, b, dims=1)),
    # indexed reads and writes, masks
    FuzzOp(
        "take_along_dim",
        1,
        _along(False),
        lambda a, dim, index: lib_of(a).take_along_dim(a, _const(a, index), dim=dim),
    ),
    FuzzOp(
        "scatter",
        2,
        _along(True),
        lambda a, b, dim, index: lib_of(a).scatter(a, dim, _const(a, index), b),
    ),
    FuzzOp(
        "scatter_add",
        2,
        _along(False),
        lambda a, b, dim, index: lib_of(a).scatter_add(a, dim, _const(a, index), b),
    ),
    FuzzOp(
        "index_add",
        2,
        _index_dim(False),
        lambda a, b, dim, index: lib_of(a).index_add(a, dim, _const(a, index), b),
    ),
    FuzzOp(
        "index_copy",
        2,
        _index_dim(True),
        lambda a, b, dim, index: lib_of(a).index_copy(a, dim, _const(a, index), b),
    ),
    FuzzOp(
        "masked_fill", 1, _mask, lambda a, mask: lib_of(a).masked_fill(a, _const(a, mask), 0.577)
    ),
    FuzzOp(
        "masked_scatter",
        2,
        lambda s, d: _mask(s, d) if s[0] == s[1] else None,
        lambda a, b, mask: lib_of(a).masked_scatter(a, _const(a, mask), b),
    ),
    # linear algebra, on symmetric positive definite matrices
    FuzzOp("linalg.inv", 1, _matrix, _lin("inv")),
    FuzzOp("linalg.det", 1, _matrix, _lin("det")),
    FuzzOp("linalg.slogdet", 1, _matrix, lambda a: lib_of(a).linalg.slogdet(spd(a))[1]),
    FuzzOp("linalg.cholesky", 1, _matrix, _lin("cholesky")),
    FuzzOp("linalg.eigvalsh", 1, _matrix, _lin("eigvalsh")),
    FuzzOp("linalg.solve", 2, _solve, lambda a, b: lib_of(a).linalg.solve(spd(a), b)),
    FuzzOp("linalg.solve_self", 1, _matrix, lambda a: lib_of(a).linalg.solve(spd(a), a)),
    # the two libraries' matrix_exp gradients (computed differently) agree to ~1e-10 of
    # their largest entry, so a small entry next to large ones differs at 2e-7 relative
    FuzzOp(
        "linalg.matrix_exp",
        1,
        _matrix,
        lambda a: lib_of(a).linalg.matrix_exp(spd(a) * 0.5),
        rtol=1e-7,
    ),
    FuzzOp("linalg.vector_norm", 1, _dim, lambda a, dim: lib_of(a).linalg.vector_norm(a, dim=dim)),
]

ALL_OPS: list[FuzzOp] = FUZZ_OPS + TABLE
