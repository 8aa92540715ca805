"""Every registered op against PyTorch: forward values, gradients, second-order
gradients, numerical Jacobians, tie conventions and dtype promotion.

The registry (``tests/op_registry.py``) says how to call each op in both
libraries and which inputs are valid; the tests here are generic.
"""

from __future__ import annotations

import inspect
import itertools
import math
import operator
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from op_registry import REGISTRY, Const, OpInfo, Sample
from op_registry_nn import NOT_IN_REGISTRY as NN_NOT_IN_REGISTRY

import minigrad as mg

DIFF = [e for e in REGISTRY if e.differentiable]
TWICE = [e for e in DIFF if e.twice_differentiable]
# Numerical Jacobians cost one forward per input element: fewer examples.
FEW = max(3, settings.default.max_examples // 3)

# Public names of minigrad.ops that have no registry entry of their own, and why.
NOT_IN_REGISTRY = {
    **NN_NOT_IN_REGISTRY,
    "negative": "alias of neg",
    "multiply": "alias of mul",
    "subtract": "alias of sub",
    "divide": "alias of div",
    "true_divide": "alias of div",
    "concat": "alias of cat",
    "concatenate": "alias of cat",
    "pow_scalar": "tensor ** number; registry entry pow.tensor_scalar",
    "rpow_scalar": "number ** tensor; registry entries pow.scalar_tensor and pow.zero_base",
    "sum_to": "internal helper of broadcasting backward; covered by every broadcast op",
}


# ------------------------------------------------------------------ helpers
def _convert(obj: Any, lib: str) -> Any:
    """Const -> tensor of its own dtype (no grad); containers converted element-wise."""
    if isinstance(obj, Const):
        return mg.tensor(obj.array) if lib == "mg" else torch.from_numpy(obj.array.copy())
    if isinstance(obj, (tuple, list)):
        return type(obj)(_convert(o, lib) for o in obj)
    if isinstance(obj, dict):
        return {k: _convert(v, lib) for k, v in obj.items()}
    return obj


def _build(sample: Sample, dtype: str, requires_grad: bool) -> tuple[list, list, list, list]:
    """Arguments for both libraries and the differentiable inputs of each."""
    mg_args, th_args, mg_in, th_in = [], [], [], []
    for a in sample.args:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            arr = a.astype(dtype)
            m = mg.tensor(arr, requires_grad=requires_grad)
            t = torch.tensor(arr, requires_grad=requires_grad)
            mg_in.append(m)
            th_in.append(t)
            mg_args.append(m)
            th_args.append(t)
        else:
            mg_args.append(_convert(a, "mg"))
            th_args.append(_convert(a, "torch"))
    return mg_args, th_args, mg_in, th_in


def _call(entry: OpInfo, sample: Sample, mg_args: list, th_args: list) -> tuple[list, list]:
    mg_out = entry.mg_fn(*mg_args, **_convert(sample.kwargs, "mg"))
    th_out = entry.torch_fn(*th_args, **_convert(sample.kwargs, "torch"))
    return _flatten(mg_out), _flatten(th_out)


def _flatten(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        return [o for item in out for o in _flatten(item)]
    return [out]


def _np(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return np.zeros(x.shape) if x._is_zerotensor() else x.detach().numpy()
    return np.asarray(x.data if isinstance(x, mg.Tensor) else x)


def _close(actual: Any, expected: Any, tol: tuple[float, float], what: str) -> None:
    a, e = _np(actual), _np(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape}, torch {e.shape}"
    np.testing.assert_allclose(a, e, rtol=tol[0], atol=tol[1], equal_nan=True, err_msg=what)


def _check_forward(entry: OpInfo, mg_outs: list, th_outs: list, dtype: str) -> None:
    assert len(mg_outs) == len(th_outs), f"{len(mg_outs)} outputs, torch {len(th_outs)}"
    for i, (m, t) in enumerate(zip(mg_outs, th_outs)):
        if isinstance(t, torch.Tensor):
            assert isinstance(m, mg.Tensor), f"output {i} is a {type(m).__name__}"
            assert str(m.dtype) == str(t.dtype).removeprefix("torch."), (
                f"output {i}: dtype {m.dtype}, torch {t.dtype}"
            )
            _close(m, t, entry.tol[dtype], f"{entry.id} output {i}")
        else:
            assert m == t, f"{entry.id} output {i}: {m!r}, torch {t!r}"


def _grads(inputs: list) -> list[np.ndarray]:
    return [np.zeros(t.shape) if t.grad is None else _np(t.grad) for t in inputs]


def _upstream(outs: list, rng: np.random.Generator, dtype: str) -> list[np.ndarray]:
    return [rng.standard_normal(o.shape).astype(dtype) for o in outs]


# ------------------------------------------------------------------ property tests
# Each test builds an inner @given function from the entry's strategy (rather than
# drawing from st.data(), which pretty-prints every drawn array and is slow).
SEEDS = st.integers(0, 2**32 - 1)


@pytest.mark.parametrize(
    ("entry", "dtype"),
    [(e, d) for e in REGISTRY for d in e.float_dtypes],
    ids=lambda v: v.id if isinstance(v, OpInfo) else v,
)
def test_forward_and_gradient_match_torch(entry: OpInfo, dtype: str) -> None:
    """Values, dtypes and shapes agree; so does every input's gradient under a random
    upstream gradient."""

    @given(sample=entry.sample(False), seed=SEEDS)
    def check(sample: Sample, seed: int) -> None:
        mg_args, th_args, mg_in, th_in = _build(sample, dtype, entry.differentiable)
        mg_outs, th_outs = _call(entry, sample, mg_args, th_args)
        _check_forward(entry, mg_outs, th_outs, dtype)
        if not entry.differentiable:
            return
        for m, t in zip(mg_outs, th_outs):
            assert m.requires_grad == t.requires_grad, f"{entry.id}: requires_grad differs"
        pairs = [(m, t) for m, t in zip(mg_outs, th_outs) if t.requires_grad]
        vs = _upstream([t for _, t in pairs], np.random.default_rng(seed), dtype)
        mg.autograd.backward([m for m, _ in pairs], [mg.tensor(v) for v in vs])
        torch.autograd.backward([t for _, t in pairs], [torch.from_numpy(v) for v in vs])
        for i, (gm, gt) in enumerate(zip(_grads(mg_in), _grads(th_in))):
            _close(gm, gt, entry.tol[dtype], f"{entry.id}: gradient of input {i}")
        for m, t in zip(mg_in, th_in):
            if t.grad is not None:
                assert str(m.grad.dtype) == str(t.grad.dtype).removeprefix("torch.")

    check()


def _first_and_second(lib: Any, outs: list, ins: list, vs: list, ws: list) -> tuple[list, list]:
    """First-order grads g = J^T v (with create_graph) and the grads of Σ g·w."""
    zeros = [np.zeros(x.shape) for x in ins]
    gs = lib.autograd.grad(outs, ins, vs, create_graph=True, allow_unused=True)
    first = [z if g is None else _np(g) for z, g in zip(zeros, gs)]
    terms = [(g * w).sum() for g, w in zip(gs, ws) if g is not None and g.requires_grad]
    if not terms:
        return first, zeros
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    second = lib.autograd.grad(total, ins, allow_unused=True)
    return first, [z if g is None else _np(g) for z, g in zip(zeros, second)]


@pytest.mark.parametrize("entry", TWICE, ids=lambda e: e.id)
def test_second_order_matches_torch(entry: OpInfo) -> None:
    """grad of (grad(out, x, v, create_graph=True) · w).sum() agrees in float64."""

    @given(sample=entry.sample(False), seed=SEEDS)
    def check(sample: Sample, seed: int) -> None:
        mg_args, th_args, mg_in, th_in = _build(sample, "float64", True)
        mg_outs, th_outs = _call(entry, sample, mg_args, th_args)
        pairs = [(m, t) for m, t in zip(mg_outs, th_outs) if t.requires_grad]
        rng = np.random.default_rng(seed)
        vs = _upstream([t for _, t in pairs], rng, "float64")
        ws = [rng.standard_normal(x.shape) for x in th_in]
        mg_first, mg_second = _first_and_second(
            mg,
            [m for m, _ in pairs],
            mg_in,
            [mg.tensor(v) for v in vs],
            [mg.tensor(w) for w in ws],
        )
        th_first, th_second = _first_and_second(
            torch,
            [t for _, t in pairs],
            th_in,
            [torch.from_numpy(v) for v in vs],
            [torch.from_numpy(w) for w in ws],
        )
        tol = entry.tol["float64"]
        for i, (a, b) in enumerate(zip(mg_first, th_first)):
            _close(a, b, tol, f"{entry.id}: first-order gradient of input {i}")
        for i, (a, b) in enumerate(zip(mg_second, th_second)):
            _close(a, b, tol, f"{entry.id}: second-order gradient of input {i}")

    check()


def _float_fn(entry: OpInfo, sample: Sample) -> tuple[list, Any]:
    """The differentiable inputs (float64) and a function of them returning the op's
    floating outputs (the other arguments held fixed)."""
    mg_args, _, mg_in, _ = _build(sample, "float64", True)
    slots = [i for i, a in enumerate(mg_args) if any(a is x for x in mg_in)]
    kwargs = _convert(sample.kwargs, "mg")

    def fn(*xs: mg.Tensor) -> tuple:
        args = list(mg_args)
        for i, x in zip(slots, xs):
            args[i] = x
        outs = _flatten(entry.mg_fn(*args, **kwargs))
        return tuple(o for o in outs if isinstance(o, mg.Tensor) and o.dtype.kind == "f")

    return mg_in, fn


@pytest.mark.parametrize("entry", DIFF, ids=lambda e: e.id)
def test_gradcheck(entry: OpInfo) -> None:
    """The analytical Jacobian equals central differences (float64, small shapes)."""

    @settings(max_examples=FEW)
    @given(sample=entry.sample(True))
    def check(sample: Sample) -> None:
        inputs, fn = _float_fn(entry, sample)
        assert mg.autograd.gradcheck(fn, inputs)

    check()


@pytest.mark.parametrize("entry", TWICE, ids=lambda e: e.id)
def test_gradgradcheck(entry: OpInfo) -> None:
    """Second derivatives equal central differences of the first (float64, small shapes)."""

    @settings(max_examples=FEW)
    @given(sample=entry.sample(True))
    def check(sample: Sample) -> None:
        inputs, fn = _float_fn(entry, sample)
        assert mg.autograd.gradgradcheck(fn, inputs)

    check()


def test_every_public_op_has_a_registry_entry() -> None:
    """Both namespaces: ``minigrad.ops`` (``minigrad.X``) and ``minigrad.nn.functional``."""
    public = {n for n in mg.ops.__all__ if not inspect.ismodule(getattr(mg.ops, n))}
    public |= {f"nn.functional.{n}" for n in mg.nn.functional.__all__}
    public |= {f"linalg.{n}" for n in mg.linalg.__all__}
    registered = {e.name for e in REGISTRY}
    missing = public - registered - set(NOT_IN_REGISTRY)
    assert not missing, f"public ops without a registry entry: {sorted(missing)}"
    stale = (set(NOT_IN_REGISTRY) | registered) - public
    assert not stale, f"registry / allowlist names that are not public ops: {sorted(stale)}"


# ------------------------------------------------------------------ ties and kinks
def _tie_case(name: str) -> tuple[Any, Any]:
    cases = {
        "amax": (lambda x: mg.amax(x, 1), lambda x: torch.amax(x, 1)),
        "amin_tuple": (lambda x: mg.amin(x, (0, 1)), lambda x: torch.amin(x, (0, 1))),
        "max_full": (lambda x: mg.max(x), lambda x: torch.max(x)),
        "min_full": (lambda x: mg.min(x), lambda x: torch.min(x)),
        "max_dim": (lambda x: mg.max(x, 1)[0], lambda x: torch.max(x, 1)[0]),
        "min_dim": (
            lambda x: mg.min(x, 0, keepdim=True)[0],
            lambda x: torch.min(x, 0, keepdim=True)[0],
        ),
        "maximum": (lambda x: mg.maximum(x, x[:1]), lambda x: torch.maximum(x, x[:1])),
        "minimum": (lambda x: mg.minimum(x[:, :1], x), lambda x: torch.minimum(x[:, :1], x)),
        "clamp": (lambda x: mg.clamp(x, -1.0, 1.0), lambda x: torch.clamp(x, -1.0, 1.0)),
        "clamp_tensor": (
            lambda x: mg.clamp(x, x[:1], x[:, :1]),
            lambda x: torch.clamp(x, x[:1], x[:, :1]),
        ),
        "relu": (mg.relu, torch.relu),
        "abs": (mg.abs, torch.abs),
        "norm_inf": (lambda x: mg.norm(x, math.inf, 1), lambda x: torch.norm(x, math.inf, 1)),
        "norm_2": (lambda x: mg.norm(x * 0, 2, 1), lambda x: torch.norm(x * 0, 2, 1)),
        "std": (
            lambda x: mg.std(x * 0 + 1, 1, correction=0),
            lambda x: torch.std(x * 0 + 1, 1, correction=0),
        ),
        "prod_zeros": (lambda x: mg.prod(x, 1), lambda x: torch.prod(x, 1)),
    }
    return cases[name]


TIE_CASES = [
    "amax",
    "amin_tuple",
    "max_full",
    "min_full",
    "max_dim",
    "min_dim",
    "maximum",
    "minimum",
    "clamp",
    "clamp_tensor",
    "relu",
    "abs",
    "norm_inf",
    "norm_2",
    "std",
    "prod_zeros",
]


@pytest.mark.parametrize("case", TIE_CASES)
@given(
    x=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=3, max_side=4),
        elements=st.integers(-1, 1).map(float),
    )
)
def test_ties_and_kinks_follow_torch(case: str, x: np.ndarray) -> None:
    """Inputs from {-1, 0, 1}: ties everywhere. amax/amin and full max()/min() split the
    gradient evenly; max(dim)/min(dim) give it to the returned index; kinks (relu, abs,
    clamp bounds, norm and std at 0, prod with zeros) use PyTorch's one-sided values."""
    f_mg, f_th = _tie_case(case)
    xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = f_mg(xm), f_th(xt)
    _close(ym, yt, (1e-12, 1e-12), f"{case} forward")
    v = np.random.default_rng(0).standard_normal(yt.shape)
    ym.backward(mg.tensor(v))
    yt.backward(torch.from_numpy(v))
    _close(xm.grad, xt.grad, (1e-12, 1e-12), f"{case} gradient")


def test_max_dim_returns_torchs_indices_on_ties() -> None:
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 5.0, 0.0, 5.0]])
    for fm, ft in (
        (mg.max, torch.max),
        (mg.min, torch.min),
        (mg.argmax, torch.argmax),
        (mg.argmin, torch.argmin),
    ):
        rm, rt = fm(mg.tensor(x), 1), ft(torch.tensor(x), 1)
        im = rm.indices if isinstance(rm, tuple) else rm
        it = rt.indices if isinstance(rt, tuple) else rt
        assert im.tolist() == it.tolist(), fm.__name__


def test_dropout_keeps_or_scales_each_element_and_gradient_is_mask() -> None:
    mg.manual_seed(0)
    x = mg.randn(200, 50, dtype=mg.float64, requires_grad=True)
    for p in (0.2, 0.5, 0.9):
        y = mg.dropout(x, p)
        kept = y.data != 0
        np.testing.assert_allclose(y.data[kept], x.data[kept] / (1 - p), rtol=1e-12)
        assert abs(1 - kept.mean() - p) < 0.02, f"p={p}: dropped {1 - kept.mean()}"
        x.grad = None
        v = np.random.default_rng(1).standard_normal(x.shape)
        y.backward(mg.tensor(v))
        np.testing.assert_allclose(x.grad.data, v * kept / (1 - p), rtol=1e-12)
    assert mg.equal(mg.dropout(x, 0.5, training=False), x)
    # masks differ between calls and are reproducible from the seed
    mg.manual_seed(3)
    a = mg.dropout(x, 0.5).data != 0
    b = mg.dropout(x, 0.5).data != 0
    mg.manual_seed(3)
    assert np.array_equal(a, mg.dropout(x, 0.5).data != 0) and not np.array_equal(a, b)


# ------------------------------------------------------------------ dtype promotion
_DTYPES = ["float32", "float64", "int64", "bool"]
_VALUE = {"float32": 1.5, "float64": 2.5, "int64": 3, "bool": True}


def _operands() -> list[tuple[str, Any, Any]]:
    """(label, minigrad operand, torch operand): n-d tensors, 0-d tensors, Python scalars."""
    out = []
    for dt in _DTYPES:
        arr = np.full((2, 3), _VALUE[dt], dtype=dt)
        out.append((f"{dt}[2,3]", mg.tensor(arr), torch.from_numpy(arr.copy())))
        arr0 = np.array(_VALUE[dt], dtype=dt)
        out.append((f"{dt}[]", mg.tensor(arr0), torch.from_numpy(arr0.copy())))
    for s in (2, 0.5, True):
        out.append((repr(s), s, s))
    return out


_OPERATORS = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "pow": operator.pow,
    "lt": operator.lt,
    "eq": operator.eq,
}


@pytest.mark.parametrize("op", sorted(_OPERATORS))
def test_dtype_promotion_table(op: str) -> None:
    """Result dtype (and value) of every tensor/0-d tensor/scalar pairing, as PyTorch;
    where PyTorch refuses (e.g. bool - bool), minigrad refuses too."""
    fn = _OPERATORS[op]
    checked = 0
    for (la, ma, ta), (lb, mb, tb) in itertools.product(_operands(), repeat=2):
        if not isinstance(ma, mg.Tensor) and not isinstance(mb, mg.Tensor):
            continue
        try:
            rt = fn(ta, tb)
        except (RuntimeError, TypeError):
            with pytest.raises((RuntimeError, TypeError, ValueError)):
                fn(ma, mb)
            checked += 1
            continue
        rm = fn(ma, mb)
        what = f"{la} {op} {lb}"
        assert str(rm.dtype) == str(rt.dtype).removeprefix("torch."), (
            f"{what}: minigrad {rm.dtype}, torch {rt.dtype}"
        )
        np.testing.assert_allclose(
            _np(rm).astype(np.float64), _np(rt).astype(np.float64), rtol=1e-6, err_msg=what
        )
        checked += 1
    assert checked == len(_operands()) ** 2 - 9


def test_scatter_add_with_src_larger_than_index() -> None:
    """src may extend past index; its unused elements get a zero gradient. (PyTorch's own
    backward rejects this case, so compare with PyTorch on the used part of src.)"""
    rng = np.random.default_rng(0)
    x, src = rng.standard_normal((3, 4)), rng.standard_normal((3, 5))
    idx = np.array([[0, 2], [1, 1], [2, 0]])
    xm, sm = mg.tensor(x, requires_grad=True), mg.tensor(src, requires_grad=True)
    xt, st_ = torch.tensor(x, requires_grad=True), torch.tensor(src[:, :2], requires_grad=True)
    ym = mg.scatter_add(xm, 0, mg.tensor(idx), sm)
    yt = torch.scatter_add(xt, 0, torch.tensor(idx), st_)
    _close(ym, yt, (1e-12, 0), "forward")
    v = rng.standard_normal((3, 4))
    ym.backward(mg.tensor(v))
    yt.backward(torch.tensor(v))
    _close(xm.grad, xt.grad, (1e-12, 0), "x gradient")
    _close(sm.grad.data[:, :2], st_.grad, (1e-12, 0), "src gradient")
    assert np.all(sm.grad.data[:, 2:] == 0)
