"""RNN, LSTM and GRU (stacked, bidirectional, packed or padded input) and their cells,
with PyTorch's parameter names, shapes, gate order and initialisation, so a state dict
moves between the two libraries. The math is in ``minigrad/nn/functional/rnn.py``.

Parameters of layer k (suffix ``_reverse`` for the backward direction), G gates:

    weight_ih_l{k}  (G·H, in_k)     weight_hh_l{k}  (G·H, H_out)
    bias_ih_l{k}    (G·H,)          bias_hh_l{k}    (G·H,)
    weight_hr_l{k}  (proj_size, H)  (LSTM with proj_size > 0 only; then H_out = proj_size)

with G = 1 (RNN), 3 (GRU: r, z, n), 4 (LSTM: i, f, g, o); in_0 = input_size and
in_k = D·H_out above (D = 2 if bidirectional). Every parameter starts U(-1/√H, 1/√H).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

from minigrad import ops
from minigrad.creation import zeros
from minigrad.nn import init
from minigrad.nn.functional._util import check_same_dtype, float_input
from minigrad.nn.functional.misc import linear
from minigrad.nn.functional.rnn import make_step, rnn_forward
from minigrad.nn.modules.module import Module, empty_parameter
from minigrad.nn.utils.rnn import PackedSequence
from minigrad.tensor import Tensor

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _reset_uniform(module: Module, hidden_size: int) -> None:
    """PyTorch's init of every recurrent parameter: U(-1/√H, 1/√H)."""
    stdv = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for p in module.parameters():
        init.uniform_(p, -stdv, stdv)


def _check_nonlinearity(nonlinearity: str) -> None:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")


def _index_hidden(hx: Tensor, index: Tensor | None) -> Tensor:
    return hx if index is None else ops.index_select(hx, 1, index)


class RNNBase(Module):
    """The shared machinery of RNN, LSTM and GRU (``mode``: RNN_TANH, RNN_RELU, LSTM,
    GRU). Inputs are (T, B, input_size), (B, T, input_size) with ``batch_first``,
    unbatched (T, input_size), or a :class:`~minigrad.nn.utils.rnn.PackedSequence`."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        if (
            not isinstance(dropout, numbers.Number)
            or isinstance(dropout, bool)
            or not 0 <= dropout <= 1
        ):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of "
                "an element being zeroed"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                "dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={num_layers}",
                stacklevel=2,
            )
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        dirs = 2 if bidirectional else 1
        gate = _GATES[mode] * hidden_size
        h_out = proj_size or hidden_size
        self._flat_weights_names: list[list[str]] = []
        for layer in range(num_layers):
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                in_k = input_size if layer == 0 else h_out * dirs
                shapes = {f"weight_ih{sfx}": (gate, in_k), f"weight_hh{sfx}": (gate, h_out)}
                if bias:
                    shapes.update({f"bias_ih{sfx}": (gate,), f"bias_hh{sfx}": (gate,)})
                if proj_size:
                    shapes[f"weight_hr{sfx}"] = (proj_size, hidden_size)
                for name, shape in shapes.items():
                    setattr(self, name, empty_parameter(shape, device, dtype))
                self._flat_weights_names.append(list(shapes))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """A no-op (PyTorch packs the weights for cuDNN here)."""

    @property
    def all_weights(self) -> list[list[Tensor]]:
        return [[getattr(self, n) for n in names] for names in self._flat_weights_names]

    def _weights(self) -> list[tuple[Tensor | None, ...]]:
        out = []
        for names in self._flat_weights_names:
            sfx = names[0][len("weight_ih") :]
            out.append(
                tuple(
                    getattr(self, f"{kind}{sfx}", None)
                    for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
                )
            )
        return out

    def _state_shapes(self, batch: int) -> list[tuple[int, ...]]:
        layers = self.num_layers * (2 if self.bidirectional else 1)
        shapes = [(layers, batch, self.proj_size or self.hidden_size)]
        if self.mode == "LSTM":
            shapes.append((layers, batch, self.hidden_size))
        return shapes

    def _check_input(self, x: Tensor, expected_dim: int) -> None:
        name = type(self).__name__
        if x.ndim != expected_dim:
            raise RuntimeError(f"{name}: input must have {expected_dim} dimensions, got {x.ndim}")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{name}: input.size(-1) must be equal to input_size. Expected "
                f"{self.input_size}, got {x.shape[-1]}"
            )
        check_same_dtype(name, x, self.weight_ih_l0)

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        name, lstm = type(self).__name__, self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        if packed:
            data = float_input(input.data, name)
            self._check_input(data, 2)
            batch_sizes = [int(b) for b in input.batch_sizes.data]
            batch, sorted_idx, batched = batch_sizes[0], input.sorted_indices, True
        else:
            x = float_input(input, name)
            if x.ndim not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {x.ndim}D instead")
            batched, sorted_idx = x.ndim == 3, None
            if not batched:
                x = ops.unsqueeze(x, 1)
            elif self.batch_first:
                x = ops.transpose(x, 0, 1)
            self._check_input(x, 3)
            steps, batch = x.shape[0], x.shape[1]
            data, batch_sizes = ops.reshape(x, (steps * batch, x.shape[2])), [batch] * steps
        states = self._initial_states(hx, batch, batched, lstm, data)
        states = tuple(_index_hidden(s, sorted_idx) for s in states)
        out, final = rnn_forward(
            self.mode,
            data,
            batch_sizes,
            states,
            self._weights(),
            self.num_layers,
            self.bidirectional,
            self.dropout,
            self.training,
        )
        if packed:
            final = tuple(_index_hidden(s, input.unsorted_indices) for s in final)
            output: Any = input._replace_data(out)
        else:
            output = ops.reshape(out, (len(batch_sizes), batch, out.shape[-1]))
            if not batched:
                output = ops.squeeze(output, 1)
                final = tuple(ops.squeeze(s, 1) for s in final)
            elif self.batch_first:
                output = ops.transpose(output, 0, 1)
        return output, (final if lstm else final[0])

    def _initial_states(
        self, hx: Any, batch: int, batched: bool, lstm: bool, data: Tensor
    ) -> tuple[Tensor, ...]:
        name = type(self).__name__
        shapes = self._state_shapes(batch)
        if hx is None:
            return tuple(zeros(s, dtype=data.dtype) for s in shapes)
        given = tuple(hx) if lstm else (hx,)
        if len(given) != len(shapes):
            raise RuntimeError(f"{name}: expected hx to be a tuple (h_0, c_0), got {hx!r}")
        want = 3 if batched else 2
        if any(s.ndim != want for s in given):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            dims = ", ".join(f"{s.ndim}-D" for s in given)
            raise RuntimeError(f"{name}: For {kind} input, hx should also be {want}-D, got {dims}")
        if not batched:
            given = tuple(ops.unsqueeze(s, 1) for s in given)
        for i, (s, shape) in enumerate(zip(given, shapes)):
            if s.shape != shape:
                which = f"hidden[{i}]" if lstm else "hidden"
                raise RuntimeError(f"{name}: Expected {which} size {shape}, got {list(s.shape)}")
            check_same_dtype(name, data, s)
        return given

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act = tanh or relu
    (``nonlinearity``). ``forward(input, h_0=None)`` returns (output, h_n): output holds
    the last layer's h_t for every t (both directions side by side), h_n
    (num_layers·D, B, H) the final states."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        _check_nonlinearity(nonlinearity)
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )
        self.nonlinearity = nonlinearity

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity}"


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, g, o = chunks of W_ih x + b_ih + W_hh h + b_hh;
    c' = σ(f)c + σ(i)tanh(g), h' = σ(o)tanh(c') (then W_hr h' with ``proj_size``).
    ``forward(input, (h_0, c_0)=None)`` returns (output, (h_n, c_n))."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit: r, z = σ(...), n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),
    h' = (1 - z) n + z h. ``forward(input, h_0=None)`` returns (output, h_n)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


class RNNCellBase(Module):
    """One step of a recurrent layer on (B, input_size) or unbatched (input_size,)
    input; parameters weight_ih (G·H, in), weight_hh (G·H, H), bias_ih, bias_hh."""

    _mode = "RNN_TANH"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gate = _GATES[self._mode] * hidden_size
        self.weight_ih = empty_parameter((gate, input_size), device, dtype)
        self.weight_hh = empty_parameter((gate, hidden_size), device, dtype)
        if bias:
            self.bias_ih = empty_parameter((gate,), device, dtype)
            self.bias_hh = empty_parameter((gate,), device, dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_uniform(self, self.hidden_size)

    def _step(self, input: Tensor, hx: Any) -> tuple[tuple[Tensor, ...], bool]:
        name, lstm = type(self).__name__, self._mode == "LSTM"
        x = float_input(input, name)
        if x.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {x.ndim}D instead")
        batched = x.ndim == 2
        if not batched:
            x = ops.unsqueeze(x, 0)
        if x.shape[1] != self.input_size:
            raise RuntimeError(
                f"{name}: input has inconsistent input_size: got {x.shape[1]} expected "
                f"{self.input_size}"
            )
        check_same_dtype(name, x, self.weight_ih)
        if hx is None:
            state = tuple(
                zeros((x.shape[0], self.hidden_size), dtype=x.dtype) for _ in range(1 + lstm)
            )
        else:
            state = tuple(hx) if lstm else (hx,)
            want = 2 if batched else 1
            if any(s.ndim != want for s in state):
                raise ValueError(
                    f"{name}: Expected hidden to be {want}D for {want}D input, got "
                    f"{[s.ndim for s in state]}D"
                )
            if not batched:
                state = tuple(ops.unsqueeze(s, 0) for s in state)
            for s in state:
                if s.shape != (x.shape[0], self.hidden_size):
                    raise RuntimeError(
                        f"{name}: Expected hidden of shape {(x.shape[0], self.hidden_size)} "
                        f"for input of shape {x.shape}, got {s.shape}"
                    )
        step = make_step(self._mode, (self.weight_hh, self.bias_hh, None))
        out = step(linear(x, self.weight_ih, self.bias_ih), state)
        if not batched:
            out = tuple(ops.squeeze(s, 0) for s in out)
        return out, lstm

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        _check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity
        self._mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)[0][0]


class LSTMCell(RNNCellBase):
    """(h', c') = one LSTM step (gates i, f, g, o); ``forward(input, (h, c)=None)``."""

    _mode = "LSTM"

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Tensor]:
        h, c = self._step(input, hx)[0]
        return h, c


class GRUCell(RNNCellBase):
    """h' = one GRU step (gates r, z, n; r multiplies W_hn h + b_hn)."""

    _mode = "GRU"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(input, hx)[0][0]
