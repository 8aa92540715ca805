"""RNN, LSTM, GRU, their cells and packed sequences against torch.nn.

Each test builds both layers, copies the weights (minigrad -> torch or torch -> minigrad),
runs the same input (padded, unbatched or packed, with or without initial states), and
compares every output, the input and initial-state gradients and every parameter gradient
(``nn_helpers.compare_module``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from nn_helpers import TORCH_DTYPE, assert_close, compare_module

import minigrad
from minigrad import nn
from minigrad.nn.utils import rnn as mrnn

tpack = torch.nn.utils.rnn
dtypes = st.sampled_from([np.float64, np.float32])
directions = st.sampled_from(["mg->torch", "torch->mg"])
CLASSES = {
    "RNN": (nn.RNN, torch.nn.RNN),
    "LSTM": (nn.LSTM, torch.nn.LSTM),
    "GRU": (nn.GRU, torch.nn.GRU),
}


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [o for item in out for o in _flat(item)]
    return [out]


def _data(seed, shape, dtype):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@st.composite
def rnn_case(draw):
    kind = draw(st.sampled_from(list(CLASSES)))
    hidden = draw(st.integers(2, 4))
    kw = dict(
        num_layers=draw(st.integers(1, 2)),
        bias=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bidirectional=draw(st.booleans()),
    )
    if kind == "RNN":
        kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    if kind == "LSTM" and draw(st.booleans()):
        kw["proj_size"] = draw(st.integers(1, hidden - 1))
    return kind, draw(st.integers(1, 3)), hidden, kw


def _state_shapes(kind, hidden, kw, batch):
    layers = kw["num_layers"] * (2 if kw["bidirectional"] else 1)
    h = (layers, *batch, kw.get("proj_size", 0) or hidden)
    return [h, (layers, *batch, hidden)] if kind == "LSTM" else [h]


@given(
    rnn_case(),
    st.integers(1, 4),
    st.sampled_from([(), (1,), (3,)]),
    st.booleans(),
    dtypes,
    directions,
    st.integers(0, 99),
)
def test_recurrent_layer_matches_torch(case, steps, batch, with_h0, dtype, direction, seed):
    kind, in_size, hidden, kw = case
    mg_cls, t_cls = CLASSES[kind]
    m = mg_cls(in_size, hidden, dtype=dtype, **kw)
    t = t_cls(in_size, hidden, dtype=TORCH_DTYPE[dtype], **kw)
    shape = (
        (steps, in_size)
        if not batch
        else ((batch[0], steps, in_size) if kw["batch_first"] else (steps, batch[0], in_size))
    )
    inputs = [_data(seed, shape, dtype)]
    if with_h0:
        inputs += [
            _data(seed + i + 1, s, dtype)
            for i, s in enumerate(_state_shapes(kind, hidden, kw, batch))
        ]

    def call(mod, xs):
        if len(xs) == 1:
            return _flat(mod(xs[0]))
        return _flat(mod(xs[0], tuple(xs[1:]) if kind == "LSTM" else xs[1]))

    compare_module(m, t, inputs, dtype, direction, seed, call)


@st.composite
def packed_case(draw):
    kind, in_size, hidden, kw = draw(rnn_case())
    lengths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    sort = draw(st.booleans())
    if sort:
        lengths = sorted(lengths, reverse=True)
    return kind, in_size, hidden, kw, lengths, sort


@given(packed_case(), st.booleans(), dtypes, directions, st.integers(0, 99))
def test_packed_sequence_matches_torch(case, with_h0, dtype, direction, seed):
    """Variable lengths: the packed output (unpacked again) and the final states of every
    sequence, in the caller's batch order, with their gradients."""
    kind, in_size, hidden, kw, lengths, enforce = case
    mg_cls, t_cls = CLASSES[kind]
    m = mg_cls(in_size, hidden, dtype=dtype, **kw)
    t = t_cls(in_size, hidden, dtype=TORCH_DTYPE[dtype], **kw)
    batch_first = kw["batch_first"]
    b, steps = len(lengths), max(lengths)
    shape = (b, steps, in_size) if batch_first else (steps, b, in_size)
    inputs = [_data(seed, shape, dtype)]
    if with_h0:
        inputs += [
            _data(seed + i + 1, s, dtype)
            for i, s in enumerate(_state_shapes(kind, hidden, kw, (b,)))
        ]

    def call(mod, xs):
        lib = mrnn if isinstance(mod, nn.Module) else tpack
        packed = lib.pack_padded_sequence(xs[0], lengths, batch_first, enforce_sorted=enforce)
        hx = None if len(xs) == 1 else (tuple(xs[1:]) if kind == "LSTM" else xs[1])
        out, state = mod(packed, hx)
        assert isinstance(out, lib.PackedSequence)
        padded, lens = lib.pad_packed_sequence(out, batch_first)
        assert list(lens.tolist()) == lengths
        return [padded, *_flat(state)]

    compare_module(m, t, inputs, dtype, direction, seed, call)


@given(
    st.lists(st.integers(1, 5), min_size=1, max_size=5),
    st.booleans(),
    st.booleans(),
    st.sampled_from([0.0, -1.5]),
    st.integers(0, 99),
)
def test_pack_and_pad_match_torch(lengths, batch_first, sort, value, seed):
    """pad_sequence, pack_sequence, pack_padded_sequence and pad_packed_sequence: the same
    data, batch_sizes and indices as PyTorch's (distinct lengths, so the sort is unique),
    and the same gradients through a pack-unpack round trip."""
    if sort:
        lengths = sorted(lengths, reverse=True)
    seqs = [_data(seed + i, (n, 2), np.float64) for i, n in enumerate(lengths)]
    ms = [minigrad.tensor(s, requires_grad=True) for s in seqs]
    ts = [torch.tensor(s, requires_grad=True) for s in seqs]
    mp, tp = mrnn.pad_sequence(ms, batch_first, value), tpack.pad_sequence(ts, batch_first, value)
    assert_close(mp, tp)
    left_m = mrnn.pad_sequence(ms, batch_first, value, padding_side="left")
    assert_close(left_m, tpack.pad_sequence(ts, batch_first, value, padding_side="left"))
    mk = mrnn.pack_padded_sequence(mp, lengths, batch_first, enforce_sorted=sort)
    tk = tpack.pack_padded_sequence(tp, lengths, batch_first, enforce_sorted=sort)
    assert mk.batch_sizes.tolist() == tk.batch_sizes.tolist()
    if len(set(lengths)) == len(lengths):  # ties may be ordered differently
        assert_close(mk.data, tk.data)
        for a, e in (
            (mk.sorted_indices, tk.sorted_indices),
            (mk.unsorted_indices, tk.unsorted_indices),
        ):
            assert (a is None) == (e is None)
            if e is not None:
                assert a.tolist() == e.tolist()
    total = max(lengths) + 1
    mo, ml = mrnn.pad_packed_sequence(mk, batch_first, value, total_length=total)
    to, tl = tpack.pad_packed_sequence(tk, batch_first, value, total_length=total)
    assert_close(mo, to)
    assert ml.tolist() == tl.tolist()
    g = _data(seed, to.shape, np.float64)
    (mo * minigrad.tensor(g)).sum().backward()
    (to * torch.tensor(g)).sum().backward()
    for a, e in zip(ms, ts):
        assert_close(a.grad, e.grad, what="gradient through pack/pad")
    if sort:
        assert_close(mrnn.pack_sequence(ms).data, tpack.pack_sequence(ts).data)


CELLS = {
    "RNNCell": (nn.RNNCell, torch.nn.RNNCell),
    "LSTMCell": (nn.LSTMCell, torch.nn.LSTMCell),
    "GRUCell": (nn.GRUCell, torch.nn.GRUCell),
}


@given(
    st.sampled_from(list(CELLS)),
    st.integers(1, 4),
    st.integers(1, 4),
    st.booleans(),
    st.sampled_from([(), (1,), (3,)]),
    st.booleans(),
    st.sampled_from(["tanh", "relu"]),
    dtypes,
    directions,
    st.integers(0, 99),
)
def test_cell_matches_torch(
    kind, in_size, hidden, bias, batch, with_h0, act, dtype, direction, seed
):
    mg_cls, t_cls = CELLS[kind]
    kw = {"bias": bias, **({"nonlinearity": act} if kind == "RNNCell" else {})}
    m = mg_cls(in_size, hidden, dtype=dtype, **kw)
    t = t_cls(in_size, hidden, dtype=TORCH_DTYPE[dtype], **kw)
    inputs = [_data(seed, (*batch, in_size), dtype)]
    if with_h0:
        inputs += [
            _data(seed + i + 1, (*batch, hidden), dtype)
            for i in range(2 if kind == "LSTMCell" else 1)
        ]

    def call(mod, xs):
        if len(xs) == 1:
            return _flat(mod(xs[0]))
        return _flat(mod(xs[0], tuple(xs[1:]) if kind == "LSTMCell" else xs[1]))

    compare_module(m, t, inputs, dtype, direction, seed, call)


@pytest.mark.parametrize("kind", list(CLASSES))
def test_dropout_between_layers(kind):
    """p = 1 zeroes the first layer's output in training, deterministically: the second
    layer then sees zeros in both libraries. In eval mode dropout is off."""
    mg_cls, t_cls = CLASSES[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = mg_cls(3, 4, num_layers=2, dropout=1.0, dtype=np.float64)
    t = t_cls(3, 4, num_layers=2, dropout=1.0, dtype=torch.float64)
    x = _data(0, (5, 2, 3), np.float64)
    compare_module(m, t, [x], call=lambda mod, xs: _flat(mod(xs[0])))
    m.eval(), t.eval()
    compare_module(m, t, [x], direction="torch->mg", call=lambda mod, xs: _flat(mod(xs[0])))
    m.train()
    m.dropout = 0.5
    a, b = m(minigrad.tensor(x))[0], m(minigrad.tensor(x))[0]
    assert not np.allclose(a.data, b.data), "dropout between layers should be random in training"


@pytest.mark.parametrize("kind", [*CLASSES, *CELLS])
def test_initialisation_and_names(kind):
    """PyTorch's parameter names and shapes, every parameter within ±1/√H and spread over it."""
    mg_cls, t_cls = {**CLASSES, **CELLS}[kind]
    kw = {} if "Cell" in kind else {"num_layers": 2, "bidirectional": True}
    if kind == "LSTM":
        kw["proj_size"] = 3
    minigrad.manual_seed(0)
    m, t = mg_cls(5, 20, **kw), t_cls(5, 20, **kw)
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == {
        k: tuple(v.shape) for k, v in t.state_dict().items()
    }
    assert repr(m) == repr(t)
    bound = 1 / math.sqrt(20)
    for name, p in m.named_parameters():
        assert np.abs(p.data).max() <= bound, name
        assert np.abs(p.data).max() > 0.5 * bound, name  # ≥ 20 draws: fails w.p. < 1e-6


def test_relu_rnn_warns_for_dropout_with_one_layer():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(2, 3, dropout=0.2)
