"""The op registry: one entry per public op, in the spirit of PyTorch's OpInfo.

An :class:`OpInfo` pairs a minigrad callable with the PyTorch callable that must
agree with it (same arguments), a hypothesis strategy for inputs (from
``tests/op_samples.py``), flags (differentiable, twice differentiable) and
per-dtype tolerances. ``tests/test_ops.py`` iterates over ``REGISTRY`` to compare
forward values, gradients, second-order gradients and numerical Jacobians with
PyTorch's, and checks that every public op has an entry.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import strategies as st
from op_samples import (
    POS,
    REAL,
    Const,
    Domain,
    Sample,
    bool_pair_sample,
    cat_sample,
    clamp_sample,
    clamp_tensor_sample,
    compare_sample,
    distinct,
    einsum_sample,
    embedding_sample,
    equal_sample,
    expand_sample,
    fixed_shapes,
    flatten_sample,
    flip_sample,
    gather_sample,
    getitem_sample,
    index_select_sample,
    int_pair_sample,
    layer_norm_sample,
    linear_sample,
    masked_fill_sample,
    matmul_sample,
    max_min_sample,
    narrow_sample,
    nary,
    norm_sample,
    one_hot_sample,
    pad_sample,
    perm_sample,
    pow_scalar_sample,
    prod_sample,
    real,
    reduce_sample,
    repeat_sample,
    reshape_sample,
    scatter_add_sample,
    select_sample,
    signed,
    softmax_sample,
    softplus_sample,
    special_values_sample,
    split_sample,
    squeeze_sample,
    transpose_sample,
    tri_sample,
    unary,
    var_sample,
    where_sample,
    with_scalar,
)

import minigrad as mg

__all__ = ["REGISTRY", "Const", "OpInfo", "Sample"]


Tol = dict[str, tuple[float, float]]  # dtype name -> (rtol, atol)
TOL: Tol = {"float64": (1e-7, 1e-10), "float32": (1e-4, 1e-5)}


@dataclass(frozen=True)
class OpInfo:
    """How to call one op (or one variant of it) in both libraries and what to expect.

    ``mg_fn`` and ``torch_fn`` take the same arguments (a Sample's, converted);
    ``sample(small)`` gives the input strategy; ``float_dtypes`` are the dtypes the
    float inputs are tested in (one is enough for ops on bool/int inputs only);
    ``tol`` maps a dtype to (rtol, atol).
    """

    name: str  # the public op (a name in minigrad.ops.__all__)
    mg_fn: Callable[..., Any]
    torch_fn: Callable[..., Any]
    sample: Callable[[bool], st.SearchStrategy]  # small -> strategy of Sample
    variant: str = ""
    differentiable: bool = True
    twice_differentiable: bool = True
    tol: Tol = field(default_factory=lambda: dict(TOL))
    float_dtypes: tuple[str, ...] = ("float32", "float64")

    @property
    def id(self) -> str:
        return f"{self.name}.{self.variant}" if self.variant else self.name


# ------------------------------------------------------------------ the registry
def _op(name: str, mg_fn: Callable, torch_fn: Callable, sample: Callable, **kw: Any) -> OpInfo:
    return OpInfo(name, mg_fn, torch_fn, sample, **kw)


def _same(fn_name: str, sample: Callable, **kw: Any) -> OpInfo:
    """An op with the same name and call signature in both libraries."""
    return _op(fn_name, getattr(mg, fn_name), getattr(torch, fn_name), sample, **kw)


def _act(fn_name: str, sample: Callable, **kw: Any) -> OpInfo:
    """An activation: ``minigrad.X`` against ``torch.nn.functional.X``."""
    return _op(fn_name, getattr(mg, fn_name), getattr(F, fn_name), sample, **kw)


def _u(dom: Domain = REAL, kwargs: Any = None, min_dims: int = 0, max_dims: int = 4) -> Callable:
    return partial(unary, dom=dom, kwargs=kwargs, min_dims=min_dims, max_dims=max_dims)


def _fixed(make: Callable, dom: Domain = REAL) -> Callable:
    return partial(fixed_shapes, make=make, dom=dom)


NONDIFF = {"differentiable": False, "twice_differentiable": False}
NO_FLOATS = {**NONDIFF, "float_dtypes": ("float64",)}  # inputs are bool / int only
FIRST_ORDER = {"twice_differentiable": False}
DIV_DOMS = (REAL, signed(0.5, 3.0))


def _reduce(name: str, dom: Domain = REAL, explicit_none: bool = False, **kw: Any) -> OpInfo:
    return _same(name, partial(reduce_sample, dom=dom, explicit_none=explicit_none), **kw)


REGISTRY: list[OpInfo] = [
    # ---- elementwise arithmetic, tensors broadcast against each other
    _op(
        "add",
        lambda a, b, alpha=1: mg.add(a, b, alpha=alpha),
        lambda a, b, alpha=1: torch.add(a, b, alpha=alpha),
        partial(nary, kwargs=st.fixed_dictionaries({"alpha": st.sampled_from([1, 2.5])})),
    ),
    _op("add", lambda x, c: x + c, lambda x, c: x + c, with_scalar, variant="scalar"),
    _same("sub", nary),
    _op("sub", lambda x, c: c - x, lambda x, c: c - x, with_scalar, variant="rscalar"),
    _op("sub", lambda x, c: x - c, lambda x, c: x - c, with_scalar, variant="scalar"),
    _same("mul", nary),
    _op("mul", lambda x, c: c * x, lambda x, c: c * x, with_scalar, variant="rscalar"),
    _op("mul", lambda x, c: x * c, lambda x, c: x * c, with_scalar, variant="scalar"),
    _op("div", lambda x, c: x / c, lambda x, c: x / c, with_scalar, variant="scalar"),
    _same("div", partial(nary, doms=DIV_DOMS)),
    _op(
        "div",
        lambda x, c: c / x,
        lambda x, c: c / x,
        partial(with_scalar, dom=signed()),
        variant="rscalar",
    ),
    _op(
        "pow",
        operator.pow,
        operator.pow,
        partial(nary, doms=(real(0.3, 3.0), real(avoid=(0.0,)))),
        variant="tensor_tensor",
    ),
    _op("pow", lambda x, c: x**c, lambda x, c: x**c, pow_scalar_sample, variant="tensor_scalar"),
    _op(
        "pow",
        lambda x, c: c**x,
        lambda x, c: c**x,
        partial(with_scalar, scalars=st.sampled_from([2, 0.5, 3.0, math.e])),
        variant="scalar_tensor",
    ),
    _op(
        "pow",
        lambda x, c: c**x,
        lambda x, c: c**x,
        partial(with_scalar, dom=real(0.2, 3.0), scalars=st.just(0)),
        variant="zero_base",
        **FIRST_ORDER,
    ),
    _same("maximum", partial(nary, pool=distinct())),
    _same("minimum", partial(nary, pool=distinct())),
    _same("where", where_sample),
    # ---- elementwise math
    _same("neg", _u()),
    _same("abs", _u(real(avoid=(0.0,)))),
    _same("sign", _u(real(avoid=(0.0,)))),
    _same("exp", _u()),
    _same("log", _u(POS)),
    _same("log1p", _u(real(-0.8, 3.0))),
    _same("expm1", _u()),
    _same("sqrt", _u(POS)),
    _same("rsqrt", _u(POS)),
    _same("sin", _u()),
    _same("cos", _u()),
    _same("tanh", _u()),
    _same("sigmoid", _u(real(-8.0, 8.0))),
    _same("reciprocal", _u(signed())),
    _same("square", _u()),
    _same("erf", _u()),
    _same("clamp", clamp_sample),
    _same("clip", clamp_sample),
    _op(
        "clamp",
        lambda x, lo, hi: mg.clamp(x, lo, hi),
        lambda x, lo, hi: torch.clamp(x, lo, hi),
        clamp_tensor_sample,
        variant="tensor_bounds",
    ),
    # ---- activations
    _act("relu", _u(real(avoid=(0.0,)))),
    _act("relu6", _u(real(-8.0, 8.0, avoid=(0.0, 6.0)))),
    _act(
        "leaky_relu",
        _u(
            real(avoid=(0.0,)),
            st.fixed_dictionaries({"negative_slope": st.sampled_from([0.01, 0.2, 1.5])}),
        ),
    ),
    _act(
        "elu",
        _u(real(avoid=(0.0,)), st.fixed_dictionaries({"alpha": st.sampled_from([1.0, 0.5, 2.0])})),
    ),
    _act(
        "gelu", _u(kwargs=st.fixed_dictionaries({"approximate": st.sampled_from(["none", "tanh"])}))
    ),
    _act("silu", _u()),
    _act("softplus", softplus_sample),
    # ---- reductions
    _reduce("sum", explicit_none=True),
    _reduce("mean", explicit_none=True),
    _same("max", max_min_sample),
    _same("min", max_min_sample),
    _reduce("amax", distinct()),
    _reduce("amin", distinct()),
    _same("var", var_sample),
    _same("std", var_sample),
    _same("prod", prod_sample),
    _same("prod", partial(prod_sample, dom=real(-2.0, 2.0)), variant="zeros"),
    _same("logsumexp", partial(reduce_sample, none=False)),
    _same("norm", norm_sample),
    _same("cumsum", partial(reduce_sample, none=False, tuples=False, keepdim=False)),
    _same("argmax", partial(reduce_sample, dom=distinct(), tuples=False), **NONDIFF),
    _same("argmin", partial(reduce_sample, dom=distinct(), tuples=False), **NONDIFF),
    # ---- shape
    _op(
        "reshape",
        lambda x, shape: mg.reshape(x, shape),
        lambda x, shape: x.reshape(shape),
        reshape_sample,
    ),
    _op("view", lambda x, shape: x.view(shape), lambda x, shape: x.view(shape), reshape_sample),
    _same("flatten", flatten_sample),
    _same("squeeze", squeeze_sample),
    _same(
        "unsqueeze",
        lambda small: unary(small).flatmap(
            lambda s: st.integers(-s.args[0].ndim - 1, s.args[0].ndim).map(
                lambda d: Sample(s.args, {"dim": d})
            )
        ),
    ),
    _same("transpose", transpose_sample),
    _op(
        "swapaxes",
        lambda x, dim0, dim1: mg.swapaxes(x, dim0, dim1),
        lambda x, dim0, dim1: torch.swapaxes(x, dim0, dim1),
        transpose_sample,
    ),
    _same("t", _u(max_dims=2)),
    _op(
        "permute", lambda x, dims: mg.permute(x, dims), lambda x, dims: x.permute(dims), perm_sample
    ),
    _op(
        "expand", lambda x, sizes: x.expand(sizes), lambda x, sizes: x.expand(sizes), expand_sample
    ),
    _op(
        "expand_as",
        lambda x, y: mg.expand_as(x, y),
        lambda x, y: x.expand_as(y),
        lambda small: nary(small).map(
            lambda s: Sample(
                (s.args[0], Const(np.zeros(np.broadcast_shapes(s.args[0].shape, s.args[1].shape))))
            )
        ),
    ),
    _op(
        "broadcast_to",
        lambda x, shape: mg.broadcast_to(x, shape),
        lambda x, shape: torch.broadcast_to(x, shape),
        lambda small: nary(small).map(
            lambda s: Sample(
                (s.args[0],), {"shape": np.broadcast_shapes(s.args[0].shape, s.args[1].shape)}
            )
        ),
    ),
    _op(
        "broadcast_tensors",
        lambda *xs: mg.broadcast_tensors(*xs),
        lambda *xs: torch.broadcast_tensors(*xs),
        partial(nary, doms=(REAL,) * 3),
    ),
    _op("repeat", lambda x, reps: x.repeat(*reps), lambda x, reps: x.repeat(*reps), repeat_sample),
    _same("flip", flip_sample),
    _op("cat", lambda *xs, dim: mg.cat(xs, dim), lambda *xs, dim: torch.cat(xs, dim), cat_sample),
    _op(
        "stack",
        lambda *xs, dim: mg.stack(xs, dim),
        lambda *xs, dim: torch.stack(xs, dim),
        partial(cat_sample, stack=True),
    ),
    _op(
        "split",
        lambda x, size, dim: mg.split(x, size, dim),
        lambda x, size, dim: torch.split(x, size, dim),
        split_sample,
    ),
    _same("chunk", partial(split_sample, chunk=True)),
    _same(
        "unbind",
        lambda small: split_sample(small, chunk=True).map(
            lambda s: Sample(s.args, {"dim": s.kwargs["dim"]})
        ),
    ),
    _same("narrow", narrow_sample),
    _same("select", select_sample),
    _op("getitem", lambda x, index: x[index], lambda x, index: x[index], getitem_sample),
    _same(
        "gather",
        lambda small: gather_sample(small).map(
            lambda s: Sample((s.args[0], s.kwargs["dim"], s.args[1]))
        ),
    ),
    _same("scatter_add", scatter_add_sample),
    _same(
        "index_select",
        lambda small: index_select_sample(small).map(
            lambda s: Sample((s.args[0], s.kwargs["dim"], s.args[1]))
        ),
    ),
    _same("masked_fill", masked_fill_sample),
    _same("masked_fill", partial(masked_fill_sample, tensor_value=True), variant="tensor_value"),
    _same("tril", tri_sample),
    _same("triu", tri_sample),
    _op(
        "pad",
        lambda x, pad, value: mg.pad(x, pad, value=value),
        lambda x, pad, value: F.pad(x, pad, value=value),
        pad_sample,
    ),
    _act("one_hot", one_hot_sample, **NO_FLOATS),
    _op("contiguous", mg.contiguous, lambda x: x.contiguous(), _u()),
    _same("clone", _u()),
    _op("cast", lambda x: mg.ops.cast(x, "float64"), lambda x: x.to(torch.float64), _u()),
    # ---- linear algebra
    _same("matmul", matmul_sample),
    _same("mm", _fixed(lambda n, k, m, b: ((n, k), (k, m)))),
    _same("bmm", _fixed(lambda n, k, m, b: ((b, n, k), (b, k, m)))),
    _same("dot", _fixed(lambda n, k, m, b: ((k,), (k,)))),
    _same("outer", _fixed(lambda n, k, m, b: ((n,), (m,)))),
    _act("linear", linear_sample),
    _op(
        "einsum",
        lambda *xs, eq: mg.einsum(eq, *xs),
        lambda *xs, eq: torch.einsum(eq, *xs),
        einsum_sample,
    ),
    # ---- neural-network ops
    _same("softmax", softmax_sample),
    _same("log_softmax", softmax_sample),
    _act(
        "dropout",
        _u(
            kwargs=st.fixed_dictionaries(
                {"p": st.sampled_from([0.0, 1.0]), "training": st.just(True)}
            )
        ),
    ),
    _op(
        "embedding",
        lambda i, w, padding_idx=None: mg.embedding(i, w, padding_idx),
        lambda i, w, padding_idx=None: F.embedding(i, w, padding_idx),
        embedding_sample,
    ),
    _op(
        "layer_norm",
        lambda x, w=None, b=None, **kw: mg.layer_norm(x, weight=w, bias=b, **kw),
        lambda x, w=None, b=None, **kw: F.layer_norm(x, weight=w, bias=b, **kw),
        layer_norm_sample,
        # dx is a difference of O(|dy|/σ) terms that nearly cancel (exactly so for two
        # normalised elements), so float32 rounding shows at the 1e-5 level in both libraries
        tol={**TOL, "float32": (1e-4, 5e-5)},
    ),
    # ---- no gradient: comparisons, logic, integer arithmetic, predicates
    *[_same(n, compare_sample, **NONDIFF) for n in ("eq", "ne", "lt", "le", "gt", "ge")],
    *[
        _same(n, bool_pair_sample, **NO_FLOATS)
        for n in ("logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or")
    ],
    _same("logical_not", partial(bool_pair_sample, n=1), **NO_FLOATS),
    _same("bitwise_not", partial(bool_pair_sample, n=1), **NO_FLOATS),
    _same("bitwise_and", int_pair_sample, variant="int", **NO_FLOATS),
    _same("floor_divide", partial(int_pair_sample, nonzero_b=True), **NO_FLOATS),
    _same("remainder", partial(int_pair_sample, nonzero_b=True), **NO_FLOATS),
    _same("floor_divide", partial(nary, doms=DIV_DOMS), variant="float", **NONDIFF),
    _same("remainder", partial(nary, doms=DIV_DOMS), variant="float", **FIRST_ORDER),
    _same("fmod", partial(int_pair_sample, nonzero_b=True), **NO_FLOATS),
    _same("fmod", partial(nary, doms=DIV_DOMS), variant="float", **FIRST_ORDER),
    *[_same(n, special_values_sample, **NONDIFF) for n in ("isnan", "isinf", "isfinite")],
    _same("allclose", compare_sample, **NONDIFF),
    _same("equal", equal_sample, **NONDIFF),
]

# ``minigrad.nn.functional``, named as PyTorch's OpInfo names it (``nn.functional.conv2d``).
from op_registry_layers import ENTRIES as LAYER_ENTRIES  # noqa: E402
from op_registry_nn import ENTRIES as NN_ENTRIES  # noqa: E402

REGISTRY += NN_ENTRIES + LAYER_ENTRIES

# The further ops (trigonometric, special, rounding, sorting, arrangement, scatter, ...).
from op_registry_more import ENTRIES as MORE_ENTRIES  # noqa: E402

REGISTRY += MORE_ENTRIES

# Factorizations (svd, qr, pinv, lstsq), general einsum, scatter_reduce, similarity.
from op_registry_linalg2 import ENTRIES as LINALG2_ENTRIES  # noqa: E402

REGISTRY += LINALG2_ENTRIES
