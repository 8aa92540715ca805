"""Logits processors and warpers of generation, as ``transformers``' classes of the same
names: each is called as ``processor(input_ids, scores) -> scores`` on the next-token
scores (N, V) (NumPy arrays; minigrad or torch tensors are read as arrays).

* ``TemperatureLogitsWarper(τ)``:  ℓ / τ  (τ < 1 sharpens, τ > 1 flattens softmax(ℓ));
* ``TopKLogitsWarper(k)``: ℓᵢ -> -∞ where ℓᵢ < the k-th largest score (ties kept);
* ``TopPLogitsWarper(p)``: nucleus filtering. Sort ascending, cᵢ = Σ_{j ≤ i} softmax(ℓ)ⱼ;
  remove the tokens with cᵢ ≤ 1 - p (the least likely, whose mass is at most 1 - p),
  always keeping the ``min_tokens_to_keep`` most likely;
* ``ForcedEOSTokenLogitsProcessor(max_length, eos)``: at the last step (current length
  max_length - 1) every token but eos gets -∞.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.models._layers import as_array


def softmax(x: np.ndarray) -> np.ndarray:
    """softmax over the last axis (-∞ entries give 0)."""
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """xᵢ - max x - log Σⱼ exp(xⱼ - max x) over the last axis."""
    shifted = x - x.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def _check_keep(min_tokens_to_keep: int) -> None:
    if not isinstance(min_tokens_to_keep, int) or min_tokens_to_keep < 1:
        raise ValueError(
            f"`min_tokens_to_keep` has to be a positive integer, but is {min_tokens_to_keep}"
        )


class TemperatureLogitsWarper:
    """ℓ / temperature."""

    def __init__(self, temperature: float) -> None:
        if not isinstance(temperature, (int, float)) or not temperature > 0:
            raise ValueError(f"`temperature` (={temperature}) has to be a strictly positive float")
        self.temperature = temperature

    def __call__(self, input_ids: Any, scores: Any) -> np.ndarray:
        s = as_array(scores)
        return s / np.asarray(self.temperature, dtype=s.dtype)


class TopKLogitsWarper:
    """Keep the ``top_k`` highest scores (at least ``min_tokens_to_keep``), -∞ elsewhere."""

    def __init__(
        self, top_k: int, filter_value: float = -float("inf"), min_tokens_to_keep: int = 1
    ) -> None:
        if not isinstance(top_k, int) or top_k <= 0:
            raise ValueError(f"`top_k` has to be a strictly positive integer, but is {top_k}")
        _check_keep(min_tokens_to_keep)
        self.top_k = max(top_k, min_tokens_to_keep)
        self.filter_value = filter_value

    def __call__(self, input_ids: Any, scores: Any) -> np.ndarray:
        s = as_array(scores)
        k = min(self.top_k, s.shape[-1])
        kth = np.partition(s, -k, axis=-1)[..., -k, None]  # the k-th largest score
        return np.where(s < kth, np.asarray(self.filter_value, s.dtype), s)


class TopPLogitsWarper:
    """Keep the smallest set of most likely tokens whose probability reaches ``top_p``."""

    def __init__(
        self, top_p: float, filter_value: float = -float("inf"), min_tokens_to_keep: int = 1
    ) -> None:
        top_p = float(top_p)
        if top_p < 0 or top_p > 1.0:
            raise ValueError(f"`top_p` has to be a float > 0 and < 1, but is {top_p}")
        _check_keep(min_tokens_to_keep)
        self.top_p = top_p
        self.filter_value = filter_value
        self.min_tokens_to_keep = min_tokens_to_keep

    def __call__(self, input_ids: Any, scores: Any) -> np.ndarray:
        s = as_array(scores)
        order = np.argsort(s, axis=-1, kind="stable")  # ascending
        probs = softmax(np.take_along_axis(s, order, -1))
        cum = np.cumsum(probs, axis=-1, dtype=np.float64).astype(s.dtype)
        remove_sorted = cum <= np.asarray(1 - self.top_p, s.dtype)
        remove_sorted[..., -self.min_tokens_to_keep :] = False
        remove = np.empty_like(remove_sorted)
        np.put_along_axis(remove, order, remove_sorted, -1)
        return np.where(remove, np.asarray(self.filter_value, s.dtype), s)


class ForcedEOSTokenLogitsProcessor:
    """At current length ``max_length - 1`` only eos may come next."""

    def __init__(self, max_length: int, eos_token_id: int | list[int]) -> None:
        self.max_length = max_length
        self.eos_token_id = eos_token_id if isinstance(eos_token_id, list) else [eos_token_id]

    def __call__(self, input_ids: Any, scores: Any) -> np.ndarray:
        s = as_array(scores)
        if as_array(input_ids).shape[-1] != self.max_length - 1:
            return s
        out = np.full_like(s, -np.inf)
        out[:, self.eos_token_id] = 0
        return out


class LogitsProcessorList(list):
    """Processors applied in order."""

    def __call__(self, input_ids: Any, scores: Any) -> np.ndarray:
        s = as_array(scores)
        for proc in self:
            s = proc(input_ids, s)
        return s
