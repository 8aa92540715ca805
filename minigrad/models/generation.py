"""Text generation: greedy search, sampling and beam search, as ``transformers``'
``GenerationMixin.generate`` does them, for GPT-2 and the encoder-decoders.

Each step scores the next token from the model's last-position logits ℓ (N, V),
taken in float32 as Hugging Face does, then:

* **greedy**: xₜ = argmax ℓ;
* **sampling**: ℓ goes through the warpers (temperature ℓ/τ, then top-k, then top-p:
  tokens outside get -∞) and xₜ ~ softmax(ℓ), drawn from minigrad's generator
  (``minigrad.manual_seed``);
* **beam search** (``num_beams`` = k > 1): each beam's running score is Σ log p of
  its tokens. Of the k·V continuations of a batch item the best 2k (k·(1 + #eos) with
  several eos ids) are kept; those ending in eos (or reaching the length limit) are
  scored s / L^length_penalty (L = generated length) and enter the set of finished
  hypotheses (the best k kept), the best k others go on. Generation stops when the
  finished set cannot improve any more (Hugging Face's heuristic, ``early_stopping``
  False / True / "never") or at the length limit; the best ``num_return_sequences``
  finished hypotheses are returned. This is a port of Hugging Face's vectorised
  ``_beam_search``, float32 scores and tie rules included, so the token ids agree.

Sequences that hit eos keep going with ``pad_token_id`` until all are done.

A model using the mixin provides ``config`` (``eos_token_id``, ``pad_token_id``, ...)
and either (decoder-only) ``forward(input_ids, attention_mask, position_ids=...,
past_key_values=..., use_cache=...)`` or (``config.is_encoder_decoder``)
``get_encoder()`` and ``forward(attention_mask=..., decoder_input_ids=...,
encoder_outputs=..., past_key_values=..., use_cache=...)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minigrad
from minigrad.models._layers import as_index_array
from minigrad.models.cache import DynamicCache, EncoderDecoderCache
from minigrad.models.logits_process import (
    ForcedEOSTokenLogitsProcessor,
    LogitsProcessorList,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    log_softmax,
    softmax,
)
from minigrad.tensor import Tensor

NEG = np.float32(-1.0e9)  # Hugging Face's "never choose this" score offset


def _eos_list(eos: Any) -> list[int] | None:
    if eos is None:
        return None
    return [int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos])]


def _topk(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k largest of each row, largest first (ties: the lower index first)."""
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    return np.take_along_axis(x, idx, -1), idx


def _gather_beams(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """x (B, beams, ...) -> x[b, idx[b, j], ...]."""
    return np.take_along_axis(x, idx.reshape(idx.shape + (1,) * (x.ndim - 2)), 1)


class _Decoding:
    """What a decoding state shares: the model, its cache (None without), and the
    last-position logits of one forward over the tokens the cache has not seen."""

    def __init__(self, model: Any, mask: np.ndarray, cache: Any) -> None:
        self.model, self.mask, self.cache = model, mask, cache

    def logits(self, seq: np.ndarray) -> np.ndarray:
        start = self.cache.get_seq_length() if self.cache is not None else 0
        out = self.model(**self.inputs(seq, start), past_key_values=self.cache,
                         use_cache=self.cache is not None)  # fmt: skip
        return out.logits.data[:, -1].astype(np.float32)

    def inputs(self, seq: np.ndarray, start: int) -> dict[str, Any]:
        raise NotImplementedError

    def reorder(self, beam_idx: np.ndarray) -> None:
        if self.cache is not None:
            self.cache.reorder_cache(beam_idx)


class _DecoderOnly(_Decoding):
    """Decoding state of a decoder-only model: the mask and positions grow by one
    column per generated token (1, and the last position + 1), as Hugging Face."""

    def __init__(self, model: Any, mask: np.ndarray, use_cache: bool) -> None:
        super().__init__(model, mask, DynamicCache() if use_cache else None)
        self.pos = np.where(mask == 0, 0, np.cumsum(mask, -1) - 1)

    def inputs(self, seq: np.ndarray, start: int) -> dict[str, Any]:
        extra = seq.shape[1] - self.mask.shape[1]  # tokens generated since the last call
        if extra > 0:
            ones = np.ones((seq.shape[0], extra), dtype=np.int64)
            steps = self.pos[:, -1:] + np.arange(1, extra + 1)
            self.mask = np.concatenate([self.mask, ones], 1)
            self.pos = np.concatenate([self.pos, steps], 1)
        return {
            "input_ids": seq[:, start:],
            "attention_mask": self.mask,
            "position_ids": self.pos[:, start:],
        }


class _EncoderDecoder(_Decoding):
    """Decoding state of an encoder-decoder: the encoder output (computed once), and
    the decoder's self- and cross-attention caches."""

    def __init__(self, model: Any, encoder_hidden: Tensor, mask: np.ndarray, use_cache: bool):
        super().__init__(model, mask, EncoderDecoderCache() if use_cache else None)
        self.hidden = encoder_hidden

    def inputs(self, seq: np.ndarray, start: int) -> dict[str, Any]:
        return {
            "attention_mask": self.mask,
            "decoder_input_ids": seq[:, start:],
            "encoder_outputs": self.hidden,
        }


class GenerationMixin:
    """``generate`` for the models with a language-model head (see the module doc)."""

    config: Any

    def generate(
        self,
        input_ids: Any,
        attention_mask: Any = None,
        max_new_tokens: int = 20,
        do_sample: bool = False,
        num_beams: int = 1,
        temperature: float = 1.0,
        top_k: int = 50,
        top_p: float = 1.0,
        eos_token_id: int | list[int] | None = None,
        pad_token_id: int | None = None,
        use_cache: bool = True,
        num_return_sequences: int = 1,
        length_penalty: float = 1.0,
        early_stopping: bool | str = False,
        decoder_start_token_id: int | None = None,
        forced_eos_token_id: int | list[int] | None = None,
    ) -> Tensor:
        """Token ids (N·num_return_sequences, T): the prompt followed by the generated
        tokens (decoder-only), or the decoder start token followed by them
        (encoder-decoder). Arguments as ``transformers``' ``generate``; ids left None
        come from the config (``pad_token_id`` falls back to the eos id). Left-padded
        prompts need their ``attention_mask`` (when it is None it is inferred from
        ``pad_token_id`` as Hugging Face does: pad ids in the prompt that are not eos
        are masked)."""
        cfg = self.config
        ids = as_index_array(input_ids, "generate input_ids")
        eos = _eos_list(eos_token_id if eos_token_id is not None else cfg.eos_token_id)
        pad = pad_token_id if pad_token_id is not None else getattr(cfg, "pad_token_id", None)
        if pad is None and eos is not None:
            pad = eos[0]
        if forced_eos_token_id is None:
            forced_eos_token_id = getattr(cfg, "forced_eos_token_id", None)
        if max_new_tokens < 1:
            raise ValueError(f"generate: max_new_tokens must be >= 1, got {max_new_tokens}")
        if num_beams < 1 or num_return_sequences < 1:
            raise ValueError("generate: num_beams and num_return_sequences must be >= 1")
        if num_beams > 1 and num_return_sequences > num_beams:
            raise ValueError(
                f"generate: num_return_sequences={num_return_sequences} is more than "
                f"num_beams={num_beams}"
            )
        if num_beams == 1 and not do_sample and num_return_sequences > 1:
            raise ValueError("generate: greedy search returns one sequence per prompt")
        mask = self._generation_mask(ids, attention_mask, pad, eos)
        expand = num_beams if num_beams > 1 else num_return_sequences
        with minigrad.no_grad():
            state, seq = self._start_decoding(ids, mask, expand, use_cache, decoder_start_token_id)
            max_length = seq.shape[1] + max_new_tokens
            procs = LogitsProcessorList()
            if forced_eos_token_id is not None:
                procs.append(ForcedEOSTokenLogitsProcessor(max_length, forced_eos_token_id))
            if do_sample:
                keep = (len(eos) + 1 if eos else 2) if num_beams > 1 else 1
                if temperature is not None and temperature != 1.0:
                    procs.append(TemperatureLogitsWarper(temperature))
                if top_k is not None and top_k != 0:
                    procs.append(TopKLogitsWarper(top_k, min_tokens_to_keep=keep))
                if top_p is not None and top_p < 1.0:
                    procs.append(TopPLogitsWarper(top_p, min_tokens_to_keep=keep))
            if num_beams == 1:
                out = _greedy_or_sample(state, seq, procs, max_length, eos, pad, do_sample)
            else:
                out = _beam_search(
                    state,
                    seq,
                    procs,
                    max_length,
                    eos,
                    pad,
                    do_sample,
                    num_beams,
                    num_return_sequences,
                    length_penalty,
                    early_stopping,
                )
        return Tensor(out)

    def _generation_mask(
        self, ids: np.ndarray, attention_mask: Any, pad: int | None, eos: list[int] | None
    ) -> np.ndarray:
        if attention_mask is not None:
            mask = as_index_array(attention_mask, "attention_mask")
            if mask.shape != ids.shape:
                raise ValueError(
                    f"attention_mask has shape {mask.shape}, but input_ids has {ids.shape}"
                )
            return mask
        if pad is not None and (ids == pad).any() and (eos is None or pad not in eos):
            return (ids != pad).astype(np.int64)
        return np.ones_like(ids)

    def _start_decoding(
        self,
        ids: np.ndarray,
        mask: np.ndarray,
        expand: int,
        use_cache: bool,
        decoder_start_token_id: int | None,
    ) -> tuple[Any, np.ndarray]:
        """The decoding state and the initial sequence, each prompt repeated ``expand``
        times in a row (one row per beam / returned sample)."""
        if not getattr(self.config, "is_encoder_decoder", False):
            return _DecoderOnly(self, np.repeat(mask, expand, 0), use_cache), np.repeat(
                ids, expand, 0
            )
        start = decoder_start_token_id
        if start is None:
            start = self.config.decoder_start_token_id
        if start is None:
            raise ValueError("generate: decoder_start_token_id is not set (config or argument)")
        hidden = self.get_encoder()(ids, attention_mask=mask).last_hidden_state
        hidden = Tensor(np.repeat(hidden.data, expand, 0))
        state = _EncoderDecoder(self, hidden, np.repeat(mask, expand, 0), use_cache)
        return state, np.full((ids.shape[0] * expand, 1), start, dtype=np.int64)


def _stops(seq: np.ndarray, max_length: int, eos: list[int] | None) -> np.ndarray:
    """Hugging Face's stopping criteria per row: length reached, or last token is eos."""
    done = np.full(seq.shape[0], seq.shape[1] >= max_length)
    if eos is not None:
        done |= np.isin(seq[:, -1], eos)
    return done


def _draw(probs: np.ndarray) -> np.ndarray:
    """One token per row from ``probs`` (N, V), with minigrad's generator."""
    cdf = np.cumsum(probs, axis=-1, dtype=np.float64)
    u = minigrad.random.generator().random(probs.shape[0]) * cdf[:, -1]
    idx = (cdf <= u[:, None]).sum(-1)
    return np.minimum(idx, probs.shape[-1] - 1)


def _greedy_or_sample(
    state: Any,
    seq: np.ndarray,
    procs: LogitsProcessorList,
    max_length: int,
    eos: list[int] | None,
    pad: int | None,
    do_sample: bool,
) -> np.ndarray:
    unfinished = np.ones(seq.shape[0], dtype=np.int64)
    while True:
        scores = procs(seq, state.logits(seq))
        nxt = _draw(softmax(scores)) if do_sample else np.argmax(scores, -1)
        if eos is not None:
            nxt = nxt * unfinished + pad * (1 - unfinished)
        seq = np.concatenate([seq, nxt[:, None].astype(np.int64)], 1)
        unfinished &= ~_stops(seq, max_length, eos)
        if unfinished.max() == 0:
            return seq


def _beam_search(
    state: Any,
    flat: np.ndarray,
    procs: LogitsProcessorList,
    max_length: int,
    eos: list[int] | None,
    pad: int | None,
    do_sample: bool,
    num_beams: int,
    num_return: int,
    length_penalty: float,
    early_stopping: bool | str,
) -> np.ndarray:
    """Hugging Face's vectorised beam search (``GenerationMixin._beam_search``), on
    float32 scores; variable names follow it."""
    nb = num_beams
    batch, cur_len = flat.shape[0] // nb, flat.shape[1]
    prompt_len = cur_len
    keep = max(2, 1 + (len(eos) if eos else 0)) * nb
    top_nb = np.arange(keep) < nb
    fill = (pad or eos[0]) if eos is not None else -1
    running = np.full((batch, nb, max_length), fill, dtype=np.int64)
    running[:, :, :cur_len] = flat.reshape(batch, nb, cur_len)
    sequences = running.copy()
    running_scores = np.zeros((batch, nb), np.float32)
    running_scores[:, 1:] = NEG
    beam_scores = np.full((batch, nb), NEG, np.float32)
    finished = np.zeros((batch, nb), bool)
    improvable = np.ones((batch, 1), bool)
    running_idx = np.full((batch, nb, max_length - cur_len), -1, np.int64)
    beam_idx = running_idx.copy()
    offset = np.arange(batch)[:, None] * nb
    lp = float(length_penalty)
    while True:
        flat = running[:, :, :cur_len].reshape(batch * nb, cur_len)
        log_probs = procs(flat, log_softmax(state.logits(flat)))
        vocab = log_probs.shape[-1]
        log_probs = (log_probs.reshape(batch, nb, vocab) + running_scores[:, :, None]).reshape(
            batch, nb * vocab
        )
        # top-K continuations over all beams of a batch item
        if do_sample:
            topk_idx = _sample_without_replacement(softmax(log_probs), keep)
            topk_lp = np.take_along_axis(log_probs, topk_idx, 1)
            order = np.argsort(-topk_lp, axis=-1, kind="stable")
            topk_lp, topk_idx = (np.take_along_axis(a, order, 1) for a in (topk_lp, topk_idx))
        else:
            topk_lp, topk_idx = _topk(log_probs, keep)
        from_beam = topk_idx // vocab
        topk_running_idx = _gather_beams(running_idx, from_beam)
        topk_running = _gather_beams(running, from_beam)
        topk_running[:, :, cur_len] = topk_idx % vocab
        topk_running_idx[:, :, cur_len - prompt_len] = from_beam + offset
        hits = _stops(
            topk_running[:, :, : cur_len + 1].reshape(batch * keep, -1), max_length, eos
        ).reshape(batch, keep)
        # the best num_beams unfinished continuations go on
        go_on_lp = topk_lp + hits.astype(np.float32) * NEG
        nxt = _topk(go_on_lp, nb)[1]
        running = _gather_beams(topk_running, nxt)
        running_scores = _gather_beams(go_on_lp, nxt)
        running_idx = _gather_beams(topk_running_idx, nxt)
        # finished ones among the top num_beams join the finished set if good enough
        just_done = hits & top_nb[None, :]
        done_lp = topk_lp / np.float32((cur_len + 1 - prompt_len) ** lp)
        full = finished.all(-1, keepdims=True) & (early_stopping is True)
        done_lp = done_lp + full.astype(np.float32) * NEG
        done_lp = done_lp + (~improvable).astype(np.float32) * NEG
        done_lp = done_lp + (~just_done).astype(np.float32) * NEG
        merged_scores = np.concatenate([beam_scores, done_lp], 1)
        best = _topk(merged_scores, nb)[1]
        sequences = _gather_beams(np.concatenate([sequences, topk_running], 1), best)
        beam_scores = _gather_beams(merged_scores, best)
        beam_idx = _gather_beams(np.concatenate([beam_idx, topk_running_idx], 1), best)
        finished = _gather_beams(np.concatenate([finished, just_done], 1), best)
        state.reorder(running_idx[..., cur_len - prompt_len].reshape(-1))
        cur_len += 1
        # can a running beam still beat the worst finished one?
        if early_stopping == "never" and lp > 0.0:
            best_len = max_length - prompt_len
        else:
            best_len = cur_len - prompt_len
        best_running = running_scores[:, :1] / np.float32(best_len**lp)
        worst_done = np.where(finished, beam_scores.min(1, keepdims=True), NEG)
        improvable = improvable & (best_running > worst_done).any(-1, keepdims=True)
        open_beam = not (finished.all() and early_stopping is True)
        if not (improvable.any() and open_beam and not hits.all()):
            break
    sequences = sequences[:, :num_return].reshape(batch * num_return, max_length)
    beam_idx = beam_idx[:, :num_return].reshape(batch * num_return, -1)
    generated = int((beam_idx + 1 != 0).sum(1).max())
    return sequences[:, : prompt_len + generated]


def _sample_without_replacement(probs: np.ndarray, k: int) -> np.ndarray:
    """k distinct indices per row, drawn with probabilities ``probs`` (minigrad's
    generator), as ``torch.multinomial(probs, k)`` without replacement."""
    rng = minigrad.random.generator()
    out = np.empty((probs.shape[0], k), dtype=np.int64)
    for i, p in enumerate(probs.astype(np.float64)):
        out[i] = rng.choice(p.size, size=k, replace=False, p=p / p.sum())
    return out
