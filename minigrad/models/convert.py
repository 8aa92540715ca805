"""Reading Hugging Face checkpoints into the minigrad models.

The layouts already agree (same names, same shapes, GPT-2's Conv1D included), so a
``transformers`` model's ``state_dict()`` loads with ``model.load_state_dict(...)``
directly. What this module adds is what *checkpoint files* need on top:

* **non-parameter buffers** that some ``transformers`` versions save: BERT's
  ``embeddings.position_ids`` / ``embeddings.token_type_ids`` (0..T-1 and zeros) and
  GPT-2's ``attn.bias`` / ``attn.masked_bias`` (the causal mask). They are recomputed
  by the models here, so they are dropped;
* the **base-model prefix**: a checkpoint of the bare encoder (``embeddings.…``, as
  all-MiniLM-L6-v2 ships) loads into a model with a head (``bert.embeddings.…``), and
  a checkpoint with a head loads into the bare encoder, as ``from_pretrained`` does;
* **tied weights** saved once: a key missing from the checkpoint whose Parameter is
  shared with a key that is present (GPT-2's ``lm_head.weight`` = ``wte.weight``) is
  filled from its twin.

Folders are found, read and written by :mod:`minigrad.models.checkpoint`
(safetensors only, single or sharded, through minigrad's own reader; never a pickle).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
import minigrad.nn as nn
from minigrad.models._layers import as_array, no_init_weights
from minigrad.models.checkpoint import read_config, read_weights, write_folder
from minigrad.models.config import check_fits_in_memory

_HF_BUFFER = re.compile(
    r"(^|\.)embeddings\.(position_ids|token_type_ids)$|\.attn\.(bias|masked_bias)$"
)


def convert_hf_state_dict(state_dict: Mapping[str, Any], model: nn.Module) -> dict[str, np.ndarray]:
    """A Hugging Face state dict (torch tensors or arrays) as NumPy arrays under the
    names ``model`` uses: buffers dropped, the base-model prefix added or removed,
    tied keys that the checkpoint stores once filled from their twin."""
    arrays = {k: as_array(v) for k, v in state_dict.items() if not _HF_BUFFER.search(k)}
    params = model.state_dict(keep_vars=True)
    prefix = getattr(model, "base_model_prefix", "") + "."
    model_has_prefix = any(k.startswith(prefix) for k in params)
    ckpt_has_prefix = any(k.startswith(prefix) for k in arrays)
    if prefix != "." and model_has_prefix and not ckpt_has_prefix:
        arrays = {prefix + k: v for k, v in arrays.items()}
    elif prefix != "." and ckpt_has_prefix and not model_has_prefix:
        arrays = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
    by_param: dict[int, list[str]] = {}
    for key, p in params.items():
        by_param.setdefault(id(p), []).append(key)
    for keys in by_param.values():
        present = [k for k in keys if k in arrays]
        for k in keys:
            if k not in arrays and present:
                arrays[k] = arrays[present[0]]
    return arrays


def load_hf_state_dict(model: nn.Module, state_dict: Mapping[str, Any], strict: bool = True) -> Any:
    """Convert (see :func:`convert_hf_state_dict`) and load into ``model`` in place;
    returns ``load_state_dict``'s ``(missing_keys, unexpected_keys)``."""
    return model.load_state_dict(convert_hf_state_dict(state_dict, model), strict=strict)


def from_pretrained(
    model_cls: type[nn.Module], config_cls: Any, folder: str | Path, **config_overrides: Any
) -> Any:
    """Build ``model_cls`` from a Hugging Face folder: ``config.json`` (with overrides,
    e.g. ``num_labels=4``) and the weights. Weights the checkpoint lacks (a new head)
    keep their fresh initialisation, with a warning; unused checkpoint weights (a head
    the model does not have) are ignored, as ``transformers`` does."""
    config = config_cls.from_dict(read_config(folder), **config_overrides)  # validated
    check_fits_in_memory(config)
    weights = read_weights(folder)  # header checks before any parameter is allocated
    with no_init_weights():  # the checkpoint overwrites the weights anyway
        model = model_cls(config)
    result = load_hf_state_dict(model, weights, strict=False)
    if result.missing_keys:
        _init_missing(model, result.missing_keys, config.initializer_range)
        warnings.warn(
            f"{model_cls.__name__}.from_pretrained({str(folder)!r}): newly initialised "
            f"(not in the checkpoint): {result.missing_keys}",
            stacklevel=3,
        )
    return model


def save_pretrained(
    model: nn.Module, folder: str | Path, max_shard_size: int | str | None = None
) -> None:
    """Write ``model`` as a Hugging Face folder: ``config.json`` (the config's fields
    under Hugging Face's names, the class in ``architectures``, the parameters'
    ``dtype``) and ``model.safetensors`` (tied weights once), sharded with an index
    when larger than ``max_shard_size`` (e.g. ``"5GB"``); ``transformers``'
    ``from_pretrained`` and minigrad's both read it."""
    state = model.state_dict(keep_vars=True)
    dtypes = {str(np.dtype(p.dtype)) for p in state.values() if np.dtype(p.dtype).kind == "f"}
    config = {**model.config.to_dict(), "architectures": [type(model).__name__]}
    if len(dtypes) == 1:
        config["dtype"] = dtypes.pop()
    write_folder(folder, config, state, max_shard_size)


def _init_missing(model: nn.Module, keys: list[str], std: float) -> None:
    """Hugging Face's initialisation for the parameters a checkpoint did not provide:
    LayerNorm weight 1, biases 0, other weights N(0, std²). (Parameter by parameter,
    so a head's tied weight, which the checkpoint did provide, is left alone.)"""
    with minigrad.no_grad():
        for key in keys:
            path, _, leaf = key.rpartition(".")
            module = model.get_submodule(path)
            param = getattr(module, leaf)
            if isinstance(module, nn.LayerNorm):
                param.fill_(1.0 if leaf == "weight" else 0.0)
            elif leaf == "bias":
                param.zero_()
            else:
                param.normal_(0.0, std)
