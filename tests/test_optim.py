"""minigrad.optim against torch.optim: same gradients in, same parameters out.

Each property test draws options for two parameter groups, feeds both libraries the
same random gradients for ``STEPS`` steps and compares the parameters after every step.
Halfway through, the minigrad optimizer's ``state_dict()`` is loaded into a fresh
optimizer over fresh parameters, which must carry on exactly where it left off.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import optim
from minigrad.fast import pieces as piece_kernels

STEPS = 24
ROUNDTRIP_AT = 10
SHAPES = [(3,), (2, 4), ()]

# Optimizer name -> drawn options. Each includes floats below 0.5 for the lerp weight
# (1 - beta1, 1 - alpha) and above it, as torch.lerp switches formula at 0.5.
_lr = st.floats(1e-4, 1.0)
_wd = st.sampled_from([0.0, 1e-2]) | st.floats(0.0, 0.2)
_eps = st.sampled_from([1e-8, 1e-10]) | st.floats(1e-10, 1e-2)


@st.composite
def _sgd(draw: st.DrawFn) -> dict[str, Any]:
    momentum = draw(st.sampled_from([0.0, 0.9]) | st.floats(0.0, 0.99))
    nesterov = momentum > 0 and draw(st.booleans())
    dampening = 0.0 if nesterov else draw(st.sampled_from([0.0]) | st.floats(0.0, 1.0))
    return {
        "lr": draw(_lr),
        "momentum": momentum,
        "dampening": dampening,
        "nesterov": nesterov,
        "weight_decay": draw(_wd),
        "maximize": draw(st.booleans()),
    }


@st.composite
def _adam(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "lr": draw(_lr),
        "betas": (draw(st.floats(0.0, 0.99)), draw(st.floats(0.3, 0.9999))),
        "eps": draw(_eps),
        "weight_decay": draw(_wd),
        "amsgrad": draw(st.booleans()),
        "maximize": draw(st.booleans()),
    }


@st.composite
def _rmsprop(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "lr": draw(_lr),
        "alpha": draw(st.floats(0.3, 0.999)),
        "eps": draw(_eps),
        "weight_decay": draw(_wd),
        "momentum": draw(st.sampled_from([0.0, 0.9]) | st.floats(0.0, 0.99)),
        "centered": draw(st.booleans()),
        "maximize": draw(st.booleans()),
    }


@st.composite
def _adagrad(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "lr": draw(_lr),
        "lr_decay": draw(st.sampled_from([0.0]) | st.floats(0.0, 0.1)),
        "initial_accumulator_value": draw(st.sampled_from([0.0]) | st.floats(0.0, 1.0)),
        "weight_decay": draw(_wd),
        "eps": draw(_eps),
        "maximize": draw(st.booleans()),
    }


@st.composite
def _nadam(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "lr": draw(_lr),
        "betas": (draw(st.floats(0.0, 0.99)), draw(st.floats(0.3, 0.9999))),
        "eps": draw(_eps),
        "weight_decay": draw(_wd),
        "momentum_decay": draw(st.sampled_from([4e-3]) | st.floats(0.0, 0.5)),
        "decoupled_weight_decay": draw(st.booleans()),
        "maximize": draw(st.booleans()),
    }


@st.composite
def _radam(draw: st.DrawFn) -> dict[str, Any]:
    # beta2 down to 0.3 reaches rho_t > 5 (the rectified branch) within the first steps;
    # near 1 it stays in the momentum-only branch: both are drawn.
    return {
        "lr": draw(_lr),
        "betas": (draw(st.floats(0.0, 0.99)), draw(st.floats(0.3, 0.9999))),
        "eps": draw(_eps),
        "weight_decay": draw(_wd),
        "decoupled_weight_decay": draw(st.booleans()),
        "maximize": draw(st.booleans()),
    }


@st.composite
def _adamax(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "lr": draw(_lr),
        "betas": (draw(st.floats(0.0, 0.99)), draw(st.floats(0.3, 0.9999))),
        "eps": draw(_eps),
        "weight_decay": draw(_wd),
        "maximize": draw(st.booleans()),
    }


@st.composite
def _adadelta(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "lr": draw(st.sampled_from([1.0]) | _lr),
        "rho": draw(st.sampled_from([0.9]) | st.floats(0.0, 1.0)),
        "eps": draw(st.sampled_from([1e-6]) | _eps),
        "weight_decay": draw(_wd),
        "maximize": draw(st.booleans()),
    }


OPTIMIZERS = {
    "SGD": _sgd,
    "Adam": _adam,
    "AdamW": _adam,
    "RMSprop": _rmsprop,
    "Adagrad": _adagrad,
    "NAdam": _nadam,
    "RAdam": _radam,
    "Adamax": _adamax,
    "Adadelta": _adadelta,
}


def _make_params(arrays: list[np.ndarray]) -> tuple[list[minigrad.Tensor], list[torch.Tensor]]:
    mine = [minigrad.tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    return mine, theirs


def _groups(params: list, group_options: dict[str, Any]) -> list[dict[str, Any]]:
    """Params 0, 1 take the constructor's options; param 2 gets its own group's options."""
    return [{"params": params[:2]}, {"params": params[2:], **group_options}]


def _assert_array_close(actual: Any, desired: np.ndarray) -> None:
    """float64: within 1e-10 relative; float32: within 1e-5 (relative to the largest entry)."""
    actual = np.asarray(actual)
    assert actual.dtype == desired.dtype
    if desired.dtype == np.float64:
        np.testing.assert_allclose(actual, desired, rtol=1e-10, atol=1e-12)
    else:
        scale = max(1.0, float(np.max(np.abs(desired), initial=0.0)))
        np.testing.assert_allclose(actual, desired, rtol=1e-5, atol=1e-5 * scale)


def _assert_close(mine: list[minigrad.Tensor], theirs: list[torch.Tensor]) -> None:
    for pm, pt in zip(mine, theirs):
        _assert_array_close(pm.data, pt.detach().numpy())


def _assert_state_dicts_match(mine: dict, theirs: dict) -> None:
    """Same layout as PyTorch: same state keys per parameter, equal buffers and groups."""
    assert mine["state"].keys() == theirs["state"].keys()
    for index, state in theirs["state"].items():
        assert mine["state"][index].keys() == state.keys()
        for key, value in state.items():
            if key in ("step", "mu_product"):  # a float here, a 0-d float32 tensor in torch
                assert mine["state"][index][key] == value.item()
            else:
                _assert_array_close(mine["state"][index][key], value.numpy())
    for group_m, group_t in zip(mine["param_groups"], theirs["param_groups"]):
        assert group_m["params"] == group_t["params"]
        assert {k: group_t[k] for k in group_m} == group_m


def _run_against_torch(
    name: str, options: dict, group_options: dict, dtype: Any, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    mine, theirs = _make_params([rng.standard_normal(s).astype(dtype) for s in SHAPES])
    opt_m = getattr(optim, name)(_groups(mine, group_options), **options)
    opt_t = getattr(torch.optim, name)(_groups(theirs, group_options), foreach=False, **options)
    for step in range(STEPS):
        for pm, pt in zip(mine, theirs):
            if rng.random() < 0.1:  # no gradient this step: both must skip the parameter
                pm.grad, pt.grad = None, None
                continue
            g = rng.standard_normal(pm.shape).astype(dtype)
            pm.grad, pt.grad = minigrad.tensor(g), torch.tensor(g)
        opt_m.step()
        opt_t.step()
        _assert_close(mine, theirs)
        if step == ROUNDTRIP_AT:
            saved = opt_m.state_dict()
            _assert_state_dicts_match(saved, opt_t.state_dict())
            mine = [minigrad.tensor(p.data.copy(), requires_grad=True) for p in mine]
            opt_m = getattr(optim, name)(_groups(mine, group_options), **options)
            opt_m.load_state_dict(saved)
            for state in saved["state"].values():  # the loaded state must be a copy
                for value in state.values():
                    if isinstance(value, np.ndarray):
                        value.fill(np.nan)
    _assert_state_dicts_match(opt_m.state_dict(), opt_t.state_dict())


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@given(data=st.data())
def test_matches_torch_float64(name: str, data: st.DataObject) -> None:
    options = data.draw(OPTIMIZERS[name](), label="options")
    group_options = data.draw(OPTIMIZERS[name](), label="group 1 options")
    # Options that PyTorch validates or applies per optimizer only, not per group.
    for key in ("nesterov", "dampening", "initial_accumulator_value"):
        group_options.pop(key, None)
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    _run_against_torch(name, options, group_options, np.float64, seed)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@given(data=st.data())
def test_matches_torch_float32(name: str, data: st.DataObject) -> None:
    options = data.draw(OPTIMIZERS[name](), label="options")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    _run_against_torch(name, options, {}, np.float32, seed)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_float32_stays_float32(name: str) -> None:
    p = minigrad.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = getattr(optim, name)([p], lr=0.1, weight_decay=0.1)
    for _ in range(3):
        p.grad = minigrad.tensor(np.full(3, 0.5, np.float32))
        opt.step()
    assert p.data.dtype == np.float32
    for value in opt.state[p].values():
        assert not isinstance(value, np.ndarray) or value.dtype == np.float32


def test_defaults_match_torch() -> None:
    for name in OPTIMIZERS:
        p_m, p_t = minigrad.tensor([1.0], requires_grad=True), torch.tensor([1.0])
        mine = getattr(optim, name)([p_m]).param_groups[0]
        theirs = getattr(torch.optim, name)([p_t]).param_groups[0]
        assert {k: theirs[k] for k in mine if k != "params"} == {
            k: v for k, v in mine.items() if k != "params"
        }


def test_step_skips_params_without_grad_and_creates_no_state() -> None:
    a = minigrad.tensor([1.0, 2.0], requires_grad=True)
    b = minigrad.tensor([3.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = minigrad.tensor([1.0, 1.0])
    opt.step()
    assert b.data.tolist() == [3.0] and b not in opt.state
    assert opt.state_dict()["state"].keys() == {0}


def test_closure_runs_with_grad_enabled_and_returns_loss() -> None:
    p = minigrad.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.5)

    def closure() -> minigrad.Tensor:
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with minigrad.no_grad():
        loss = opt.step(closure)
    assert float(loss.item()) == 5.0
    np.testing.assert_array_equal(p.data, [0.0, 0.0])  # p - 0.5 * 2p


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none: bool) -> None:
    a = minigrad.tensor([1.0, 2.0], requires_grad=True)
    b = minigrad.tensor([3.0], requires_grad=True)
    a.grad = minigrad.tensor([5.0, 6.0])
    grad_before = a.grad
    opt = optim.SGD([a, b], lr=0.1)
    opt.zero_grad(set_to_none=set_to_none)
    assert b.grad is None
    if set_to_none:
        assert a.grad is None
    else:
        assert a.grad is grad_before
        np.testing.assert_array_equal(a.grad.data, [0.0, 0.0])
    # a zeroed gradient still steps (weight decay moves p); a None one is skipped
    optim.SGD([a], lr=1.0, weight_decay=1.0).step()
    assert a.data.tolist() == ([1.0, 2.0] if set_to_none else [0.0, 0.0])


def test_zero_grad_default_is_set_to_none() -> None:
    p = minigrad.tensor([1.0], requires_grad=True)
    (p * 3).sum().backward()
    opt = optim.SGD([p])
    opt.zero_grad()
    assert p.grad is None


def test_trains_a_quadratic_with_backward() -> None:
    """End to end with minigrad's autograd: Adam drives ||p - target||^2 to ~0."""
    target = minigrad.tensor([1.0, -2.0, 3.0])
    p = minigrad.tensor([0.0, 0.0, 0.0], requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        ((p - target) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(p.data, target.data, atol=1e-3)


# Invalid options: minigrad must raise the same exception with the same message.
INVALID = [
    ("SGD", {"lr": -0.1}),
    ("SGD", {"lr": 0.1, "momentum": -0.5}),
    ("SGD", {"lr": 0.1, "weight_decay": -1.0}),
    ("SGD", {"lr": 0.1, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}),
    ("Adam", {"lr": -1.0}),
    ("Adam", {"eps": -1e-8}),
    ("Adam", {"betas": (1.0, 0.999)}),
    ("Adam", {"betas": (0.9, -0.1)}),
    ("Adam", {"weight_decay": -0.1}),
    ("AdamW", {"lr": float("nan")}),
    ("RMSprop", {"alpha": -0.5}),
    ("RMSprop", {"momentum": -0.5}),
    ("RMSprop", {"eps": -1.0}),
    ("Adagrad", {"lr_decay": -1.0}),
    ("Adagrad", {"initial_accumulator_value": -1.0}),
    ("Adagrad", {"eps": -1.0}),
]


@pytest.mark.parametrize(("name", "options"), INVALID)
def test_invalid_options_raise_like_torch(name: str, options: dict) -> None:
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **options)
    with pytest.raises(ValueError) as mine:
        getattr(optim, name)([minigrad.zeros(1, requires_grad=True)], **options)
    assert str(mine.value) == str(theirs.value)


def test_param_validation() -> None:
    p = minigrad.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.zeros(1)])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2])
    with pytest.raises(ValueError, match="duplicate"):
        optim.SGD([p, p])
    opt = optim.SGD([p])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})


def test_add_param_group_fills_defaults() -> None:
    a = minigrad.tensor([1.0], requires_grad=True)
    b = minigrad.tensor([1.0], requires_grad=True)
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.5})
    assert opt.param_groups[1]["lr"] == 0.5
    assert opt.param_groups[1]["momentum"] == 0.9
    assert opt.param_groups[1]["params"] == [b]


def test_named_parameters_like_torch() -> None:
    a = minigrad.tensor([1.0], requires_grad=True)
    opt = optim.SGD([("weight", a)], lr=0.1)
    assert opt.param_groups[0]["params"] == [a]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight"]


def test_state_dict_is_a_snapshot() -> None:
    p = minigrad.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = minigrad.tensor([1.0, 1.0])
    opt.step()
    saved = opt.state_dict()
    opt.step()
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], [1.0, 1.0])


def test_load_state_dict_accepts_tensors_and_casts_to_param_dtype() -> None:
    p64 = minigrad.tensor(np.ones(2), requires_grad=True)
    opt64 = optim.Adam([p64], lr=0.1)
    p64.grad = minigrad.tensor(np.array([0.5, -0.5]))
    opt64.step()
    saved = opt64.state_dict()
    saved["state"][0]["exp_avg"] = minigrad.tensor(saved["state"][0]["exp_avg"])
    p32 = minigrad.tensor(np.ones(2, np.float32), requires_grad=True)
    opt32 = optim.Adam([p32], lr=0.1)
    opt32.load_state_dict(saved)
    state = opt32.state[p32]
    assert state["step"] == 1.0
    assert state["exp_avg"].dtype == np.float32 and state["exp_avg_sq"].dtype == np.float32


def test_load_state_dict_mismatch_errors() -> None:
    a = minigrad.tensor([1.0], requires_grad=True)
    b = minigrad.tensor([1.0, 2.0], requires_grad=True)
    saved = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD([a], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        optim.SGD([a], lr=0.1).load_state_dict({"state": {}})

    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = minigrad.tensor([1.0]), minigrad.tensor([1.0, 1.0])
    opt.step()
    swapped = optim.SGD([b, a], lr=0.1, momentum=0.9)  # same sizes per group, other shapes
    with pytest.raises(ValueError, match="has shape"):
        swapped.load_state_dict(opt.state_dict())


def test_adagrad_state_exists_before_first_step_like_torch() -> None:
    p_m = minigrad.tensor([1.0, 2.0], requires_grad=True)
    p_t = torch.tensor([1.0, 2.0], requires_grad=True)
    mine = optim.Adagrad([p_m], initial_accumulator_value=0.5).state_dict()
    theirs = torch.optim.Adagrad([p_t], initial_accumulator_value=0.5).state_dict()
    _assert_state_dicts_match(mine, theirs)


def test_repr_lists_groups() -> None:
    text = repr(optim.SGD([minigrad.tensor([1.0], requires_grad=True)], lr=0.25))
    assert text.startswith("SGD (") and "lr: 0.25" in text


def test_accepts_nn_parameters_and_module_parameters() -> None:
    """Parameters from minigrad.nn (a Tensor subclass) train like plain leaf tensors."""
    from minigrad import nn

    w_np = np.array([[0.5, -1.0]])
    w_m = nn.Parameter(minigrad.tensor(w_np))
    w_t = torch.nn.Parameter(torch.tensor(w_np))
    opt_m = optim.RMSprop([w_m], lr=0.01, momentum=0.5)
    opt_t = torch.optim.RMSprop([w_t], lr=0.01, momentum=0.5, foreach=False)
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    for _ in range(5):
        opt_m.zero_grad()
        opt_t.zero_grad()
        (minigrad.tensor(x) @ w_m.T).sum().backward()
        (torch.tensor(x) @ w_t.T).sum().backward()
        opt_m.step()
        opt_t.step()
    _assert_close([w_m], [w_t])


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize(
    "options",
    [{}, {"amsgrad": True, "weight_decay": 0.1}, {"maximize": True, "weight_decay": 0.05}],
    ids=["plain", "amsgrad-wd", "maximize-wd"],
)
def test_update_in_pieces_is_exact(name: str, options: dict, monkeypatch) -> None:
    """A parameter larger than ``PIECE`` elements is updated piece by piece (for the
    cache, ``minigrad/fast/pieces.py::in_pieces``); each element sees the same operations,
    so the result equals the whole-array update bit for bit, and PyTorch's within the
    usual tolerance."""

    rng = np.random.default_rng(0)
    start = rng.standard_normal((301, 250)).astype(np.float32)  # 2 full pieces and a part
    grads = [rng.standard_normal(start.shape).astype(np.float32) for _ in range(4)]

    def run(piece: int) -> np.ndarray:
        monkeypatch.setattr(piece_kernels, "PIECE", piece)
        p = minigrad.tensor(start.copy(), requires_grad=True)
        opt = getattr(optim, name)([p], lr=0.01, **options)
        for g in grads:
            p.grad = minigrad.tensor(g)
            opt.step()
        return p.data

    assert start.size > 2 * piece_kernels.PIECE
    pieces, whole = run(piece_kernels.PIECE), run(start.size + 1)
    np.testing.assert_array_equal(pieces, whole)
    pt = torch.tensor(start.copy(), requires_grad=True)
    opt_t = getattr(torch.optim, name)([pt], lr=0.01, foreach=False, **options)
    for g in grads:
        pt.grad = torch.tensor(g)
        opt_t.step()
    _assert_array_close(pieces, pt.detach().numpy())
