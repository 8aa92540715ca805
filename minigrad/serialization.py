"""``minigrad.save`` / ``minigrad.load``: state dicts to and from disk, without pickle.

Pickle runs arbitrary code when loading, so minigrad stores only data, in one of two
formats chosen by the file's suffix:

``.safetensors``
    Hugging Face's format, written and read here with NumPy alone::

        [8 bytes]  N, the header length, unsigned little-endian
        [N bytes]  a JSON object, space-padded so the data starts 8-byte aligned:
                   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
                    ..., "__metadata__": {"key": "value", ...}}   (metadata optional)
        [rest]     the tensors' bytes, C order, little-endian, back to back; each
                   tensor's ``data_offsets`` are [begin, end) relative to this section

    Files are readable by the ``safetensors`` package (and PyTorch, JAX, ...) and vice versa.

``.npz``
    NumPy's zip of ``.npy`` files (``np.savez``), read with ``allow_pickle=False``.

**What can be saved.** ``obj`` is a dict. A *flat* dict ``{str: Tensor | ndarray}`` (a
model's ``state_dict()``) is stored as exactly those named tensors, which is what other
tools expect. Anything else, such as an optimizer's ``state_dict()`` with its integer
keys, nested dicts, lists, tuples, floats and ``None``, is stored as

* its tensors, named by their path in the structure joined with dots
  (``"state.0.exp_avg"``, ``"param_groups.1.lr"`` if that were a tensor);
* a JSON *skeleton* of the structure with each tensor replaced by its name, in the
  safetensors metadata key ``"minigrad.structure"`` (for ``.npz``: a string array named
  ``"__minigrad_structure__"``). In the skeleton a dict is ``{"dict": [[key, value], ...]}``
  (so keys keep their type), a list ``{"list": [...]}``, a tuple ``{"tuple": [...]}``, a
  tensor ``{"tensor": name}``; ``None``, bools, ints, floats and strings are themselves.

``load`` rebuilds the same structure, with every array returned as a Tensor.
"""

from __future__ import annotations

import errno
import json
import os
import zipfile
from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np

from minigrad.creation import from_numpy
from minigrad.tensor import Tensor

PathLike: TypeAlias = str | os.PathLike

STRUCTURE_KEY = "minigrad.structure"  # safetensors metadata entry holding the skeleton
NPZ_STRUCTURE_KEY = "__minigrad_structure__"  # npz member holding the skeleton

# safetensors dtype names <-> NumPy dtypes (BF16 and FP8 have no NumPy equivalent).
_DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "U16": np.dtype(np.uint16),
    "I16": np.dtype(np.int16),
    "U32": np.dtype(np.uint32),
    "I32": np.dtype(np.int32),
    "U64": np.dtype(np.uint64),
    "I64": np.dtype(np.int64),
    "F16": np.dtype(np.float16),
    "F32": np.dtype(np.float32),
    "F64": np.dtype(np.float64),
}
_DTYPE_NAMES = {dtype: name for name, dtype in _DTYPES.items()}
_MAX_HEADER = 100 * 1024 * 1024  # the safetensors library's own limit


# --------------------------------------------------------------------------- public API
def save(obj: Mapping[Any, Any], path: PathLike, metadata: Mapping[str, str] | None = None) -> None:
    """Write ``obj`` to ``path``; the suffix (``.safetensors`` or ``.npz``) picks the format.

    ``metadata`` (safetensors only) is stored as the header's ``__metadata__`` string map.
    The file is written under a temporary name and then renamed, so an interrupted save
    never leaves a half-written file at ``path``.
    """
    fmt = _format_of(path)
    if not isinstance(obj, Mapping):
        raise TypeError(f"minigrad.save expects a dict (a state dict), got {type(obj).__name__}")
    tensors, skeleton = _flatten(obj)
    if fmt == "npz" and metadata:
        raise ValueError("metadata can only be stored in .safetensors files")
    tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
    try:
        if fmt == "safetensors":
            meta = dict(metadata or {})
            if skeleton is not None:
                meta[STRUCTURE_KEY] = json.dumps(skeleton)
            _write_safetensors(tmp, tensors, meta)
        else:
            if skeleton is not None:
                tensors[NPZ_STRUCTURE_KEY] = np.array(json.dumps(skeleton))
            _write_npz(tmp, tensors)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load(path: PathLike) -> dict[Any, Any]:
    """Read a file written by :func:`save` (or any safetensors / npz file of plain arrays).

    Returns the saved dict with every array as a Tensor. Raises ``ValueError`` naming the
    file and the problem when it is truncated, corrupt or not of the expected format.
    """
    if not os.path.exists(path):  # a missing file is not a format problem
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", os.fspath(path))
    if _format_of(path) == "safetensors":
        arrays, metadata = _read_safetensors(path)
        structure = metadata.get(STRUCTURE_KEY)
    else:
        arrays = _read_npz(path)
        structure = arrays.pop(NPZ_STRUCTURE_KEY, None)
        structure = None if structure is None else str(structure)
    tensors = {name: from_numpy(arr) for name, arr in arrays.items()}
    if structure is None:
        return tensors
    try:
        return _unflatten(json.loads(structure), tensors)
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{os.fspath(path)}: corrupt minigrad structure entry ({e})") from e


# --------------------------------------------------------------------------- structure
def _format_of(path: PathLike) -> str:
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix == ".safetensors":
        return "safetensors"
    if suffix == ".npz":
        return "npz"
    raise ValueError(
        f"{os.fspath(path)}: unknown file format {suffix!r}; use a .safetensors or .npz suffix"
    )


def _as_array(value: Any) -> np.ndarray | None:
    """The array behind a Tensor / ndarray, or None for anything else."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray):
        return value
    return None


def _flatten(obj: Mapping[Any, Any]) -> tuple[dict[str, np.ndarray], Any]:
    """Split ``obj`` into named arrays and a JSON skeleton (None when ``obj`` is flat)."""
    flat = all(isinstance(k, str) and _as_array(v) is not None for k, v in obj.items())
    if flat and NPZ_STRUCTURE_KEY not in obj:
        return {k: _as_array(v) for k, v in obj.items()}, None

    tensors: dict[str, np.ndarray] = {}

    def encode(value: Any, path: list[str]) -> Any:
        array = _as_array(value)
        if array is not None:
            name = ".".join(path)
            while name in tensors or name == NPZ_STRUCTURE_KEY:  # paths can collide
                name += "_"
            tensors[name] = array
            return {"tensor": name}
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return value.item()
        if isinstance(value, Mapping):
            items = []
            for k, v in value.items():
                if not (k is None or isinstance(k, (bool, int, float, str))):
                    raise TypeError(f"minigrad.save: unsupported dict key {k!r} at {path}")
                items.append([k, encode(v, [*path, str(k)])])
            return {"dict": items}
        if isinstance(value, (list, tuple)):
            kind = "list" if isinstance(value, list) else "tuple"
            return {kind: [encode(v, [*path, str(i)]) for i, v in enumerate(value)]}
        where = ".".join(path) or "top level"
        raise TypeError(f"minigrad.save: cannot save a {type(value).__name__} (at {where})")

    return tensors, encode(obj, [])


def _unflatten(node: Any, tensors: dict[str, Tensor]) -> Any:
    """Inverse of ``_flatten``'s skeleton encoding."""
    if not isinstance(node, dict):
        return node
    ((kind, body),) = node.items()
    if kind == "tensor":
        return tensors[body]
    if kind == "dict":
        return {k: _unflatten(v, tensors) for k, v in body}
    if kind == "list":
        return [_unflatten(v, tensors) for v in body]
    if kind == "tuple":
        return tuple(_unflatten(v, tensors) for v in body)
    raise ValueError(f"unknown node kind {kind!r}")


# --------------------------------------------------------------------------- safetensors
def _write_safetensors(
    path: PathLike, tensors: Mapping[str, np.ndarray], metadata: Mapping[str, str]
) -> None:
    header: dict[str, Any] = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("safetensors metadata must map strings to strings")
        header["__metadata__"] = dict(metadata)
    blobs = []
    offset = 0
    for name, array in tensors.items():
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved in safetensors and cannot name a tensor")
        dtype_name = _DTYPE_NAMES.get(array.dtype.newbyteorder("="))
        if dtype_name is None:
            raise TypeError(f"minigrad.save: tensor {name!r} has unsupported dtype {array.dtype}")
        blob = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": dtype_name,
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-(8 + len(header_bytes)) % 8)  # align the data section
    with open(path, "wb") as f:
        f.write(len(header_bytes).to_bytes(8, "little"))
        f.write(header_bytes)
        for blob in blobs:
            f.write(blob)


def _read_safetensors(path: PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    name = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()

    def bad(problem: str) -> ValueError:
        return ValueError(f"{name}: not a valid safetensors file: {problem}")

    if len(raw) < 8:
        raise bad(f"the file is {len(raw)} bytes long, too short for the 8-byte header length")
    header_len = int.from_bytes(raw[:8], "little")
    if header_len > _MAX_HEADER:
        raise bad(f"header length {header_len} is implausibly large (a foreign file?)")
    if 8 + header_len > len(raw):
        raise bad(
            f"header length {header_len} runs past the end of the file ({len(raw)} bytes): "
            "the file is truncated or is not safetensors"
        )
    try:
        header = json.loads(raw[8 : 8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise bad(f"the header is not valid JSON ({e})") from e
    if not isinstance(header, dict):
        raise bad("the header is not a JSON object")

    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise bad("__metadata__ is not an object")
    data = memoryview(raw)[8 + header_len :]
    arrays = {}
    for key, info in header.items():
        try:
            dtype_name, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (TypeError, KeyError, ValueError) as e:
            raise bad(f"tensor {key!r} has a malformed entry {info!r}") from e
        if dtype_name not in _DTYPES:
            raise bad(f"tensor {key!r} has dtype {dtype_name!r}, which minigrad cannot read")
        if not all(isinstance(n, int) and n >= 0 for n in [*shape, begin, end]):
            raise bad(f"tensor {key!r} has an invalid shape or offsets in {info!r}")
        dtype = _DTYPES[dtype_name]
        if end > len(data) or begin > end:
            raise bad(
                f"tensor {key!r} has data_offsets [{begin}, {end}] outside the data section "
                f"of {len(data)} bytes: the file is truncated or corrupt"
            )
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if end - begin != expected:
            raise bad(
                f"tensor {key!r} of shape {shape} and dtype {dtype_name} needs {expected} "
                f"bytes, but its data_offsets span {end - begin}"
            )
        le = np.frombuffer(data[begin:end], dtype=dtype.newbyteorder("<"))
        arrays[key] = le.astype(dtype, copy=True).reshape(shape)  # native order, writable
    return arrays, metadata


# --------------------------------------------------------------------------- npz
def _write_npz(path: PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """What ``np.savez`` writes (an uncompressed zip of ``<name>.npy`` members), without
    savez's keyword-argument interface, which cannot take the names "file" or
    "allow_pickle"."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, array in arrays.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def _read_npz(path: PathLike) -> dict[str, np.ndarray]:
    name = os.fspath(path)
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):  # a zip's first entry / empty zip
        raise ValueError(f"{name}: not an .npz file (it does not start as a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise ValueError(f"{name}: corrupt or truncated .npz file ({e})") from e
    except ValueError as e:  # an object array would need pickle
        raise ValueError(f"{name}: cannot read .npz file safely ({e})") from e
    for key, array in arrays.items():
        ok_kind = "U" if key == NPZ_STRUCTURE_KEY else "biuf"
        if not isinstance(array, np.ndarray) or array.dtype.kind not in ok_kind:
            what = array.dtype if isinstance(array, np.ndarray) else "a non-.npy member"
            raise ValueError(f"{name}: entry {key!r} is {what}, which minigrad cannot load")
    return arrays
