"""Losses of ``minigrad.nn.functional`` and their modules, against PyTorch.

Every test computes the same loss in both libraries from the same NumPy arrays and
compares the values and the gradients of every differentiable argument (pulled back
with a random upstream gradient, so 'none' reductions are fully exercised).
Tolerances: float64 rtol 1e-7 / atol 1e-10; float32 rtol 1e-4 / atol 1e-5.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.autograd import grad, gradcheck, gradgradcheck

DTYPES = (np.float32, np.float64)


def _tol(dtype: Any) -> dict[str, float]:
    if np.dtype(dtype) == np.float64:
        return {"rtol": 1e-7, "atol": 1e-10}
    return {"rtol": 1e-4, "atol": 1e-5}


def assert_close(actual: Any, expected: torch.Tensor, dtype: Any, what: str = "") -> None:
    a = actual.data if isinstance(actual, minigrad.Tensor) else np.asarray(actual)
    e = expected.detach().numpy()
    assert a.shape == e.shape, f"{what}: shape {a.shape} != torch's {e.shape}"
    assert a.dtype == e.dtype, f"{what}: dtype {a.dtype} != torch's {e.dtype}"
    tol = _tol(dtype)
    finite = np.abs(e[np.isfinite(e)])
    if np.dtype(dtype) == np.float32 and finite.size:
        # float32 sums that cancel (e.g. a broadcast input's gradient) are exact only to
        # a few ulps of their largest term, so the absolute tolerance scales with it.
        tol["atol"] *= max(1.0, float(finite.max()))
    np.testing.assert_allclose(a, e, equal_nan=True, err_msg=what, **tol)


def compare(
    mg_fn: Callable[..., Any],
    torch_fn: Callable[..., Any],
    args: Sequence[Any],
    grad_args: Sequence[int],
    dtype: Any,
    seed: int = 0,
) -> minigrad.Tensor:
    """Run both functions on ``args`` (NumPy arrays become tensors; the indices in
    ``grad_args`` require grad); compare outputs and the gradients of those args."""
    # (0-d results of NumPy arithmetic are NumPy scalars: make them arrays again)
    args = [np.asarray(a) if isinstance(a, np.generic) else a for a in args]
    mg_args = [
        minigrad.tensor(a, requires_grad=i in grad_args) if isinstance(a, np.ndarray) else a
        for i, a in enumerate(args)
    ]
    t_args = [
        torch.tensor(a, requires_grad=i in grad_args) if isinstance(a, np.ndarray) else a
        for i, a in enumerate(args)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = mg_fn(*mg_args)
        t_out = torch_fn(*t_args)
    assert_close(out, t_out, dtype, "value")
    if grad_args and t_out.requires_grad:
        v = (
            np.random.default_rng(seed)
            .standard_normal(t_out.shape)
            .astype(t_out.numpy(force=True).dtype)
        )
        mg_grads = grad(out, [mg_args[i] for i in grad_args], minigrad.tensor(v))
        t_grads = torch.autograd.grad(t_out, [t_args[i] for i in grad_args], torch.tensor(v))
        for i, g, tg in zip(grad_args, mg_grads, t_grads):
            assert_close(g, tg, dtype, f"gradient of argument {i}")
    return out


def _as(lib: Any, v: Any) -> Any:
    """A NumPy array as a tensor of ``lib`` (minigrad or torch); anything else as is."""
    return lib.tensor(v) if isinstance(v, np.ndarray) else v


def both(name: str, **kwargs: Any) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``F.name`` of minigrad and of torch with ``kwargs`` bound (NumPy arrays among them,
    e.g. class weights, become each library's tensors)."""

    def bind(lib: Any, functional: Any) -> Callable[..., Any]:
        kw = {k: _as(lib, v) for k, v in kwargs.items()}
        return lambda *args, **more: getattr(functional, name)(*args, **kw, **more)

    return bind(minigrad, F), bind(torch, TF)


def seeds() -> st.SearchStrategy[np.random.Generator]:
    return st.integers(0, 2**32 - 1).map(np.random.default_rng)


REDUCTION = st.sampled_from(["none", "mean", "sum"])


# ----------------------------------------------------------------- strategies
@st.composite
def class_problem(draw: Any, dtype: Any = None) -> dict[str, Any]:
    """Logits of shape (C), (N, C) or (N, C, d1[, d2]) with class-index targets,
    some of which may hit ignore_index, optional class weights and a reduction."""
    dtype = dtype or draw(st.sampled_from(DTYPES))
    rng = draw(seeds())
    c, n = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    extra = tuple(draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2))))
    shape, tshape = ((c,), ()) if draw(st.booleans()) else ((n, c, *extra), (n, *extra))
    x = (rng.standard_normal(shape) * draw(st.sampled_from([1.0, 5.0]))).astype(dtype)
    t = rng.integers(0, c, tshape)
    ignore_index = draw(st.sampled_from([-100, 0, c - 1]))
    if draw(st.booleans()):  # make some positions hit ignore_index
        t = np.where(rng.random(tshape) < 0.3, ignore_index, t)
    kwargs = {"ignore_index": ignore_index, "reduction": draw(REDUCTION)}
    if draw(st.booleans()):
        kwargs["weight"] = rng.uniform(0.1, 2.0, c).astype(dtype)
    return {"x": x, "t": np.asarray(t, np.int64), "kwargs": kwargs, "dtype": dtype}


# ----------------------------------------------------------------- cross_entropy
@given(p=class_problem(), smoothing=st.sampled_from([0.0, 0.1, 0.5, 1.0]))
def test_cross_entropy_class_indices(p: dict, smoothing: float) -> None:
    fns = both("cross_entropy", label_smoothing=smoothing, **p["kwargs"])
    out = compare(*fns, [p["x"], p["t"]], [0], p["dtype"])
    assert out.grad_fn is not None
    if minigrad.fast.enabled():  # the fused node (reference mode composes log_softmax)
        assert out.grad_fn.name() == "CrossEntropyBackward"


@given(
    dtype=st.sampled_from(DTYPES),
    shape=st.sampled_from([(5,), (3, 4), (2, 3, 4), (2, 3, 2, 2)]),
    normalised=st.booleans(),
    use_weight=st.booleans(),
    smoothing=st.sampled_from([0.0, 0.2]),
    reduction=REDUCTION,
    rng=seeds(),
)
def test_cross_entropy_class_probabilities(
    dtype: Any, shape: tuple, normalised: bool, use_weight: bool, smoothing: float,
    reduction: str, rng: np.random.Generator,
) -> None:  # fmt: skip
    axis = 0 if len(shape) == 1 else 1
    x = rng.standard_normal(shape).astype(dtype)
    t = rng.random(shape)
    if normalised:
        t = t / t.sum(axis=axis, keepdims=True)
    w = rng.uniform(0.1, 2, shape[axis]).astype(dtype) if use_weight else None
    fns = both("cross_entropy", reduction=reduction, label_smoothing=smoothing)
    # input, target and weight all get gradients (this path is composed of ops).
    args = [x, t.astype(dtype), w]
    compare(*fns, args, [0, 1, 2] if use_weight else [0, 1], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.3}], ids=["plain", "smoothed"])
@pytest.mark.parametrize("use_weight", [False, True])
def test_all_targets_ignored(dtype: Any, reduction: str, kwargs: dict, use_weight: bool) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4, 2)).astype(dtype)
    t = np.full((3, 2), 2, dtype=np.int64)
    if use_weight:
        kwargs = {**kwargs, "weight": rng.uniform(0.5, 1, 4).astype(dtype)}
    names = ["cross_entropy"] + ([] if "label_smoothing" in kwargs else ["nll_loss"])
    for name in names:
        fns = both(name, ignore_index=2, reduction=reduction, **kwargs)
        out = compare(*fns, [x, t], [0], dtype)  # the gradient is 0, as PyTorch's
        if reduction == "mean":  # 0 / 0, as PyTorch
            assert np.isnan(out.item())
        else:
            assert np.all(out.data == 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_cross_entropy_extreme_logits(dtype: Any, smoothing: float, reduction: str) -> None:
    rng = np.random.default_rng(2)
    x = rng.choice([-1e4, 1e4, 0.0, 3.0], size=(6, 5)).astype(dtype)
    w = rng.uniform(0.5, 2, 5).astype(dtype)
    fns = both("cross_entropy", weight=w, reduction=reduction, label_smoothing=smoothing)
    out = compare(*fns, [x, rng.integers(0, 5, 6)], [0], dtype)
    assert np.all(np.isfinite(out.data))  # as torch's (compare checked them equal)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_minus_infinity_logit(smoothing: float) -> None:
    # -inf in a class that is not the target: finite without smoothing, inf with it
    # (the smoothing term averages -log p over every class); gradients finite either way.
    x = np.array([[-np.inf, 0.0, 1.0, 2.0], [0.5, -np.inf, 0.0, 0.0]])
    out = compare(
        *both("cross_entropy", label_smoothing=smoothing), [x, np.array([1, 2])], [0], np.float64
    )
    assert np.isfinite(out.item()) == (smoothing == 0.0)


@given(p=class_problem(dtype=np.float64), smoothing=st.sampled_from([0.0, 0.25]))
def test_cross_entropy_hessian_vector_product(p: dict, smoothing: float) -> None:
    """Second order through the fused node: d/dx <d loss/dx, v> equals torch's."""
    rng = np.random.default_rng(3)
    v = rng.standard_normal(p["x"].shape)
    up = rng.standard_normal(p["t"].shape)  # weights the elements of a 'none' reduction
    results = []
    for lib, fn in zip(
        (minigrad, torch), both("cross_entropy", label_smoothing=smoothing, **p["kwargs"])
    ):
        x = lib.tensor(p["x"], requires_grad=True)
        loss = fn(x, lib.tensor(p["t"]))
        if loss.ndim:
            loss = (loss * lib.tensor(up)).sum()
        (g,) = lib.autograd.grad(loss, [x], create_graph=True)
        (hv,) = lib.autograd.grad((g * lib.tensor(v)).sum(), [x])
        results.append((g, hv))
    (g, hv), (tg, thv) = results
    assert_close(g, tg, np.float64, "gradient")
    assert_close(hv, thv, np.float64, "Hessian-vector product")


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cross_entropy_gradcheck(reduction: str) -> None:
    rng = np.random.default_rng(4)
    x = minigrad.tensor(rng.standard_normal((3, 4, 2)), requires_grad=True)
    t = minigrad.tensor(np.array([[0, 3], [2, -100], [1, 1]]))
    w = minigrad.tensor(rng.uniform(0.5, 2, 4))

    def fn(x: minigrad.Tensor) -> minigrad.Tensor:
        return F.cross_entropy(x, t, weight=w, reduction=reduction, label_smoothing=0.2)

    assert gradcheck(fn, (x,), eps=1e-6, atol=1e-7, rtol=1e-5)
    assert gradgradcheck(fn, (x,), eps=1e-6, atol=1e-6, rtol=1e-4)


def test_cross_entropy_uint8_targets_and_legacy_flags() -> None:
    rng = np.random.default_rng(5)
    x, t = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2], dtype=np.uint8)
    compare(*both("cross_entropy"), [x, t], [0], np.float64)
    for size_average, reduce in ((False, None), (None, False), (True, True)):
        with pytest.warns(UserWarning, match="size_average and reduce"):
            mg_x, mg_t = minigrad.tensor(x), minigrad.tensor(t)
            F.cross_entropy(mg_x, mg_t, size_average=size_average, reduce=reduce)
        fns = both("cross_entropy", size_average=size_average, reduce=reduce)
        compare(*fns, [x, t], [0], np.float64)


# ----------------------------------------------------------------- nll_loss
@given(p=class_problem())
def test_nll_loss(p: dict) -> None:
    compare(*both("nll_loss", **p["kwargs"]), [p["x"], p["t"]], [0], p["dtype"])


def test_nll_loss_of_log_softmax_equals_cross_entropy() -> None:
    rng = np.random.default_rng(6)
    x = minigrad.tensor(rng.standard_normal((5, 4)))
    t = minigrad.tensor(rng.integers(0, 4, 5))
    a, b = F.nll_loss(minigrad.log_softmax(x, 1), t), F.cross_entropy(x, t)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-6)


# ----------------------------------------------------------------- regression losses
@st.composite
def regression_problem(draw: Any) -> dict[str, Any]:
    dtype = draw(st.sampled_from(DTYPES))
    rng = draw(seeds())
    shape = draw(st.sampled_from([(), (5,), (3, 4), (2, 3, 2)]))
    x, y = (rng.standard_normal((2, *shape)) * 2).astype(dtype)
    if shape and draw(st.booleans()):  # some exact ties (gradient conventions at 0)
        y = np.where(rng.random(shape) < 0.3, x, y).astype(dtype)
    w = rng.uniform(0.1, 2, shape).astype(dtype) if draw(st.booleans()) else None
    return {"x": x, "y": y, "w": w, "dtype": dtype, "reduction": draw(REDUCTION)}


@given(p=regression_problem(), name=st.sampled_from(["mse_loss", "l1_loss", "huber_loss"]))
def test_mse_l1_huber(p: dict, name: str) -> None:
    kwargs = {"delta": 0.7} if name == "huber_loss" else {}
    # weight (of the input's shape) is an ordinary tensor argument: it gets a gradient too
    fns = [
        lambda x, y, w, f=f: f(x, y, weight=w)
        for f in both(name, reduction=p["reduction"], **kwargs)
    ]
    grads = [0, 1] if p["w"] is None else [0, 1, 2]
    compare(*fns, [p["x"], p["y"], p["w"]], grads, p["dtype"])


@given(p=regression_problem(), beta=st.sampled_from([0.0, 0.5, 1.0, 3.0]))
def test_smooth_l1(p: dict, beta: float) -> None:
    fns = both("smooth_l1_loss", reduction=p["reduction"], beta=beta)
    compare(*fns, [p["x"], p["y"]], [0, 1], p["dtype"])


@pytest.mark.parametrize(
    "name, kwargs", [("smooth_l1_loss", {"beta": 1.0}), ("huber_loss", {"delta": 1.0})]
)
def test_boundary_points_of_smooth_l1_and_huber(name: str, kwargs: dict) -> None:
    x = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    compare(*both(name, reduction="none", **kwargs), [x, np.zeros(7)], [0, 1], np.float64)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_regression_broadcast_warns_like_torch(name: str) -> None:
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((4, 1)), rng.standard_normal(4)
    with pytest.warns(UserWarning, match="different to the input size"):
        getattr(F, name)(minigrad.tensor(x), minigrad.tensor(y))
    compare(*both(name), [x, y], [0, 1], np.float64)


def test_regression_integer_target_promotes() -> None:
    x = np.array([0.5, 1.5, -2.0], dtype=np.float32)
    compare(*both("mse_loss"), [x, np.array([1, 1, -2])], [0], np.float32)


# ----------------------------------------------------------------- binary cross-entropy
def _weight(rng: np.random.Generator, kind: Any, shape: tuple, dtype: Any) -> Any:
    """None, one weight per last-dim entry, one per element, or a single (1,) one."""
    if kind is None:
        return None
    size = {"last": shape[-1:], "full": shape, "one": (1,)}[kind]
    return rng.uniform(0.1, 2.5, size).astype(dtype)


@given(
    dtype=st.sampled_from(DTYPES),
    shape=st.sampled_from([(5,), (3, 4), (2, 3, 2)]),
    exact_ends=st.booleans(),
    binary_target=st.booleans(),
    weight=st.sampled_from([None, "last", "full"]),
    reduction=REDUCTION,
    rng=seeds(),
)
def test_binary_cross_entropy(
    dtype: Any, shape: tuple, exact_ends: bool, binary_target: bool, weight: Any,
    reduction: str, rng: np.random.Generator,
) -> None:  # fmt: skip
    x = rng.uniform(0.01, 0.99, shape)
    if exact_ends:  # log clamped at -100; gradient denominator clamped at 1e-12
        x = np.where(rng.random(shape) < 0.3, rng.choice([0.0, 1.0], shape), x)
    y = rng.integers(0, 2, shape).astype(float) if binary_target else rng.random(shape)
    w = _weight(rng, weight, shape, dtype)
    fns = both("binary_cross_entropy", weight=w, reduction=reduction)
    compare(*fns, [x.astype(dtype), y.astype(dtype)], [0, 1], dtype)


@given(
    dtype=st.sampled_from(DTYPES),
    shape=st.sampled_from([(5,), (3, 4), (2, 3, 4)]),
    scale=st.sampled_from([1.0, 10.0, 60.0]),
    weight=st.sampled_from([None, "last", "full"]),
    pos_weight=st.sampled_from([None, "last", "one"]),
    reduction=REDUCTION,
    rng=seeds(),
)
def test_binary_cross_entropy_with_logits(
    dtype: Any, shape: tuple, scale: float, weight: Any, pos_weight: Any, reduction: str,
    rng: np.random.Generator,
) -> None:  # fmt: skip
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    y = rng.random(shape).astype(dtype)
    w, pw = _weight(rng, weight, shape, dtype), _weight(rng, pos_weight, shape, dtype)
    fns = both("binary_cross_entropy_with_logits", weight=w, pos_weight=pw, reduction=reduction)
    compare(*fns, [x, y], [0, 1], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pos_weight", [None, 2.5])
def test_binary_cross_entropy_with_logits_extreme(dtype: Any, pos_weight: Any) -> None:
    x = np.array([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4], dtype=dtype)
    y = np.array([1.0, 0.0, 0.5, 0.3, 1.0, 0.0, 0.7], dtype=dtype)
    pw = None if pos_weight is None else np.array([pos_weight], dtype=dtype)
    fns = both("binary_cross_entropy_with_logits", pos_weight=pw, reduction="none")
    out = compare(*fns, [x, y], [0], dtype)
    assert np.all(np.isfinite(out.data))


# ----------------------------------------------------------------- kl_div
@given(
    dtype=st.sampled_from(DTYPES),
    shape=st.sampled_from([(), (5,), (3, 4), (2, 3, 4)]),
    log_target=st.booleans(),
    zeros=st.booleans(),
    reduction=st.sampled_from(["none", "mean", "sum", "batchmean"]),
    rng=seeds(),
)
def test_kl_div(
    dtype: Any, shape: tuple, log_target: bool, zeros: bool, reduction: str,
    rng: np.random.Generator,
) -> None:  # fmt: skip
    logq = (rng.standard_normal(shape) - 1).astype(dtype)
    p = rng.random(shape)
    zeros = zeros and not log_target
    if zeros:  # p = 0 contributes 0 (0·log 0 = 0)
        p = np.where(rng.random(shape) < 0.3, 0.0, p)
    t = (np.log(p) if log_target else p).astype(dtype)
    fns = both("kl_div", reduction=reduction, log_target=log_target)
    # The target's gradient is compared where torch's is finite (p > 0); see
    # test_kl_div_target_gradient_at_zero for p = 0.
    compare(*fns, [logq, t], [0] if zeros else [0, 1], dtype)


def test_kl_div_target_gradient_at_zero() -> None:
    # torch's xlogy backward gives nan at p = 0; minigrad takes d(p log p)/dp = 0 there,
    # so the gradient is finite: -log q.
    x = minigrad.tensor([-1.0, -2.0], dtype=minigrad.float64)
    t = minigrad.tensor([0.0, 0.5], dtype=minigrad.float64, requires_grad=True)
    (g,) = grad(F.kl_div(x, t, reduction="sum"), [t])
    np.testing.assert_allclose(g.data, [1.0, np.log(0.5) + 1 + 2.0])


def test_kl_div_mean_warns_like_torch() -> None:
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(minigrad.tensor([[-1.0, -2.0]]), minigrad.tensor([[0.5, 0.5]]))


# ----------------------------------------------------------------- cosine_similarity
@given(
    dtype=st.sampled_from(DTYPES),
    shapes=st.sampled_from([((3, 4), (3, 4)), ((2, 1, 3), (4, 3)), ((5,), (5,)), ((3, 4), (4,))]),
    dim=st.sampled_from([0, -1, 1]),
    eps=st.sampled_from([1e-8, 1e-2, 0.5]),
    small=st.sampled_from([None, "zero", "tiny"]),
    rng=seeds(),
)
def test_cosine_similarity(
    dtype: Any, shapes: tuple, dim: int, eps: float, small: Any, rng: np.random.Generator
) -> None:
    full = np.broadcast_shapes(*shapes)
    dim = dim if dim < len(full) else -1
    d = dim % len(full)
    if any(len(s) < len(full) - d or s[d - len(full)] != full[d] for s in shapes):
        # An input repeated along the reduced dim: its true gradient is exactly 0 and
        # float32 gives only rounding noise (torch's too), so compare in float64.
        dtype = np.float64
    x1, x2 = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    if small is not None:  # norms below eps: the clamp decides value and gradient
        x1.reshape(-1)[: x1.size // 2] = 0.0 if small == "zero" else 1e-3 * eps
        # Gradients then cancel terms of order 1/eps: float32 results (both libraries')
        # are right only to a few ulps of those, so the comparison is made in float64.
        dtype = np.float64
    fns = both("cosine_similarity", dim=dim, eps=eps)
    compare(*fns, [x1.astype(dtype), x2.astype(dtype)], [0, 1], dtype)


def test_cosine_similarity_zero_vector_gradient() -> None:
    x, y = np.zeros((2, 3)), np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]])
    compare(*both("cosine_similarity"), [x, y], [0, 1], np.float64)


# ----------------------------------------------------------------- modules
_RNG = np.random.default_rng(8)
W4, LOGITS, TARGET = _RNG.uniform(0.5, 2, 4), _RNG.standard_normal((5, 4)), _RNG.random((5, 4))
IDX, PROBS = np.array([0, 3, 1, 1, -100]), _RNG.uniform(0.05, 0.95, (5, 4))
MODULE_CASES = [
    ("CrossEntropyLoss", {"weight": W4, "label_smoothing": 0.1}, [LOGITS, IDX]),
    ("CrossEntropyLoss", {"ignore_index": 1, "reduction": "sum"}, [LOGITS, IDX % 4]),
    ("NLLLoss", {"weight": W4, "reduction": "none"}, [LOGITS, IDX]),
    ("MSELoss", {"reduction": "sum"}, [LOGITS, TARGET]),
    ("MSELoss", {"size_average": False}, [LOGITS, TARGET]),
    ("L1Loss", {}, [LOGITS, TARGET]),
    ("SmoothL1Loss", {"beta": 0.5}, [LOGITS, TARGET]),
    ("HuberLoss", {"delta": 0.7, "reduction": "none"}, [LOGITS, TARGET]),
    ("BCELoss", {"weight": W4}, [PROBS, TARGET]),
    ("BCEWithLogitsLoss", {"weight": W4, "pos_weight": W4[::-1].copy()}, [LOGITS, TARGET]),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, [LOGITS, LOGITS[::-1].copy()]),
    ("CosineSimilarity", {"dim": 0, "eps": 1e-6}, [LOGITS, TARGET]),
]


@pytest.mark.parametrize("name, kwargs, args", MODULE_CASES, ids=[c[0] for c in MODULE_CASES])
def test_loss_modules(name: str, kwargs: dict, args: list) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m, tm = (
            getattr(lib_nn, name)(**{k: _as(lib, v) for k, v in kwargs.items()})
            for lib, lib_nn in ((minigrad, nn), (torch, torch.nn))
        )
    assert isinstance(m, nn.Module)
    compare(m, tm, args, [0], np.float64)
    # weight / pos_weight are buffers, so in the state dict, as PyTorch's
    assert sorted(m.state_dict()) == sorted(tm.state_dict())
    for key, value in tm.state_dict().items():
        np.testing.assert_array_equal(m.state_dict()[key].data, value.numpy())
    attrs = (
        "reduction",
        "ignore_index",
        "label_smoothing",
        "beta",
        "delta",
        "log_target",
        "dim",
        "eps",
    )
    for attr in attrs:
        if hasattr(tm, attr):
            assert getattr(m, attr) == getattr(tm, attr), attr


def test_loss_module_rejects_bad_reduction_early() -> None:
    with pytest.raises(ValueError, match="CrossEntropyLoss: 'avg' is not a valid value"):
        nn.CrossEntropyLoss(reduction="avg")
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"


# ----------------------------------------------------------------- errors
def _t(a: Any, dtype: Any = None) -> minigrad.Tensor:
    return minigrad.tensor(a, dtype=dtype)


X = _t(np.zeros((3, 4), np.float32))
# (call, exception, message pattern); one line each, as a table.
# fmt: off
ERRORS: list[tuple[Callable[[], Any], type[Exception], str]] = [
    (lambda: F.cross_entropy(X, _t([0, 4, 1])), IndexError,
     r"cross_entropy: target 4 is out of bounds: class indices must be in \[0, 3\]"),
    (lambda: F.nll_loss(X, _t([0, -1, 1])), IndexError,
     r"nll_loss: target -1 is out of bounds.*\[0, 3\].*ignore_index=-100"),
    (lambda: F.cross_entropy(X, _t([0, 1, 1], minigrad.int32)), RuntimeError,
     r"cross_entropy: expected a target of class indices of dtype int64.*got dtype int32"),
    (lambda: F.cross_entropy(X, _t(np.zeros((3, 5)))), RuntimeError,
     r"cross_entropy: a floating point target .* input's shape \(3, 4\), got \(3, 5\)"),
    (lambda: F.cross_entropy(X, _t([0, 1])), ValueError,
     r"cross_entropy: expected input batch_size \(3\) to match target batch_size \(2\)"),
    (lambda: F.nll_loss(_t(np.zeros((2, 4, 5))), _t(np.zeros((2, 4), np.int64))), RuntimeError,
     r"nll_loss: expected a target of shape \(2, 5\) for an input of shape \(2, 4, 5\)"),
    (lambda: F.cross_entropy(X, _t([0, 1, 2]), weight=_t(np.ones(5))), RuntimeError,
     r"cross_entropy: weight must have one entry per class, shape \(4,\), got shape \(5,\)"),
    (lambda: F.cross_entropy(X, _t([0, 1, 2]), weight=_t(np.ones(4), minigrad.float64)),
     RuntimeError, r"cross_entropy: weight of dtype float64 does not match .* float32"),
    (lambda: F.cross_entropy(X, _t([0, 1, 2]), weight=_t(np.ones(4, np.float32)).requires_grad_()),
     RuntimeError, r"cross_entropy: is not differentiable with respect to weight"),
    (lambda: F.cross_entropy(X, _t([0, 1, 2]), reduction="avg"), ValueError,
     r"cross_entropy: 'avg' is not a valid value for reduction"),
    (lambda: F.cross_entropy(X, _t([0, 1, 2]), label_smoothing=1.5), RuntimeError,
     r"cross_entropy: label_smoothing must be between 0.0 and 1.0, got 1.5"),
    (lambda: F.cross_entropy(X, _t(np.zeros((3, 4))), ignore_index=1), RuntimeError,
     r"cross_entropy: ignore_index is not supported for floating point"),
    (lambda: F.cross_entropy(_t([[1, 2]]), _t([0])), RuntimeError,
     r"cross_entropy: expected input \(logits\) of a floating point dtype, got int64"),
    (lambda: F.cross_entropy(_t(1.0), _t(0)), RuntimeError,
     r"cross_entropy: expected an input of shape \(C\), \(N, C\).*0-d"),
    (lambda: F.nll_loss(X, _t([0.0, 1.0, 2.0])), RuntimeError,
     r"nll_loss: expected a target of class indices of dtype int64.*float32"),
    (lambda: F.mse_loss(X, _t(np.zeros(5))), RuntimeError,
     r"mse_loss: shapes \(3, 4\) and \(5,\) cannot be broadcast"),
    (lambda: F.mse_loss(X, X, weight=_t(np.ones(4))), ValueError,
     r"mse_loss: weight of shape \(4,\) must have the input's shape \(3, 4\)"),
    (lambda: F.l1_loss(_t([1, 2]), _t([1, 2])), RuntimeError,
     r"l1_loss: expected a floating point input or target"),
    (lambda: F.l1_loss(X, X, reduction="batchmean"), ValueError,
     r"l1_loss: 'batchmean' is not a valid value for reduction"),
    (lambda: F.smooth_l1_loss(X, X, beta=-1.0), RuntimeError,
     r"smooth_l1_loss: beta must be non-negative, got -1.0"),
    (lambda: F.huber_loss(X, X, delta=0.0), RuntimeError,
     r"huber_loss: delta must be positive, got 0.0"),
    (lambda: F.binary_cross_entropy(X + 2, X), RuntimeError,
     r"binary_cross_entropy: all elements of input should be between 0 and 1"),
    (lambda: F.binary_cross_entropy(X, X - 1), RuntimeError,
     r"binary_cross_entropy: all elements of target should be between 0 and 1"),
    (lambda: F.binary_cross_entropy(X, _t(np.zeros((3, 4), np.int64))), RuntimeError,
     r"binary_cross_entropy: target of dtype int64 must have the input's dtype float32"),
    (lambda: F.binary_cross_entropy(X, X[0]), ValueError,
     r"binary_cross_entropy: target size \(4,\) must be the same as input size \(3, 4\)"),
    (lambda: F.binary_cross_entropy(X, X, weight=_t(np.ones(5))), RuntimeError,
     r"binary_cross_entropy: weight of shape \(5,\) cannot be broadcast to the input's shape"),
    (lambda: F.binary_cross_entropy_with_logits(X, _t(np.zeros((3, 4), np.int64))), RuntimeError,
     r"binary_cross_entropy_with_logits: expected a floating point target, got dtype int64"),
    (lambda: F.binary_cross_entropy_with_logits(X, X, pos_weight=_t(np.ones(3))), RuntimeError,
     r"binary_cross_entropy_with_logits: pos_weight of shape \(3,\) cannot be broadcast"),
    (lambda: F.kl_div(X, _t(np.zeros((3, 4), np.int64))), RuntimeError,
     r"kl_div: integral inputs are not supported"),
    (lambda: F.kl_div(X, X, reduction="avg"), ValueError,
     r"kl_div: 'avg' is not a valid value for reduction.*'batchmean'"),
    (lambda: F.cosine_similarity(X, _t(np.zeros(5))), RuntimeError,
     r"cosine_similarity: shapes \(3, 4\) and \(5,\) cannot be broadcast"),
    (lambda: F.cosine_similarity(_t([[1, 2]]), _t([[1, 2]])), RuntimeError,
     r"cosine_similarity: expected a floating point common dtype, got int64"),
    (lambda: F.cosine_similarity(X, X, dim=2), IndexError,
     r"cosine_similarity: dimension out of range"),
]
# fmt: on


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_error_messages(case: int) -> None:
    fn, exc, pattern = ERRORS[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=pattern):
            fn()
