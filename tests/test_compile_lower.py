"""``minigrad.compile``'s lowering (minigrad/compile/lower.py): ops replayed as the NumPy
calls their formulas make. Lowered replays are bit-identical to eager minigrad and to
replays that call every op (which tests/test_compile.py compares with eager on every
workload); results kept from one replay are not changed by the next; a formula that
reads a value into Python, draws random numbers, or writes into an array the trace does
not see keeps its call and stays right when its inputs change."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import Function

codegen = sys.modules["minigrad.compile.codegen"]


def _mlp_step(seed: int = 0):
    mg.manual_seed(seed)
    m = nn.Sequential(nn.Linear(12, 16), nn.Tanh(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4))
    opt = mg.optim.Adam(m.parameters(), lr=1e-2)

    def step(x: mg.Tensor, y: mg.Tensor) -> mg.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(m(x).sigmoid() * 3.0 - 1.0, y)
        loss.backward()
        opt.step()
        return loss

    return m, step


def _batches(n: int = 6):
    rng = np.random.default_rng(1)
    return [
        (
            mg.tensor(rng.standard_normal((10, 12)).astype(np.float32)),
            mg.tensor(rng.integers(0, 4, 10)),
        )
        for _ in range(n)
    ]


def _train(compiled: bool, lower: bool = True):
    prev, codegen.LOWER[0] = codegen.LOWER[0], lower
    try:
        m, step = _mlp_step()
        fn = mg.compile(step) if compiled else step
        kept = [fn(*b) for b in _batches()]
        return kept, [p.data.copy() for p in m.parameters()], fn
    finally:
        codegen.LOWER[0] = prev


def test_lowered_replay_bit_identical_to_eager_and_to_calls() -> None:
    eager, p_eager, _ = _train(False)
    lowered, p_low, fn = _train(True, lower=True)
    called, p_called, fn_called = _train(True, lower=False)
    for a, b, c in zip(eager, lowered, called):
        assert a.data.tobytes() == b.data.tobytes() == c.data.tobytes()
    for a, b, c in zip(p_eager, p_low, p_called):
        assert a.tobytes() == b.tobytes() == c.tobytes()
    entry = next(iter(fn.cache.values()))
    assert entry.replays == 4 and entry.eager_reason is None
    text = fn.explain(file=open("/dev/null", "w"))
    assert "lowered" in text and "= F" not in text.split("index_target")[0]  # the layers
    assert not set(entry.program.not_lowered) & {"Linear", "Tanh", "ReLU", "Sigmoid"}
    assert "lowered" not in fn_called.explain(file=open("/dev/null", "w"))
    # the first loss against PyTorch's, from the same initial weights
    m0, _ = _mlp_step()
    w = [torch.from_numpy(p.data.copy()) for p in m0.parameters()]
    x, y = _batches()[0]
    h = torch.from_numpy(x.data.copy())
    for i in range(0, len(w), 2):
        h = torch.nn.functional.linear(h, w[i], w[i + 1])
        h = torch.tanh(h) if i == 0 else torch.relu(h) if i == 2 else h
    want = torch.nn.functional.cross_entropy(torch.sigmoid(h) * 3.0 - 1.0, torch.from_numpy(y.data))
    torch.testing.assert_close(torch.tensor(float(lowered[0].data)), want, rtol=1e-6, atol=1e-6)


def test_results_kept_from_a_replay_do_not_change_at_the_next() -> None:
    kept, _, fn = _train(True)
    values = [k.data.copy() for k in kept]
    for _ in range(3):
        fn(*_batches()[0])
    for k, v in zip(kept, values):
        assert k.data.tobytes() == v.tobytes()
    assert len({id(k.data) for k in kept}) == len(kept)


class _Branchy(Function):
    """y = 2x if Σx > 0 else -x: the formula reads a value into Python."""

    @staticmethod
    def forward(ctx, x):
        return x * 2.0 if float(x.sum()) > 0 else -x


class _Fresh(Function):
    """y = 2x written into a new array made by ``np.zeros``: made afresh every replay."""

    @staticmethod
    def forward(ctx, x):
        out = np.zeros(x.shape, x.dtype)
        out[...] = x * 2.0
        return out


_BUF = np.zeros(5, np.float32)


class _Hidden(Function):
    """y = x + 1 through a module-level buffer the trace cannot see being written."""

    @staticmethod
    def forward(ctx, x):
        _BUF[...] = x
        return _BUF + np.float32(1)


class _Draw(Function):
    """y = x + noise from NumPy's global generator (not a traced call)."""

    @staticmethod
    def forward(ctx, x):
        return x + np.random.standard_normal(x.shape).astype(x.dtype)


@pytest.mark.parametrize(
    "cls, lowered",
    [(_Branchy, False), (_Fresh, True), (_Hidden, False), (_Draw, False)],
)
def test_formulas_the_trace_cannot_replay_keep_their_call(cls: type, lowered: bool) -> None:
    fn = mg.compile(lambda x: cls.apply(x))
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal(5).astype(np.float32) * (1 if i % 2 else -1) for i in range(6)]
    outs = []
    with mg.no_grad():
        for x in xs:
            np.random.seed(len(outs))
            outs.append(fn(mg.tensor(x)))
    entry = next(iter(fn.cache.values()))
    assert entry.eager_reason is None and entry.replays == 4
    assert (cls.__name__ not in entry.program.not_lowered) == lowered, entry.program.not_lowered
    with mg.no_grad():
        for i, (x, out) in enumerate(zip(xs, outs)):
            np.random.seed(i)
            assert out.data.tobytes() == cls.apply(mg.tensor(x)).data.tobytes()
    if cls is _Fresh:
        assert len({id(o.data) for o in outs}) == len(outs)


def test_dropout_lowered_draws_afresh_in_eager_order() -> None:
    def run(compiled: bool) -> tuple[list, object]:
        mg.manual_seed(3)
        m = nn.Sequential(nn.Linear(6, 32), nn.Dropout(0.5), nn.Linear(32, 2))
        x = mg.randn(8, 6)

        def step() -> mg.Tensor:
            loss = m(x).sum()
            loss.backward()
            return loss

        fn = mg.compile(step) if compiled else step
        return [fn().data.copy() for _ in range(6)], fn

    eager, _ = run(False)
    lowered, fn = run(True)
    assert [a.tobytes() for a in eager] == [b.tobytes() for b in lowered]
    assert len({a.tobytes() for a in lowered}) == len(lowered)  # a new mask every replay
    entry = next(iter(fn.cache.values()))
    assert entry.replays == 4 and "Dropout" not in entry.program.not_lowered
    assert entry.program.stats()["ops_lowered"] == 3  # Linear, Dropout, Linear
