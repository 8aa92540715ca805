"""Registry entries for the further ops (trigonometric, special, rounding, sorting,
arrangement, scatter, no-grad queries): the same property tests as every op (values,
gradients, second order, gradcheck against PyTorch). ``tests/op_registry.py`` appends
``ENTRIES``."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_samples import (
    POS,
    REAL,
    Const,
    Sample,
    _dim,
    _side,
    distinct,
    nary,
    real,
    shapes,
    signed,
    unary,
)

import minigrad as mg

NONDIFF = {"differentiable": False, "twice_differentiable": False}
NO_FLOATS = {**NONDIFF, "float_dtypes": ("float64",)}
FIRST_ORDER = {"twice_differentiable": False}
HALVES = tuple(np.arange(-3.0, 3.01, 0.5))  # the jumps of floor/ceil/round/trunc
INTS = tuple(np.arange(-3.0, 3.01, 1.0))


def _entry(name: str, mg_fn: Any, torch_fn: Any, sample: Any, variant: str = "", **kw: Any):
    from op_registry import OpInfo

    return OpInfo(name, mg_fn, torch_fn, sample, variant, **kw)


def _same(name: str, sample: Any, variant: str = "", **kw: Any):
    return _entry(name, getattr(mg, name), getattr(torch, name), sample, variant, **kw)


def _u(dom: Any = REAL, kwargs: Any = None, min_dims: int = 0, max_dims: int = 4) -> Any:
    return partial(unary, dom=dom, kwargs=kwargs, min_dims=min_dims, max_dims=max_dims)


# ------------------------------------------------------------------ samples
@st.composite
def addmm_sample(draw, small):
    n, k, m = (draw(_side(small)) for _ in range(3))
    shape = draw(st.sampled_from([(n, m), (m,), (1, m), ()]))
    kw = draw(st.sampled_from([{}, {"beta": 0.5, "alpha": 2.0}, {"alpha": -1.0}]))
    return Sample((draw(REAL(shape)), draw(REAL((n, k))), draw(REAL((k, m)))), kw)


@st.composite
def round_decimals_sample(draw, small):
    """Values 0.3 of a unit in the last kept place above a grid point: away from the
    halfway points where rounding jumps."""
    d = draw(st.sampled_from([1, 2, -1]))
    x = draw(REAL(draw(shapes(small))))
    step = 10.0**-d
    x = np.floor(x / step) * step + 0.3 * step
    return Sample((np.asarray(x.astype(np.float32), np.float64),), {"decimals": d})


# arrangement ------------------------------------------------------------------------
@st.composite
def roll_sample(draw, small):
    x = draw(REAL(draw(shapes(small, min_dims=1))))
    if draw(st.booleans()):
        return Sample((x,), {"shifts": draw(st.integers(-7, 7))})
    dims = draw(st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=1, max_size=x.ndim))
    dims = list(dict.fromkeys(d % x.ndim for d in dims))
    shifts = [draw(st.integers(-6, 6)) for _ in dims]
    return Sample((x,), {"shifts": tuple(shifts), "dims": tuple(dims)})


def _two_dims(draw, ndim):
    d1 = draw(st.integers(-ndim, ndim - 1))
    d2 = draw(st.integers(-ndim, ndim - 1).filter(lambda d: d % ndim != d1 % ndim))
    return d1, d2


@st.composite
def rot90_sample(draw, small):
    x = draw(REAL(draw(shapes(small, min_dims=2))))
    return Sample((x,), {"k": draw(st.integers(-2, 5)), "dims": _two_dims(draw, x.ndim)})


@st.composite
def diagonal_sample(draw, small):
    x = draw(REAL(draw(shapes(small, min_dims=2))))
    d1, d2 = _two_dims(draw, x.ndim)
    return Sample((x,), {"offset": draw(st.integers(-2, 2)), "dim1": d1, "dim2": d2})


@st.composite
def diag_embed_sample(draw, small):
    x = draw(REAL(draw(shapes(small, min_dims=1, max_dims=3))))
    d1, d2 = _two_dims(draw, x.ndim + 1)
    return Sample((x,), {"offset": draw(st.integers(-2, 2)), "dim1": d1, "dim2": d2})


@st.composite
def diag_sample(draw, small):
    x = draw(REAL(draw(shapes(small, min_dims=1, max_dims=2))))
    return Sample((x,), {"diagonal": draw(st.integers(-2, 2))})


@st.composite
def kron_sample(draw, small):
    a = draw(REAL(draw(shapes(True, min_dims=1))))
    return Sample((a, draw(REAL(draw(shapes(True, min_dims=1))))))


@st.composite
def cross_sample(draw, small):
    base = list(draw(shapes(small, max_dims=2)))
    d = draw(st.integers(0, len(base)))
    shape = tuple(base[:d] + [3] + base[d:])
    b_shape = tuple(1 if i != d and draw(st.booleans()) else n for i, n in enumerate(shape))
    dim = d - len(shape) if draw(st.booleans()) else d
    return Sample((draw(REAL(shape)), draw(REAL(b_shape))), {"dim": dim})


@st.composite
def tensordot_sample(draw, small):
    p, q, r, s_ = (draw(_side(small)) for _ in range(4))
    case = draw(st.sampled_from(["two", "one", "pairs", "zero"]))
    shapes_, dims = {
        "two": (((p, q, r), (q, r, s_)), 2),
        "one": (((p, q), (q, r)), 1),
        "pairs": (((q, p, r), (s_, r, q)), ([0, 2], [2, 1])),
        "zero": (((p,), (q,)), 0),
    }[case]
    return Sample(tuple(draw(REAL(sh)) for sh in shapes_), {"dims": dims})


# order statistics --------------------------------------------------------------------
@st.composite
def sort_sample(draw, small):
    x = draw(distinct()(draw(shapes(small))))
    return Sample((x,), {"dim": _dim(draw, x.ndim), "descending": draw(st.booleans())})


@st.composite
def topk_sample(draw, small):
    x = draw(distinct()(draw(shapes(small, min_dims=1))))
    d = _dim(draw, x.ndim)
    k = draw(st.integers(0, x.shape[d]))
    return Sample((x, k), {"dim": d, "largest": draw(st.booleans())})


@st.composite
def kthvalue_sample(draw, small):
    x = draw(distinct()(draw(shapes(small, min_dims=1))))
    d = _dim(draw, x.ndim)
    k = draw(st.integers(1, x.shape[d]))
    return Sample((x, k), {"dim": d, "keepdim": draw(st.booleans())})


@st.composite
def median_sample(draw, small):
    x = draw(distinct()(draw(shapes(small, min_dims=1))))
    if draw(st.booleans()):
        return Sample((x,))
    return Sample((x,), {"dim": _dim(draw, x.ndim), "keepdim": draw(st.booleans())})


@st.composite
def quantile_sample(draw, small):
    x = draw(distinct()(draw(shapes(small, min_dims=1))))
    kw = {"interpolation": draw(st.sampled_from(["linear", "lower", "higher", "midpoint"]))}
    if draw(st.booleans()):
        kw["dim"] = _dim(draw, x.ndim)
    kw["keepdim"] = draw(st.booleans())
    q = draw(st.sampled_from([0.0, 0.3, 0.5, 1.0, "tensor"]))
    if q == "tensor":
        return Sample((x, Const(np.array([0.25, 0.8]))), kw)
    return Sample((x, q), kw)


@st.composite
def cdist_sample(draw, small):
    m, p, r = draw(_side(small)), draw(_side(small)), draw(_side(small))
    batch = draw(st.sampled_from([(), (2,)]))
    kw = {"p": draw(st.sampled_from([2.0, 1.0, 3.0]))}
    dom = signed(0.2, 3.0) if kw["p"] == 1.0 else distinct()
    return Sample((draw(dom((*batch, p, m))), draw(dom((r, m)))), kw)


@st.composite
def scan_sample(draw, small, dom=REAL):
    x = draw(dom(draw(shapes(small))))
    return Sample((x,), {"dim": _dim(draw, x.ndim)})


# selection ---------------------------------------------------------------------------
@st.composite
def take_along_dim_sample(draw, small):
    x = draw(REAL(draw(shapes(small, min_dims=1))))
    if draw(st.booleans()):
        idx = draw(hnp.arrays(np.int64, draw(shapes(small)), elements=st.integers(0, x.size - 1)))
        return Sample((x, Const(idx)))
    d = _dim(draw, x.ndim)
    ishape = [1 if draw(st.booleans()) else n for n in x.shape]
    ishape[d] = draw(_side(small))
    xshape = list(x.shape)
    if draw(st.booleans()):  # x broadcast along a dim where indices are wider
        i = draw(st.integers(0, x.ndim - 1))
        if i != d % x.ndim and ishape[i] > 1:
            xshape[i] = 1
    x = x[tuple(slice(0, n) for n in xshape)]
    n = x.shape[d]
    idx = draw(hnp.arrays(np.int64, tuple(ishape), elements=st.integers(0, n - 1)))
    return Sample((x, Const(idx)), {"dim": d})


@st.composite
def masked_select_sample(draw, small):
    s = draw(nary(small))
    return Sample((s.args[0], Const(s.args[1] > 0)))


@st.composite
def index_add_sample(draw, small, distinct_index=False, fill=False):
    x = draw(REAL(draw(shapes(small, min_dims=1))))
    d = _dim(draw, x.ndim)
    n = x.shape[d]
    if distinct_index:
        idx = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    else:
        idx = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5))
    index = Const(np.asarray(idx, np.int64))
    if fill:
        return Sample((x, d, index, draw(st.sampled_from([0.0, -2.5]))))
    src = draw(REAL(tuple(len(idx) if i == d % x.ndim else k for i, k in enumerate(x.shape))))
    kw = {} if distinct_index else {"alpha": draw(st.sampled_from([1, 0.5]))}
    return Sample((x, d, index, src), kw)


@st.composite
def scatter_sample(draw, small, value=False):
    """Distinct targets along dim (each slice's indices a partial permutation)."""
    x = draw(REAL(draw(shapes(small, min_dims=1))))
    d = _dim(draw, x.ndim)
    k = draw(st.integers(1, x.shape[d]))
    seed = draw(st.integers(0, 2**31))
    perm = np.argsort(np.random.default_rng(seed).random(x.shape), axis=d)
    idx = Const(np.take(perm, np.arange(k), axis=d).astype(np.int64))
    if value:
        return Sample((x, d, idx), {"value": draw(st.sampled_from([0.0, -1.5]))})
    return Sample((x, d, idx, draw(REAL(idx.array.shape))))


@st.composite
def masked_scatter_sample(draw, small):
    s = draw(nary(small))
    x, m = s.args
    extra = draw(st.integers(0, 2))
    n = int(np.prod(np.broadcast_shapes(x.shape, m.shape)))
    return Sample((x, Const(m > 0), draw(REAL((n + extra,)))))


@st.composite
def any_all_sample(draw, small):
    x = Const(draw(hnp.arrays(np.bool_, draw(shapes(small)))))
    d = _dim(draw, x.array.ndim, none=True)
    return Sample((x,), {} if d is None else {"dim": d, "keepdim": draw(st.booleans())})


@st.composite
def nonzero_sample(draw, small):
    x = draw(hnp.arrays(np.float64, draw(shapes(small)), elements=st.sampled_from([0.0, 1.5])))
    return Sample((Const(x),), {"as_tuple": draw(st.booleans())})


@st.composite
def unique_sample(draw, small):
    x = draw(hnp.arrays(np.int64, draw(shapes(small)), elements=st.integers(-3, 3)))
    kw = {"return_inverse": draw(st.booleans()), "return_counts": draw(st.booleans())}
    return Sample((Const(x),), kw)


@st.composite
def bincount_sample(draw, small):
    n = draw(st.integers(0, 8))
    x = np.asarray(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), np.int64)
    kw = {"minlength": draw(st.integers(0, 9))}
    if draw(st.booleans()):
        kw["weights"] = Const(draw(REAL((n,))))
    return Sample((Const(x),), kw)


@st.composite
def histc_sample(draw, small):
    x = draw(REAL(draw(shapes(small))))
    lo, hi = draw(st.sampled_from([(0, 0), (-1.0, 1.0), (-2.5, 0.5)]))
    return Sample((Const(x),), {"bins": draw(st.sampled_from([1, 4, 7])), "min": lo, "max": hi})


@st.composite
def tri_indices_sample(draw, small):
    row, col = draw(st.integers(0, 5)), draw(st.integers(0, 5))
    return Sample((row, col), {"offset": draw(st.integers(-3, 3))})


# linear algebra ----------------------------------------------------------------------
@st.composite
def square_sample(draw, small, scale=0.3):
    """Well-conditioned square matrices: A = scale · M + 1.5 I, M from REAL."""
    n = draw(st.integers(1, 3 if small else 4))
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=1 if small else 2, max_side=2))
    m = draw(REAL((*batch, n, n)))
    return Sample((np.asarray((scale * m + 1.5 * np.eye(n)).astype(np.float32), np.float64),))


@st.composite
def solve_sample(draw, small):
    (a,) = draw(square_sample(small)).args
    n, batch = a.shape[-1], a.shape[:-2]
    case = draw(st.sampled_from(["matrix", "vector", "batched_vector", "broadcast"]))
    if case == "vector":
        b_shape = (n,)
    elif case == "batched_vector":
        b_shape = (*batch, n)
    elif case == "broadcast":
        b_shape = (2, *(1 for _ in batch), n, draw(_side(small)))
    else:
        b_shape = (*batch, n, draw(_side(small)))
    return Sample((a, draw(REAL(b_shape))))


@st.composite
def matrix_sample(draw, small, dom=REAL, kwargs=None):
    n, k = draw(_side(small)), draw(_side(small))
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=1, max_side=2))
    return Sample((draw(dom((*batch, n, k))),), draw(kwargs) if kwargs is not None else {})


@st.composite
def vector_norm_sample(draw, small):
    ord_ = draw(st.sampled_from([2, 1, 3, float("inf"), -float("inf"), 0.5]))
    dom = distinct() if ord_ in (float("inf"), -float("inf")) else signed(0.2, 3.0)
    x = draw(dom(draw(shapes(small))))
    kw = {"ord": ord_, "keepdim": draw(st.booleans())}
    d = _dim(draw, x.ndim, none=True, tuples=True)
    if d is not None:
        kw["dim"] = d
    return Sample((x,), kw)


@st.composite
def linalg_norm_sample(draw, small):
    x = draw(signed(0.2, 3.0)(draw(shapes(small, min_dims=1, max_dims=2))))
    case = draw(st.sampled_from(["none", "ord", "dim"]))
    if case == "none":
        return Sample((x,))
    if case == "ord":
        ords = ["fro", 1, float("inf")] if x.ndim == 2 else [1, 2, 3, float("inf")]
        return Sample((x,), {"ord": draw(st.sampled_from(ords))})
    return Sample((x,), {"ord": 2, "dim": draw(st.integers(-x.ndim, x.ndim - 1))})


def _spd(lib: Any, m: Any) -> Any:
    """M Mᵀ + I: symmetric positive-definite, from any M (both triangles are the input's)."""
    eye = lib.tensor(np.eye(m.shape[-2]), dtype=m.dtype)
    return m @ m.transpose(-2, -1) + eye


def _sym(lib: Any, m: Any) -> Any:
    """0.1 (M + Mᵀ) + diag(0, 1, ..., n-1): symmetric with well-separated eigenvalues."""
    spread = lib.tensor(np.diag(np.arange(m.shape[-1], dtype=np.float64)), dtype=m.dtype)
    return (m + m.transpose(-2, -1)) * 0.1 + spread


def _fixed_signs(lib: Any, v: Any) -> Any:
    """Eigenvectors with their largest-magnitude entry made positive (each column's sign is
    arbitrary: LAPACK builds differ), a differentiable change of gauge."""
    big = lib.argmax(abs(v.detach()), -2, keepdim=True)
    return v * lib.sign(lib.take_along_dim(v.detach(), big, -2))


def _kw(**choices: list) -> Any:
    return st.fixed_dictionaries({k: st.sampled_from(v) for k, v in choices.items()})


# ------------------------------------------------------------------ entries
ENTRIES: list = [
    # ---- trigonometric and hyperbolic
    _same("tan", _u(real(-1.2, 1.2))),
    _same("atan", _u()),
    _same("asin", _u(real(-0.9, 0.9))),
    _same("acos", _u(real(-0.9, 0.9))),
    _same("sinh", _u()),
    _same("cosh", _u()),
    _same("asinh", _u()),
    _same("acosh", _u(real(1.1, 4.0))),
    _same("atanh", _u(real(-0.9, 0.9))),
    _same("atan2", partial(nary, doms=(signed(), signed()))),
    _same("hypot", partial(nary, doms=(signed(0.3, 3.0), signed(0.3, 3.0)))),
    # ---- logarithms and friends
    _same("log2", _u(POS)),
    _same("log10", _u(POS)),
    _same("logaddexp", nary),
    _same("xlogy", partial(nary, doms=(real(avoid=(0.0,)), POS))),
    _same("xlogy", partial(nary, doms=(real(-1.0, 1.0, avoid=(0.0,)), POS)), "zeros"),
    _same("sinc", _u(real(avoid=(0.0,)))),
    # ---- special functions
    _same("erfc", _u()),
    _same("erfinv", _u(real(-0.95, 0.95))),
    _same("lgamma", _u(real(0.1, 6.0))),
    _same("lgamma", _u(real(-2.9, -0.1, avoid=(-2.0, -1.0), margin=0.1)), "negative"),
    _same("digamma", _u(real(0.2, 6.0))),
    _same("digamma", _u(real(-2.9, -0.1, avoid=(-2.0, -1.0), margin=0.1)), "negative"),
    _entry(
        "polygamma",
        lambda x, n: mg.polygamma(n, x),
        lambda x, n: torch.polygamma(n, x),
        _u(real(0.3, 6.0), _kw(n=[1, 2, 3])),
        # PyTorch's float64 trigamma is a short series, accurate to about 1e-9 (minigrad's
        # agrees with mpmath to double rounding)
        tol={"float64": (1e-8, 1e-10), "float32": (1e-4, 1e-5)},
    ),
    # ---- rounding: gradient 0
    _same("floor", _u(real(avoid=INTS))),
    _same("ceil", _u(real(avoid=INTS))),
    _same("round", _u(real(avoid=HALVES))),
    _same("round", round_decimals_sample, "decimals"),
    _same("trunc", _u(real(avoid=INTS))),
    _same("frac", _u(real(avoid=INTS))),
    # ---- interpolation and fused products
    _same("lerp", partial(nary, doms=(REAL, REAL, real(0.0, 1.0)))),
    _entry(
        "lerp",
        lambda a, b, weight: mg.lerp(a, b, weight),
        lambda a, b, weight: torch.lerp(a, b, weight),
        lambda small: nary(small).flatmap(
            lambda s: st.sampled_from([0.25, 0.7, 1.5]).map(lambda w: Sample(s.args, {"weight": w}))
        ),
        "scalar_weight",
    ),
    _same("addcmul", partial(nary, doms=(REAL, REAL, REAL), kwargs=_kw(value=[1, 0.5, -2]))),
    _same("addcdiv", partial(nary, doms=(REAL, REAL, signed()), kwargs=_kw(value=[1, 0.5]))),
    _same("addmm", addmm_sample),
    # ---- arrangement
    _same("roll", roll_sample),
    _same("rot90", rot90_sample),
    _same("diagonal", diagonal_sample),
    _same("diag_embed", diag_embed_sample),
    _same("diag", diag_sample),
    _same("trace", partial(unary, dom=REAL, min_dims=2, max_dims=2)),
    _same("kron", kron_sample),
    _same("cross", cross_sample),
    _same("tensordot", tensordot_sample),
    # ---- order statistics and scans: values gathered, gradients scattered back
    _same("sort", sort_sample),
    _same("argsort", sort_sample, **NONDIFF),
    _same("msort", partial(unary, dom=distinct(), min_dims=1)),
    _same("topk", topk_sample),
    _same("kthvalue", kthvalue_sample),
    _same("median", median_sample),
    _entry(
        "quantile",
        mg.quantile,
        # PyTorch needs q's dtype to be the input's
        lambda x, q, **kw: torch.quantile(x, q.to(x.dtype) if torch.is_tensor(q) else q, **kw),
        quantile_sample,
    ),
    _entry("cdist", mg.cdist, torch.cdist, cdist_sample, **FIRST_ORDER),
    _same("cumprod", scan_sample),
    _same("cummax", partial(scan_sample, dom=distinct())),
    _same("cummin", partial(scan_sample, dom=distinct())),
    _same("logcumsumexp", scan_sample),
    # ---- selection and scattering
    _same("take_along_dim", take_along_dim_sample),
    _same("masked_select", masked_select_sample),
    _same("index_add", index_add_sample),
    _same("index_copy", partial(index_add_sample, distinct_index=True)),
    _same("index_fill", partial(index_add_sample, fill=True)),
    _same("scatter", scatter_sample),
    _same("scatter", partial(scatter_sample, value=True), "value"),
    _same("masked_scatter", masked_scatter_sample),
    # ---- minigrad.linalg against torch.linalg
    _entry("linalg.inv", mg.linalg.inv, torch.linalg.inv, square_sample),
    _entry("linalg.solve", mg.linalg.solve, torch.linalg.solve, solve_sample),
    _entry("linalg.det", mg.linalg.det, torch.linalg.det, square_sample),
    _entry("linalg.slogdet", mg.linalg.slogdet, torch.linalg.slogdet, square_sample),
    _entry(
        "linalg.cholesky",
        lambda m, upper=False: mg.linalg.cholesky(_spd(mg, m), upper=upper),
        lambda m, upper=False: torch.linalg.cholesky(_spd(torch, m), upper=upper),
        partial(matrix_sample, kwargs=_kw(upper=[False, True])),
    ),
    _entry(
        "linalg.eigh",
        lambda m: mg.linalg.eigh(_sym(mg, m)).eigenvalues,
        lambda m: torch.linalg.eigh(_sym(torch, m)).eigenvalues,
        square_sample,
    ),
    _entry(
        "linalg.eigh",
        lambda m: _fixed_signs(mg, mg.linalg.eigh(_sym(mg, m)).eigenvectors),
        lambda m: _fixed_signs(torch, torch.linalg.eigh(_sym(torch, m)).eigenvectors),
        square_sample,
        "eigenvectors",
        tol={"float64": (1e-7, 1e-9), "float32": (1e-3, 1e-4)},
    ),
    _entry(
        "linalg.eigvalsh",
        lambda m: mg.linalg.eigvalsh(_sym(mg, m)),
        lambda m: torch.linalg.eigvalsh(_sym(torch, m)),
        square_sample,
    ),
    _entry(
        "linalg.matrix_exp",
        mg.linalg.matrix_exp,
        torch.linalg.matrix_exp,
        partial(square_sample, scale=1.0),
        tol={"float64": (1e-7, 1e-9), "float32": (1e-4, 1e-4)},
    ),
    _entry(
        "linalg.vector_norm", mg.linalg.vector_norm, torch.linalg.vector_norm, vector_norm_sample
    ),
    _entry(
        "linalg.matrix_norm",
        mg.linalg.matrix_norm,
        torch.linalg.matrix_norm,
        partial(
            matrix_sample,
            dom=distinct(),
            kwargs=_kw(ord=["fro", 1, -1, float("inf"), -float("inf")], keepdim=[False, True]),
        ),
    ),
    _entry("linalg.norm", mg.linalg.norm, torch.linalg.norm, linalg_norm_sample),
    # ---- queries without gradient
    _same("any", any_all_sample, **NO_FLOATS),
    _same("all", any_all_sample, **NO_FLOATS),
    _same("nonzero", nonzero_sample, **NO_FLOATS),
    _same("unique", unique_sample, **NO_FLOATS),
    _same("bincount", bincount_sample, **NO_FLOATS),
    _same("histc", histc_sample, **NONDIFF),
    _same("tril_indices", tri_indices_sample, **NO_FLOATS),
    _same("triu_indices", tri_indices_sample, **NO_FLOATS),
]

__all__ = ["ENTRIES", "Const", "_dim", "distinct", "hnp", "shapes"]
