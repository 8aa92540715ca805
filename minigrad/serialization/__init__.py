"""``minigrad.save`` / ``minigrad.load``: state dicts to and from disk, without pickle.

Pickle runs arbitrary code when loading, so minigrad stores only data, in one of two
formats chosen by the file's suffix:

``.safetensors``
    Hugging Face's format, written and read here with NumPy alone
    (:mod:`minigrad.serialization.safetensors_io`, which documents the layout and every
    rule the reader enforces). The data is mapped copy-on-write, not read: loading a
    1 GiB file allocates nothing for the tensors. Files are readable by the
    ``safetensors`` package (and PyTorch, JAX, ...) and vice versa.

``.npz``
    NumPy's zip of ``.npy`` files (``np.savez``), read without pickle and with every
    member's size checked against the archive before allocating
    (:mod:`minigrad.serialization.npz_io`).

**Errors.** A missing file raises ``FileNotFoundError``. Every malformed file raises
one documented type, a subclass of ``ValueError`` naming the file and the problem:
:class:`SafetensorsError` for ``.safetensors``, :class:`NpzError` for ``.npz``.

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
from collections.abc import Mapping
from typing import Any, TypeAlias

import numpy as np

from minigrad.creation import from_numpy
from minigrad.serialization import strict_json
from minigrad.serialization.npz_io import NpzError, load_npz, save_npz
from minigrad.serialization.safetensors_io import (
    SafetensorsError,
    load_file,
    read_file,
    save_file,
)
from minigrad.tensor import Tensor

__all__ = [
    "NpzError",
    "SafetensorsError",
    "load",
    "load_file",
    "read_file",
    "save",
    "save_file",
]

PathLike: TypeAlias = str | os.PathLike

STRUCTURE_KEY = "minigrad.structure"  # safetensors metadata entry holding the skeleton
NPZ_STRUCTURE_KEY = "__minigrad_structure__"  # npz member holding the skeleton


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
            save_file(tensors, tmp, meta)
        else:
            if skeleton is not None:
                tensors[NPZ_STRUCTURE_KEY] = np.array(json.dumps(skeleton))
            save_npz(tmp, tensors)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load(path: PathLike) -> dict[Any, Any]:
    """Read a file written by :func:`save` (or any safetensors / npz file of plain arrays).

    Returns the saved dict with every array as a Tensor (for safetensors, sharing the
    file's copy-on-write mapping). Raises ``FileNotFoundError`` for a missing file and
    :class:`SafetensorsError` / :class:`NpzError` (both ``ValueError``) naming the file
    and the problem when it is truncated, corrupt or not of the expected format.
    """
    name = os.fspath(path)
    if not os.path.exists(name):  # a missing file is not a format problem
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", name)
    if _format_of(path) == "safetensors":
        arrays, metadata = read_file(path)
        structure, error = metadata.get(STRUCTURE_KEY), SafetensorsError
    else:
        arrays = load_npz(path, string_keys=(NPZ_STRUCTURE_KEY,))
        structure, error = arrays.pop(NPZ_STRUCTURE_KEY, None), NpzError
        structure = None if structure is None else str(structure)
    tensors = {key: from_numpy(arr) for key, arr in arrays.items()}
    if structure is None:
        return tensors
    try:
        return _unflatten(strict_json.loads(structure, nonfinite=True), tensors)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise error(f"{name}: corrupt minigrad structure entry ({e!r})") from e


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
