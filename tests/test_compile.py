"""``minigrad.compile``: replays are bit-identical to eager minigrad (which the rest of
the suite compares with PyTorch), on every training workload, over several steps; the
guards record new programs; value reads in Python run eagerly; dropout draws afresh."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.models import GPT2Config, GPT2LMHeadModel

STEPS = 5


def _run_both(make: Callable[[], tuple], batches: list[tuple], steps: int = STEPS) -> tuple:
    """Train the same model eagerly and compiled from the same seed; return both runs'
    (losses, final parameters, compiled function)."""
    runs = []
    for compiled in (False, True):
        mg.manual_seed(0)
        model, step = make()
        fn = mg.compile(step) if compiled else step
        losses = [np.array(fn(*b).data) for b in batches[:steps]]
        runs.append((losses, [p.data.copy() for p in model.parameters()], fn))
    return runs


def _assert_identical(runs: tuple) -> None:
    (l0, p0, _), (l1, p1, fn) = runs
    for a, b in zip(l0, l1):
        assert a.tobytes() == b.tobytes(), (a, b)
    for a, b in zip(p0, p1):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    entry = next(iter(fn.cache.values()))
    assert entry.eager_reason is None, entry.eager_reason
    assert entry.replays == STEPS - 2  # two recordings, then replays


def _data(shape_x: tuple, classes: int, n: int = STEPS, seed: int = 0) -> list[tuple]:
    rng = np.random.default_rng(seed)
    return [
        (
            mg.tensor(rng.standard_normal(shape_x).astype(np.float32)),
            mg.tensor(rng.integers(0, classes, shape_x[0])),
        )
        for _ in range(n)
    ]


def _classifier(model: nn.Module, opt: Any, sched: Any = None, clip: float | None = None):
    def step(x: mg.Tensor, y: mg.Tensor) -> mg.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if sched is not None:
            sched.step()
        return loss

    return model, step


def test_seed_net_sgd_bit_identical() -> None:
    def make():
        m = nn.Sequential(nn.Linear(100, 50), nn.Tanh(), nn.Linear(50, 10))
        return _classifier(m, mg.optim.SGD(m.parameters(), lr=0.1, momentum=0.9))

    _assert_identical(_run_both(make, _data((64, 100), 10)))


@pytest.mark.parametrize("opt_name", ["Adam", "AdamW"])
def test_wide_mlp_adam_scheduler_clipping(opt_name: str) -> None:
    def make():
        m = nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
        )
        opt = getattr(mg.optim, opt_name)(m.parameters(), lr=1e-3, weight_decay=0.01)
        return _classifier(m, opt, mg.optim.lr_scheduler.StepLR(opt, 2, 0.5), clip=0.5)

    _assert_identical(_run_both(make, _data((32, 784), 10)))


def test_small_cnn() -> None:
    def make():
        m = nn.Sequential(
            nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 13 * 13, 10)
        )
        return _classifier(m, mg.optim.Adam(m.parameters(), lr=1e-3))

    _assert_identical(_run_both(make, _data((8, 1, 28, 28), 10)))


def _gpt2(dropout: float = 0.0) -> tuple:
    cfg = GPT2Config(
        vocab_size=97,
        n_positions=32,
        n_embd=32,
        n_layer=2,
        n_head=4,
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
    )
    model = GPT2LMHeadModel(cfg)
    opt = mg.optim.AdamW(model.parameters(), lr=1e-3)
    sched = mg.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))

    def step(ids: mg.Tensor) -> mg.Tensor:
        opt.zero_grad()
        loss = model(ids, labels=ids).loss
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        return loss

    return model, step


def _ids(n: int = STEPS) -> list[tuple]:
    rng = np.random.default_rng(1)
    return [(mg.tensor(rng.integers(0, 97, (2, 16))),) for _ in range(n)]


def test_gpt2_tiny_adamw_scheduler_clipping() -> None:
    _assert_identical(_run_both(_gpt2, _ids()))


def test_dropout_draws_afresh_in_eager_order() -> None:
    runs = _run_both(lambda: _gpt2(dropout=0.2), _ids())
    _assert_identical(runs)
    losses = runs[1][0]
    assert len({float(x) for x in losses}) == len(losses)


def test_inference_under_no_grad_and_explain() -> None:
    mg.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    fn = mg.compile(lambda x: m(x).softmax(-1))
    xs = [mg.randn(4, 6) for _ in range(4)]
    with mg.no_grad():
        outs = [fn(x).data for x in xs]
    want = torch.nn.functional.softmax(torch.from_numpy(m(xs[-1]).data.copy()), -1).numpy()
    np.testing.assert_allclose(outs[-1], want, rtol=1e-6)
    with mg.no_grad():
        assert all(np.array_equal(o, m(x).softmax(-1).data) for o, x in zip(outs, xs))
    text = fn.explain(file=open("/dev/null", "w"))
    assert "Linear.forward -> (4, 5) float32" in text and "(2 replays)" in text


def test_shape_dtype_grad_mode_guards_and_cache_limit() -> None:
    m = nn.Linear(3, 2)
    fn = mg.compile(lambda x: m(x).sum(), cache_size=2)
    for shape in [(4, 3), (4, 3), (5, 3), (5, 3), (4, 3), (6, 3)]:
        with mg.no_grad():
            out = fn(mg.randn(*shape))
        assert out.shape == ()
    assert len(fn.cache) == 2  # (4,3) and (6,3) kept, (5,3) evicted
    with mg.no_grad():
        x = mg.randn(4, 3, dtype=mg.float64)
        m.double()
        assert fn(x).dtype == np.float64
    assert len(fn.cache) == 2


def test_parameter_guard_records_anew() -> None:
    m = nn.Linear(3, 2)
    fn = mg.compile(lambda x: m(x).sum())
    x = mg.randn(4, 3)
    with mg.no_grad():
        for _ in range(3):
            fn(x)
        m.weight = nn.Parameter(mg.randn(2, 3, dtype=mg.float64).float())
        m.weight.data = m.weight.data[:, :2].copy()  # a new shape: the guard fails
        with pytest.raises(RuntimeError):
            fn(x)  # eager (a recording) gives PyTorch's shape error


def test_module_mode_guard() -> None:
    mg.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    fn = mg.compile(lambda x: m(x))
    x = mg.ones(3, 4)
    with mg.no_grad():
        for _ in range(3):
            fn(x)
        m.eval()
        assert np.array_equal(fn(x).data, m(x).data)  # dropout off: no stale program


def test_value_read_runs_eagerly_with_reason() -> None:
    m = nn.Linear(3, 1)

    def f(x: mg.Tensor) -> mg.Tensor:
        y = m(x).sum()
        return y * 2 if y.item() > 0 else y * -1  # a branch on a value

    fn = mg.compile(f)
    with warnings.catch_warnings(record=True) as caught, mg.no_grad():
        warnings.simplefilter("always")
        xs = [mg.ones(2, 3), -mg.ones(2, 3), mg.ones(2, 3) * 3, -mg.ones(2, 3)]
        got = [fn(x).data for x in xs]
        want = [f(x).data for x in xs]
    assert all(np.array_equal(a, b) for a, b in zip(got, want))
    assert any("Tensor.item()" in str(w.message) for w in caught)
    assert "runs eagerly: Tensor.item()" in fn.explain(file=open("/dev/null", "w"))


def test_value_made_outside_ops_is_refused() -> None:
    def f(x: mg.Tensor) -> mg.Tensor:
        return x * mg.tensor(x.data.sum())  # a constant computed by hand from x

    fn = mg.compile(f, warn=False)
    xs = [mg.randn(3) for _ in range(4)]
    assert all(np.array_equal(fn(x).data, f(x).data) for x in xs)
    assert next(iter(fn.cache.values())).eager_reason is not None


def test_result_with_graph_and_inplace_run_eagerly() -> None:
    w = mg.randn(3, requires_grad=True)
    fn = mg.compile(lambda x: (x * w).sum(), warn=False)
    for _ in range(3):
        fn(mg.ones(3)).backward()  # the graph is used outside: must stay eager
    assert np.array_equal(w.grad.data, 3 * np.ones(3, np.float32))

    def g(x: mg.Tensor) -> mg.Tensor:
        y = x * 2
        y.add_(1)
        return y

    fg = mg.compile(g, warn=False)
    assert all(np.array_equal(fg(mg.ones(2) * i).data, g(mg.ones(2) * i).data) for i in range(4))
    assert "in-place" in next(iter(fg.cache.values())).eager_reason


def test_decorator_forms_and_reference_mode() -> None:
    @mg.compile
    def f(x: mg.Tensor) -> mg.Tensor:
        return x * 2

    @mg.compile(cache_size=1)
    def g(x: mg.Tensor) -> mg.Tensor:
        return x + 1

    assert f(mg.ones(2)).tolist() == [2.0, 2.0] and g(mg.ones(2)).tolist() == [2.0, 2.0]
    mg.set_reference_mode(True)
    try:
        assert f(mg.ones(2)).tolist() == [2.0, 2.0]
    finally:
        mg.set_reference_mode(False)


def test_grad_reset_in_body_is_replayed_and_grad_read_is_eager() -> None:
    x = mg.randn(16, requires_grad=True)

    def step() -> None:
        x.grad = None  # replayed: no accumulation across calls
        (x * 0.9 + 0.1).tanh().sin().sum().backward()

    fn = mg.compile(step)
    for _ in range(4):
        fn()
    want = x.grad.data.copy()
    step()
    assert np.array_equal(x.grad.data, want)
    assert next(iter(fn.cache.values())).replays == 2

    def manual() -> None:
        (x * 2).sum().backward()
        x.grad.data[:] = 0  # reads .grad: stays eager

    fm = mg.compile(manual, warn=False)
    for _ in range(3):
        fm()
    assert ".grad" in next(iter(fm.cache.values())).eager_reason


def test_optimizer_option_guard() -> None:
    m = nn.Linear(3, 2)
    opt = mg.optim.SGD(m.parameters(), lr=0.1)
    x = mg.randn(4, 3)

    def step() -> None:
        opt.zero_grad()
        m(x).sum().backward()
        opt.step()

    fn = mg.compile(step)
    for _ in range(3):
        fn()
    entry = next(iter(fn.cache.values()))
    assert entry.replays == 1
    opt.param_groups[0]["lr"] = 0.05  # read live: the same program
    fn()
    assert entry.replays == 2
    opt.param_groups[0]["momentum"] = 0.9  # an option: recorded anew
    w0 = m.weight.data.copy()
    fn()
    assert entry.replays == 2 and entry.run is None
    assert not np.array_equal(w0, m.weight.data)


def test_rebound_closure_name_records_anew() -> None:
    w = mg.randn(3, requires_grad=True)
    x = mg.ones(3)

    def step() -> mg.Tensor:
        w.grad = None
        loss = (x * w).sum()
        loss.backward()
        return loss

    fn = mg.compile(step)
    for _ in range(3):
        fn()
    x = mg.ones(3) * 2  # a new batch bound to the same name: not a stale replay
    fn()
    assert np.array_equal(w.grad.data, np.full(3, 2, np.float32))


def test_random_tensor_in_body_is_drawn_afresh() -> None:
    w = mg.ones(4, requires_grad=True)

    def step() -> mg.Tensor:
        w.grad = None
        noise = mg.randn(4)
        loss = (w * noise).sum()
        loss.backward()
        return loss

    fn = mg.compile(step)
    mg.manual_seed(3)
    got = [fn().data.copy() for _ in range(5)] + [w.grad.data.copy()]
    mg.manual_seed(3)
    want = [step().data.copy() for _ in range(5)] + [w.grad.data.copy()]
    assert all(a.tobytes() == b.tobytes() for a, b in zip(got, want))
    assert next(iter(fn.cache.values())).replays == 3
