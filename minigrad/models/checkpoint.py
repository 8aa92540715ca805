"""Hugging Face model folders on disk: finding the weights, reading them through
minigrad's one safetensors reader, and writing folders that ``transformers`` loads.

A folder holds ``config.json`` and the weights, as ``transformers`` writes them:

* ``model.safetensors``, one file; or
* ``model.safetensors.index.json`` with a ``weight_map`` ``{tensor name: shard file}``
  and the shards it names (``model-00001-of-00003.safetensors``, ...), written by
  ``save_pretrained(max_shard_size=...)`` for large models.

Every file goes through :func:`minigrad.serialization.load_file` (NumPy only, data
mapped copy-on-write); the index and the config through the same strict JSON reader
(no duplicate keys, bounded size and nesting). An index must agree with its shards:
each mapped tensor is in the shard the index names, and no shard holds a tensor the
index does not map to it. Shard names must be plain file names inside the folder.

What is **not** read, and why:

* pickled PyTorch checkpoints (``pytorch_model.bin``, ``*.pt``, ``*.pth``, ``*.ckpt``):
  unpickling a file can run arbitrary code, so minigrad never does it. Convert such a
  folder once with ``transformers`` (``AutoModel.from_pretrained(folder)
  .save_pretrained(folder)`` writes ``model.safetensors``);
* hub ids (``"gpt2"``, ``"bert-base-uncased"``): minigrad has no network code and reads
  local folders only. Download the folder first (``hf download gpt2 --local-dir gpt2``).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.serialization import load_file, save, strict_json

SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"
MAX_JSON_BYTES = 64 * 1024 * 1024  # config.json / index: far above any real one
_PICKLED = re.compile(r"(\.bin|\.pt|\.pth|\.ckpt|\.pkl|\.pickle|\.bin\.index\.json)$")
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")
_SHARD_NAME = re.compile(r"[^/\\]+\.safetensors")


def model_folder(folder: str | os.PathLike) -> Path:
    """``folder`` as a Path, or a clear error: a missing path that looks like a hub id
    says that only local folders are read."""
    path = Path(folder)
    if path.is_dir():
        return path
    text = os.fspath(folder)
    if path.exists():
        raise NotADirectoryError(
            f"{text} is a file; from_pretrained reads a model folder (config.json + "
            "model.safetensors)"
        )
    if _HUB_ID.fullmatch(text):
        raise FileNotFoundError(
            f"{text!r} is not a local folder. minigrad reads local model folders only and "
            f"never downloads (it has no network access). Download the model first, e.g. "
            f"`hf download {text} --local-dir {text.rsplit('/', 1)[-1]}`, then pass that "
            "folder's path."
        )
    raise FileNotFoundError(f"no such model folder: {text}")


def read_config(folder: str | os.PathLike) -> dict[str, Any]:
    """The ``config.json`` of a model folder, as a dict."""
    path = model_folder(folder) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: a model folder needs its config.json")
    config = strict_json.read(path, MAX_JSON_BYTES, "config")
    if not isinstance(config, dict):
        raise ValueError(f"{path}: the config is not a JSON object")
    return config


def read_weights(folder: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every tensor of a model folder (single file or sharded), mapped from disk."""
    path = model_folder(folder)
    if (path / SINGLE_FILE).is_file():
        return load_file(path / SINGLE_FILE)
    if (path / INDEX_FILE).is_file():
        return _read_sharded(path, path / INDEX_FILE)
    pickled = sorted(p.name for p in path.iterdir() if _PICKLED.search(p.name))
    if pickled:
        raise ValueError(
            f"{path} holds only pickled checkpoints ({', '.join(pickled)}), which minigrad "
            "never loads: unpickling a file can run arbitrary code. Convert the folder to "
            "safetensors once, e.g. with transformers: "
            "AutoModel.from_pretrained(folder).save_pretrained(folder)"
        )
    raise FileNotFoundError(f"{path} has neither {SINGLE_FILE} nor {INDEX_FILE}")


def _read_sharded(folder: Path, index_path: Path) -> dict[str, np.ndarray]:
    index = strict_json.read(index_path, MAX_JSON_BYTES, "index")
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise ValueError(f"{index_path}: needs a 'weight_map' object of tensor name -> file")
    shards: dict[str, set[str]] = {}
    for key, shard in weight_map.items():
        if not _SHARD_NAME.fullmatch(shard) or shard.startswith("."):
            raise ValueError(
                f"{index_path}: shard {shard!r} (for {key!r}) is not a plain .safetensors "
                "file name inside the folder"
            )
        shards.setdefault(shard, set()).add(key)
    arrays: dict[str, np.ndarray] = {}
    for shard, keys in shards.items():
        path = folder / shard
        if not path.is_file():
            raise FileNotFoundError(f"{index_path} maps tensors to {shard}, which is missing")
        tensors = load_file(path)
        missing, extra = sorted(keys - tensors.keys()), sorted(tensors.keys() - keys)
        if missing or extra:
            problems = []
            if missing:
                problems.append(f"lacks {missing[:5]} (of {len(missing)}) the index maps to it")
            if extra:
                problems.append(f"holds {extra[:5]} (of {len(extra)}) the index does not map to it")
            raise ValueError(f"{path} does not match {index_path.name}: {'; '.join(problems)}")
        arrays.update(tensors)
    return {key: arrays[key] for key in weight_map}


_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}  # fmt: skip
_WEIGHT_FILE = re.compile(r"model(-\d{5}-of-\d{5})?\.safetensors(\.index\.json)?")


def shard_bytes(size: int | str) -> int:
    """``max_shard_size`` in bytes: an int, or a string such as ``"5GB"`` (10⁹ bytes)
    or ``"500MiB"`` (2²⁰ bytes), as ``transformers`` reads it."""
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        return size
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B)\s*", str(size), re.IGNORECASE)
    if not match or float(match[1]) <= 0:
        raise ValueError(f"max_shard_size={size!r}: need a positive int or e.g. '5GB', '500MiB'")
    return int(float(match[1]) * _UNITS[match[2].upper()])


def write_folder(
    folder: str | os.PathLike,
    config: dict[str, Any],
    state: dict[str, Any],
    max_shard_size: int | str | None = None,
) -> None:
    """Write ``config.json`` and the weights into ``folder`` (created if needed), as
    ``transformers`` does: ``model.safetensors``, or, when the weights exceed
    ``max_shard_size``, shards ``model-0000i-of-0000n.safetensors`` (filled in order;
    a tensor larger than the limit gets a shard of its own) and
    ``model.safetensors.index.json``. Files carry the metadata ``format: pt`` that
    ``transformers`` expects. ``state`` maps names to Tensors/arrays; a tensor shared
    under several names (tied weights) is written once, under its first name. Weight
    files of an earlier save that this one does not rewrite are removed, so the folder
    never holds two versions."""
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    seen: set[int] = set()
    arrays = {}
    for key, value in state.items():
        if id(value) in seen:
            continue
        seen.add(id(value))
        arrays[key] = np.asarray(getattr(value, "data", value))
    limit = None if max_shard_size is None else shard_bytes(max_shard_size)
    shards: list[dict[str, np.ndarray]] = [{}]
    used = 0
    for key, array in arrays.items():
        if limit is not None and shards[-1] and used + array.nbytes > limit:
            shards.append({})
            used = 0
        shards[-1][key] = array
        used += array.nbytes
    n = len(shards)
    names = [f"model-{i:05d}-of-{n:05d}.safetensors" for i in range(1, n + 1)]
    names = names if n > 1 else [SINGLE_FILE]
    (path / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    for name, shard in zip(names, shards):
        save(shard, path / name, metadata={"format": "pt"})
    if n > 1:
        index = {
            "metadata": {"total_size": sum(a.nbytes for a in arrays.values())},
            "weight_map": {key: name for name, shard in zip(names, shards) for key in shard},
        }
        (path / INDEX_FILE).write_text(json.dumps(index, indent=2) + "\n")
        names.append(INDEX_FILE)
    for stale in path.iterdir():
        if _WEIGHT_FILE.fullmatch(stale.name) and stale.name not in names:
            stale.unlink()
