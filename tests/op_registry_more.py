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
    int_pair_sample,
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
def fmod_sample(draw, small):
    """b away from 0 and a away from the multiples of b (where fmod jumps)."""
    s = draw(nary(small, doms=(REAL, signed(0.5, 3.0))))
    a, b = s.args
    q = a / b
    a = np.where(np.abs(q - np.round(q)) < 0.05, a + 0.1 * np.abs(b), a)
    return Sample((np.asarray(a.astype(np.float32), np.float64), b))


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
    _same("fmod", fmod_sample),
    _same("fmod", partial(int_pair_sample, nonzero_b=True), "int", **NO_FLOATS),
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
