"""PyTorch habits: code written for PyTorch runs on minigrad's CPU or is refused in one
clear sentence: ``device=`` arguments, ``minigrad.device``, ``minigrad.cuda``,
``.cpu()`` / ``.cuda()`` / ``.to()``, PyTorch tensors handed to minigrad ops,
``Tensor(list)``'s float default, ``minigrad.viz`` and loading a missing file.
Every behaviour PyTorch also has is compared with PyTorch's."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
NOT_CPU = ["cuda", "cuda:0", "cuda:1", "mps", "meta"]

# (name, call with device=...): every creation function, minigrad's and PyTorch's
CREATORS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("tensor", lambda lib, d: lib.tensor([1.0, 2.0], device=d)),
    ("as_tensor", lambda lib, d: lib.as_tensor([1, 2], device=d)),
    ("zeros", lambda lib, d: lib.zeros(2, 3, device=d)),
    ("ones", lambda lib, d: lib.ones((2,), device=d)),
    ("empty", lambda lib, d: lib.empty(2, device=d).fill_(1.0)),
    ("full", lambda lib, d: lib.full((2, 2), 7.0, device=d)),
    ("arange", lambda lib, d: lib.arange(0, 5, 2, device=d)),
    ("linspace", lambda lib, d: lib.linspace(0, 1, 5, device=d)),
    ("eye", lambda lib, d: lib.eye(3, device=d)),
    ("rand", lambda lib, d: lib.rand(3, device=d).shape),
    ("randn", lambda lib, d: lib.randn(3, device=d).shape),
    ("randint", lambda lib, d: lib.randint(0, 5, (4,), device=d).dtype),
    ("randperm", lambda lib, d: lib.randperm(4, device=d).dtype),
    ("zeros_like", lambda lib, d: lib.zeros_like(lib.ones(2), device=d)),
    ("ones_like", lambda lib, d: lib.ones_like(lib.zeros(2), device=d)),
    ("empty_like", lambda lib, d: lib.empty_like(lib.zeros(2), device=d).shape),
    ("full_like", lambda lib, d: lib.full_like(lib.zeros(2), 3.0, device=d)),
    ("rand_like", lambda lib, d: lib.rand_like(lib.zeros(2), device=d).shape),
    ("randn_like", lambda lib, d: lib.randn_like(lib.zeros(2), device=d).shape),
    ("new_zeros", lambda lib, d: lib.ones(2).new_zeros(3, device=d)),
    ("new_ones", lambda lib, d: lib.zeros(2).new_ones((2, 1), device=d)),
    ("new_empty", lambda lib, d: lib.zeros(2).new_empty(3, device=d).shape),
    ("new_full", lambda lib, d: lib.zeros(2).new_full((2,), 4.0, device=d)),
    ("new_tensor", lambda lib, d: lib.zeros(2).new_tensor([1, 2], device=d)),
]


def _same(ours: Any, ref: Any) -> None:
    if isinstance(ref, torch.Tensor):
        assert str(ours.dtype) == str(ref.dtype).removeprefix("torch.")
        assert ours.shape == tuple(ref.shape)
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    elif isinstance(ref, torch.dtype):
        assert str(ours) == str(ref).removeprefix("torch.")
    else:
        assert tuple(ours) == tuple(ref)


# ------------------------------------------------------------------ minigrad.device
@pytest.mark.parametrize("spec", ["cpu", "cpu:0", "cuda", "cuda:1", "mps", ("cuda", 2), ("cpu", 0)])
def test_device_mirrors_torch_device(spec: Any) -> None:
    args = spec if isinstance(spec, tuple) else (spec,)
    ours, ref = minigrad.device(*args), torch.device(*args)
    assert (ours.type, ours.index) == (ref.type, ref.index)
    assert str(ours) == str(ref) and repr(ours) == repr(ref)
    assert ours == minigrad.device(ref.type, ref.index)
    assert hash(ours) == hash(minigrad.device(ours))
    assert (ours == minigrad.device("cpu")) == (ref == torch.device("cpu"))


@pytest.mark.parametrize("bad", ["gpu", "cuda:x", "cpu:-1", ""])
def test_bad_device_strings_raise_like_torch(bad: str) -> None:
    with pytest.raises(RuntimeError) as ref:
        torch.device(bad)
    with pytest.raises(RuntimeError) as ours:
        minigrad.device(bad)
    first = str(ref.value).split(":")[0]
    assert first in str(ours.value)


def test_device_equals_its_string() -> None:
    # minigrad's extension (torch.device("cpu") == "cpu" is False): Tensor.device was
    # the string "cpu" before it became a device, and comparisons with it keep working.
    assert minigrad.device("cpu") == "cpu" and minigrad.device("cuda:1") == "cuda:1"
    assert minigrad.device("cpu") != "cuda" and minigrad.device("cpu") != "not a device"
    assert minigrad.device("cpu") != 0


def test_tensor_device_is_the_cpu_device() -> None:
    ours, ref = minigrad.zeros(2), torch.zeros(2)
    assert isinstance(ours.device, minigrad.device)
    assert str(ours.device) == str(ref.device) and repr(ours.device) == repr(ref.device)
    assert ours.device == minigrad.device("cpu") and ours.device.type == ref.device.type
    assert nn.Linear(2, 2).weight.device == minigrad.device("cpu")


def test_cuda_module_answers_as_torch_without_cuda() -> None:
    assert minigrad.cuda.is_available() is False and minigrad.cuda.device_count() == 0
    if not torch.cuda.is_available():  # the CPU build of PyTorch says the same
        assert torch.cuda.is_available() is False and torch.cuda.device_count() == 0
    assert minigrad.cuda.manual_seed(0) is None and minigrad.cuda.manual_seed_all(0) is None


# ------------------------------------------------------------------ device= and .to()
@pytest.mark.parametrize("name,make", CREATORS, ids=[c[0] for c in CREATORS])
def test_creation_accepts_the_cpu(name: str, make: Callable) -> None:
    minigrad.manual_seed(0)
    ref = make(torch, "cpu")
    for dev in ("cpu", "cpu:0", minigrad.device("cpu"), torch.device("cpu"), None):
        _same(make(minigrad, dev), ref)


@pytest.mark.parametrize("name,make", CREATORS, ids=[c[0] for c in CREATORS])
@pytest.mark.parametrize("dev", NOT_CPU)
def test_creation_refuses_other_devices(name: str, make: Callable, dev: str) -> None:
    with pytest.raises(RuntimeError, match=rf"^{name}: minigrad computes on the CPU only, with "):
        make(minigrad, dev)
    for obj in (minigrad.device(dev), torch.device(dev)):
        with pytest.raises(RuntimeError, match=rf"device '{dev}' is not available"):
            make(minigrad, obj)


def test_to_cpu_and_cpu_return_the_tensor_itself_as_torch() -> None:
    ours, ref = minigrad.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    for call in (
        lambda x, lib: x.cpu(),
        lambda x, lib: x.to("cpu"),
        lambda x, lib: x.to(lib.device("cpu")),
        lambda x, lib: x.to(device="cpu"),
        lambda x, lib: x.to("cpu", lib.float32),
        lambda x, lib: x.to(lib.float32),
    ):
        assert (call(ours, minigrad) is ours) == (call(ref, torch) is ref) is True
    copied, copied_ref = ours.to("cpu", copy=True), ref.to("cpu", copy=True)
    assert (copied is ours) == (copied_ref is ref) is False
    _same(copied, copied_ref)
    _same(ours.to("cpu", minigrad.float64), ref.to("cpu", torch.float64))
    _same(ours.to(device=minigrad.device("cpu"), dtype=minigrad.int64), ref.to("cpu", torch.int64))
    with pytest.raises(TypeError, match="unexpected keyword"):
        ours.to(devce="cpu")


@pytest.mark.parametrize("dev", NOT_CPU)
def test_to_and_cuda_refuse_other_devices(dev: str) -> None:
    x, m = minigrad.zeros(2), nn.Linear(2, 2)
    for call in (
        lambda: x.to(dev),
        lambda: x.to(minigrad.device(dev)),
        lambda: x.to(device=dev, dtype=minigrad.float64),
        lambda: m.to(dev),
        lambda: m.to(minigrad.device(dev)),
    ):
        with pytest.raises(RuntimeError, match=rf"^to: .*CPU only.*'{dev}' is not available"):
            call()
    for call in (x.cuda, m.cuda, lambda: x.cuda(1)):
        with pytest.raises(RuntimeError, match=r"^cuda: minigrad computes on the CPU only"):
            call()


def test_module_to_cpu_returns_the_module_as_torch() -> None:
    ours, ref = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    for call in (lambda m: m.cpu(), lambda m: m.to("cpu"), lambda m: m.to(device="cpu")):
        assert (call(ours) is ours) == (call(ref) is ref) is True
    assert ours.to(minigrad.device("cpu"), minigrad.float64).weight.dtype == minigrad.float64


# ------------------------------------------------------------------ PyTorch tensors
def _mixes() -> list[tuple[str, Callable[[torch.Tensor], Any]]]:
    x = minigrad.ones(3)
    return [
        ("add", lambda t: x + t),
        ("radd", lambda t: t + x),
        ("mul", lambda t: x * t),
        ("matmul", lambda t: x @ t),
        ("minimum", lambda t: minigrad.maximum(x, t)),
        ("where", lambda t: minigrad.where(x > 0, x, t)),
        ("cat", lambda t: minigrad.cat([x, t])),
        ("relu", lambda t: F.relu(t)),
        ("exp", lambda t: minigrad.exp(t)),
        ("mse_loss", lambda t: F.mse_loss(x, t)),
        ("index", lambda t: x[t.long()]),
        ("setitem", lambda t: x.__setitem__(slice(None), t)),
        ("copy_", lambda t: x.copy_(t)),
        ("add_", lambda t: x.add_(t)),
        ("tensor", lambda t: minigrad.tensor(t)),
        ("Tensor", lambda t: minigrad.Tensor(t)),
        ("as_tensor", lambda t: minigrad.as_tensor(t)),
        ("from_numpy", lambda t: minigrad.from_numpy(t)),
        ("linear", lambda t: nn.Linear(3, 2)(t)),
    ]


@pytest.mark.parametrize("name,call", _mixes(), ids=[m[0] for m in _mixes()])
@pytest.mark.parametrize("kind", ["plain", "requires_grad", "parameter"])
def test_torch_tensor_in_a_minigrad_op_says_how_to_convert(
    name: str, call: Callable, kind: str
) -> None:
    t = torch.tensor([0.0, 1.0, 2.0], requires_grad=kind != "plain")
    if kind == "parameter":
        t = torch.nn.Parameter(t)
    with pytest.raises(TypeError, match=r"PyTorch tensor \(torch\.Tensor of shape \(3,\)") as e:
        call(t)
    assert "minigrad.from_numpy(t.detach().cpu().numpy())" in str(e.value)
    assert "minigrad.tensor(t.tolist())" in str(e.value)


def test_the_conversions_the_message_names_give_torch_values() -> None:
    t = torch.tensor([[0.5, -1.0], [2.0, 3.0]], requires_grad=True)
    a = minigrad.from_numpy(t.detach().cpu().numpy())
    b = minigrad.tensor(t.tolist())
    for m in (a, b):
        _same(m * 2 + 1, (t * 2 + 1).detach())
    assert np.shares_memory(a.numpy(), t.detach().numpy())
    with pytest.raises(TypeError, match=r"from_numpy: expected np\.ndarray \(got list\)"):
        minigrad.from_numpy([1.0])
    with pytest.raises(TypeError, match=r"expected np\.ndarray \(got list\)"):
        torch.from_numpy([1.0])


# ------------------------------------------------------------------ Tensor(...) constructor
@pytest.mark.parametrize(
    "data",
    [[1, 2, 3], [[1, 2], [3, 4]], [True, False], [1.5, 2.0], [], 2.5, [[1.0], [2.0]]],
    ids=repr,
)
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_Tensor_takes_the_default_float_dtype_as_torch_Tensor(data: Any, default: str) -> None:
    prev_ours, prev_ref = minigrad.get_default_dtype(), torch.get_default_dtype()
    minigrad.set_default_dtype(getattr(minigrad, default))
    torch.set_default_dtype(getattr(torch, default))
    try:
        if isinstance(data, float):  # torch.Tensor(2.5) refuses; minigrad: a 0-d tensor
            ours = minigrad.Tensor(data)
            assert ours.shape == () and ours.item() == data and str(ours.dtype) == default
        else:
            _same(minigrad.Tensor(data), torch.Tensor(data))
        _same(minigrad.tensor(data), torch.tensor(data))  # tensor() still infers
    finally:
        minigrad.set_default_dtype(prev_ours)
        torch.set_default_dtype(prev_ref)


def test_Tensor_with_integer_sizes_is_uninitialised_of_that_shape_as_torch() -> None:
    for sizes in [(), (3,), (2, 3), (0, 4)]:
        ours, ref = minigrad.Tensor(*sizes), torch.Tensor(*sizes)
        assert ours.shape == tuple(ref.shape) and str(ours.dtype) == "float32"
    with pytest.raises(RuntimeError, match="non-negative"):
        minigrad.Tensor(2, -1)
    with pytest.raises(TypeError, match="one data argument or integer sizes"):
        minigrad.Tensor([1.0], [2.0])
    t = minigrad.Tensor([1.0, 2.0], requires_grad=True)  # minigrad's keyword extensions
    assert t.requires_grad and minigrad.Tensor([1], dtype=minigrad.int64).dtype == np.int64


def test_Tensor_of_an_array_or_tensor_keeps_its_dtype() -> None:
    # torch.Tensor(np int64 array) gives float32; minigrad keeps the array's dtype (its
    # layers build tensors from arrays this way). A tensor argument keeps its dtype in both.
    assert minigrad.Tensor(np.arange(3)).dtype == np.int64
    assert minigrad.Tensor(np.zeros(2, np.float64)).dtype == np.float64
    ref = torch.Tensor(torch.tensor([1, 2]))
    assert str(minigrad.Tensor(minigrad.tensor([1, 2])).dtype) == str(ref.dtype).split(".")[1]


# ------------------------------------------------------------------ viz, load
def test_viz_is_an_attribute_imported_on_first_use() -> None:
    code = (
        "import sys, minigrad; assert 'minigrad.viz' not in sys.modules; "
        "v = minigrad.viz; assert v.__name__ == 'minigrad.viz' and 'minigrad.viz' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    with pytest.raises(AttributeError, match="no attribute 'vizz'"):
        minigrad.vizz  # noqa: B018


def test_render_takes_a_tensor(tmp_path: Path) -> None:
    w = minigrad.randn(3, requires_grad=True)
    y = (w.exp() * 2).sum()
    path = minigrad.viz.render(y, tmp_path / "g.dot", params={"w": w})
    text = path.read_text()
    assert text == minigrad.viz.to_dot(y, params={"w": w})
    assert "Exp" in text and "w\\n(3,) float32" in text
    with pytest.raises(TypeError, match="render: expected a minigrad Tensor.*got list"):
        minigrad.viz.render([1, 2], tmp_path / "g.dot")


def test_load_of_a_missing_file_is_file_not_found_as_torch(tmp_path: Path) -> None:
    for name in ("w.safetensors", "w.npz", "weights", "w.pt"):
        path = tmp_path / name
        with pytest.raises(FileNotFoundError, match="No such file or directory"):
            torch.load(path)
        with pytest.raises(FileNotFoundError, match=f"No such file or directory: .*{name}"):
            minigrad.load(path)
