"""The Tensor API against PyTorch's: factories, dtype inference, array facts, repr,
comparisons and Python operators (plain and reflected)."""

from __future__ import annotations

import operator

import numpy as np
import pytest
import torch

import minigrad as mg


def _dt(t) -> str:
    return str(t.dtype).removeprefix("torch.")


def _same(m, t) -> None:
    """Same dtype, shape and values."""
    assert _dt(m) == _dt(t), f"dtype {m.dtype} vs {t.dtype}"
    assert tuple(m.shape) == tuple(t.shape)
    np.testing.assert_array_equal(m.data, t.numpy())


# ------------------------------------------------------------------ dtype inference
@pytest.mark.parametrize(
    "data",
    [
        [1, 2],
        [1.0, 2],
        [True, False],
        [True, 2],
        [1, 2.5],
        3,
        3.0,
        True,
        [[1, 2], [3, 4]],
        [],
        [[]],
        np.array([1.0]),
        np.array([1], dtype=np.int32),
        np.float64(1.5),
        np.array([1.0], dtype=np.float32),
        np.array([True]),
        [[1.5], [2]],
    ],
    ids=repr,
)
def test_tensor_infers_dtype_and_shape_like_torch(data) -> None:
    _same(mg.tensor(data), torch.tensor(data))


def test_tensor_with_explicit_dtype_and_default_dtype() -> None:
    _same(mg.tensor([1, 2], dtype=mg.float64), torch.tensor([1, 2], dtype=torch.float64))
    _same(mg.tensor([1.7, -1.2], dtype=mg.int64), torch.tensor([1.7, -1.2]).long())
    assert mg.get_default_dtype() == mg.float32 and mg.float is mg.float32
    mg.set_default_dtype(mg.float64)
    try:
        assert mg.tensor([1.5]).dtype == mg.float64
        assert mg.zeros(2).dtype == mg.float64
        assert mg.tensor([1]).dtype == mg.int64
    finally:
        mg.set_default_dtype(mg.float32)
    with pytest.raises(TypeError):
        mg.set_default_dtype(mg.int64)


def test_tensor_copies_its_input_and_from_numpy_shares() -> None:
    arr = np.array([1.0, 2.0])
    t, shared = mg.tensor(arr), mg.from_numpy(arr)
    arr[0] = 5.0
    assert t.tolist() == [1.0, 2.0] and shared.tolist() == [5.0, 2.0]


# ------------------------------------------------------------------ factories
@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.zeros(2, 3),
        lambda L: L.zeros((2, 3)),
        lambda L: L.zeros([2, 3]),
        lambda L: L.ones(3, dtype=L.int64),
        lambda L: L.ones(2, 1, dtype=L.float64),
        lambda L: L.full((2,), 3),
        lambda L: L.full((2, 2), 3.5),
        lambda L: L.full((2,), True),
        lambda L: L.full([1, 2], 1.0, dtype=L.float64),
        lambda L: L.arange(5),
        lambda L: L.arange(1, 4, 0.5),
        lambda L: L.arange(5.0),
        lambda L: L.arange(10, 0, -3),
        lambda L: L.arange(0, 1, 0.1),
        lambda L: L.arange(3, dtype=L.float64),
        lambda L: L.linspace(0, 1, 5),
        lambda L: L.linspace(-2, 2, 1),
        lambda L: L.linspace(0, 1, 4, dtype=L.float64),
        lambda L: L.eye(3),
        lambda L: L.eye(2, 3),
        lambda L: L.eye(2, dtype=L.int64),
        lambda L: L.zeros_like(L.tensor([1, 2])),
        lambda L: L.ones_like(L.tensor([1.5])),
        lambda L: L.full_like(L.tensor([1.0, 2.0]), 7),
        lambda L: L.zeros_like(L.tensor([1, 2]), dtype=L.float64),
    ],
)
def test_deterministic_factories_match_torch(call) -> None:
    m, t = call(mg), call(torch)
    assert _dt(m) == _dt(t) and tuple(m.shape) == tuple(t.shape)
    np.testing.assert_allclose(m.data, t.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.empty(2, 3),
        lambda L: L.rand(2, 3),
        lambda L: L.randn(4),
        lambda L: L.randn(2, 2, dtype=L.float64),
        lambda L: L.randint(0, 5, (3, 2)),
        lambda L: L.randint(5, (4,)),
        lambda L: L.rand_like(L.zeros(3, dtype=L.float64)),
        lambda L: L.randn_like(L.zeros(2, 2)),
        lambda L: L.empty_like(L.tensor([1, 2])),
        lambda L: L.randperm(5),
    ],
)
def test_random_and_empty_factories_match_torch_in_dtype_and_shape(call) -> None:
    m, t = call(mg), call(torch)
    assert _dt(m) == _dt(t) and tuple(m.shape) == tuple(t.shape)


def test_random_values_lie_in_their_ranges() -> None:
    mg.manual_seed(0)
    u = mg.rand(10_000).data
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    n = mg.randn(10_000).data
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05
    r = mg.randint(2, 5, (1000,)).data
    assert set(r.tolist()) == {2, 3, 4}
    assert sorted(mg.randperm(6).tolist()) == list(range(6))


def test_manual_seed_reproduces_every_random_factory() -> None:
    def draw():
        return [
            mg.rand(3),
            mg.randn(2, 2),
            mg.randint(0, 100, (4,)),
            mg.randperm(5),
            mg.rand_like(mg.zeros(2)),
            mg.dropout(mg.ones(20), 0.5),
        ]

    mg.manual_seed(123)
    first = draw()
    mg.manual_seed(123)
    second = draw()
    third = draw()
    for a, b in zip(first, second):
        assert np.array_equal(a.data, b.data)
    assert not all(np.array_equal(a.data, c.data) for a, c in zip(first, third))


def test_factory_requires_grad_and_bad_sizes() -> None:
    for m in (
        mg.zeros(2, requires_grad=True),
        mg.randn(2, requires_grad=True),
        mg.full((2,), 1.0, requires_grad=True),
        mg.tensor([1.0], requires_grad=True),
    ):
        assert m.requires_grad and m.is_leaf
    with pytest.raises(RuntimeError):
        torch.zeros(-1)
    with pytest.raises(RuntimeError, match="size"):
        mg.zeros(-1)
    with pytest.raises(RuntimeError, match="size"):
        mg.ones(2, 1.5)
    with pytest.raises(RuntimeError, match="step"):
        mg.arange(0, 3, 0)
    with pytest.raises(RuntimeError, match="low"):
        mg.randint(5, 5, (2,))


# ------------------------------------------------------------------ array facts
def test_shape_ndim_size_numel() -> None:
    m, t = mg.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    assert m.shape == tuple(t.shape) and m.size() == t.size()
    assert m.ndim == t.ndim == m.dim() == 3
    assert m.size(1) == t.size(1) and m.size(-1) == t.size(-1)
    assert m.numel() == t.numel() == 24 and len(m) == len(t) == 2
    with pytest.raises(IndexError):
        m.size(3)
    s = mg.tensor(2.0)
    assert s.shape == () and s.ndim == 0 and s.numel() == 1
    with pytest.raises(TypeError):
        len(s)


def test_item_tolist_and_python_conversions() -> None:
    for data in ([2.5], 7, [[True]], [[1, 2], [3, 4]], [1.5, -2.0]):
        m, t = mg.tensor(data), torch.tensor(data)
        assert m.tolist() == t.tolist()
        if t.numel() == 1:
            assert m.item() == t.item() and type(m.item()) is type(t.item())
    with pytest.raises(RuntimeError):
        torch.tensor([1.0, 2.0]).item()
    with pytest.raises(RuntimeError, match="2 elements"):
        mg.tensor([1.0, 2.0]).item()
    assert float(mg.tensor(2)) == 2.0 and int(mg.tensor(2.7)) == 2
    assert bool(mg.tensor([0.0])) is False
    assert [10, 20, 30][mg.tensor(1)] == 20
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(mg.tensor([1.0, 2.0]))


def test_detach_T_mT_and_numpy() -> None:
    arr = np.arange(24.0).reshape(2, 3, 4)
    m, t = mg.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)
    _same(m.mT.detach(), t.mT.detach())
    _same(m.T.detach(), t.permute(2, 1, 0).detach())
    m2, t2 = mg.tensor(arr[0]), torch.tensor(arr[0])
    _same(m2.T, t2.T)
    _same(m2.t(), t2.t())
    with pytest.raises(RuntimeError):
        m.numpy()
    assert np.array_equal(m.detach().numpy(), arr)
    d = m.detach()
    assert not d.requires_grad and d.grad_fn is None and np.shares_memory(d.data, m.data)


def test_dtype_conversions() -> None:
    m, t = mg.tensor([1.7, -1.2, 0.0]), torch.tensor([1.7, -1.2, 0.0])
    for name in ("float", "double", "long", "int", "bool", "half"):
        _same(getattr(m, name)(), getattr(t, name)())
    _same(m.to(mg.float64), t.to(torch.float64))
    _same(m.to("cpu"), t.to("cpu"))
    _same(m.type_as(mg.tensor([1])), t.type_as(torch.tensor([1])))
    assert m.is_floating_point() and not m.long().is_floating_point()
    for bad in ({"device": "cuda"}, {}):
        with pytest.raises(RuntimeError, match="CPU only"):
            m.to(**bad) if bad else m.to("cuda:0", mg.float64)


# ------------------------------------------------------------------ repr
def test_repr_looks_like_pytorch() -> None:
    cases = [
        ([1.0, 2.0], {}, "tensor([1., 2.])"),
        ([1.5, 2.25], {}, "tensor([1.5000, 2.2500])"),
        ([[1, 2], [3, 4]], {}, "tensor([[1, 2],\n        [3, 4]])"),
        (3.0, {}, "tensor(3.)"),
        ([True, False], {}, "tensor([ True, False])"),
    ]
    for data, kw, expected in cases:
        assert repr(mg.tensor(data, **kw)) == repr(torch.tensor(data, **kw)) == expected
    r = repr(mg.tensor([1.0, 2.0], requires_grad=True))
    assert r == "tensor([1., 2.], requires_grad=True)"
    r64 = repr(mg.tensor([1.0, 2.0], dtype=mg.float64))
    assert r64.startswith("tensor([1., 2.]") and "dtype=minigrad.float64" in r64
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    r_op = repr(x * 2)
    assert r_op.startswith("tensor([2., 4.]") and "grad_fn=<MulBackward>" in r_op
    assert "requires_grad" not in r_op
    assert "size=(0, 3)" in repr(mg.zeros(0, 3))


# ------------------------------------------------------------------ operators
_ARITH = [
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.pow,
    operator.floordiv,
    operator.mod,
]
_CMP = [operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge]


@pytest.mark.parametrize("op", _ARITH + _CMP, ids=lambda f: f.__name__)
@pytest.mark.parametrize("other", [2, 1.5, "tensor"], ids=str)
def test_operators_and_reflected_operators_match_torch(op, other) -> None:
    a = np.array([[1.5, 2.0, -3.0], [4.0, 0.5, 2.0]])
    bm, bt = (
        (mg.tensor([2.0, 1.5, 0.5]), torch.tensor([2.0, 1.5, 0.5]))
        if other == "tensor"
        else (other, other)
    )
    am, at = mg.tensor(a), torch.tensor(a)
    if op is operator.pow:
        am, at = abs(am), abs(at)
    _same_close(op(am, bm), op(at, bt))
    _same_close(op(bm, am), op(bt, at))  # reflected (__radd__, ...) when bm is a scalar


def _same_close(m, t) -> None:
    assert _dt(m) == _dt(t) and tuple(m.shape) == tuple(t.shape)
    np.testing.assert_allclose(m.data, t.numpy(), rtol=1e-6)


def test_comparisons_return_bool_tensors() -> None:
    m = mg.tensor([1.0, 2.0, 3.0])
    for r in (m > 1, m == 2, m != 2.0, m <= mg.tensor([3.0, 1.0, 3.0]), 1 < m):
        assert r.dtype == mg.bool and not r.requires_grad
    assert (m > 1).tolist() == [False, True, True]
    assert (2 == m).tolist() == [False, True, False]


def test_numpy_array_on_the_left_uses_tensor_operators() -> None:
    arr = np.ones((2, 2))
    m = mg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=mg.float64, requires_grad=True)
    for r in (arr * m, arr + m, arr @ m, arr - m):
        assert isinstance(r, mg.Tensor) and r.requires_grad


def test_unary_and_logical_operators() -> None:
    m, t = mg.tensor([1.5, -2.0]), torch.tensor([1.5, -2.0])
    _same(-m, -t)
    _same(abs(m), abs(t))
    _same(+m, +t)
    bm, bt = mg.tensor([True, False]), torch.tensor([True, False])
    cm, ct = mg.tensor([True, True]), torch.tensor([True, True])
    for op in (operator.and_, operator.or_, operator.xor):
        _same(op(bm, cm), op(bt, ct))
    _same(~bm, ~bt)
    _same(~mg.tensor([1, 2]), ~torch.tensor([1, 2]))
    with pytest.raises(TypeError):
        ~mg.tensor([1.0])


def test_matmul_operator_and_inplace_ops() -> None:
    a = np.arange(6.0).reshape(2, 3)
    _same((mg.tensor(a) @ mg.tensor(a.T)), torch.tensor(a) @ torch.tensor(a.T))
    m, t = mg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    for x in (m, t):
        x.add_(1).mul_(3).sub_(0.5).div_(2)
    _same(m, t)
    m.zero_()
    assert m.tolist() == [0.0, 0.0]
    leaf = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf.add_(1)
    with mg.no_grad():
        leaf.add_(1)
    assert leaf.tolist() == [2.0]
