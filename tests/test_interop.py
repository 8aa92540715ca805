"""NumPy's functions on Tensors (``minigrad/interop.py``): each NumPy spelling of a
registered op runs that op (same values, same ``grad_fn``, same gradients as calling it
directly), and NumPy functions without a minigrad op refuse to drop a gradient."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from op_registry import REGISTRY, OpInfo, Sample
from test_ops import SEEDS, _build, _convert, _flatten

import minigrad as mg
from minigrad import interop


def _red(fn: Any, **extra: str) -> Any:
    """A reduction in NumPy's spelling: dim -> axis, keepdim -> keepdims."""

    def call(x: Any, dim: Any = None, keepdim: bool = False, **kw: Any) -> Any:
        kw = {extra.get(k, k): v for k, v in kw.items()}
        return fn(x, axis=dim, keepdims=keepdim, **kw)

    return call


def _binary(fn: Any) -> Any:
    return lambda a, b: fn(a, b)


# Registry entry id -> the same call spelled with NumPy (arguments as the registry's).
NUMPY: dict[str, Any] = {
    "add": lambda a, b, alpha=1: np.add(a, b) if alpha == 1 else np.add(a, np.multiply(b, alpha)),
    "add.scalar": lambda x, c: np.add(x, c),
    "sub": np.subtract,
    "sub.rscalar": lambda x, c: np.subtract(c, x),
    "sub.scalar": lambda x, c: np.subtract(x, c),
    "mul": np.multiply,
    "mul.rscalar": lambda x, c: np.multiply(c, x),
    "mul.scalar": lambda x, c: np.multiply(x, c),
    "div": np.divide,
    "div.scalar": lambda x, c: np.divide(x, c),
    "div.rscalar": lambda x, c: np.true_divide(c, x),
    "pow.tensor_tensor": np.power,
    "pow.tensor_scalar": lambda x, c: np.power(x, c),
    "pow.scalar_tensor": lambda x, c: np.power(c, x),
    "pow.zero_base": lambda x, c: np.power(c, x),
    "maximum": np.maximum,
    "minimum": np.minimum,
    "where": np.where,
    "clamp": lambda x, min=None, max=None: np.clip(x, min, max),
    "clip": lambda x, min=None, max=None: np.clip(x, min, max),
    "clamp.tensor_bounds": np.clip,
    "sum": _red(np.sum),
    "mean": _red(np.mean),
    "amax": _red(np.amax),
    "amin": _red(np.amin),
    "var": _red(np.var, correction="ddof"),
    "std": _red(np.std, correction="ddof"),
    "prod": _red(np.prod),
    "prod.zeros": _red(np.prod),
    "argmax": _red(np.argmax),
    "argmin": _red(np.argmin),
    "cumsum": lambda x, dim: np.cumsum(x, axis=dim),
    "reshape": lambda x, shape: np.reshape(x, shape),
    "squeeze": lambda x, dim=None: np.squeeze(x, dim),
    "unsqueeze": lambda x, dim: np.expand_dims(x, dim),
    "transpose": lambda x, dim0, dim1: np.swapaxes(x, dim0, dim1),
    "swapaxes": lambda x, dim0, dim1: np.swapaxes(x, dim0, dim1),
    "permute": lambda x, dims: np.transpose(x, dims),
    "broadcast_to": lambda x, shape: np.broadcast_to(x, shape),
    "flip": lambda x, dims: np.flip(x, dims),
    "cat": lambda *xs, dim: np.concatenate(xs, axis=dim),
    "stack": lambda *xs, dim: np.stack(xs, axis=dim),
    "tril": lambda x, diagonal: np.tril(x, diagonal),
    "triu": lambda x, diagonal: np.triu(x, diagonal),
    "clone": np.copy,
    "matmul": np.matmul,
    "mm": np.matmul,
    "dot": np.dot,
    "outer": np.outer,
    "einsum": lambda *xs, eq: np.einsum(eq, *xs),
    "einsum.general": lambda *xs, eq: np.einsum(eq, *xs),
    "einsum.sublist": lambda *xs, subs: np.einsum(
        *[v for pair in zip(xs, subs) for v in pair], *subs[len(xs) :]
    ),
    "invert": np.invert,
    "roll": lambda x, shifts, dims=None: np.roll(x, shifts, dims),
    "rot90": lambda x, k, dims: np.rot90(x, k, dims),
    "diagonal": lambda x, offset, dim1, dim2: np.diagonal(x, offset, dim1, dim2),
    "diag": lambda x, diagonal: np.diag(x, diagonal),
    "trace": np.trace,
    "kron": np.kron,
    "tensordot": lambda a, b, dims: np.tensordot(a, b, dims),
    "cumprod": lambda x, dim: np.cumprod(x, axis=dim),
    "take_along_dim": lambda x, idx, dim=None: np.take_along_axis(x, idx, dim),
    "sinc": np.sinc,
    "bitwise_not": np.invert,
    "remainder.float": np.remainder,
    "floor_divide.float": np.floor_divide,
}
# Ops whose NumPy ufunc is listed in minigrad.interop.UFUNCS: the entries of the same name.
for _np_name, _mg_name in interop.UFUNCS.items():
    for _e in REGISTRY:
        if _e.name == _mg_name and _e.id not in NUMPY and not _e.variant:
            NUMPY[_e.id] = getattr(np, _np_name)
NUMPY["bitwise_and.int"] = np.bitwise_and
NUMPY["fmod.float"] = np.fmod
for _name in ("round.decimals",):  # np.round's decimals, through the array function
    NUMPY[_name] = lambda x, decimals: np.round(x, decimals)

ENTRIES = [e for e in REGISTRY if e.id in NUMPY]
FEW = max(3, settings.default.max_examples // 3)  # the same op underneath: few examples


def test_every_numpy_spelled_op_is_tested() -> None:
    """Every registry entry of an op reached from a NumPy ufunc has its NumPy call here."""
    targets = set(interop.UFUNCS.values())
    missing = [e.id for e in REGISTRY if e.name in targets and e.id not in NUMPY]
    assert not missing, f"registry entries without a NumPy spelling in NUMPY: {missing}"
    assert len(ENTRIES) >= 60


def _outputs(fn: Any, args: list, kwargs: dict) -> list:
    return _flatten(fn(*args, **kwargs))


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_numpy_spelling_runs_the_op(entry: OpInfo) -> None:
    """Same values and dtypes, same grad_fn, same gradients as the op called directly."""
    spelled = NUMPY[entry.id]

    @settings(max_examples=FEW)
    @given(sample=entry.sample(False), seed=SEEDS)
    def check(sample: Sample, seed: int) -> None:
        args, _, ins, _ = _build(sample, "float64", entry.differentiable)
        kwargs = _convert(sample.kwargs, "mg")
        direct = _outputs(entry.mg_fn, args, kwargs)
        via_numpy = _outputs(spelled, args, kwargs)
        assert len(direct) == len(via_numpy)
        for d, n in zip(direct, via_numpy):
            assert isinstance(n, mg.Tensor), f"{entry.id}: NumPy gave a {type(n).__name__}"
            assert n.dtype == d.dtype and n.shape == d.shape, entry.id
            np.testing.assert_allclose(n.data, d.data, rtol=1e-13, atol=0, err_msg=entry.id)
            assert type(n.grad_fn) is type(d.grad_fn), (entry.id, n.grad_fn, d.grad_fn)
        if not entry.differentiable:
            return
        outs = [(d, n) for d, n in zip(direct, via_numpy) if d.requires_grad]
        rng = np.random.default_rng(seed)
        vs = [mg.tensor(rng.standard_normal(d.shape)) for d, _ in outs]
        g_direct = mg.autograd.grad([d for d, _ in outs], ins, vs, allow_unused=True)
        g_numpy = mg.autograd.grad([n for _, n in outs], ins, vs, allow_unused=True)
        for i, (a, b) in enumerate(zip(g_direct, g_numpy)):
            assert (a is None) == (b is None), f"{entry.id}: input {i}"
            if a is not None:
                np.testing.assert_allclose(b.data, a.data, rtol=1e-13, atol=0)

    check()


# ------------------------------------------------------------------ refusals and the data path
def test_exp_records_exp_backward_and_matches_torch() -> None:
    x = np.linspace(-1, 1, 6).reshape(2, 3)
    t, tt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y = np.exp(np.multiply(t, t))
    assert type(y) is mg.Tensor and y.grad_fn.name() == "ExpBackward"
    np.sum(y, axis=0).sum().backward()
    torch.exp(tt * tt).sum().backward()
    np.testing.assert_allclose(t.grad.data, tt.grad.numpy(), rtol=1e-12)


def test_without_an_op_gradients_are_refused_by_name() -> None:
    t = mg.tensor([3.0, 1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"numpy\.partition has no minigrad equivalent"):
        np.partition(t, 1)
    with pytest.raises(TypeError, match=r"numpy\.nancumsum"):
        np.nancumsum(t)
    with pytest.raises(TypeError, match=r"numpy\.spacing"):
        np.spacing(t)
    # no grad: NumPy's result on the data, as for any array-like
    assert np.array_equal(np.partition(t.detach(), 1), np.partition(t.data, 1))
    # integer, bool and shape results carry no gradient: allowed
    assert np.argsort(t).tolist() == [1, 2, 0]
    assert np.shape(t) == (3,) and np.isclose(t, t).all()
    assert np.zeros_like(t).shape == (3,)


def test_out_is_refused_when_grad_is_required() -> None:
    t = mg.tensor([1.0, 2.0], requires_grad=True)
    for call in (
        lambda: np.exp(t, out=np.empty(2)),
        lambda: np.sum(t, out=np.empty(())),
        lambda: np.add(t, 1.0, out=np.empty(2)),
    ):
        with pytest.raises(TypeError, match="out="):
            call()
    buf = np.empty(2)
    np.exp(t.detach(), out=buf)
    np.testing.assert_allclose(buf, np.exp(t.data))


def test_asarray_still_gives_the_data_and_ndarray_operands_work() -> None:
    t = mg.tensor([[1.0, 2.0]], requires_grad=True)
    assert np.asarray(t) is t.data
    a = np.array([[3.0, 4.0]])
    for y in (a * t, np.multiply(a, t), t + a, a - t, a @ t.T):
        assert type(y) is mg.Tensor and y.requires_grad
    (a * t).sum().backward()
    np.testing.assert_allclose(t.grad.data, a)


def test_ufunc_methods() -> None:
    x = np.arange(6.0).reshape(2, 3) + 1
    t, tt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    cases = [
        (np.add.reduce(t), tt.sum(0)),
        (np.add.reduce(t, axis=1, keepdims=True), tt.sum(1, keepdim=True)),
        (np.multiply.reduce(t, axis=1), tt.prod(1)),
        (np.maximum.reduce(t, axis=None), tt.amax()),
        (np.add.accumulate(t, axis=1), tt.cumsum(1)),
        (np.multiply.outer(t[0], t[1]), torch.outer(tt[0], tt[1])),
    ]
    for m, r in cases:
        assert type(m) is mg.Tensor and m.requires_grad
        np.testing.assert_allclose(m.data, r.detach().numpy(), rtol=1e-12)
        m.sum().backward()
        r.sum().backward()
        np.testing.assert_allclose(t.grad.data, tt.grad.numpy(), rtol=1e-12)
