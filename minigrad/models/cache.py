"""The key/value cache of incremental decoding, the attention masks that go with it,
and the output records of the models that return a cache.

Decoding one token at a time, step t needs the keys and values of every earlier
position in every layer. Without a cache they are recomputed from the whole prefix
at each step (O(T²) work for T tokens); with it each step projects only the new
token and appends its K, V::

    K_cache ← [K_cache ; K_new],  V_cache ← [V_cache ; V_new]   (along the sequence)
    out_new = softmax(Q_new K_cacheᵀ · s + M) V_cache

The query at absolute position P + i (P = cached length) may see keys j ≤ P + i
(causal) that are not padding. The mask is Hugging Face's eager one: 0 where a query
may attend, finfo(dtype).min where it may not, added to the scores, so a query row
with no visible key (left padding) gets uniform weights instead of NaN.

:class:`DynamicCache` and :class:`EncoderDecoderCache` mirror ``transformers``'
classes of the same names (``update``, ``get_seq_length``, ``reorder_cache``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

import minigrad
import minigrad.nn.functional as F
from minigrad.tensor import Tensor


# ------------------------------------------------------------------ caches
class DynamicCache:
    """Per layer, the keys and values seen so far, each (B, H, S, D)."""

    def __init__(self) -> None:
        self.keys: list[Tensor] = []
        self.values: list[Tensor] = []

    def __len__(self) -> int:
        return len(self.keys)

    def update(self, key: Tensor, value: Tensor, layer_idx: int) -> tuple[Tensor, Tensor]:
        """Append ``key``/``value`` (B, H, S_new, D) to layer ``layer_idx``'s cache and
        return the whole cached keys and values."""
        if layer_idx == len(self.keys):
            self.keys.append(key)
            self.values.append(value)
        elif layer_idx < len(self.keys):
            self.keys[layer_idx] = minigrad.cat([self.keys[layer_idx], key], dim=-2)
            self.values[layer_idx] = minigrad.cat([self.values[layer_idx], value], dim=-2)
        else:
            raise IndexError(
                f"DynamicCache.update: layer {layer_idx} given before layer {len(self.keys)}"
            )
        return self.keys[layer_idx], self.values[layer_idx]

    def get_seq_length(self, layer_idx: int = 0) -> int:
        """The cached length S (0 for an empty cache)."""
        return self.keys[layer_idx].shape[-2] if layer_idx < len(self.keys) else 0

    def reorder_cache(self, beam_idx: Any) -> None:
        """Keep the rows ``beam_idx`` of the batch (beam search picks the beams to go on
        with: row i of the new cache is row ``beam_idx[i]`` of the old)."""
        idx = np.asarray(beam_idx, dtype=np.int64)
        self.keys = [_take_rows(k, idx) for k in self.keys]
        self.values = [_take_rows(v, idx) for v in self.values]

    def repeat_interleave(self, repeats: int) -> None:
        """Repeat each batch row ``repeats`` times in a row (one copy per beam)."""
        self.reorder_cache(np.repeat(np.arange(self.keys[0].shape[0]), repeats) if self else [])


def _take_rows(x: Tensor, idx: np.ndarray) -> Tensor:
    return x.index_select(0, Tensor(idx))


class EncoderDecoderCache:
    """A decoder's two caches: its self-attention (grows by one position per step) and
    its cross-attention (the encoder's keys and values, computed at the first step
    and reused after; ``is_updated[layer]`` says they are there)."""

    def __init__(
        self,
        self_attention_cache: DynamicCache | None = None,
        cross_attention_cache: DynamicCache | None = None,
    ) -> None:
        self.self_attention_cache = self_attention_cache or DynamicCache()
        self.cross_attention_cache = cross_attention_cache or DynamicCache()
        self.is_updated: dict[int, bool] = {}

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.self_attention_cache.get_seq_length(layer_idx)

    def reorder_cache(self, beam_idx: Any) -> None:
        self.self_attention_cache.reorder_cache(beam_idx)
        self.cross_attention_cache.reorder_cache(beam_idx)


# ------------------------------------------------------------------ masks and attention
@dataclass(frozen=True)
class AttentionMask:
    """Who may attend to whom in one attention call.

    ``blocked`` (bool, broadcast to (B, 1, L, S); True = may not attend) or None when
    nothing is masked; ``causal_square``: the only masking is the plain causal one
    over L = S (no cache, no padding), which the attention op builds itself."""

    blocked: np.ndarray | None
    causal_square: bool = False
    _additive: dict = field(default_factory=dict, compare=False, repr=False)

    def additive(self, dtype: np.dtype) -> Tensor | None:
        """M as a float Tensor: finfo(dtype).min where blocked, 0 elsewhere (built once
        per dtype and shared by every layer)."""
        if self.blocked is None:
            return None
        key = np.dtype(dtype)
        if key not in self._additive:
            fill = np.finfo(key).min
            self._additive[key] = Tensor(np.where(self.blocked, fill, 0).astype(key))
        return self._additive[key]


def build_mask(
    key_padding: np.ndarray | None, q_len: int, past: int = 0, causal: bool = False
) -> AttentionMask:
    """The mask for queries at positions past .. past+q_len-1 over keys 0 .. S-1
    (S = past + q_len for self-attention; the encoder length for cross-attention).

    ``key_padding``: (B, S) with 1 = real key, 0 = padding, or None. ``causal``: query
    at position past + i sees keys j ≤ past + i."""
    blocked = None
    if key_padding is not None and not key_padding.all():
        blocked = (key_padding == 0)[:, None, None, :]
    if not causal:
        return AttentionMask(blocked)
    if blocked is None and past == 0:
        return AttentionMask(None, causal_square=True)
    s_len = past + q_len
    tri = np.arange(s_len)[None, :] > (past + np.arange(q_len))[:, None]  # (L, S)
    if tri.any():
        blocked = tri if blocked is None else blocked | tri
    return AttentionMask(blocked)


def masked_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask, dropout_p: float, scale: float
) -> Tensor:
    """softmax(Q Kᵀ · scale + M) V on split heads (B, H, L, D), through
    ``F.scaled_dot_product_attention``; M = finfo.min where ``mask`` blocks (added, as
    Hugging Face's eager attention), else 0. ``dropout_p`` drops attention weights
    (pass 0 in eval mode)."""
    if mask.causal_square:
        return F.scaled_dot_product_attention(q, k, v, None, dropout_p, True, scale)
    return F.scaled_dot_product_attention(q, k, v, mask.additive(q.dtype), dropout_p, False, scale)


# ------------------------------------------------------------------ outputs
@dataclass
class BaseModelOutputWithPast:
    last_hidden_state: Tensor
    past_key_values: DynamicCache | EncoderDecoderCache | None = None


@dataclass
class CausalLMOutputWithPast:
    loss: Tensor | None
    logits: Tensor
    past_key_values: DynamicCache | None = None


@dataclass
class Seq2SeqModelOutput:
    last_hidden_state: Tensor
    past_key_values: EncoderDecoderCache | None = None
    encoder_last_hidden_state: Tensor | None = None


@dataclass
class Seq2SeqLMOutput:
    loss: Tensor | None
    logits: Tensor
    past_key_values: EncoderDecoderCache | None = None
    encoder_last_hidden_state: Tensor | None = None
