"""Recurrent layers as compositions of recorded ops (linear, sigmoid, tanh, cat, slicing):
the engine differentiates the unrolled loop, so backpropagation through time needs no
code of its own.

One step of each cell, with x the input and h (and c) the state (PyTorch's gate order):

    RNN:   h' = act(W_ih x + b_ih + W_hh h + b_hh)                 act = tanh or relu
    LSTM:  [i, f, g, o] = W_ih x + b_ih + W_hh h + b_hh           (four chunks of H)
           c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g),   h' = σ(o) ⊙ tanh(c')  (h' = W_hr h' with proj_size)
    GRU:   [r_i, z_i, n_i] = W_ih x + b_ih,   [r_h, z_h, n_h] = W_hh h + b_hh
           r = σ(r_i + r_h),   z = σ(z_i + z_h),   n = tanh(n_i + r ⊙ n_h)
           h' = n + z ⊙ (h - n)                                      (= (1 - z) n + z h)

Note that the GRU's reset gate multiplies (W_hn h + b_hn), bias included, as PyTorch.

The input projections W_ih x + b_ih of all time steps are one matrix product up front;
only the W_hh h products run step by step. A sequence is handled as PyTorch's packed
layout: the time steps' rows one after another (``batch_sizes[t]`` rows at step t, the
batch sorted by decreasing length), so padded and packed inputs take the same path. At
step t the forward direction carries on with the first ``batch_sizes[t]`` states (the
others are final); the reverse direction runs t = T-1 .. 0 and starts each sequence from
its initial state at its last element.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from minigrad import ops
from minigrad.nn.functional.misc import dropout, linear
from minigrad.tensor import Tensor

State = tuple[Tensor, ...]


def rnn_step(gi: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None, act: Callable) -> State:
    """h' = act(gi + W_hh h + b_hh), gi = W_ih x + b_ih."""
    return (act(gi + linear(state[0], w_hh, b_hh)),)


def lstm_step(
    gi: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None
) -> State:
    """(h', c') of one LSTM step from gi = W_ih x + b_ih (gates i, f, g, o)."""
    h, c = state
    gates = gi + linear(h, w_hh, b_hh)
    n = gates.shape[1] // 4
    sig = ops.sigmoid(gates)  # one node for σ(i), σ(f), σ(o) (σ(g) is not used)
    i, f, o = sig[:, :n], sig[:, n : 2 * n], sig[:, 3 * n :]
    c = f * c + i * ops.tanh(gates[:, 2 * n : 3 * n])
    h = o * ops.tanh(c)
    if w_hr is not None:
        h = linear(h, w_hr)
    return h, c


def gru_step(gi: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None) -> State:
    """h' of one GRU step from gi = W_ih x + b_ih (gates r, z, n)."""
    h = state[0]
    gh = linear(h, w_hh, b_hh)
    k = gh.shape[1] // 3
    rz = ops.sigmoid(gi[:, : 2 * k] + gh[:, : 2 * k])  # r and z in one node
    r, z = rz[:, :k], rz[:, k:]
    n = ops.tanh(gi[:, 2 * k :] + r * gh[:, 2 * k :])
    return (n + z * (h - n),)


def make_step(mode: str, weights: Sequence[Tensor | None]) -> Callable[[Tensor, State], State]:
    """The step function of ``mode`` (RNN_TANH, RNN_RELU, LSTM, GRU) closed over
    (w_hh, b_hh, w_hr) of one layer and direction."""
    w_hh, b_hh, w_hr = weights
    if mode == "LSTM":
        return lambda gi, s: lstm_step(gi, s, w_hh, b_hh, w_hr)
    if mode == "GRU":
        return lambda gi, s: gru_step(gi, s, w_hh, b_hh)
    act = ops.tanh if mode == "RNN_TANH" else ops.relu
    return lambda gi, s: rnn_step(gi, s, w_hh, b_hh, act)


def _cat0(parts: list[Tensor]) -> Tensor:
    return parts[0] if len(parts) == 1 else ops.cat(parts, 0)


def run_direction(
    step: Callable[[Tensor, State], State],
    gi: list[Tensor],
    batch_sizes: Sequence[int],
    state0: State,
    reverse: bool,
) -> tuple[list[Tensor], State]:
    """Run one direction over the steps' input projections ``gi[t]`` (batch_sizes[t]
    rows each); returns the per-step outputs h_t and the final state of every sequence
    (rows in the packed order)."""
    steps = len(gi)
    outputs: list[Tensor] = [None] * steps  # type: ignore[list-item]
    full = state0[0].shape[0]
    if not reverse:
        state, done = state0, []
        for t in range(steps):
            bs = batch_sizes[t]
            if bs < state[0].shape[0]:  # rows bs.. ended at step t-1: their state is final
                done.append(tuple(s[bs:] for s in state))
                state = tuple(s[:bs] for s in state)
            state = step(gi[t], state)
            outputs[t] = state[0]
        done.append(state)
        final = tuple(_cat0([d[k] for d in reversed(done)]) for k in range(len(state)))
        return outputs, final
    last = batch_sizes[steps - 1]
    state = state0 if last == full else tuple(s[:last] for s in state0)
    for t in reversed(range(steps)):
        bs, have = batch_sizes[t], state[0].shape[0]
        if bs > have:  # rows have..bs start here (their last element) from the initial state
            state = tuple(ops.cat([s, s0[have:bs]], 0) for s, s0 in zip(state, state0))
        state = step(gi[t], state)
        outputs[t] = state[0]
    return outputs, state


def rnn_forward(
    mode: str,
    data: Tensor,
    batch_sizes: Sequence[int],
    hx: State,
    weights: Sequence[Sequence[Tensor | None]],
    num_layers: int,
    bidirectional: bool,
    p: float,
    training: bool,
) -> tuple[Tensor, State]:
    """The stacked (and bidirectional) recurrence over packed ``data`` (Σ batch_sizes, F).

    ``hx``: the initial states, each (num_layers·D, B, *) in packed row order;
    ``weights[l·D + d]`` = (w_ih, w_hh, b_ih, b_hh, w_hr) of layer l, direction d.
    Returns the last layer's outputs (Σ batch_sizes, D·H_out) and the final states
    stacked as ``hx``. Dropout with probability p is applied to every layer's output
    but the last's (in training)."""
    dirs = 2 if bidirectional else 1
    finals: list[State] = []
    layer_input = data
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            w_ih, w_hh, b_ih, b_hh, w_hr = weights[k]
            gi = ops.split(linear(layer_input, w_ih, b_ih), list(batch_sizes), 0)
            step = make_step(mode, (w_hh, b_hh, w_hr))
            h_steps, final = run_direction(step, gi, batch_sizes, tuple(s[k] for s in hx), d == 1)
            outs.append(_cat0(h_steps))
            finals.append(final)
        layer_input = outs[0] if dirs == 1 else ops.cat(outs, 1)
        if p > 0 and training and layer < num_layers - 1:
            layer_input = dropout(layer_input, p, True)
    states = tuple(ops.stack([f[i] for f in finals], 0) for i in range(len(hx)))
    return layer_input, states
