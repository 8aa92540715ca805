"""Pieces shared by the GPT-2 and BERT models: activations, attention masks, the
attention itself, weight initialisation and the output records.

Attention, as Hugging Face's reference ("eager") implementation computes it::

    scores = (Q Kᵀ) · scale + M,      M[b, :, i, j] = 0 if query i may see key j,
                                                    = finfo(dtype).min otherwise
    P = dropout(softmax(scores))      (dropout only in training mode)
    out = P V

Masked scores get the most negative finite number rather than -inf, so a query row
with no visible key (e.g. a left-padding position under a causal mask) gives uniform
weights instead of NaN, exactly as Hugging Face's eager path does. (Hugging Face adds
it; here the masked scores are set to it, which gives the same number: a score plus
finfo(dtype).min rounds to finfo(dtype).min unless the score is astronomically large,
above 10³¹ in float32.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.models.config import ACTIVATIONS
from minigrad.tensor import Tensor

IGNORE_INDEX = -100  # label value that the losses skip (Hugging Face's convention)


# ------------------------------------------------------------------ outputs
@dataclass
class BaseModelOutput:
    last_hidden_state: Tensor
    pooler_output: Tensor | None = None


@dataclass
class CausalLMOutput:
    loss: Tensor | None
    logits: Tensor


@dataclass
class MaskedLMOutput:
    loss: Tensor | None
    logits: Tensor


@dataclass
class BertForPreTrainingOutput:
    loss: Tensor | None
    prediction_logits: Tensor
    seq_relationship_logits: Tensor


PreTrainingOutput = BertForPreTrainingOutput  # the former name


@dataclass
class SequenceClassifierOutput:
    loss: Tensor | None
    logits: Tensor


@dataclass
class TokenClassifierOutput:
    loss: Tensor | None
    logits: Tensor  # (batch, seq, num_labels)


@dataclass
class NextSentencePredictorOutput:
    loss: Tensor | None
    logits: Tensor  # (batch, 2): 0 = B follows A, 1 = B is random


# ------------------------------------------------------------------ inputs
def as_array(x: Any) -> np.ndarray:
    """A minigrad Tensor, torch tensor (any device, maybe requiring grad), list or
    NumPy array as a NumPy array."""
    if isinstance(x, Tensor):
        return x.data
    if hasattr(x, "detach"):  # a torch tensor
        return x.detach().cpu().numpy()
    return np.asarray(x)


def as_index_array(x: Any, name: str) -> np.ndarray:
    """Token ids / masks / labels of shape (batch, seq) as an int64 array."""
    arr = as_array(x)
    if arr.dtype.kind not in "biu":
        raise TypeError(f"{name}: expected integer ids, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected shape (batch, seq), got {arr.shape}")
    return arr.astype(np.int64, copy=False)


def check_same_shape(ids: np.ndarray, other: np.ndarray | None, name: str) -> None:
    if other is not None and other.shape != ids.shape:
        raise ValueError(f"{name} has shape {other.shape}, but input_ids has shape {ids.shape}")


def default_positions(ids: np.ndarray, max_positions: int, model: str) -> np.ndarray:
    """0, 1, ..., T-1 for every row, after checking T fits the position table."""
    seq = ids.shape[1]
    if seq > max_positions:
        raise ValueError(
            f"{model}: sequence length {seq} exceeds the {max_positions} position embeddings"
        )
    return np.broadcast_to(np.arange(seq, dtype=np.int64), ids.shape)


# ------------------------------------------------------------------ activations
def activation(name: str, x: Tensor) -> Tensor:
    """The Hugging Face activation ``name`` (see ``config.ACTIVATIONS``) applied to ``x``."""
    op, kwargs = ACTIVATIONS[name]
    return getattr(minigrad, op)(x, **kwargs)


# ------------------------------------------------------------------ attention
def additive_attention_mask(attention_mask: np.ndarray | None, dtype: Any) -> Tensor | None:
    """Hugging Face's "extended" attention mask for bidirectional attention: M of shape
    (batch, 1, 1, seq), M = (1 - attention_mask) · finfo(dtype).min, to be added to the
    scores of every head and query; None when nothing is masked (then there is nothing
    to add)."""
    if attention_mask is None or attention_mask.all():
        return None
    dtype = np.dtype(dtype)
    m = (1 - attention_mask[:, None, None, :]).astype(dtype) * np.finfo(dtype).min
    return Tensor(m)


def split_heads(x: Tensor, heads: int) -> Tensor:
    """(B, T, H·D) -> (B, H, T, D)."""
    b, t, e = x.shape
    return x.reshape(b, t, heads, e // heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """(B, H, T, D) -> (B, T, H·D)."""
    b, h, t, d = x.shape
    return x.transpose(1, 2).reshape(b, t, h * d)


# ------------------------------------------------------------------ losses
def token_cross_entropy(logits: Tensor, labels: np.ndarray) -> Tensor:
    """Mean cross entropy over the positions whose label is not -100."""
    flat = logits.reshape(-1, logits.shape[-1])
    return F.cross_entropy(flat, Tensor(labels.reshape(-1)), ignore_index=IGNORE_INDEX)


# ------------------------------------------------------------------ initialisation
_init_state = {"enabled": True}


def _skip_init(tensor: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    return tensor


@contextmanager
def no_init_weights() -> Iterator[None]:
    """Skip all weight initialisation inside this block, for models whose weights are
    about to be overwritten by a checkpoint: the models' own scheme and, as
    ``transformers``' context of the same name does with ``torch.nn.init``, the layers'
    default ``reset_parameters`` (every ``minigrad.nn.init.*_`` function returns its
    tensor untouched), so parameters stay the zeros they are allocated as. Drawing
    GPT-2 small's 124M normal numbers only to replace them would take seconds and
    transient float64 buffers four times the embedding's size."""
    previous = _init_state["enabled"]
    _init_state["enabled"] = False
    originals = {} if not previous else {
        name: fn for name, fn in vars(nn.init).items()
        if name.endswith("_") and not name.startswith("_") and callable(fn)
    }  # fmt: skip
    for name in originals:
        setattr(nn.init, name, _skip_init)
    try:
        yield
    finally:
        for name, fn in originals.items():
            setattr(nn.init, name, fn)
        _init_state["enabled"] = previous


def init_enabled() -> bool:
    return _init_state["enabled"]


def init_normal_(module: nn.Module, std: float) -> None:
    """Hugging Face's initialisation of one module: Linear/Embedding weights ~ N(0, std²)
    (the padding row zeroed), biases 0, LayerNorm weight 1 and bias 0."""
    with minigrad.no_grad():
        if isinstance(module, nn.LayerNorm):
            module.weight.fill_(1.0)
            module.bias.fill_(0.0)
            return
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.normal_(0.0, std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.zero_()
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            module.weight[module.padding_idx] = 0.0
