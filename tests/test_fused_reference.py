"""Every fused kernel against the reference composition that defines it, in float64.

For each kernel the public function runs twice on the same hypothesis-drawn inputs:
on the fast engine (the fused Function) and in reference mode (the composition of
primitives registered beside it, ``minigrad/fast/fused.py``). Values must agree to
rtol 1e-10, the gradient of every input to rtol 1e-9, and so must the second
derivatives (a Hessian-vector product through ``create_graph``). The guard tests
check that every Function outside the core is either a registered fused kernel or
listed below as a genuine op with its own derivative.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
import minigrad.nn.functional as F
from minigrad import fast
from minigrad import linalg as mlinalg
from minigrad.autograd import Function, custom_function, hooks, views
from minigrad.fast.fused import FUSED
from minigrad.linalg import factorizations as mfact
from minigrad.nn.functional import (
    _windows,
    attention,
    conv,
    loss_binary,
    loss_cross_entropy,
    pooling,
)
from minigrad.ops import (
    activations,
    arrange,
    compare,
    elementwise,
    linalg,
    nn_ops,
    reduce,
    scattering,
    sorting,
    special,
    trig,
    unary,
)
from minigrad.utils import checkpoint

# Functions outside minigrad/core that are ops in their own right, not fused kernels:
# their backward is a formula of its own (or a data movement's adjoint), not the
# derivative of a composition that could replace them.
GENUINE_OPS: dict[type, str] = {
    views.CopySlices: "a write into a view: the base keeps its old value outside the region",
    unary.Abs: "elementwise |x|: derivative sign(x), one NumPy ufunc each way",
    unary.Sign: "piecewise constant: derivative 0 everywhere",
    unary.Log1p: "elementwise ln(1 + x), accurate near 0 where log(1 + x) is not",
    unary.Expm1: "elementwise eˣ - 1, accurate near 0 where exp(x) - 1 is not",
    unary.Sqrt: "elementwise √x: derivative 1/(2√x) from the saved output",
    unary.Rsqrt: "elementwise 1/√x: derivative -½y³ from the saved output",
    unary.Sin: "elementwise sin: derivative cos",
    unary.Cos: "elementwise cos: derivative -sin",
    unary.Sigmoid: "elementwise σ(x), overflow-free: derivative y(1 - y) from the output",
    unary.Reciprocal: "elementwise 1/x: derivative -y² from the output",
    unary.PowScalar: "xᶜ for a number c: derivative c·x^(c-1), 0 for c = 0",
    unary.RPowScalar: "cˣ for a number c: derivative y·ln c, PyTorch's limit at c = 0",
    unary.Clamp: "PyTorch's convention: gradient 1 on the closed interval, bounds included",
    reduce.Prod: "Π over an axis: products of the others, exact where some xᵢ = 0",
    reduce.Cumsum: "running sum: its adjoint is a reversed running sum",
    reduce.LogSumExp: "PyTorch's backward e^(x - y) from the rounded output y, not the "
    "composition's derivative (they differ in float32 at large |x|)",
    minigrad.ops.binary.Maximum: "elementwise max: ties split the gradient, as PyTorch",
    minigrad.ops.binary.Minimum: "elementwise min: ties split the gradient, as PyTorch",
    minigrad.ops.shape.Repeat: "tiling: its adjoint sums the tiles",
    minigrad.ops.shape.Flip: "reversal: its own adjoint",
    minigrad.ops.shape.Cat: "concatenation: its adjoint slices the pieces back out",
    minigrad.ops.shape.Triangle: "tril/triu: the adjoint applies the same mask",
    minigrad.ops.shape.Pad: "padding (constant/reflect/replicate/circular): adjoint sums back",
    minigrad.ops.shape.Clone: "a copy: identity adjoint, a new array",
    minigrad.ops.indexing.Gather: "gather along a dim: adjoint scatter_add",
    minigrad.ops.indexing.ScatterAdd: "scatter_add along a dim: adjoint gather",
    minigrad.ops.indexing.IndexPut: "x[idx] = v: gradients to x outside idx, to v at idx",
    linalg.Einsum: "general contraction: each operand's gradient is another einsum",
    loss_binary.BinaryCrossEntropy: "PyTorch's backward (x - y)/max(x(1 - x), 1e-12), not "
    "the derivative of the clamped logs",
    compare.Remainder: "x - b·floor(x/b): dx = dy, db = -floor(x/b)·dy",
    compare.Fmod: "x - b·trunc(x/b): dx = dy, db = -trunc(x/b)·dy",
    compare.FloorDivide: "piecewise constant; PyTorch refuses its backward, and so does it",
    # Graph machinery, not maths: a node of a several-output Function, hooks, recomputation.
    custom_function.OutputOf: "output i of a several-output node: sends dy to slot i",
    custom_function._DoubleBackward: "identity whose backward refuses (once_differentiable)",
    hooks.BackwardHook: "identity whose backward calls a module's full backward hooks",
    checkpoint.CheckpointFunction: "recomputes its function in backward (activation checkpointing)",
    # Elementwise maths with derivatives of their own (minigrad/ops/trig.py, elementwise.py,
    # special.py): each backward is the formula in its docstring.
    **{
        getattr(trig, name): "elementwise, its own derivative formula"
        for name in (
            "Tan",
            "Atan",
            "Asin",
            "Acos",
            "Sinh",
            "Cosh",
            "Asinh",
            "Acosh",
            "Atanh",
            "Atan2",
            "Hypot",
            "_Unary",
        )
    },
    **{
        getattr(elementwise, name): "elementwise, its own derivative formula"
        for name in ("Log2", "Log10", "LogAddExp", "Sinc", "XLogY", "_Step")
    },
    **{
        getattr(special, name): "a special function: its derivative is another one"
        for name in ("Erfc", "Erfinv", "Lgamma", "Polygamma")
    },
    sorting.Cumprod: "Π of prefixes: the adjoint handles zeros exactly",
    sorting.LogCumSumExp: "log Σ exp of prefixes: dx = reversed cumsum of dy·softmax",
    arrange.Roll: "data movement: the adjoint rolls back",
    arrange.Diagonal: "data movement: the adjoint is diag_embed",
    arrange.DiagEmbed: "data movement: the adjoint is diagonal",
    # Linear algebra: matrix-calculus derivatives (minigrad/linalg)
    **{
        getattr(mlinalg, name): "a matrix function: its derivative from matrix calculus"
        for name in (
            "Cholesky",
            "Det",
            "EighValues",
            "EighVectors",
            "Inv",
            "SignOfDet",
            "SlogDet",
            "Solve",
        )
    },
    scattering.ScatterReduce: "a reduction into targets: PyTorch's adjoint for each reduce",
    **{
        getattr(mfact, name): "a factorization (or pseudo-inverse): matrix-calculus derivative"
        for name in ("Pinv", "Qr", "Svd")
    },
}


def _scalar_ops() -> dict[type, str]:
    from minigrad.fast import scalar_ops

    why = "declared optimisation of the core's {} with a constant (fast.enabled('scalar_ops'))"
    return {
        scalar_ops.AddScalar: why.format("Add"),
        scalar_ops.MulScalar: why.format("Mul"),
        scalar_ops.DivScalar: why.format("Div"),
    }


def _all_functions() -> set[type]:
    for info in pkgutil.walk_packages(minigrad.__path__, "minigrad."):
        importlib.import_module(info.name)

    def walk(cls: type) -> Iterator[type]:
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    # minigrad's own Functions outside the core (not those that tests and docs define)
    return {
        c
        for c in walk(Function)
        if c.__module__.startswith("minigrad.") and not c.__module__.startswith("minigrad.core")
    }


def test_every_function_is_a_fused_kernel_or_a_genuine_op():
    allowed = {**GENUINE_OPS, **_scalar_ops()}
    unlisted = sorted(
        f"{c.__module__}.{c.__qualname__}"
        for c in _all_functions()
        if c not in FUSED and c not in allowed
    )
    assert not unlisted, f"neither a fused kernel with a reference nor a genuine op: {unlisted}"
    assert not set(FUSED) & set(allowed), "a Function is listed both ways"


def test_every_reference_is_written_right_after_its_kernel():
    for kernel, ref in FUSED.items():
        assert ref.__module__ == kernel.__module__, (kernel, ref)
        source = inspect.getsource(inspect.getmodule(kernel))
        after_class = source[source.index(f"\nclass {kernel.__name__}(") :]
        next_class = after_class.find("\nclass ", 1)
        block = after_class if next_class < 0 else after_class[:next_class]
        assert f"@reference_of({kernel.__name__})\ndef {ref.__name__}(" in block, kernel
        assert ref.__doc__ or kernel.__doc__, kernel


# ------------------------------------------------------------------ fast vs reference
MAX_DIFF: dict[str, float] = {}  # kernel -> largest |fast - reference| seen (values, grads)


@contextlib.contextmanager
def _mode(reference: bool) -> Iterator[None]:
    saved = {name: fast.enabled(name) for name in fast.OPTIMISATIONS}
    minigrad.set_reference_mode(reference)
    try:
        yield
    finally:
        for name, on in saved.items():
            fast.set_enabled(name, on)


def _run(fn, arrays, seed, second):
    """Value, gradients and (with ``second``) Hessian-vector products of fn."""
    minigrad.manual_seed(seed)
    xs = [
        minigrad.tensor(a, requires_grad=a.dtype.kind == "f") if isinstance(a, np.ndarray) else a
        for a in arrays
    ]
    diff = [x for x in xs if isinstance(x, minigrad.Tensor) and x.requires_grad]
    y = fn(*xs)
    rng = np.random.default_rng(seed)
    cot = minigrad.tensor(rng.standard_normal(y.shape))
    grads = minigrad.autograd.grad((y * cot).sum(), diff, create_graph=second)
    out = [y.data, *(g.data for g in grads)]
    if second:  # a kernel linear in x (dropout, unfold, ...) has grads that are constants
        vs = [minigrad.tensor(rng.standard_normal(x.shape)) for x in diff]
        terms = [(g * v).sum() for g, v in zip(grads, vs) if g.requires_grad]
        hvp = [None] * len(diff)
        if terms:
            hvp = minigrad.autograd.grad(sum(terms[1:], terms[0]), diff, allow_unused=True)
        out += [np.zeros(x.shape) if h is None else h.data for x, h in zip(diff, hvp)]
    return out


def check(name: str, fn: Callable, *arrays: Any, seed: int = 0, second: bool = True) -> None:
    """fn fast and in reference mode: values rtol 1e-10, every first and second
    derivative rtol 1e-9 (atol 1e-13 of the largest magnitude, for entries that cancel
    to about 0)."""
    with _mode(False):
        got = _run(fn, arrays, seed, second)
    with _mode(True):
        want = _run(fn, arrays, seed, second)
    for i, (a, b) in enumerate(zip(got, want)):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape, (name, i)
        scale = float(np.nanmax(np.abs(b), initial=1.0))
        rtol = 1e-10 if i == 0 else 1e-9
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-13 * scale, err_msg=f"{name}[{i}]")
        finite = np.isfinite(b)
        if finite.any():
            MAX_DIFF[name] = max(MAX_DIFF.get(name, 0.0), float(np.abs(a - b)[finite].max()))


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


seeds = st.integers(0, 2**31 - 1)
small = st.integers(1, 4)


@given(seeds, small, small, small, st.booleans(), st.booleans())
def test_linear_and_rows_matmul(seed, n, i, o, bias, batched):
    r = _rng(seed)
    x = r.standard_normal((2, n, i) if batched else (n, i))
    w, b = r.standard_normal((o, i)), r.standard_normal(o)
    if bias:
        check("Linear", F.linear, x, w, b, seed=seed)
    else:
        check("Linear", F.linear, x, w, seed=seed)
    check("Linear", F.linear, x[0] if batched else x[0, :], w, seed=seed)
    a3 = r.standard_normal((2, n, i))
    check("RowsMatMul", minigrad.matmul, a3, w.T, seed=seed)


@given(seeds, small, small, small, st.integers(-3, 2))
def test_softmax_log_softmax(seed, a, b, c, dim):
    x = _rng(seed).standard_normal((a, b, c)) * 3
    check("Softmax", lambda t: minigrad.softmax(t, dim), x, seed=seed)
    check("LogSoftmax", lambda t: minigrad.log_softmax(t, dim), x, seed=seed)


@given(seeds, small, small, st.integers(1, 5), st.integers(1, 2), st.booleans())
def test_layer_norm(seed, a, b, c, k, affine):
    r = _rng(seed)
    x = r.standard_normal((a, b, c)) * 2 + 1
    shape = x.shape[3 - k :]
    if affine:
        args = (x, r.standard_normal(shape), r.standard_normal(shape))
        fn = lambda t, w, bb: F.layer_norm(t, shape, w, bb, 1e-5)  # noqa: E731
    else:
        args, fn = (x,), lambda t: F.layer_norm(t, shape)  # noqa: E731
    check("LayerNorm", fn, *args, seed=seed)


@given(seeds, small, st.integers(1, 6), st.floats(0.05, 0.95))
def test_dropout(seed, a, b, p):
    x = _rng(seed).standard_normal((a, b))
    check("Dropout", lambda t: F.dropout(t, p, True), x, seed=seed)


@given(seeds, st.integers(1, 6), small, st.booleans())
def test_embedding(seed, n, d, padding):
    r = _rng(seed)
    w, idx = r.standard_normal((n, d)), r.integers(0, n, size=(3, 4))
    pad = int(idx[0, 0]) if padding else None
    fn = lambda t: F.embedding(minigrad.tensor(idx), t, padding_idx=pad)  # noqa: E731
    check("Embedding", fn, w, seed=seed)


ACTIVATIONS = [
    ("GELU", activations.GELU, lambda t: F.gelu(t)),
    ("GELU", activations.GELU, lambda t: F.gelu(t, approximate="tanh")),
    ("SiLU", activations.SiLU, lambda t: F.silu(t)),
    ("Softplus", activations.Softplus, lambda t: F.softplus(t)),
    ("Softplus", activations.Softplus, lambda t: F.softplus(t, beta=2.0, threshold=3.0)),
    ("ELU", activations.ELU, lambda t: F.elu(t, 0.7)),
    ("LeakyReLU", activations.LeakyReLU, lambda t: F.leaky_relu(t, 0.1)),
    ("ReLU", activations.ReLU, lambda t: F.relu(t)),
    ("Erf", unary.Erf, lambda t: minigrad.erf(t)),
    (
        "LogSigmoid",
        loss_binary.LogSigmoid,
        lambda t: F.binary_cross_entropy_with_logits(
            t, minigrad.tensor(np.linspace(0, 1, t.shape[-1])).expand(t.shape), reduction="none"
        ),
    ),
]


@pytest.mark.parametrize("name,kernel,fn", ACTIVATIONS)
@given(seed=seeds, n=st.integers(1, 12))
def test_activations(name, kernel, fn, seed, n):
    x = _rng(seed).standard_normal((2, n)) * 4
    x[0, 0] = 0.0  # the kinks' side (relu: 0, softplus and log σ: σ(0) = ½)
    check(name, fn, x, seed=seed)


def test_erf_float32_kernel_within_its_bound():
    """The float32 in-piece polynomial against its reference, math.erf per element."""
    x = np.linspace(-5, 5, 20001, dtype=np.float32)
    with _mode(False):
        got = minigrad.erf(minigrad.tensor(x)).data
    with _mode(True):
        want = minigrad.erf(minigrad.tensor(x)).data
    assert got.dtype == want.dtype == np.float32
    err = float(np.abs(got.astype(np.float64) - want).max())
    MAX_DIFF["Erf (float32)"] = err
    assert err <= 1.5e-7 + 6e-8  # A&S 7.1.26's bound, plus float32 rounding


MASKS = st.sampled_from(["none", "causal", "bool", "float"])


@given(seeds, small, st.integers(1, 5), st.integers(1, 5), small, MASKS, st.booleans())
def test_attention(seed, b, lq, lk, e, mask, dropout):
    r = _rng(seed)
    q, k, v = (r.standard_normal((b, 2, n, e)) for n in (lq, lk, lk))
    extra: tuple = ()
    kw: dict = {"dropout_p": 0.3 if dropout else 0.0}
    if mask == "causal":
        kw["is_causal"] = True
    elif mask == "bool":
        blocked = r.random((lq, lk)) < 0.3
        blocked[:, 0] = False  # every query sees a key: no all -inf row (nan either way)
        extra = (~blocked,)  # an integer-free bool array: passed as a mask, no gradient
    elif mask == "float":
        extra = (r.standard_normal((1, lq, lk)),)

    def fn(q, k, v, m=None):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m, **kw)

    check("Attention", fn, q, k, v, *extra, seed=seed)


@given(seeds, small, st.integers(1, 5), st.integers(1, 3), small, st.booleans())
def test_packed_attention(seed, b, t, heads, d, dropout):
    x = _rng(seed).standard_normal((b, t, 3 * heads * d))
    p = 0.25 if dropout else 0.0

    def fn(x):
        blocked = attention.causal_blocked(t, t)
        return attention.packed_attention(x, heads, blocked, scale=0.5, dropout_p=p)

    check("PackedAttention", fn, x, seed=seed)


@given(
    seeds,
    small,
    st.integers(2, 5),
    st.booleans(),
    st.sampled_from(["mean", "sum", "none"]),
    st.sampled_from([0.0, 0.2]),
    st.booleans(),
    st.booleans(),
)
def test_cross_entropy(seed, n, c, spatial, reduction, smoothing, weighted, ignore):
    r = _rng(seed)
    x = r.standard_normal((n, c, 3) if spatial else (n, c)) * 2
    target = r.integers(0, c, size=(n, 3) if spatial else (n,))
    if ignore:
        target.flat[0] = -100
    w = minigrad.tensor(r.random(c) + 0.5) if weighted else None

    def fn(t):
        return F.cross_entropy(
            t, minigrad.tensor(target), w, reduction=reduction, label_smoothing=smoothing
        )

    check("CrossEntropy", fn, x, seed=seed)


@given(
    seeds,
    st.integers(1, 2),
    st.sampled_from([1, 2]),
    st.integers(1, 3),
    st.integers(0, 2),
    st.integers(1, 2),
    st.booleans(),
    st.sampled_from([1, 2]),
)
def test_conv(seed, n, groups, stride, padding, dilation, bias, nd):
    r = _rng(seed)
    c, o, k = 2 * groups, 2 * groups, 2
    spatial = (6,) * nd
    args = [r.standard_normal((n, c, *spatial)), r.standard_normal((o, c // groups, *(k,) * nd))]
    if bias:
        args.append(r.standard_normal(o))
    conv_fn = F.conv1d if nd == 1 else F.conv2d

    def fn(*t):
        return conv_fn(*t, stride=stride, padding=padding, dilation=dilation, groups=groups)

    check("Conv", fn, *args, seed=seed)


@given(seeds, st.integers(1, 3), st.integers(1, 2), st.integers(0, 1), st.booleans())
def test_pools(seed, k, s, p, ceil_mode):
    k = max(k, 2 * p)  # padding at most half the kernel
    x = _rng(seed).standard_normal((2, 2, 5, 6))  # distinct values: no tied maxima

    def max_fn(t):
        return F.max_pool2d(t, k, s, p, ceil_mode=ceil_mode)

    def avg_fn(t):
        return F.avg_pool2d(t, k, s, p, ceil_mode=ceil_mode, count_include_pad=False)

    check("MaxPool", max_fn, x, seed=seed)
    check("avg_pool (Unfold)", avg_fn, x, seed=seed)


@given(seeds, st.integers(1, 3), st.integers(1, 2), st.integers(0, 1), st.integers(1, 2))
def test_unfold_fold(seed, k, s, p, d):
    x = _rng(seed).standard_normal((2, 2, 5, 6))
    cols = F.unfold(minigrad.tensor(x), k, d, p, s)
    y = _rng(seed + 1).standard_normal(cols.shape)
    check("Unfold", lambda t: F.unfold(t, k, d, p, s), x, seed=seed)
    check("Fold", lambda t: F.fold(t, (5, 6), k, d, p, s), y, seed=seed)


@given(seeds, small, small, st.sampled_from([None, 0, 1, (0, 1)]), st.booleans())
def test_reductions(seed, a, b, dim, keepdim):
    r = _rng(seed)
    x = r.standard_normal((a, b)) * 3
    check("Mean", lambda t: minigrad.mean(t, dim, keepdim), x, seed=seed)
    x = np.where(np.abs(x) < 0.1, 0.5, x)  # no zeros: |x|^(p-2) is infinite there
    for p in (2, 3, 1.5):
        norm = lambda t, p=p: minigrad.norm(t, p, dim, keepdim)  # noqa: E731
        check("Norm", norm, x, seed=seed)


def test_norm_of_zeros_has_zero_gradient_on_both_paths():
    for reference in (False, True):
        with _mode(reference):
            x = minigrad.zeros(2, 3, dtype=minigrad.float64, requires_grad=True)
            minigrad.norm(x, 2, 1).sum().backward()
            assert np.array_equal(x.grad.data, np.zeros((2, 3))), reference


def test_dropout_reference_draws_the_kernels_mask():
    x = minigrad.ones(50, 40, dtype=minigrad.float64)
    outs = []
    for reference in (False, True):
        with _mode(reference):
            minigrad.manual_seed(7)
            outs.append(F.dropout(x, 0.4).data)
    np.testing.assert_array_equal(outs[0], outs[1])
    assert 0.3 < (outs[0] == 0).mean() < 0.5


COMPARED_IN = {
    linalg.Linear: test_linear_and_rows_matmul,
    linalg.RowsMatMul: test_linear_and_rows_matmul,
    nn_ops.Softmax: test_softmax_log_softmax,
    nn_ops.LogSoftmax: test_softmax_log_softmax,
    nn_ops.LayerNorm: test_layer_norm,
    nn_ops.Dropout: test_dropout,
    nn_ops.Embedding: test_embedding,
    **{kernel: test_activations for _, kernel, _ in ACTIVATIONS},
    attention.Attention: test_attention,
    attention.PackedAttention: test_packed_attention,
    loss_cross_entropy.CrossEntropy: test_cross_entropy,
    conv.Conv: test_conv,
    pooling.MaxPool: test_pools,
    _windows.Unfold: test_unfold_fold,
    _windows.Fold: test_unfold_fold,
    reduce.Mean: test_reductions,
    reduce.Norm: test_reductions,
}


def test_every_fused_kernel_is_compared():
    assert set(COMPARED_IN) == set(FUSED), {k.__name__ for k in set(COMPARED_IN) ^ set(FUSED)}
