"""minigrad.nn.init (distributions checked statistically against torch.nn.init's) and
minigrad.nn.utils (gradient clipping and parameter vectors) against torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from nn_helpers import assert_close

import minigrad
from minigrad import nn
from minigrad.nn import init

SHAPE = (300, 200)  # 60,000 draws: the sample std is within ~1% of the true one


def _twin(shape=SHAPE, dtype=np.float32):
    return nn.Parameter(minigrad.zeros(*shape, dtype=dtype)), torch.empty(shape)


def _same_distribution(a: np.ndarray, b: np.ndarray, bound: float | None = None) -> None:
    """Mean and std agree (to sampling error); a uniform's range reaches its bound."""
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    std = b.std()
    assert abs(a.mean() - b.mean()) < 0.05 * std + 1e-12
    assert abs(a.std() - std) < 0.03 * std
    if bound is not None:
        assert np.abs(a).max() <= bound * (1 + 1e-6)
        assert np.abs(a).max() > 0.99 * bound


@pytest.mark.parametrize(
    ("name", "kwargs", "uniform_bound"),
    [
        ("uniform_", {"a": -0.3, "b": 0.7}, None),
        ("normal_", {"mean": 1.5, "std": 0.2}, None),
        ("xavier_uniform_", {"gain": 2.0}, 2.0 * math.sqrt(6 / 500)),
        ("xavier_normal_", {}, None),
        ("kaiming_uniform_", {"a": math.sqrt(5)}, 1 / math.sqrt(200)),
        ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(6 / 300)),
        ("kaiming_normal_", {"nonlinearity": "relu"}, None),
        ("kaiming_normal_", {"a": 0.2, "mode": "fan_out"}, None),
        ("trunc_normal_", {"mean": 0.5, "std": 1.0, "a": -0.5, "b": 1.0}, None),
        ("trunc_normal_", {"std": 0.02}, None),
    ],
)
def test_init_distributions(name, kwargs, uniform_bound):
    p, t = _twin()
    assert getattr(init, name)(p, **kwargs) is p  # in place, returns its argument
    getattr(torch.nn.init, name)(t, **kwargs)
    assert p.requires_grad and p.grad_fn is None and p._version == 1
    _same_distribution(p.data, t.numpy(), uniform_bound)
    if name == "trunc_normal_":
        lo, hi = kwargs.get("a", -2.0), kwargs.get("b", 2.0)
        assert lo <= p.data.min() and p.data.max() <= hi


def test_constant_ones_zeros_eye_dirac_orthogonal():
    p = nn.Parameter(minigrad.zeros(3, 4, dtype=minigrad.float64))
    assert np.all(init.constant_(p, 0.25).data == 0.25)
    assert np.all(init.ones_(p).data == 1) and np.all(init.zeros_(p).data == 0)
    assert np.array_equal(init.eye_(p).data, torch.nn.init.eye_(torch.empty(3, 4)).numpy())
    w = minigrad.zeros(4, 2, 3, 3)
    tw = torch.empty(4, 2, 3, 3)
    assert np.array_equal(init.dirac_(w, groups=2).data, torch.nn.init.dirac_(tw, groups=2).numpy())
    for shape in [(5, 3), (3, 5), (4, 2, 3)]:
        q = init.orthogonal_(minigrad.zeros(*shape, dtype=minigrad.float64), gain=2.0).data
        flat = q.reshape(shape[0], -1)
        gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
        assert np.allclose(gram, 4.0 * np.eye(gram.shape[0]))


def test_gain_and_fans_match_torch():
    for nl, param in [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("selu", None),
    ]:
        assert init.calculate_gain(nl, param) == torch.nn.init.calculate_gain(nl, param)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    for shape in [(3, 4), (5, 2, 3), (6, 4, 3, 2)]:
        assert init._calculate_fan_in_and_fan_out(minigrad.zeros(*shape)) == (
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        )
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(minigrad.zeros(3))


def test_init_is_reproducible_with_manual_seed_or_generator():
    minigrad.manual_seed(7)
    a = nn.Linear(5, 3).weight.data.copy()
    minigrad.manual_seed(7)
    assert np.array_equal(nn.Linear(5, 3).weight.data, a)
    g1, g2 = np.random.default_rng(1), np.random.default_rng(1)
    x, y = minigrad.zeros(4, 4), minigrad.zeros(4, 4)
    assert np.array_equal(init.normal_(x, generator=g1).data, init.normal_(y, generator=g2).data)


@pytest.mark.parametrize(
    ("make", "name", "bound"),
    [
        (lambda lib: lib.Linear(200, 300), "weight", 1 / math.sqrt(200)),
        (lambda lib: lib.Linear(200, 300), "bias", 1 / math.sqrt(200)),
        (lambda lib: lib.Conv2d(8, 400, (3, 5), groups=2), "weight", 1 / math.sqrt(4 * 15)),
        (lambda lib: lib.Conv1d(12, 500, 4), "bias", 1 / math.sqrt(48)),
        (lambda lib: lib.Embedding(300, 100), "weight", None),  # N(0, 1)
        (lambda lib: lib.MultiheadAttention(64, 4), "in_proj_weight", math.sqrt(6 / 256)),
        (lambda lib: lib.MultiheadAttention(64, 4), "out_proj.weight", 1 / 8),
        (lambda lib: lib.Bilinear(50, 20, 60), "weight", 1 / math.sqrt(50)),
    ],
)
def test_default_layer_init_matches_torch_distribution(make, name, bound):
    a = make(nn).get_parameter(name).data
    b = make(torch.nn).get_parameter(name).detach().numpy()
    if a.size < 2000:  # a bias: uniform within the bound, reaching close to it
        assert bound * 0.9 < np.abs(a).max() <= bound * (1 + 1e-6)
    else:
        _same_distribution(a, b, bound)


def test_norm_layers_init_and_padding_row():
    assert np.all(nn.LayerNorm(4).weight.data == 1) and np.all(nn.LayerNorm(4).bias.data == 0)
    bn = nn.BatchNorm2d(3)
    assert np.all(bn.weight.data == 1) and np.all(bn.running_var.data == 1)
    assert np.all(nn.RMSNorm(3).weight.data == 1)
    emb = nn.Embedding(5, 3, padding_idx=2)
    assert np.all(emb.weight.data[2] == 0) and np.all(emb.weight.data[[0, 1, 3, 4]] != 0)
    mha = nn.MultiheadAttention(8, 2)
    assert np.all(mha.in_proj_bias.data == 0) and np.all(mha.out_proj.bias.data == 0)


# ------------------------------------------------------------------ nn.utils
@st.composite
def grads_case(draw):
    shapes = draw(st.lists(st.sampled_from([(3,), (2, 4), (), (5, 1)]), min_size=1, max_size=4))
    missing = draw(st.lists(st.booleans(), min_size=len(shapes), max_size=len(shapes)))
    return shapes, missing


@given(
    grads_case(),
    st.sampled_from([2.0, 1.0, math.inf, 3.0, 0.5]),
    st.floats(0.01, 10.0),
    st.floats(0.1, 100.0),
    st.sampled_from([np.float64, np.float32]),
    st.integers(0, 99),
)
def test_clip_grad_norm_matches_torch(case, norm_type, max_norm, scale, dtype, seed):
    shapes, missing = case
    rng = np.random.default_rng(seed)
    ps, tps = [], []
    for shape, miss in zip(shapes, missing):
        p = nn.Parameter(minigrad.zeros(*shape, dtype=dtype))
        tp = torch.nn.Parameter(
            torch.zeros(shape, dtype=torch.float64 if dtype == np.float64 else torch.float32)
        )
        if not miss:
            g = (rng.standard_normal(shape) * scale).astype(dtype)
            p.grad, tp.grad = minigrad.tensor(g), torch.tensor(g)
        ps.append(p)
        tps.append(tp)
    total = nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    assert isinstance(total, minigrad.Tensor) and total.ndim == 0
    assert_close(total, t_total, dtype, "total norm")
    for p, tp in zip(ps, tps):
        assert (p.grad is None) == (tp.grad is None)
        if tp.grad is not None:
            assert_close(p.grad, tp.grad, dtype, "clipped grad")
            assert p.grad.dtype == dtype


def test_clip_grad_norm_edge_cases():
    p = nn.Parameter(minigrad.ones(3))
    assert nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0  # no gradients at all
    p.grad = minigrad.tensor([3.0, 4.0, 0.0])
    assert nn.utils.clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0)  # a lone tensor
    assert np.allclose(p.grad.data, [0.6, 0.8, 0.0], atol=1e-6)
    p.grad = minigrad.tensor([np.inf, 1.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    with pytest.warns(UserWarning, match="empty generator"):
        nn.utils.clip_grad_norm_((q for q in []), 1.0)


def test_clip_grad_value_and_parameter_vectors():
    m, t = nn.Linear(3, 2, dtype=minigrad.float64), torch.nn.Linear(3, 2, dtype=torch.float64)
    t.load_state_dict({k: torch.tensor(v.data) for k, v in m.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 3)) * 5
    (m(minigrad.tensor(x)) ** 2).sum().backward()
    (t(torch.tensor(x)) ** 2).sum().backward()
    nn.utils.clip_grad_value_(m.parameters(), 0.7)
    torch.nn.utils.clip_grad_value_(t.parameters(), 0.7)
    for p, tp in zip(m.parameters(), t.parameters()):
        assert_close(p.grad, tp.grad)
    vec = nn.utils.parameters_to_vector(m.parameters())
    assert_close(vec, torch.nn.utils.parameters_to_vector(t.parameters()))
    weight = m.weight
    nn.utils.vector_to_parameters(vec * 2, m.parameters())
    torch.nn.utils.vector_to_parameters(
        torch.nn.utils.parameters_to_vector(t.parameters()) * 2, t.parameters()
    )
    assert m.weight is weight
    for p, tp in zip(m.parameters(), t.parameters()):
        assert_close(p, tp)
    with pytest.raises(RuntimeError, match="does not match"):
        nn.utils.vector_to_parameters(minigrad.zeros(3), m.parameters())
