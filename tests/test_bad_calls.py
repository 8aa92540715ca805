"""Bad input everywhere: a table of wrong calls, each with the exception it must raise
and a fragment of the message (what was expected, what was given).

A row is ``(id, call, exception type, regex the message must match)``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
import minigrad.utils.data

t = minigrad.tensor


def _randn(*shape: int, grad: bool = False) -> minigrad.Tensor:
    return minigrad.randn(*shape, requires_grad=grad)


def _truncated_file(tmp: Path) -> Callable[[], object]:
    path = tmp / "w.safetensors"
    minigrad.save({"w": _randn(4, 4)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 7])
    return lambda: minigrad.load(path)


def _foreign_file(tmp: Path) -> Callable[[], object]:
    path = tmp / "w.safetensors"
    path.write_bytes(b"PK\x03\x04 this is a zip archive, not a safetensors file")
    return lambda: minigrad.load(path)


def _empty_npz(tmp: Path) -> Callable[[], object]:
    path = tmp / "w.npz"
    path.write_bytes(b"")
    return lambda: minigrad.load(path)


def _pickled_npz(tmp: Path) -> Callable[[], object]:
    path = tmp / "w.npz"
    buf = io.BytesIO()
    np.savez(buf, obj=np.array([{"a": 1}], dtype=object))
    path.write_bytes(buf.getvalue())
    return lambda: minigrad.load(path)


def _linear() -> nn.Linear:
    minigrad.manual_seed(0)
    return nn.Linear(3, 2)


# a refusal of a device other than the CPU, by the op named
_NOT_CPU = r"^%s: minigrad computes on the CPU only, with NumPy, so device '.*' is not available"
# a PyTorch tensor handed to a minigrad op: the message says how to convert it
_TORCH = r"PyTorch tensor.*minigrad\.from_numpy\(t\.detach\(\)\.cpu\(\)\.numpy\(\)\)"


def _torch(*shape: int) -> object:
    import torch

    return torch.ones(*shape)


def _backward_twice() -> None:
    x = _randn(3, grad=True)
    y = (x.exp()).sum()
    y.backward()
    y.backward()


def _inplace_on_saved() -> None:
    w = _randn(3)
    x = _randn(3, grad=True)
    y = (x * w).sum()
    w.add_(1.0)
    y.backward()


CASES: list[tuple[str, Callable[[], object], type[BaseException], str]] = [
    # --- broadcasting and shapes
    ("add broadcast", lambda: _randn(2, 3) + _randn(4), RuntimeError, r"add.*\(2, 3\).*\(4,\)"),
    (
        "mul broadcast",
        lambda: _randn(2, 3) * _randn(3, 2),
        RuntimeError,
        r"mul.*\(2, 3\).*\(3, 2\)",
    ),
    ("sub broadcast", lambda: _randn(5) - _randn(4), RuntimeError, r"sub.*\(5,\).*\(4,\)"),
    ("div broadcast", lambda: _randn(2, 2) / _randn(3), RuntimeError, r"div.*\(2, 2\).*\(3,\)"),
    (
        "where broadcast",
        lambda: minigrad.where(t([True, False]), _randn(3), _randn(3)),
        RuntimeError,
        r"where",
    ),
    (
        "matmul inner",
        lambda: _randn(2, 3) @ _randn(4, 5),
        RuntimeError,
        r"matmul.*\(2, 3\).*\(4, 5\)",
    ),
    ("matmul 0-d", lambda: minigrad.matmul(t(1.0), _randn(3)), RuntimeError, r"at least 1 dim"),
    ("matmul batch", lambda: _randn(2, 3, 4) @ _randn(5, 4, 2), RuntimeError, r"batch dim"),
    ("mm 3-d", lambda: minigrad.mm(_randn(2, 2, 2), _randn(2, 2)), RuntimeError, r"mm.*2-D"),
    ("bmm batch", lambda: minigrad.bmm(_randn(2, 3, 4), _randn(3, 4, 5)), RuntimeError, r"bmm"),
    ("dot 2-d", lambda: minigrad.dot(_randn(2, 2), _randn(2)), RuntimeError, r"1D tensors"),
    ("reshape", lambda: _randn(2, 3).reshape(4, 2), RuntimeError, r"shape \(4, 2\).*invalid.*6"),
    ("reshape two -1", lambda: _randn(6).reshape(-1, -1), RuntimeError, r"invalid"),
    ("view", lambda: _randn(2, 3).view(5), RuntimeError, r"invalid for input of shape \(2, 3\)"),
    ("expand", lambda: _randn(2, 3).expand(2, 4), RuntimeError, r"expand.*3.*4"),
    ("expand fewer dims", lambda: _randn(2, 3).expand(3), RuntimeError, r"number of sizes"),
    ("broadcast_to", lambda: minigrad.broadcast_to(_randn(3), (2, 4)), RuntimeError, r"broadcast"),
    ("permute length", lambda: _randn(2, 3).permute(0), RuntimeError, r"permute.*dims"),
    ("permute repeat", lambda: _randn(2, 3).permute(0, 0), RuntimeError, r"repeated dim"),
    (
        "cat shapes",
        lambda: minigrad.cat([_randn(2, 3), _randn(2, 4)], 0),
        RuntimeError,
        r"cat.*\(2, 3\).*\(2, 4\)",
    ),
    ("cat empty", lambda: minigrad.cat([]), RuntimeError, r"non-empty"),
    ("stack shapes", lambda: minigrad.stack([_randn(2), _randn(3)]), RuntimeError, r"stack"),
    ("split sizes", lambda: _randn(5).split([2, 2]), RuntimeError, r"sum exactly to 5"),
    ("chunk zero", lambda: _randn(4).chunk(0), RuntimeError, r"chunks must be greater than 0"),
    ("repeat dims", lambda: _randn(2, 3).repeat(2), RuntimeError, r"repeat"),
    ("tril 1-d", lambda: minigrad.tril(_randn(3)), RuntimeError, r"at least 2 dimensions"),
    ("pad odd", lambda: minigrad.pad(_randn(3), (1,)), RuntimeError, r"pad"),
    # --- dims out of range
    ("sum dim", lambda: _randn(2, 3).sum(dim=2), IndexError, r"range of \[-2, 1\].*2"),
    ("mean dim", lambda: _randn(2, 3).mean(dim=-3), IndexError, r"-3"),
    ("softmax dim", lambda: _randn(2, 3).softmax(dim=5), IndexError, r"softmax.*5"),
    ("transpose dim", lambda: _randn(2, 3).transpose(0, 2), IndexError, r"transpose"),
    ("unsqueeze dim", lambda: _randn(2).unsqueeze(3), IndexError, r"unsqueeze"),
    ("squeeze dim", lambda: _randn(2).squeeze(4), IndexError, r"squeeze"),
    ("cumsum dim", lambda: _randn(2).cumsum(1), IndexError, r"cumsum"),
    ("argmax dim", lambda: _randn(2).argmax(dim=3), IndexError, r"argmax"),
    ("size dim", lambda: _randn(2).size(2), IndexError, r"size"),
    ("dup dims", lambda: _randn(2, 2).sum(dim=(0, 0)), RuntimeError, r"multiple times"),
    # --- indices
    ("getitem index", lambda: _randn(3)[t([0, 5])], IndexError, r"index.*shape \(3,\)"),
    ("getitem float index", lambda: _randn(3)[t([0.0])], IndexError, r"long, int or bool"),
    (
        "gather range",
        lambda: _randn(2, 3).gather(1, t([[0, 3]])),
        IndexError,
        r"gather: index 3 is out of bounds for dimension 1 with size 3",
    ),
    ("gather dtype", lambda: _randn(2, 3).gather(1, t([[0.0]])), RuntimeError, r"int64 index"),
    (
        "index_select range",
        lambda: _randn(4, 2).index_select(0, t([4])),
        IndexError,
        r"index 4 is out of bounds",
    ),
    (
        "scatter_add range",
        lambda: minigrad.zeros(3).scatter_add(0, t([3]), t([1.0])),
        IndexError,
        r"out of bounds",
    ),
    (
        "embedding range",
        lambda: F.embedding(t([0, 10]), _randn(10, 3)),
        IndexError,
        r"index 10 is out of range for 10 embeddings",
    ),
    ("embedding negative", lambda: F.embedding(t([-1]), _randn(10, 3)), IndexError, r"-1"),
    (
        "embedding float ids",
        lambda: F.embedding(t([0.0]), _randn(10, 3)),
        RuntimeError,
        r"integer dtype",
    ),
    ("one_hot range", lambda: F.one_hot(t([0, 3]), 3), RuntimeError, r"3.*out of range"),
    (
        "masked_fill dtype",
        lambda: _randn(3).masked_fill(t([1, 0, 1]), 0.0),
        RuntimeError,
        r"bool mask",
    ),
    (
        "where cond dtype",
        lambda: minigrad.where(t([1.0]), _randn(1), _randn(1)),
        TypeError,
        r"bool",
    ),
    # --- autograd
    (
        "int requires_grad",
        lambda: t([1, 2], requires_grad=True),
        RuntimeError,
        r"floating point dtype",
    ),
    ("int requires_grad_", lambda: t([1, 2]).requires_grad_(), RuntimeError, r"floating point"),
    (
        "backward non-scalar",
        lambda: (_randn(3, grad=True) * 2).backward(),
        RuntimeError,
        r"implicitly created only for scalar outputs",
    ),
    (
        "backward no grad",
        lambda: _randn(3).sum().backward(),
        RuntimeError,
        r"does not require grad",
    ),
    ("backward int", lambda: t([1, 2]).sum().backward(), RuntimeError, r"does not require grad"),
    ("backward twice", _backward_twice, RuntimeError, r"backward through the graph a second time"),
    (
        "gradient shape",
        lambda: (_randn(3, grad=True) * 2).backward(minigrad.ones(4)),
        RuntimeError,
        r"shape.*\(4,\).*\(3,\)",
    ),
    (
        "grad unused",
        lambda: minigrad.autograd.grad((_randn(2, grad=True) * 2).sum(), [_randn(2, grad=True)]),
        RuntimeError,
        r"allow_unused=True",
    ),
    (
        "inplace on leaf",
        lambda: _randn(3, grad=True).add_(1.0),
        RuntimeError,
        r"leaf Variable that requires grad",
    ),
    ("inplace on saved", _inplace_on_saved, RuntimeError, r"modified in place"),
    ("numpy of requires_grad", lambda: _randn(2, grad=True).numpy(), RuntimeError, r"detach\(\)"),
    ("item of many", lambda: _randn(2).item(), RuntimeError, r"2 elements"),
    ("bool of many", lambda: bool(_randn(2)), RuntimeError, r"ambiguous"),
    (
        "gradcheck float32",
        lambda: minigrad.autograd.gradcheck(lambda x: x * 2, [_randn(2, grad=True)]),
        ValueError,
        r"float64",
    ),
    # --- nn
    ("linear in_features", lambda: _linear()(_randn(4, 5)), RuntimeError, r"\(4, 5\).*\(2, 3\)"),
    ("linear dtype", lambda: _linear()(_randn(4, 3).double()), RuntimeError, r"dtype"),
    (
        "layer_norm shape",
        lambda: F.layer_norm(_randn(2, 3), (4,)),
        RuntimeError,
        r"normalized_shape \(4,\).*\(2, 3\)",
    ),
    (
        "conv2d channels",
        lambda: nn.Conv2d(3, 4, 3)(_randn(1, 2, 8, 8)),
        RuntimeError,
        r"to have 3 channels, but got 2 channels",
    ),
    (
        "conv2d ndim",
        lambda: nn.Conv2d(3, 4, 3)(_randn(3, 8)),
        RuntimeError,
        r"3D \(unbatched\) or 4D.*\(3, 8\)",
    ),
    ("batchnorm features", lambda: nn.BatchNorm1d(4)(_randn(8, 3)), RuntimeError, r"4.*3|3.*4"),
    ("dropout p", lambda: nn.Dropout(1.5), ValueError, r"1.5"),
    ("F.dropout p", lambda: F.dropout(_randn(2), p=-0.1), ValueError, r"-0.1"),
    (
        "load_state_dict missing",
        lambda: _linear().load_state_dict({"weight": np.zeros((2, 3))}),
        RuntimeError,
        r"[Mm]issing key.*bias",
    ),
    (
        "load_state_dict unexpected",
        lambda: _linear().load_state_dict(
            {"weight": np.zeros((2, 3)), "bias": np.zeros(2), "extra": np.zeros(1)}
        ),
        RuntimeError,
        r"[Uu]nexpected key.*extra",
    ),
    (
        "load_state_dict shape",
        lambda: _linear().load_state_dict({"weight": np.zeros((3, 3)), "bias": np.zeros(2)}),
        RuntimeError,
        r"size mismatch.*weight.*\(3, 3\).*\(2, 3\)|size mismatch.*weight",
    ),
    ("gelu approximate", lambda: F.gelu(_randn(2), approximate="fast"), ValueError, r"fast"),
    # --- losses
    (
        "cross_entropy class range",
        lambda: F.cross_entropy(_randn(2, 3), t([0, 3])),
        (IndexError, RuntimeError, ValueError),
        r"3.*\[0, 2\]",
    ),
    (
        "cross_entropy negative class",
        lambda: F.cross_entropy(_randn(2, 3), t([0, -2])),
        (IndexError, RuntimeError, ValueError),
        r"-2",
    ),
    (
        "cross_entropy batch",
        lambda: F.cross_entropy(_randn(2, 3), t([0, 1, 2])),
        (ValueError, RuntimeError),
        r"2.*3",
    ),
    (
        "cross_entropy reduction",
        lambda: F.cross_entropy(_randn(2, 3), t([0, 1]), reduction="avg"),
        ValueError,
        r"avg",
    ),
    (
        "nll_loss target dtype",
        lambda: F.nll_loss(_randn(2, 3), t([0.0, 1.0])),
        (RuntimeError, TypeError, ValueError),
        r"(dtype|float|Long|int)",
    ),
    (
        "mse shape",
        lambda: F.mse_loss(_randn(2, 3), _randn(3, 2)),
        (RuntimeError, ValueError),
        r"\(2, 3\).*\(3, 2\)|\(3, 2\).*\(2, 3\)",
    ),
    (
        "bce range",
        lambda: F.binary_cross_entropy(t([1.5]), t([1.0])),
        (RuntimeError, ValueError),
        r"between 0 and 1|\[0, 1\]|1.5",
    ),
    # --- optim
    ("sgd lr", lambda: minigrad.optim.SGD([_randn(2, grad=True)], lr=-1.0), ValueError, r"-1"),
    (
        "adam betas",
        lambda: minigrad.optim.Adam([_randn(2, grad=True)], betas=(1.5, 0.9)),
        ValueError,
        r"1.5",
    ),
    (
        "adam eps",
        lambda: minigrad.optim.Adam([_randn(2, grad=True)], eps=-1e-8),
        ValueError,
        r"epsilon|eps",
    ),
    (
        "sgd nesterov",
        lambda: minigrad.optim.SGD([_randn(2, grad=True)], lr=0.1, nesterov=True),
        ValueError,
        r"[Nn]esterov",
    ),
    ("optimizer empty", lambda: minigrad.optim.SGD([], lr=0.1), ValueError, r"empty"),
    # --- PyTorch habits: other devices, PyTorch tensors in minigrad ops
    ("zeros cuda", lambda: minigrad.zeros(2, device="cuda"), RuntimeError, _NOT_CPU % "zeros"),
    ("randn cuda:0", lambda: minigrad.randn(2, device="cuda:0"), RuntimeError, r"'cuda:0'"),
    ("tensor mps", lambda: t([1.0], device="mps"), RuntimeError, _NOT_CPU % "tensor"),
    (
        "arange device object",
        lambda: minigrad.arange(3, device=minigrad.device("cuda", 1)),
        RuntimeError,
        r"arange: .*CPU only.*'cuda:1' is not available",
    ),
    ("new_zeros cuda", lambda: _randn(2).new_zeros(3, device="cuda"), RuntimeError, r"new_zeros"),
    ("to cuda", lambda: _randn(2).to("cuda"), RuntimeError, _NOT_CPU % "to"),
    (
        "to device= mps",
        lambda: _randn(2).to(device=minigrad.device("mps")),
        RuntimeError,
        r"to: .*'mps'",
    ),
    ("to unknown keyword", lambda: _randn(2).to(devce="cpu"), TypeError, r"unexpected.*devce"),
    ("Tensor.cuda", lambda: _randn(2).cuda(), RuntimeError, _NOT_CPU % "cuda"),
    ("Module.cuda", lambda: _linear().cuda(), RuntimeError, _NOT_CPU % "cuda"),
    ("Module.to cuda", lambda: _linear().to("cuda:0"), RuntimeError, _NOT_CPU % "to"),
    ("device type", lambda: minigrad.device("gpu"), RuntimeError, r"Expected one of cpu.*: gpu"),
    ("device index", lambda: minigrad.device("cuda:x"), RuntimeError, r"Invalid device.*cuda:x"),
    ("device empty", lambda: minigrad.device(""), RuntimeError, r"must not be empty"),
    ("device not str", lambda: minigrad.device(0), TypeError, r"device string.*int"),
    ("add torch tensor", lambda: _randn(3) + _torch(3), TypeError, _TORCH),
    ("radd torch tensor", lambda: _torch(3) + _randn(3), TypeError, _TORCH),
    ("matmul torch tensor", lambda: _randn(3) @ _torch(3), TypeError, _TORCH),
    ("tensor(torch)", lambda: t(_torch(3)), TypeError, _TORCH),
    ("Tensor(torch)", lambda: minigrad.Tensor(_torch(3)), TypeError, _TORCH),
    ("relu torch tensor", lambda: F.relu(_torch(3)), TypeError, _TORCH),
    ("cat torch tensor", lambda: minigrad.cat([_randn(3), _torch(3)]), TypeError, _TORCH),
    ("index with torch", lambda: _randn(3)[_torch(1).long()], TypeError, r"indexing: .*PyTorch"),
    ("copy_ torch tensor", lambda: _randn(3).copy_(_torch(3)), TypeError, r"copy_: .*PyTorch"),
    ("Linear on torch", lambda: _linear()(_torch(2, 3)), TypeError, r"shape \(2, 3\)"),
    ("from_numpy torch", lambda: minigrad.from_numpy(_torch(3)), TypeError, _TORCH),
    ("from_numpy list", lambda: minigrad.from_numpy([1.0]), TypeError, r"np\.ndarray.*list"),
    ("Tensor two lists", lambda: minigrad.Tensor([1.0], [2.0]), TypeError, r"one data argument"),
    ("Tensor negative size", lambda: minigrad.Tensor(2, -1), RuntimeError, r"non-negative"),
    (
        "render a list",
        lambda: minigrad.viz.render([1.0], "g.dot"),
        TypeError,
        r"render: expected a minigrad Tensor.*list",
    ),
    # --- recurrent, transformer, transposed-convolution and resampling layers
    ("rnn input size", lambda: nn.LSTM(3, 4)(_randn(5, 2, 7)), RuntimeError, r"Expected 3, got 7"),
    ("rnn input dims", lambda: nn.GRU(3, 4)(_randn(5, 2, 3, 1)), ValueError, r"2D or 3D, got 4D"),
    (
        "rnn hidden size",
        lambda: nn.GRU(3, 4, num_layers=2)(_randn(5, 2, 3), _randn(1, 2, 4)),
        RuntimeError,
        r"Expected hidden size \(2, 2, 4\), got \[1, 2, 4\]",
    ),
    (
        "lstm cell state size",
        lambda: nn.LSTM(3, 4)(_randn(5, 2, 3), (_randn(1, 2, 4), _randn(1, 2, 5))),
        RuntimeError,
        r"hidden\[1\] size \(1, 2, 4\), got \[1, 2, 5\]",
    ),
    ("rnn hx dims", lambda: nn.RNN(3, 4)(_randn(5, 2, 3), _randn(2, 4)), RuntimeError, r"3-D"),
    (
        "rnn nonlinearity",
        lambda: nn.RNN(3, 4, nonlinearity="gelu"),
        ValueError,
        r"'tanh' or 'relu'",
    ),
    ("rnn dropout", lambda: nn.LSTM(3, 4, dropout=1.5), ValueError, r"range \[0, 1\]"),
    ("rnn hidden zero", lambda: nn.GRU(3, 0), ValueError, r"hidden_size must be greater"),
    ("lstm proj size", lambda: nn.LSTM(3, 4, proj_size=4), ValueError, r"smaller than hidden"),
    ("gru proj size", lambda: nn.GRU(3, 4, proj_size=2), ValueError, r"only supported for LSTM"),
    ("cell input size", lambda: nn.GRUCell(3, 4)(_randn(2, 5)), RuntimeError, r"got 5 expected 3"),
    (
        "cell hidden shape",
        lambda: nn.RNNCell(3, 4)(_randn(2, 3), _randn(3, 4)),
        RuntimeError,
        r"hidden of shape \(2, 4\)",
    ),
    (
        "pack unsorted",
        lambda: nn.utils.rnn.pack_padded_sequence(_randn(4, 2, 3), [2, 4]),
        RuntimeError,
        r"sorted in decreasing order",
    ),
    (
        "pack zero length",
        lambda: nn.utils.rnn.pack_padded_sequence(_randn(4, 2, 3), [4, 0]),
        RuntimeError,
        r"greater than 0",
    ),
    (
        "pack lengths count",
        lambda: nn.utils.rnn.pack_padded_sequence(_randn(4, 2, 3), [4, 3, 1]),
        ValueError,
        r"expected 2 lengths",
    ),
    (
        "pad_sequence side",
        lambda: nn.utils.rnn.pad_sequence([_randn(2)], padding_side="top"),
        ValueError,
        r"left or right",
    ),
    (
        "transformer activation",
        lambda: nn.TransformerEncoderLayer(4, 2, activation="tanh"),
        RuntimeError,
        r"relu/gelu",
    ),
    (
        "transformer d_model",
        lambda: nn.Transformer(8, 2, 1, 1, 16)(_randn(3, 2, 8), _randn(3, 2, 6)),
        RuntimeError,
        r"d_model=8",
    ),
    (
        "transformer batch",
        lambda: nn.Transformer(8, 2, 1, 1, 16)(_randn(3, 2, 8), _randn(3, 1, 8)),
        RuntimeError,
        r"batch number of src and tgt",
    ),
    (
        "conv_transpose channels",
        lambda: F.conv_transpose2d(_randn(1, 3, 4, 4), _randn(2, 1, 3, 3)),
        RuntimeError,
        r"to have 2 channels, but got 3",
    ),
    (
        "conv_transpose output_padding",
        lambda: F.conv_transpose1d(_randn(1, 1, 4), _randn(1, 1, 3), output_padding=1),
        RuntimeError,
        r"smaller than either stride or dilation",
    ),
    (
        "conv_transpose output_size",
        lambda: nn.ConvTranspose2d(1, 1, 3, stride=2)(_randn(1, 1, 4, 4), output_size=(20, 20)),
        ValueError,
        r"valid sizes range from \[9, 9\] to \[10, 10\]",
    ),
    (
        "conv_transpose padding_mode",
        lambda: nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect"),
        ValueError,
        r"Only \"zeros\" padding mode",
    ),
    (
        "embedding_bag mode",
        lambda: nn.EmbeddingBag(4, 2, mode="median"),
        ValueError,
        r"sum, mean or max",
    ),
    (
        "embedding_bag offsets",
        lambda: F.embedding_bag(t([0, 1, 2]), _randn(4, 2), t([1, 2])),
        RuntimeError,
        r"offsets\[0\] has to be 0",
    ),
    (
        "embedding_bag weights mode",
        lambda: F.embedding_bag(t([[0, 1]]), _randn(4, 2), per_sample_weights=_randn(1, 2)),
        NotImplementedError,
        r"only supported for mode='sum'",
    ),
    (
        "embedding_bag 1-d without offsets",
        lambda: F.embedding_bag(t([0, 1]), _randn(4, 2)),
        ValueError,
        r"offsets has to be a 1D Tensor but got None",
    ),
    (
        "interpolate mode",
        lambda: F.interpolate(_randn(1, 1, 4), scale_factor=2, mode="cubic"),
        NotImplementedError,
        r"got cubic",
    ),
    (
        "interpolate dims",
        lambda: F.interpolate(_randn(1, 1, 4), scale_factor=2, mode="bilinear"),
        NotImplementedError,
        r"Got 3D input, but bilinear mode needs 4D input",
    ),
    (
        "interpolate size and scale",
        lambda: F.interpolate(_randn(1, 1, 4), size=3, scale_factor=2),
        ValueError,
        r"only one of size or scale_factor",
    ),
    (
        "interpolate align_corners nearest",
        lambda: F.interpolate(_randn(1, 1, 4), size=3, align_corners=True),
        ValueError,
        r"align_corners option can only be set",
    ),
    (
        "pixel_shuffle channels",
        lambda: F.pixel_shuffle(_randn(1, 5, 2, 2), 2),
        RuntimeError,
        r"input.size\(-3\)=5 is not divisible by 4",
    ),
    (
        "pixel_unshuffle height",
        lambda: F.pixel_unshuffle(_randn(1, 1, 5, 4), 2),
        RuntimeError,
        r"input.size\(-2\)=5 is not divisible by 2",
    ),
    (
        "instance_norm dims",
        lambda: nn.InstanceNorm2d(3)(_randn(3, 4)),
        ValueError,
        r"expected 3D or 4D input \(got 2D input\)",
    ),
    (
        "instance_norm features",
        lambda: nn.InstanceNorm1d(3, affine=True)(_randn(2, 4, 5)),
        ValueError,
        r"match num_features \(3\), but got: 4",
    ),
    (
        "checkpoint output",
        lambda: minigrad.utils.checkpoint.checkpoint(lambda a: (a, 1), _randn(2, grad=True)),
        TypeError,
        r"must return one Tensor",
    ),
    (
        "adam betas of length 1",
        lambda: minigrad.optim.Adam([_randn(2, grad=True)], betas=(0.9,)),
        ValueError,
        r"expected a pair \(beta1, beta2\)",
    ),
    ("nadam lr", lambda: minigrad.optim.NAdam([_randn(2, grad=True)], lr=-1), ValueError, r"-1"),
    (
        "lbfgs line search",
        lambda: minigrad.optim.LBFGS([_randn(2, grad=True)], line_search_fn="wolfe"),
        ValueError,
        r"strong_wolfe.*'wolfe'",
    ),
    # --- data (more, beside PyTorch's exceptions, in test_bad_calls_training.py)
    (
        "loader batch_size",
        lambda: minigrad.utils.data.DataLoader(range(3), batch_size=0),
        ValueError,
        r"batch_size=0",
    ),
    (
        "loader sampler and shuffle",
        lambda: minigrad.utils.data.DataLoader(range(3), sampler=[0], shuffle=True),
        ValueError,
        r"mutually exclusive with shuffle",
    ),
    # --- creation
    ("zeros negative", lambda: minigrad.zeros(-1), RuntimeError, r"non-negative"),
    ("arange step", lambda: minigrad.arange(0, 5, 0), RuntimeError, r"step"),
    ("tensor of strings", lambda: t(["a"]), TypeError, r"dtype"),
]

FILE_CASES: list[tuple[str, Callable[[Path], Callable[[], object]], type[BaseException], str]] = [
    ("missing file", lambda tmp: lambda: minigrad.load(tmp / "w.bin"), FileNotFoundError, r"w.bin"),
    (
        "missing safetensors",
        lambda tmp: lambda: minigrad.load(tmp / "w.safetensors"),
        FileNotFoundError,
        r"No such file.*w\.safetensors",
    ),
    ("truncated safetensors", _truncated_file, (ValueError, RuntimeError), r"w\.safetensors"),
    ("foreign file", _foreign_file, (ValueError, RuntimeError), r"w\.safetensors"),
    ("empty npz", _empty_npz, (ValueError, RuntimeError, OSError), r"w\.npz"),
    ("pickled npz", _pickled_npz, (ValueError, RuntimeError), r"(pickle|object)"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_call_raises_clear_error(case: tuple) -> None:
    _, call, exc, fragment = case
    with pytest.raises(exc, match=fragment):
        call()


@pytest.mark.parametrize("case", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_weight_file_raises_clear_error(case: tuple, tmp_path: Path) -> None:
    _, make, exc, fragment = case
    with pytest.raises(exc, match=fragment):
        make(tmp_path)()


def test_table_size() -> None:
    # The hardening issue asks for at least 60 bad calls; the closing note reports the count.
    assert len(CASES) + len(FILE_CASES) >= 60
