"""The safetensors format, read and written with NumPy alone.

Layout of a file::

    [8 bytes]  N, the header length, unsigned little-endian
    [N bytes]  a UTF-8 JSON object, starting with "{" (space-padded at the end so the
               data starts 8-byte aligned):
               {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
                ..., "__metadata__": {"key": "value", ...}}   (metadata optional)
    [rest]     the tensors' bytes, C order, little-endian; each tensor's
               ``data_offsets`` are [begin, end) relative to this section

**What the reader enforces** (the format's rules, as its reference implementation
checks them, so one file means the same tensors to every tool):

* ``N`` ≤ :data:`MAX_HEADER_BYTES` (100 MB) and ``8 + N`` ≤ the file's size, checked
  before the header is read;
* the header is UTF-8 JSON that starts with ``{``, holds no duplicate key anywhere,
  nests at most 127 levels deep (see :mod:`minigrad.serialization.strict_json`);
* ``__metadata__`` maps strings to strings (``null`` counts as no metadata);
* every other entry is an object with a known ``dtype``, a ``shape`` of integers in
  [0, 2⁶⁴) and ``data_offsets`` of two such integers (other fields are ignored);
* sizes are computed with Python integers: a shape whose element count, times the
  element size, exceeds 2⁶³ − 1 bytes (NumPy's largest array) is refused even when a
  zero dimension makes it empty, and ``end - begin`` must equal the tensor's size;
* sorted by offset, the tensors tile the data section exactly: each begins where the
  previous ended, from 0 to the end of the file, so no two tensors share bytes, no byte
  is unaccounted for (no holes) and nothing trails the last tensor;
* ``BOOL`` bytes are 0 or 1 (NumPy and PyTorch misbehave on other values).

All of this costs work proportional to the header, before anything is allocated for
the data. The data section is then **mapped**, not read: every array is a view of one
copy-on-write ``np.memmap`` (mode ``"c"``), so loading a 1 GiB file allocates nothing
for the tensors, pages are read on first touch, and writing to an array never changes
the file. Two exceptions copy one tensor: data not aligned to its element size (files
from writers that do not pad the header) and, on big-endian machines, the byte swap.
As with any mapping, the file must not be truncated in place while its tensors live
(replacing it, as :func:`minigrad.save` does, is safe on POSIX systems; Windows refuses
to replace a mapped file).

The public names mirror the ``safetensors`` package's NumPy API:
:func:`load_file` (``filename -> {name: array}``) and :func:`save_file`
(``tensors, filename, metadata``); :func:`read_file` also returns the metadata.

Every malformed file raises :class:`SafetensorsError` (a ``ValueError``) naming the file
and the problem; a missing file raises ``FileNotFoundError``. Dtypes the format defines
but minigrad lacks (``BF16``, the ``F8_*``, ``F6_*`` and ``F4`` types, which NumPy has
no type for, and the complex ``C64``) are recognised, so such files are judged valid or
not like any other, and then refused with a :class:`SafetensorsError` that says so.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from minigrad.serialization import strict_json

PathLike: TypeAlias = str | os.PathLike

#: The largest header accepted (the format's reference implementation's limit).
MAX_HEADER_BYTES = 100_000_000
_U64_LIMIT = 2**64
_MAX_ARRAY_BYTES = 2**63 - 1  # NumPy refuses larger arrays, even empty ones


class SafetensorsError(ValueError):
    """A file that is not valid safetensors (or holds a dtype NumPy cannot represent)."""


# Every dtype of the format, with its size in bits.
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8, "U8": 8, "I8": 8, "U16": 16, "I16": 16, "U32": 32, "I32": 32,
    "U64": 64, "I64": 64, "F16": 16, "F32": 32, "F64": 64, "C64": 64, "BF16": 16,
    "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8,
    "F6_E2M3": 6, "F6_E3M2": 6, "F4": 4,
}  # fmt: skip
#: The dtypes minigrad reads: those with a NumPy equivalent, except complex (C64), as
#: minigrad's tensors are real.
NUMPY_DTYPES: dict[str, np.dtype] = {
    name: np.dtype(t)
    for name, t in [
        ("BOOL", np.bool_), ("U8", np.uint8), ("I8", np.int8), ("U16", np.uint16),
        ("I16", np.int16), ("U32", np.uint32), ("I32", np.int32), ("U64", np.uint64),
        ("I64", np.int64), ("F16", np.float16), ("F32", np.float32), ("F64", np.float64),
    ]
}  # fmt: skip
_NAMES_OF = {dtype: name for name, dtype in NUMPY_DTYPES.items()}


@dataclass(frozen=True)
class TensorInfo:
    """One header entry: its name, format dtype, shape and [begin, end) in the data."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class Header:
    """A validated header: entries in the file's order, metadata, and where data lies."""

    tensors: list[TensorInfo]
    metadata: dict[str, str]
    data_start: int  # 8 + N
    data_len: int


# --------------------------------------------------------------------------- reading
def read_header(path: PathLike) -> Header:
    """Read and validate the header of ``path`` (see the module docstring); reads
    8 + N bytes of the file and nothing else."""
    with open(path, "rb") as f:
        return _read_header(f, os.fspath(path))


def load_file(filename: PathLike) -> dict[str, np.ndarray]:
    """The tensors of ``filename`` (in the header's order) as NumPy arrays mapped from
    the file (copy-on-write): ``safetensors.numpy.load_file`` with NumPy alone."""
    return read_file(filename)[0]


def read_file(path: PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors of ``path`` (as :func:`load_file`) and the header's metadata."""
    name = os.fspath(path)
    with open(path, "rb") as f:
        header = _read_header(f, name)
        for t in header.tensors:
            if t.dtype not in NUMPY_DTYPES:
                raise SafetensorsError(
                    f"{name}: tensor {t.name!r} has dtype {t.dtype}, which the format "
                    "allows but minigrad cannot represent (convert it, e.g. to F32)"
                )
        data = None
        if header.data_len:
            try:
                data = np.memmap(
                    f, np.uint8, mode="c", offset=header.data_start, shape=(header.data_len,)
                )
            except (ValueError, OSError) as e:  # the file changed under us
                raise SafetensorsError(f"{name}: cannot map the data section ({e})") from e
    arrays = {t.name: _array(data, t, name) for t in header.tensors}
    return arrays, header.metadata


def _array(data: np.ndarray | None, t: TensorInfo, name: str) -> np.ndarray:
    dtype = NUMPY_DTYPES[t.dtype]
    if t.begin == t.end:
        return np.empty(t.shape, dtype)
    flat = data[t.begin : t.end].view(np.ndarray).view(dtype.newbyteorder("<"))
    if not flat.flags.aligned:
        flat = flat.copy()  # unaligned data (no header padding): one aligned copy
    if dtype == np.bool_ and np.any(flat.view(np.uint8) > 1):
        raise SafetensorsError(f"{name}: tensor {t.name!r} is BOOL but holds bytes other than 0/1")
    if sys.byteorder == "big" and dtype.itemsize > 1:
        flat = flat.astype(dtype)
    return flat.reshape(t.shape)


def _read_header(f: Any, name: str) -> Header:
    def bad(problem: str) -> SafetensorsError:
        return SafetensorsError(f"{name}: not a valid safetensors file: {problem}")

    size = os.fstat(f.fileno()).st_size
    if size < 8:
        raise bad(f"the file is {size} bytes long, too short for the 8-byte header length")
    n = int.from_bytes(f.read(8), "little")
    if n > MAX_HEADER_BYTES:
        raise bad(f"header length {n} exceeds the format's limit of {MAX_HEADER_BYTES} bytes")
    if 8 + n > size:
        raise bad(
            f"header length {n} runs past the end of the file ({size} bytes): "
            "the file is truncated or is not safetensors"
        )
    raw = f.read(n)
    if len(raw) != n:
        raise bad("the file is truncated (it shrank while being read)")
    if raw[:1] != b"{":
        raise bad("the header is not valid JSON: it must start with '{' (the format requires it)")
    try:
        obj = strict_json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise bad(f"the header is not UTF-8 ({e})") from None
    except ValueError as e:
        raise bad(f"the header is not valid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise bad("the header is not a JSON object")
    metadata = obj.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise bad("__metadata__ must map strings to strings")
    data_len = size - 8 - n
    tensors = [_entry(key, info, data_len, bad) for key, info in obj.items()]
    covered = 0
    for t in sorted(tensors, key=lambda t: (t.begin, t.end)):
        if t.begin != covered:
            what = "overlaps the previous tensor" if t.begin < covered else "leaves a hole"
            raise bad(
                f"tensor {t.name!r} begins at byte {t.begin} of the data section but the "
                f"tensors before it end at {covered}: it {what} (tensors must tile the data)"
            )
        covered = t.end
    if covered != data_len:
        raise bad(
            f"the tensors cover {covered} bytes but the data section holds {data_len}: "
            + ("the file is truncated" if covered > data_len else "trailing bytes after them")
        )
    return Header(tensors, metadata, 8 + n, data_len)


def _is_size(x: Any) -> bool:
    return type(x) is int and 0 <= x < _U64_LIMIT


def _entry(key: str, info: Any, data_len: int, bad: Any) -> TensorInfo:
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= info.keys():
        raise bad(f"tensor {key!r} has a malformed entry (need dtype, shape, data_offsets)")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        raise bad(f"tensor {key!r} has unknown dtype {dtype!r}; known: {sorted(DTYPE_BITS)}")
    if not isinstance(shape, list) or not all(_is_size(d) for d in shape):
        raise bad(f"tensor {key!r} has an invalid shape {shape!r} (need integers >= 0)")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_size, offsets))):
        raise bad(f"tensor {key!r} has invalid data_offsets {offsets!r}")
    begin, end = offsets
    if end < begin:
        raise bad(f"tensor {key!r} has data_offsets [{begin}, {end}] outside any range (end<begin)")
    if end > data_len:
        raise bad(
            f"tensor {key!r} has data_offsets [{begin}, {end}] outside the data section "
            f"of {data_len} bytes: the file is truncated or corrupt"
        )
    nonzero = 1
    for d in shape:
        nonzero *= d or 1
    bits = DTYPE_BITS[dtype]
    if nonzero * -(-bits // 8) > _MAX_ARRAY_BYTES:
        raise bad(f"tensor {key!r} of shape {shape} is too large to address")
    nbits = (0 if 0 in shape else nonzero) * bits
    if nbits % 8:
        raise bad(f"tensor {key!r} of {dtype} and shape {shape} does not fill whole bytes")
    if end - begin != nbits // 8:
        raise bad(
            f"tensor {key!r} of shape {shape} and dtype {dtype} needs {nbits // 8} bytes, "
            f"but its data_offsets [{begin}, {end}] span {end - begin}"
        )
    return TensorInfo(key, dtype, tuple(shape), begin, end)


# --------------------------------------------------------------------------- writing
def save_file(
    tensors: Mapping[str, np.ndarray], filename: PathLike, metadata: Mapping[str, str] | None = None
) -> None:
    """Write ``tensors`` (in order, back to back) and ``metadata`` to ``filename``
    (``safetensors.numpy.save_file``'s arguments)."""
    header: dict[str, Any] = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("safetensors metadata must map strings to strings")
        header["__metadata__"] = dict(metadata)
    arrays = []
    offset = 0
    for key, array in tensors.items():
        if key == "__metadata__":
            raise ValueError("'__metadata__' is reserved in safetensors and cannot name a tensor")
        dtype_name = _NAMES_OF.get(array.dtype.newbyteorder("="))
        if dtype_name is None:
            raise TypeError(f"minigrad.save: tensor {key!r} has unsupported dtype {array.dtype}")
        array = np.asarray(array, dtype=array.dtype.newbyteorder("<"), order="C")
        header[key] = {
            "dtype": dtype_name,
            "shape": list(array.shape),
            "data_offsets": [offset, offset + array.nbytes],
        }
        arrays.append(array)
        offset += array.nbytes
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-(8 + len(header_bytes)) % 8)  # align the data section
    with open(filename, "wb") as f:
        f.write(len(header_bytes).to_bytes(8, "little"))
        f.write(header_bytes)
        for array in arrays:
            array.tofile(f)
