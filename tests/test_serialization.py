"""minigrad.save / minigrad.load: round trips, interop with the safetensors package, and
clear errors for damaged or foreign files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors
import safetensors.numpy
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad
from minigrad import optim, serialization
from minigrad.serialization import load, save

FORMATS = [".safetensors", ".npz"]
DTYPES = [np.float32, np.float64, np.int64, np.bool_, np.int32, np.uint8, np.float16]

_arrays = st.sampled_from(DTYPES).flatmap(
    lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0))
)
_names = st.text(
    st.characters(codec="ascii", categories=["L", "N"]) | st.sampled_from("._-"),
    min_size=1,
    max_size=12,
).filter(lambda s: s != "__metadata__")


def _assert_same_arrays(loaded: dict[str, Any], expected: dict[str, np.ndarray]) -> None:
    assert list(loaded) == list(expected)  # names and order
    for name, array in expected.items():
        tensor = loaded[name]
        assert isinstance(tensor, minigrad.Tensor)
        assert tensor.dtype == array.dtype and tensor.shape == array.shape
        np.testing.assert_array_equal(tensor.data, array)
        assert tensor.data.flags.writeable and tensor.data.flags.c_contiguous


@pytest.mark.parametrize("suffix", FORMATS)
@given(state=st.dictionaries(_names, _arrays, max_size=5))
def test_flat_round_trip(
    tmp_path_factory: pytest.TempPathFactory, suffix: str, state: dict
) -> None:
    path = tmp_path_factory.mktemp("rt") / f"model{suffix}"
    # Tensors and arrays may be mixed; every value comes back as a Tensor.
    obj = {k: minigrad.Tensor(v) if i % 2 else v for i, (k, v) in enumerate(state.items())}
    save(obj, path)
    _assert_same_arrays(load(path), state)


@given(state=st.dictionaries(_names, _arrays, max_size=5))
def test_safetensors_package_reads_our_files(
    tmp_path_factory: pytest.TempPathFactory, state: dict
) -> None:
    path = tmp_path_factory.mktemp("ours") / "model.safetensors"
    save(state, path, metadata={"format": "pt"})
    theirs = safetensors.numpy.load_file(str(path))
    assert theirs.keys() == state.keys()
    for name, array in state.items():
        assert theirs[name].dtype == array.dtype and theirs[name].shape == array.shape
        np.testing.assert_array_equal(theirs[name], array)
    with safetensors.safe_open(str(path), framework="np") as f:
        assert f.metadata() == {"format": "pt"}


@given(state=st.dictionaries(_names, _arrays, max_size=5))
def test_we_read_safetensors_package_files(
    tmp_path_factory: pytest.TempPathFactory, state: dict
) -> None:
    path = tmp_path_factory.mktemp("theirs") / "model.safetensors"
    safetensors.numpy.save_file(state, str(path), metadata={"note": "x"})
    loaded = load(path)
    # The package writes tensors sorted by dtype alignment and name: compare by name.
    _assert_same_arrays({k: loaded[k] for k in state}, state)


def test_torch_tensors_saved_by_safetensors_torch(tmp_path: Path) -> None:
    import safetensors.torch

    weights = {"w": torch.randn(3, 4), "b": torch.arange(5), "m": torch.tensor([True, False])}
    safetensors.torch.save_file(weights, str(tmp_path / "t.safetensors"))
    loaded = load(tmp_path / "t.safetensors")
    for name, value in weights.items():
        np.testing.assert_array_equal(loaded[name].data, value.numpy())
        assert loaded[name].dtype == value.numpy().dtype


@pytest.mark.parametrize("suffix", FORMATS)
def test_nested_structures_round_trip(tmp_path: Path, suffix: str) -> None:
    obj = {
        "epoch": 3,
        "state": {0: {"step": 2.0, "buf": np.arange(3.0)}, 1: {}},
        "groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "name": None}],
        "flag": True,
        "tensor": minigrad.tensor([1, 2]),
        "inf": float("inf"),
    }
    save(obj, tmp_path / f"nested{suffix}")
    loaded = load(tmp_path / f"nested{suffix}")
    assert loaded.keys() == obj.keys()
    assert loaded["epoch"] == 3 and loaded["flag"] is True and loaded["inf"] == float("inf")
    assert loaded["groups"] == obj["groups"]  # tuples stay tuples, None stays None
    assert list(loaded["state"]) == [0, 1] and loaded["state"][1] == {}
    assert loaded["state"][0]["step"] == 2.0
    np.testing.assert_array_equal(loaded["state"][0]["buf"].data, np.arange(3.0))
    assert loaded["tensor"].dtype == np.int64


def test_nested_file_lists_tensors_under_dotted_names(tmp_path: Path) -> None:
    save({"state": {0: {"exp_avg": np.ones(2)}}, "lr": 0.1}, tmp_path / "o.safetensors")
    with safetensors.safe_open(str(tmp_path / "o.safetensors"), framework="np") as f:
        assert list(f.keys()) == ["state.0.exp_avg"]
        assert serialization.STRUCTURE_KEY in f.metadata()


@pytest.mark.parametrize("suffix", FORMATS)
def test_optimizer_checkpoint_resumes_like_torch(tmp_path: Path, suffix: str) -> None:
    """Adam for 20 steps in PyTorch == 10 steps, save to disk, load, 10 more in minigrad."""
    rng = np.random.default_rng(0)
    start = rng.standard_normal((2, 3))
    grads = [rng.standard_normal((2, 3)) for _ in range(20)]
    p_t = torch.tensor(start, requires_grad=True)
    opt_t = torch.optim.Adam([p_t], lr=0.05, amsgrad=True, foreach=False)
    p_m = minigrad.tensor(start, requires_grad=True)
    opt_m = optim.Adam([p_m], lr=0.05, amsgrad=True)
    for i, g in enumerate(grads):
        if i == 10:
            save({"param": p_m, "optim": opt_m.state_dict()}, tmp_path / f"ckpt{suffix}")
            ckpt = load(tmp_path / f"ckpt{suffix}")
            p_m = minigrad.tensor(ckpt["param"].data, requires_grad=True)
            opt_m = optim.Adam([p_m], lr=1.0)  # options come back from the checkpoint
            opt_m.load_state_dict(ckpt["optim"])
        p_t.grad, p_m.grad = torch.tensor(g), minigrad.tensor(g)
        opt_t.step()
        opt_m.step()
    np.testing.assert_allclose(p_m.data, p_t.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("suffix", FORMATS)
def test_lr_scheduler_checkpoint(tmp_path: Path, suffix: str) -> None:
    """A scheduler's state dict (Counter milestones, tuples, ints) survives the file."""
    from minigrad.optim import lr_scheduler

    opt = optim.SGD([minigrad.tensor([1.0], requires_grad=True)], lr=1.0, momentum=0.9)
    sched = lr_scheduler.SequentialLR(
        opt,
        [lr_scheduler.LinearLR(opt, 0.5, total_iters=3), lr_scheduler.MultiStepLR(opt, [2, 4])],
        milestones=[3],
    )
    for _ in range(4):
        sched.step()
    save({"optim": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / f"s{suffix}")
    ckpt = load(tmp_path / f"s{suffix}")

    opt2 = optim.SGD([minigrad.tensor([1.0], requires_grad=True)], lr=1.0, momentum=0.9)
    sched2 = lr_scheduler.SequentialLR(
        opt2,
        [lr_scheduler.LinearLR(opt2, 0.5, total_iters=3), lr_scheduler.MultiStepLR(opt2, [9])],
        milestones=[3],
    )
    opt2.load_state_dict(ckpt["optim"])
    sched2.load_state_dict(ckpt["sched"])
    for _ in range(5):
        sched.step()
        sched2.step()
        assert sched2.get_last_lr() == sched.get_last_lr()


def test_npz_names_that_clash_with_savez_arguments(tmp_path: Path) -> None:
    state = {"file": np.ones(2), "allow_pickle": np.zeros(1), "a/b": np.arange(2)}
    save(state, tmp_path / "w.npz")
    _assert_same_arrays(load(tmp_path / "w.npz"), state)
    with np.load(tmp_path / "w.npz", allow_pickle=False) as f:  # a standard npz file
        np.testing.assert_array_equal(f["file"], state["file"])


def test_no_temporary_file_left_behind(tmp_path: Path) -> None:
    save({"x": np.ones(2)}, tmp_path / "a.safetensors")
    with pytest.raises(TypeError):
        save({"x": np.ones(2, np.complex64)}, tmp_path / "b.safetensors")
    assert sorted(os.listdir(tmp_path)) == ["a.safetensors"]


def test_save_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown file format '.pt'"):
        save({"x": np.ones(1)}, tmp_path / "model.pt")
    with pytest.raises(TypeError, match="expects a dict"):
        save([np.ones(1)], tmp_path / "model.npz")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unsupported dtype complex128"):
        save({"x": np.ones(1, complex)}, tmp_path / "model.safetensors")
    with pytest.raises(TypeError, match="cannot save a set"):
        save({"x": {1, 2}}, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="metadata"):
        save({"x": np.ones(1)}, tmp_path / "model.npz", metadata={"a": "b"})


# ----------------------------------------------------------------- damaged / foreign files
def _write_header(path: Path, header: dict, data: bytes = b"") -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + data)


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    path = tmp_path / "good.safetensors"
    save({"a": np.arange(6.0).reshape(2, 3), "b": np.ones(4, np.int64)}, path)
    return path


def test_truncated_safetensors_files(good_file: Path, tmp_path: Path) -> None:
    raw = good_file.read_bytes()
    for cut in [0, 5, 8, 20, len(raw) - 1]:  # in the length, the header, the data
        path = tmp_path / f"cut{cut}.safetensors"
        path.write_bytes(raw[:cut])
        with pytest.raises(ValueError, match=f"cut{cut}.safetensors.*(truncated|too short)"):
            load(path)
        with pytest.raises(Exception):  # noqa: B017  the reference library agrees it is bad
            safetensors.numpy.load_file(str(path))


def test_foreign_files(tmp_path: Path) -> None:
    png = tmp_path / "image.safetensors"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(ValueError, match="image.safetensors.*not a valid safetensors"):
        load(png)
    text = tmp_path / "notes.npz"
    text.write_text("just some text, not an archive")
    with pytest.raises(ValueError, match="notes.npz.*not an .npz"):
        load(text)
    npz_as_safetensors = tmp_path / "x.safetensors"
    save({"a": np.ones(3)}, tmp_path / "x.npz")
    npz_as_safetensors.write_bytes((tmp_path / "x.npz").read_bytes())
    with pytest.raises(ValueError, match="x.safetensors"):
        load(npz_as_safetensors)


def test_truncated_npz(tmp_path: Path) -> None:
    save({"a": np.arange(100.0)}, tmp_path / "full.npz")
    raw = (tmp_path / "full.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="cut.npz.*(corrupt|truncated)"):
        load(tmp_path / "cut.npz")


def test_npz_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "obj.npz", a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="obj.npz"):
        load(tmp_path / "obj.npz")


@pytest.mark.parametrize(
    ("header", "data", "message"),
    [
        ({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8, "outside"),
        ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8, "needs 12"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, b"\0" * 8, "outside"),
        ({"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4, "BF16"),
        ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, "invalid"),
        ({"a": {"shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4, "malformed"),
        ({"a": [1, 2, 3]}, b"", "malformed"),
    ],
)
def test_bad_headers(tmp_path: Path, header: dict, data: bytes, message: str) -> None:
    path = tmp_path / "bad.safetensors"
    _write_header(path, header, data)
    with pytest.raises(ValueError, match=f"bad.safetensors.*{message}"):
        load(path)


def test_header_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes((10).to_bytes(8, "little") + b"not json!!")
    with pytest.raises(ValueError, match="bad.safetensors.*not valid JSON"):
        load(path)


def test_top_level_names() -> None:
    assert minigrad.save is save and minigrad.load is load
