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
]

__all__ = ["ENTRIES", "Const", "_dim", "distinct", "hnp", "shapes"]
