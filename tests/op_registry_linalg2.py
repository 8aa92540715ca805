"""Registry entries for the orthogonal factorizations (svd, svdvals, qr, pinv, lstsq,
cond, the 2 / -2 / nuclear norms), general einsum, scatter_reduce, cosine_similarity and
pdist: the same property tests as every op (values, gradients, second order, gradcheck,
forward mode against PyTorch). ``tests/op_registry.py`` appends ``ENTRIES``.

The singular vectors are defined up to a sign per pair, so the svd entries compare
functions that do not depend on it (U diag(S) Vh, U², Vh², S), on matrices whose
singular values are well apart (the vectors' gradients divide by their differences)."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_registry_nn import cosine_sample
from op_samples import REAL, Const, Sample, _dim, _side, distinct, real, shapes

import minigrad as mg

NONDIFF = {"differentiable": False, "twice_differentiable": False}
FIRST_ORDER = {"twice_differentiable": False}
# gradients of the factors divide by singular value gaps: float32 rounding shows more
LOOSE = {"float64": (1e-7, 1e-9), "float32": (1e-3, 1e-4)}


def _entry(name: str, mg_fn: Any, torch_fn: Any, sample: Any, variant: str = "", **kw: Any):
    from op_registry import OpInfo

    return OpInfo(name, mg_fn, torch_fn, sample, variant, **kw)


def _kw(**choices: list) -> Any:
    return st.fixed_dictionaries({k: st.sampled_from(v) for k, v in choices.items()})


# ------------------------------------------------------------------ samples
NONZERO = real(avoid=(0.0,))


@st.composite
def spread_sample(draw, small, shape=None, kwargs=None, b_cols=None):
    """A = 0.1 M + D, D = diag(1, 2.5, 4, ...) in a random order (m×n, M from REAL):
    singular values about 1.5 apart, none near 0; exact in float32. No entry is 0: the
    Householder reflections (qr) change sign where a column below the diagonal is 0."""
    if shape is None:
        m, n = draw(_side(small)), draw(_side(small))
    else:
        m, n = shape(draw(_side(small)), draw(_side(small)))
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=1, max_side=2))
    d = np.zeros((m, n))
    k = min(m, n)
    d[np.arange(k), np.arange(k)] = 1.0 + 1.5 * np.array(draw(st.permutations(range(k))))
    a = 0.1 * draw(NONZERO((*batch, m, n))) + d
    args = [np.asarray(a.astype(np.float32), np.float64)]
    if b_cols is not None:
        cols = draw(st.sampled_from(b_cols))
        args.append(draw(REAL((*batch, m) if cols is None else (*batch, m, cols))))
    return Sample(tuple(args), draw(kwargs) if kwargs is not None else {})


def _k(a: Any) -> int:
    return min(a.shape[-2:])


def _reconstruct(lib: Any, a: Any, full_matrices: bool = True) -> Any:
    u, s, vh = lib.linalg.svd(a, full_matrices=full_matrices)
    k = _k(a)
    return (u[..., :, :k] * s[..., None, :]) @ vh[..., :k, :]


def _squared_factors(lib: Any, a: Any, full_matrices: bool = True) -> Any:
    """U², S, Vh² (elementwise; smooth, unlike |U| where an entry is 0)."""
    u, s, vh = lib.linalg.svd(a, full_matrices=full_matrices)
    k = _k(a)
    return u[..., :, :k] ** 2, s, vh[..., :k, :] ** 2


def _sym(a: Any) -> Any:
    return (a + a.transpose(-2, -1)) * 0.5


# general einsum: ellipses, diagonals, traces, implicit outputs, size-1 broadcasting
GENERAL_EINSUM: dict[str, Any] = {
    "ii->i": lambda i, j, k: ((i, i),),
    "ii": lambda i, j, k: ((i, i),),
    "iji->j": lambda i, j, k: ((i, j, i),),
    "iij->j": lambda i, j, k: ((i, i, j),),
    "iii->i": lambda i, j, k: ((i, i, i),),
    "...ii->...i": lambda i, j, k: ((2, j, i, i),),
    "ii,ij->j": lambda i, j, k: ((i, i), (i, j)),
    "...ij,...jk": lambda i, j, k: ((2, 1, i, j), (3, j, k)),
    "b...,...->...b": lambda i, j, k: ((2, i, j), (i, j)),
    "ij,jk->ik": lambda i, j, k: ((i, 1), (j, k)),
    "ij,jk,kl->il": lambda i, j, k: ((i, j), (j, k), (k, 2)),
    "i,i": lambda i, j, k: ((i,), (i,)),
    "Ba,aB": lambda i, j, k: ((i, j), (j, i)),
    "i...->": lambda i, j, k: ((i, j, k),),
    "...->...": lambda i, j, k: ((i, j),),
    "ijk,ikj->j": lambda i, j, k: ((i, j, k), (i, k, j)),
    "i,i,i->": lambda i, j, k: ((i,), (i,), (1,)),
}


@st.composite
def general_einsum_sample(draw, small):
    eq = draw(st.sampled_from(sorted(GENERAL_EINSUM)))
    sizes = [draw(_side(small)) for _ in range(3)]
    return Sample(tuple(draw(REAL(s)) for s in GENERAL_EINSUM[eq](*sizes)), {"eq": eq})


@st.composite
def sublist_einsum_sample(draw, small):
    """PyTorch's sublist form: operands and label lists interleaved."""
    i, j, k = (draw(_side(small)) for _ in range(3))
    case = draw(st.sampled_from(["matmul", "trace", "ellipsis"]))
    if case == "matmul":
        return Sample((draw(REAL((i, j))), draw(REAL((j, k)))), {"subs": ([0, 1], [1, 2], [0, 2])})
    if case == "trace":
        return Sample((draw(REAL((i, i))),), {"subs": ([3, 3],)})
    a, b = draw(REAL((2, i, j))), draw(REAL((j, k)))
    return Sample((a, b), {"subs": ([..., 0, 1], [1, 2], [..., 2, 0])})


def _interleave(lib: Any, *xs: Any, subs: tuple) -> Any:
    args = [v for pair in zip(xs, subs) for v in pair]
    return lib.einsum(*args, *subs[len(xs) :])


# scatter_reduce ----------------------------------------------------------------------
@st.composite
def scatter_reduce_sample(draw, small, reduces=("sum",), zeros=False):
    """x, dim, index, src; for amax / amin all values
    distinct (ties split the gradient: tests/test_linalg2.py), for prod with ``zeros``
    values from {-1.5, 0, 0.5, 2} (zeros, and several at one target)."""
    x_shape = draw(shapes(small, min_dims=1, max_dims=3))
    d = _dim(draw, len(x_shape))
    shape = [draw(st.integers(1, n)) for n in x_shape]
    shape[d] = draw(_side(small))
    idx = draw(hnp.arrays(np.int64, tuple(shape), elements=st.integers(0, x_shape[d] - 1)))
    src_shape = tuple(shape)  # (a larger src: PyTorch's backward fails; tests/test_linalg2.py)
    reduce = draw(st.sampled_from(reduces))
    if zeros:
        pick = st.sampled_from([-1.5, 0.0, 0.5, 2.0])
        x = draw(hnp.arrays(np.float64, x_shape, elements=pick))
        src = draw(hnp.arrays(np.float64, src_shape, elements=pick))
    elif reduce in ("amax", "amin"):
        pool = draw(distinct()((int(np.prod(x_shape)) + int(np.prod(src_shape)),)))
        x = pool[: int(np.prod(x_shape))].reshape(x_shape)
        src = pool[int(np.prod(x_shape)) :].reshape(src_shape)
    else:
        dom = real(0.5, 2.0) if reduce == "prod" else REAL
        x, src = draw(dom(x_shape)), draw(dom(src_shape))
    kw = {"reduce": reduce, "include_self": draw(st.booleans())}
    return Sample((x, d, Const(idx), src), kw)


# similarity -------------------------------------------------------------------------
@st.composite
def pdist_sample(draw, small):
    """Rows of distinct values (no zero distance, no tie of an inf-norm), p from a few;
    at least 2 rows (one row: an empty result, tests/test_linalg2.py)."""
    n, m = draw(st.integers(2, 4)), draw(_side(small))
    p = draw(st.sampled_from([2.0, 1.0, 3.0, math.inf]))
    return Sample((draw(distinct()((n, m))),), {"p": p})


WIDE = lambda m, n: (min(m, n), max(m, n))  # noqa: E731  (m <= n)
SQUARE = lambda m, n: (m, m)  # noqa: E731


# ------------------------------------------------------------------ entries
ENTRIES: list = [
    # ---- einsum in every form PyTorch takes
    _entry(
        "einsum",
        lambda *xs, eq: mg.einsum(eq, *xs),
        lambda *xs, eq: torch.einsum(eq, *xs),
        general_einsum_sample,
        "general",
    ),
    _entry(
        "einsum",
        partial(_interleave, mg),
        partial(_interleave, torch),
        sublist_einsum_sample,
        "sublist",
    ),
    # ---- similarity
    _entry("cosine_similarity", mg.cosine_similarity, torch.cosine_similarity, cosine_sample),
    # PyTorch has no second derivative of pdist
    _entry("pdist", mg.pdist, torch.pdist, pdist_sample, **FIRST_ORDER),
    # ---- scatter_reduce
    _entry(
        "scatter_reduce",
        mg.scatter_reduce,
        torch.scatter_reduce,
        partial(scatter_reduce_sample, reduces=("sum", "mean", "amax", "amin")),
    ),
    _entry(
        "scatter_reduce",
        mg.scatter_reduce,
        torch.scatter_reduce,
        partial(scatter_reduce_sample, reduces=("prod",)),
        "prod",
    ),
    _entry(
        "scatter_reduce",
        mg.scatter_reduce,
        torch.scatter_reduce,
        partial(scatter_reduce_sample, reduces=("prod",), zeros=True),
        "prod_zeros",
        # with two zeros at one target the second derivative is refused (both libraries)
        **FIRST_ORDER,
    ),
    # ---- minigrad.linalg: factorizations against torch.linalg
    _entry(
        "linalg.svd",
        partial(_reconstruct, mg),
        partial(_reconstruct, torch),
        partial(spread_sample, kwargs=_kw(full_matrices=[True, False])),
        tol=LOOSE,
    ),
    _entry(
        "linalg.svd",
        partial(_squared_factors, mg),
        partial(_squared_factors, torch),
        partial(spread_sample, kwargs=_kw(full_matrices=[True, False])),
        "squared_factors",
        tol=LOOSE,
    ),
    _entry("linalg.svdvals", mg.linalg.svdvals, torch.linalg.svdvals, spread_sample, tol=LOOSE),
    _entry(
        "linalg.qr",
        mg.linalg.qr,
        torch.linalg.qr,
        partial(spread_sample, kwargs=_kw(mode=["reduced"])),
        tol=LOOSE,
    ),
    _entry(
        "linalg.qr",
        mg.linalg.qr,
        torch.linalg.qr,
        partial(spread_sample, shape=WIDE, kwargs=_kw(mode=["complete"])),
        "complete",
        tol=LOOSE,
    ),
    _entry(
        "linalg.qr",
        lambda a: mg.linalg.qr(a, mode="r").R,
        lambda a: torch.linalg.qr(a, mode="r").R,
        spread_sample,
        "r",
        tol=LOOSE,
        **NONDIFF,
    ),
    _entry("linalg.pinv", mg.linalg.pinv, torch.linalg.pinv, spread_sample, tol=LOOSE),
    _entry(
        "linalg.pinv",
        lambda a: mg.linalg.pinv(_sym(a), hermitian=True),
        lambda a: torch.linalg.pinv(_sym(a), hermitian=True),
        partial(spread_sample, shape=SQUARE),
        "hermitian",
        tol=LOOSE,
    ),
    _entry(
        "linalg.pinv",
        mg.linalg.pinv,
        torch.linalg.pinv,
        partial(spread_sample, kwargs=_kw(atol=[0.3, 0.0], rtol=[None, 0.05])),
        "tolerances",
        tol=LOOSE,
    ),
    _entry(
        "linalg.pinv",
        mg.linalg.pinv,
        torch.linalg.pinv,
        # a cut between the singular values: the smallest are dropped. (The gradient is then
        # PyTorch's constant-rank formula, not the derivative of the cut: tests/test_linalg2.py)
        partial(spread_sample, kwargs=_kw(atol=[1.75], rtol=[None, 0.5])),
        "truncated",
        tol=LOOSE,
        **NONDIFF,
    ),
    _entry(
        "linalg.lstsq",
        lambda a, b, **kw: mg.linalg.lstsq(a, b, **kw).solution,
        lambda a, b, **kw: torch.linalg.lstsq(a, b, **kw).solution,
        partial(
            spread_sample,
            b_cols=[None, 1, 3],
            kwargs=_kw(driver=[None, "gels", "gelsy", "gelsd", "gelss"]),
        ),
        tol=LOOSE,
    ),
    _entry(
        "linalg.lstsq",
        mg.linalg.lstsq,
        torch.linalg.lstsq,
        partial(spread_sample, b_cols=[None, 2], kwargs=_kw(driver=["gels", "gelsd", "gelss"])),
        "all_fields",
        tol=LOOSE,
        **NONDIFF,
    ),
    _entry(
        "linalg.matrix_norm",
        mg.linalg.matrix_norm,
        torch.linalg.matrix_norm,
        partial(
            spread_sample,
            kwargs=_kw(ord=[2, -2, "nuc"], keepdim=[False, True], dim=[(-2, -1), (-1, -2)]),
        ),
        "singular_values",
        tol=LOOSE,
    ),
    _entry(
        "linalg.norm",
        lambda a, **kw: mg.linalg.norm(a[0] if a.ndim == 3 else a, **kw),
        lambda a, **kw: torch.linalg.norm(a[0] if a.ndim == 3 else a, **kw),
        partial(spread_sample, kwargs=_kw(ord=[2, -2, "nuc"])),
        "singular_values",
        tol=LOOSE,
    ),
    _entry(
        "linalg.cond",
        mg.linalg.cond,
        torch.linalg.cond,
        partial(spread_sample, kwargs=_kw(p=[None, 2, -2])),
        tol=LOOSE,
    ),
    _entry(
        "linalg.cond",
        mg.linalg.cond,
        # torch.linalg.cond's backward fails for these p (it writes a saved inverse in
        # place): its definition, ‖A‖_p ‖A⁻¹‖_p, in torch ops instead
        lambda a, p: torch.linalg.matrix_norm(a, p) * torch.linalg.matrix_norm(a.inverse(), p),
        partial(spread_sample, shape=SQUARE, kwargs=_kw(p=["fro", "nuc", 1, -math.inf])),
        "square",
        tol=LOOSE,
    ),
]

__all__ = ["ENTRIES", "GENERAL_EINSUM"]
