"""minigrad.optim.lr_scheduler against torch.optim.lr_scheduler: equal rate sequences.

Each test builds the same optimizer (two parameter groups with different rates) in both
libraries, attaches the same drawn schedule, steps both ``STEPS`` times and compares the
rates (and, for OneCycleLR, the momentum / beta1) after every step. Midway, the
schedule is checkpointed and resumed into a fresh optimizer and scheduler.
"""

from __future__ import annotations

import math
import types
from typing import Any

import numpy as np
import pytest
import torch
import torch.optim.lr_scheduler as torch_sched
from hypothesis import given
from hypothesis import strategies as st

import minigrad
import minigrad.optim.lr_scheduler as mg_sched
from minigrad import optim

STEPS = 36
CHECKPOINT_AT = 15
LRS = (0.1, 0.05)

_gamma = st.floats(0.05, 1.0)
_factor = st.floats(0.01, 1.0)

# Lambdas shared by both libraries (chosen by index so hypothesis can print them).
LAMBDAS = [
    lambda epoch: 0.95**epoch,
    lambda epoch: 1.0 / (epoch + 1),
    lambda epoch: min(1.0, (epoch + 1) / 7),
]

SPECS: dict[str, Any] = {
    "StepLR": st.fixed_dictionaries(
        {"step_size": st.integers(1, 10), "gamma": _gamma},
    ),
    "MultiStepLR": st.fixed_dictionaries(
        {"milestones": st.lists(st.integers(1, STEPS + 2), max_size=6), "gamma": _gamma},
    ),
    "ExponentialLR": st.fixed_dictionaries({"gamma": st.floats(0.5, 1.0)}),
    "CosineAnnealingLR": st.fixed_dictionaries(
        {"T_max": st.integers(1, 20), "eta_min": st.sampled_from([0.0]) | st.floats(0, 1e-2)},
    ),
    "LambdaLR": st.builds(
        lambda i, j, per_group: {
            "lr_lambda": [LAMBDAS[i], LAMBDAS[j]] if per_group else LAMBDAS[i],
        },
        st.integers(0, len(LAMBDAS) - 1),
        st.integers(0, len(LAMBDAS) - 1),
        st.booleans(),
    ),
    "LinearLR": st.fixed_dictionaries(
        {
            "start_factor": _factor,
            "end_factor": st.floats(0.0, 1.0),
            "total_iters": st.integers(1, STEPS + 5),
        },
    ),
}


@st.composite
def _one_cycle(draw: st.DrawFn) -> dict[str, Any]:
    three_phase = draw(st.booleans())
    total_steps = draw(st.integers(STEPS, 3 * STEPS))
    # Keep every phase at least one step long (a zero-length phase divides by zero).
    pct_start = draw(st.floats(0.1, 0.45) if three_phase else st.floats(0.1, 0.9))
    max_lr = draw(st.floats(0.01, 1.0) | st.tuples(st.floats(0.01, 1.0), st.floats(0.01, 1.0)))
    return {
        "max_lr": list(max_lr) if isinstance(max_lr, tuple) else max_lr,
        "total_steps": total_steps,
        "pct_start": pct_start,
        "anneal_strategy": draw(st.sampled_from(["cos", "linear"])),
        "cycle_momentum": draw(st.booleans()),
        "base_momentum": draw(st.floats(0.5, 0.85)),
        "max_momentum": draw(st.floats(0.85, 0.99)),
        "div_factor": draw(st.floats(2.0, 100.0)),
        "final_div_factor": draw(st.floats(10.0, 1e4)),
        "three_phase": three_phase,
    }


@st.composite
def _sequential(draw: st.DrawFn) -> dict[str, Any]:
    names = ["LinearLR", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR"]
    n = draw(st.integers(1, 3))
    schedulers = [
        (name, draw(SPECS[name]))
        for name in draw(st.lists(st.sampled_from(names), min_size=n, max_size=n))
    ]
    milestones = sorted(draw(st.lists(st.integers(1, STEPS), min_size=n - 1, max_size=n - 1)))
    return {"schedulers": schedulers, "milestones": milestones}


@st.composite
def _cyclic(draw: st.DrawFn) -> dict[str, Any]:
    lr_pair = st.tuples(st.floats(1e-4, 0.05), st.floats(0.05, 1.0))
    base_lr, max_lr = draw(lr_pair)
    if draw(st.booleans()):  # one value per group
        base_lr, max_lr = [base_lr, base_lr / 2], [max_lr, max_lr * 1.5]
    kwargs = {
        "base_lr": base_lr,
        "max_lr": max_lr,
        "step_size_up": draw(st.integers(1, 12)),
        "step_size_down": draw(st.none() | st.integers(1, 12)),
        "mode": draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
        "gamma": draw(st.floats(0.8, 1.0)),
        "cycle_momentum": draw(st.booleans()),
        "base_momentum": draw(st.floats(0.5, 0.85)),
        "max_momentum": draw(st.floats(0.85, 0.99)),
    }
    if draw(st.booleans()):  # a custom scale function, per cycle or per iteration
        kwargs["scale_fn"] = SCALE_FNS[draw(st.integers(0, len(SCALE_FNS) - 1))]
        kwargs["scale_mode"] = draw(st.sampled_from(["cycle", "iterations"]))
    return kwargs


SCALE_FNS = [lambda x: 1.0 / (1.0 + x), lambda x: 0.9**x]

SPECS["PolynomialLR"] = st.fixed_dictionaries(
    {"total_iters": st.integers(1, STEPS + 5), "power": st.floats(0.1, 3.0)}
)
SPECS["CosineAnnealingWarmRestarts"] = st.fixed_dictionaries(
    {
        "T_0": st.integers(1, 12),
        "T_mult": st.integers(1, 3),
        "eta_min": st.sampled_from([0.0]) | st.floats(0, 1e-2),
    }
)
SPECS["CyclicLR"] = _cyclic()
SPECS["ConstantLR"] = st.fixed_dictionaries(
    {"factor": st.floats(0.01, 1.0), "total_iters": st.integers(0, STEPS + 5)}
)
SPECS["MultiplicativeLR"] = SPECS["LambdaLR"]
SPECS["OneCycleLR"] = _one_cycle()
SPECS["SequentialLR"] = _sequential()


@st.composite
def _chained(draw: st.DrawFn) -> dict[str, Any]:
    names = ["StepLR", "ExponentialLR", "MultiStepLR", "PolynomialLR", "ConstantLR"]
    names.append("CosineAnnealingLR")
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3))
    return {"schedulers": [(name, draw(SPECS[name])) for name in chosen]}


SPECS["ChainedScheduler"] = _chained()


def _construct(lib: types.ModuleType, opt: Any, name: str, kwargs: dict[str, Any]) -> Any:
    if name == "SequentialLR":
        subs = [_construct(lib, opt, n, kw) for n, kw in kwargs["schedulers"]]
        return lib.SequentialLR(opt, subs, milestones=kwargs["milestones"])
    if name == "ChainedScheduler":
        subs = [_construct(lib, opt, n, kw) for n, kw in kwargs["schedulers"]]
        return lib.ChainedScheduler(subs, optimizer=opt)
    return getattr(lib, name)(opt, **kwargs)


def _optimizers(opt_name: str) -> tuple[Any, Any]:
    def groups(make: Any) -> list[dict[str, Any]]:
        return [{"params": [make()], "lr": lr} for lr in LRS]

    mine = getattr(optim, opt_name)(groups(lambda: minigrad.zeros(2, requires_grad=True)))
    theirs = getattr(torch.optim, opt_name)(groups(lambda: torch.zeros(2, requires_grad=True)))
    if opt_name == "SGD":  # momentum for OneCycleLR to cycle
        for group in (*mine.param_groups, *theirs.param_groups):
            group["momentum"] = 0.9
    return mine, theirs


def _assert_same(mine: Any, theirs: Any, opt_m: Any, opt_t: Any) -> None:
    np.testing.assert_allclose(mine.get_last_lr(), theirs.get_last_lr(), rtol=1e-12, atol=1e-15)
    for group_m, group_t in zip(opt_m.param_groups, opt_t.param_groups):
        assert math.isclose(group_m["lr"], group_t["lr"], rel_tol=1e-12, abs_tol=1e-15)
        for key in ("momentum", "betas", "initial_lr"):
            if key in group_t:
                np.testing.assert_allclose(group_m[key], group_t[key], rtol=1e-12)


@pytest.mark.parametrize("name", list(SPECS))
@given(data=st.data())
def test_lr_sequence_matches_torch(name: str, data: st.DataObject) -> None:
    kwargs = data.draw(SPECS[name], label="kwargs")
    opt_name = data.draw(st.sampled_from(["SGD", "Adam"]), label="optimizer")
    opt_m, opt_t = _optimizers(opt_name)
    sched_m = _construct(mg_sched, opt_m, name, kwargs)
    sched_t = _construct(torch_sched, opt_t, name, kwargs)
    _assert_same(sched_m, sched_t, opt_m, opt_t)
    for step in range(STEPS):
        opt_m.step()  # no gradients: a no-op, but the order PyTorch expects
        opt_t.step()
        sched_m.step()
        sched_t.step()
        _assert_same(sched_m, sched_t, opt_m, opt_t)
        if step == CHECKPOINT_AT:  # resume into a fresh optimizer and scheduler
            saved_opt, saved_sched = opt_m.state_dict(), sched_m.state_dict()
            opt_m, _ = _optimizers(opt_name)
            sched_m = _construct(mg_sched, opt_m, name, kwargs)
            opt_m.load_state_dict(saved_opt)
            sched_m.load_state_dict(saved_sched)
            _assert_same(sched_m, sched_t, opt_m, opt_t)


def test_initial_lr_is_recorded_and_kept() -> None:
    opt_m, opt_t = _optimizers("SGD")
    for opt in (opt_m, opt_t):
        opt.param_groups[0]["initial_lr"] = 0.5  # as left by an earlier scheduler
    mg_sched.StepLR(opt_m, step_size=2)
    torch_sched.StepLR(opt_t, step_size=2)
    assert [g["initial_lr"] for g in opt_m.param_groups] == [0.5, LRS[1]]
    assert [g["initial_lr"] for g in opt_m.param_groups] == [
        g["initial_lr"] for g in opt_t.param_groups
    ]


def test_resume_with_last_epoch() -> None:
    opt_m, opt_t = _optimizers("SGD")
    with pytest.raises(KeyError, match="initial_lr"):
        mg_sched.ExponentialLR(opt_m, gamma=0.9, last_epoch=4)
    for opt in (opt_m, opt_t):
        for group in opt.param_groups:
            group["initial_lr"] = 1.0
    # Resuming at epoch 4 uses the closed form for the cosine schedule, as PyTorch.
    sched_m = mg_sched.CosineAnnealingLR(opt_m, T_max=10, last_epoch=4)
    sched_t = torch_sched.CosineAnnealingLR(opt_t, T_max=10, last_epoch=4)
    for _ in range(8):
        _assert_same(sched_m, sched_t, opt_m, opt_t)
        sched_m.step()
        sched_t.step()


def test_step_with_epoch_uses_closed_form() -> None:
    opt_m, opt_t = _optimizers("SGD")
    sched_m = mg_sched.StepLR(opt_m, step_size=3, gamma=0.5)
    sched_t = torch_sched.StepLR(opt_t, step_size=3, gamma=0.5)
    with pytest.warns(UserWarning):
        sched_m.step(7)
    with pytest.warns(UserWarning):
        sched_t.step(7)
    _assert_same(sched_m, sched_t, opt_m, opt_t)


def test_lambda_lr_state_dict_keeps_callable_objects_state() -> None:
    class Warmup:
        def __init__(self, n: int) -> None:
            self.n = n

        def __call__(self, epoch: int) -> float:
            return min(1.0, (epoch + 1) / self.n)

    opt_m, _ = _optimizers("SGD")
    saved = mg_sched.LambdaLR(opt_m, [Warmup(5), lambda e: 1.0]).state_dict()
    assert saved["lr_lambdas"] == [{"n": 5}, None]
    fresh = Warmup(99)
    mg_sched.LambdaLR(opt_m, [fresh, lambda e: 1.0]).load_state_dict(saved)
    assert fresh.n == 5


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("LinearLR", {"start_factor": 0.0}),
        ("LinearLR", {"end_factor": 1.5}),
        ("OneCycleLR", {"max_lr": 0.1}),
        ("OneCycleLR", {"max_lr": 0.1, "total_steps": 10, "pct_start": 1}),
        ("OneCycleLR", {"max_lr": 0.1, "total_steps": 10, "anneal_strategy": "exp"}),
        ("OneCycleLR", {"max_lr": [0.1], "total_steps": 10}),
        ("LambdaLR", {"lr_lambda": [LAMBDAS[0]]}),
        ("ConstantLR", {"factor": 1.5}),
        ("ReduceLROnPlateau", {"factor": 1.0}),
        ("ReduceLROnPlateau", {"mode": "lowest"}),
        ("ReduceLROnPlateau", {"threshold_mode": "relative"}),
        ("ReduceLROnPlateau", {"min_lr": [0.0]}),
        ("CosineAnnealingWarmRestarts", {"T_0": 0}),
        ("CosineAnnealingWarmRestarts", {"T_0": 2.5}),
        ("CosineAnnealingWarmRestarts", {"T_0": 2, "T_mult": 0}),
        ("CyclicLR", {"base_lr": 0.1, "max_lr": 1.0, "mode": "sine"}),
        ("CyclicLR", {"base_lr": [0.1], "max_lr": 1.0}),
    ],
)
def test_invalid_arguments_raise_like_torch(name: str, kwargs: dict[str, Any]) -> None:
    opt_m, opt_t = _optimizers("SGD")
    with pytest.raises(ValueError) as theirs:
        getattr(torch_sched, name)(opt_t, **kwargs)
    with pytest.raises(ValueError) as mine:
        getattr(mg_sched, name)(opt_m, **kwargs)
    assert str(mine.value) == str(theirs.value)


def test_one_cycle_past_total_steps_raises() -> None:
    opt_m, _ = _optimizers("SGD")
    sched = mg_sched.OneCycleLR(opt_m, max_lr=0.1, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()


def test_sequential_requires_same_optimizer() -> None:
    opt_a, _ = _optimizers("SGD")
    opt_b, _ = _optimizers("SGD")
    first = mg_sched.LinearLR(opt_a)
    with pytest.raises(ValueError, match="same optimizer"):
        mg_sched.SequentialLR(opt_a, [first, mg_sched.ExponentialLR(opt_b, 0.9)], [3])
    with pytest.raises(ValueError, match="number of milestones"):
        mg_sched.SequentialLR(opt_a, [first], [3])


def test_scheduler_requires_an_optimizer() -> None:
    with pytest.raises(TypeError, match="is not an Optimizer"):
        mg_sched.StepLR(object(), step_size=1)  # type: ignore[arg-type]


@given(data=st.data())
def test_reduce_lr_on_plateau_matches_torch(data: st.DataObject) -> None:
    kwargs = {
        "mode": data.draw(st.sampled_from(["min", "max"])),
        "factor": data.draw(st.floats(0.05, 0.9)),
        "patience": data.draw(st.integers(0, 4)),
        "threshold": data.draw(st.sampled_from([1e-4, 0.0]) | st.floats(0.0, 0.2)),
        "threshold_mode": data.draw(st.sampled_from(["rel", "abs"])),
        "cooldown": data.draw(st.integers(0, 3)),
        "min_lr": data.draw(st.sampled_from([0.0, [1e-3, 0.02]]) | st.floats(0.0, 0.01)),
        "eps": data.draw(st.sampled_from([1e-8, 1e-3])),
    }
    # Few distinct values, so that plateaus and ties (neither better nor worse) occur.
    metrics = data.draw(st.lists(st.sampled_from([1.0, 0.99, 0.9, 0.5, 0.4999]), min_size=STEPS))
    opt_m, opt_t = _optimizers("SGD")
    sched_m = mg_sched.ReduceLROnPlateau(opt_m, **kwargs)
    sched_t = torch_sched.ReduceLROnPlateau(opt_t, **kwargs)
    for step, metric in enumerate(metrics):
        sched_m.step(metric)
        sched_t.step(metric)
        _assert_same(sched_m, sched_t, opt_m, opt_t)
        for key in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch"):
            assert getattr(sched_m, key) == getattr(sched_t, key), key
        if step == CHECKPOINT_AT:
            saved_opt, saved_sched = opt_m.state_dict(), sched_m.state_dict()
            opt_m, _ = _optimizers("SGD")
            sched_m = mg_sched.ReduceLROnPlateau(opt_m, **kwargs)
            opt_m.load_state_dict(saved_opt)
            sched_m.load_state_dict(saved_sched)


@given(
    kwargs=SPECS["CosineAnnealingWarmRestarts"],
    epochs=st.lists(
        st.integers(0, 60) | st.floats(0.0, 60.0) | st.sampled_from([None]), min_size=5
    ),
)
def test_warm_restarts_step_with_epoch_matches_torch(
    kwargs: dict[str, Any], epochs: list[float | None]
) -> None:
    """``step(epoch)`` with whole, fractional (per batch) and omitted epochs."""
    opt_m, opt_t = _optimizers("SGD")
    sched_m = mg_sched.CosineAnnealingWarmRestarts(opt_m, **kwargs)
    sched_t = torch_sched.CosineAnnealingWarmRestarts(opt_t, **kwargs)
    for epoch in epochs:
        sched_m.step(epoch)
        sched_t.step(epoch)
        _assert_same(sched_m, sched_t, opt_m, opt_t)
        assert (sched_m.T_i, sched_m.last_epoch) == (sched_t.T_i, sched_t.last_epoch)
    with pytest.raises(ValueError, match="non-negative epoch"):
        sched_m.step(-1)


def test_chained_scheduler_argument_errors_like_torch() -> None:
    opt_m, opt_t = _optimizers("SGD")
    other_m, other_t = _optimizers("SGD")
    cases = [
        lambda lib, opt, other: lib.ChainedScheduler([]),
        lambda lib, opt, other: lib.ChainedScheduler([lib.ReduceLROnPlateau(opt)]),
        lambda lib, opt, other: lib.ChainedScheduler([lib.StepLR(opt, 2), lib.StepLR(other, 2)]),
    ]
    for case in cases:
        with pytest.raises(ValueError) as theirs:
            case(torch_sched, opt_t, other_t)
        with pytest.raises(ValueError) as mine:
            case(mg_sched, opt_m, other_m)
        assert str(mine.value).split(",")[0] == str(theirs.value).split(",")[0]
