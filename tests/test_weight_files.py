"""Weight files read with bounded work: safetensors mapped (not copied), missing files,
and crafted ``.npz`` archives (sizes checked before allocating, bounded decompression,
no pickle, native byte order). Accepted archives are compared with ``np.load``."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

import minigrad
from minigrad.serialization import NpzError, SafetensorsError, load, load_file, save


# ----------------------------------------------------------------- safetensors mapping
def test_safetensors_data_is_mapped_copy_on_write(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    weights = {"a": np.arange(12.0).reshape(3, 4), "b": np.arange(5, dtype=np.int32)}
    safetensors.numpy.save_file(weights, str(path))
    before = path.read_bytes()
    loaded = load(path)
    for name, array in weights.items():
        data = loaded[name].data
        base = data
        while base.base is not None and not isinstance(base, np.memmap):
            base = base.base
        assert isinstance(base, np.memmap) and base.mode == "c", name  # a view of the map
        assert data.flags.writeable and data.dtype.isnative
        np.testing.assert_array_equal(data, array)
    loaded["a"].data[0, 0] = 99.0  # copy-on-write: the process sees it, the file does not
    assert loaded["a"].data[0, 0] == 99.0
    assert path.read_bytes() == before
    np.testing.assert_array_equal(safetensors.numpy.load_file(str(path))["a"], weights["a"])


def test_loading_allocates_nothing_for_the_data(tmp_path: Path) -> None:
    path = tmp_path / "big.safetensors"
    save({"w": np.ones((1024, 1024), np.float32)}, path)  # 4 MiB
    tracemalloc.start()
    try:
        tensors = load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 256 * 1024, peak  # the header and bookkeeping only
    assert float(tensors["w"].data.sum()) == 1024 * 1024


def test_unaligned_data_is_copied_aligned(tmp_path: Path) -> None:
    header = b'{"x":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}'  # 8 + 57: unaligned
    path = tmp_path / "u.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + np.array([1.5, -2.0]).tobytes())
    arrays = load_file(path)
    assert arrays["x"].flags.aligned
    np.testing.assert_array_equal(arrays["x"], safetensors.numpy.load_file(str(path))["x"])


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_missing_file_is_file_not_found(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(FileNotFoundError):
        load(tmp_path / f"nothing{suffix}")


def test_error_types_are_value_errors() -> None:
    assert issubclass(SafetensorsError, ValueError) and issubclass(NpzError, ValueError)
    assert minigrad.serialization.SafetensorsError is SafetensorsError


# ----------------------------------------------------------------- crafted .npz archives
def _npy_header(shape: tuple, descr: str = "<f8", fortran: bool = False) -> bytes:
    buf = io.BytesIO()
    d = {"descr": descr, "fortran_order": fortran, "shape": shape}
    np.lib.format.write_array_header_1_0(buf, d)
    return np.lib.format.magic(1, 0) + buf.getvalue()[8:]


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _patch_sizes(path: Path, compressed: int, uncompressed: int) -> None:
    """Rewrite the sizes of the (only) member in its local and central headers."""
    raw = bytearray(path.read_bytes())
    local = raw.index(b"PK\x03\x04")
    central = raw.index(b"PK\x01\x02")
    struct.pack_into("<II", raw, local + 18, compressed, uncompressed)
    struct.pack_into("<II", raw, central + 20, compressed, uncompressed)
    path.write_bytes(bytes(raw))


def _refused_cheaply(path: Path, message: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(NpzError, match=message):
            load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, peak  # refused before allocating the claimed size


def test_npz_member_claiming_8_gib_without_data(tmp_path: Path) -> None:
    path = tmp_path / "claims.npz"
    _zip(path, {"w.npy": _npy_header((2**30,))})  # 8 GiB of float64, no data
    _refused_cheaply(path, r"claims\.npz.*'w\.npy'.*claims shape \(1073741824,\)")
    with pytest.raises(ValueError):  # NumPy refuses too (after trying to allocate)
        np.load(path)["w"]


def test_npz_zip_sizes_claiming_4_gib(tmp_path: Path) -> None:
    stored = tmp_path / "stored.npz"
    _zip(stored, {"w.npy": _npy_header((4,)) + bytes(32)})
    _patch_sizes(stored, 2**32 - 16, 2**32 - 16)  # the most a non-zip64 field holds
    _refused_cheaply(stored, "past the end")
    deflated = tmp_path / "deflated.npz"
    _zip(deflated, {"w.npy": _npy_header((4,)) + bytes(32)}, zipfile.ZIP_DEFLATED)
    size = zipfile.ZipFile(deflated).infolist()[0].compress_size
    _patch_sizes(deflated, size, 2**32 - 16)
    _refused_cheaply(deflated, "more than deflate can produce")


def test_npz_highly_compressed_but_honest_archive_loads(tmp_path: Path) -> None:
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, z=np.zeros(2_000_000))  # ~1000:1, deflate's best
    np.testing.assert_array_equal(load(path)["z"].data, np.load(path)["z"])


def test_npz_member_data_shorter_or_longer_than_its_header(tmp_path: Path) -> None:
    for extra, name in [(-8, "short"), (8, "long")]:
        path = tmp_path / f"{name}.npz"
        _zip(path, {"w.npy": _npy_header((4,)) + bytes(32 + extra)})
        with pytest.raises(NpzError, match=f"{name}.npz.*claims shape"):
            load(path)


def test_npz_bad_crc(tmp_path: Path) -> None:
    path = tmp_path / "crc.npz"
    np.savez(path, w=np.arange(8.0))
    raw = bytearray(path.read_bytes())
    raw[raw.index(np.arange(8.0).tobytes()) + 3] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(NpzError, match="crc.npz.*CRC"):
        load(path)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"a.npy": np.lib.format.magic(3, 0) + b"\0" * 20}, "format version"),
        ({"a.npy": b"not an npy file at all"}, "malformed .npy header"),
        ({"a.npy": _npy_header((2,), "|O") + bytes(16)}, "pickle"),
        ({"a.npy": _npy_header((2,), "[('x', '<i4')]")}, "malformed|structured"),
        ({"a.npy": _npy_header((2,), "<U3") + bytes(24)}, "cannot load"),
        ({"a.npy": _npy_header((2,), "<M8[s]") + bytes(16)}, "cannot load"),
        ({"notes.txt": b"hello"}, "not an .npy array"),
    ],
)
def test_npz_crafted_members_refused(tmp_path: Path, members: dict, message: str) -> None:
    path = tmp_path / "bad.npz"
    _zip(path, members)
    with pytest.raises(NpzError, match=f"bad.npz.*{message}"):
        load(path)


def test_npz_duplicate_member_names(tmp_path: Path) -> None:
    path = tmp_path / "dup.npz"
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("w.npy", _npy_header((1,)) + np.float64(1).tobytes())
            zf.writestr("w.npy", _npy_header((1,)) + np.float64(2).tobytes())
    assert float(np.load(path)["w"][0]) == 2.0  # NumPy silently takes one of them
    with pytest.raises(NpzError, match="dup.npz.*'w.npy' appears twice"):
        load(path)


@pytest.mark.parametrize("dtype", [">f8", ">f4", ">i8", ">u2", ">f2", "<f8", "|b1", "|u1"])
@pytest.mark.parametrize("order", ["C", "F"])
def test_npz_byte_order_and_layout_come_back_native(tmp_path: Path, dtype: str, order: str) -> None:
    path = tmp_path / "be.npz"
    array = np.asarray(
        np.arange(12).reshape(3, 4) % 2 if dtype == "|b1" else np.arange(12.0).reshape(3, 4),
        dtype=dtype,
        order=order,
    )
    np.savez(path, a=array)
    data = load(path)["a"].data
    reference = np.load(path)["a"]
    assert reference.dtype == np.dtype(dtype)  # NumPy keeps the file's byte order
    assert data.dtype == np.dtype(dtype).newbyteorder("=") and data.dtype.isnative
    assert data.flags.c_contiguous
    np.testing.assert_array_equal(data, reference)


def test_npz_compressed_round_trip_matches_numpy(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    arrays = {"x": rng.standard_normal((5, 7)), "i": rng.integers(0, 9, 11), "e": np.zeros((0, 3))}
    np.savez_compressed(tmp_path / "c.npz", **arrays)
    loaded = load(tmp_path / "c.npz")
    with np.load(tmp_path / "c.npz") as reference:
        for key in arrays:
            assert loaded[key].shape == reference[key].shape
            np.testing.assert_array_equal(loaded[key].data, reference[key])
