"""BART (Lewis et al., 2019) in minigrad, parameter for parameter as Hugging Face's: a
Transformer encoder-decoder with post-norm layers (the layout Marian shares, see
``marian``).

    encoder:  h₀ = LN_emb(s·E[src] + P[pos])                    (s = √d if scale_embedding)
              h = LN(h + SelfAttn(h));   h = LN(h + W₂ act(W₁ h))      (bidirectional)
    decoder:  g₀ = LN_emb(s·E[tgt] + P[pos])
              g = LN(g + CausalSelfAttn(g))
              g = LN(g + CrossAttn(g, h))     (queries from g, keys/values from the encoder)
              g = LN(g + W₂ act(W₁ g))
    logits = g Eᵀ + final_logits_bias     (E: one embedding shared by encoder, decoder, head)

P is learned, indexed by position + 2 (BART's offset). Training targets: ``labels``
(B, T) give the decoder inputs by :func:`shift_tokens_right` (start token, then the
labels without their last, -100 -> pad) and the loss = mean cross entropy over the
labels that are not -100. Dropout (``dropout`` after attention and feed-forward
blocks, ``attention_dropout`` on the weights, ``activation_dropout`` after the
activation) is active in training mode only; ``encoder_layerdrop``/``decoder_layerdrop``
skip whole layers in training with that probability (minigrad's generator).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.models._layers import (
    BaseModelOutput,
    activation,
    as_index_array,
    init_enabled,
    init_normal_,
    merge_heads,
    split_heads,
    token_cross_entropy,
)
from minigrad.models.cache import (
    AttentionMask,
    DynamicCache,
    EncoderDecoderCache,
    Seq2SeqLMOutput,
    Seq2SeqModelOutput,
    build_mask,
    masked_attention,
)
from minigrad.models.config import _check_activation, _Config
from minigrad.models.generation import GenerationMixin
from minigrad.tensor import Tensor


@dataclass
class BartConfig(_Config):
    """BART sizes and rates under Hugging Face's names. Defaults are bart-large."""

    model_type = "bart"

    vocab_size: int = 50265
    max_position_embeddings: int = 1024
    encoder_layers: int = 12
    encoder_ffn_dim: int = 4096
    encoder_attention_heads: int = 16
    decoder_layers: int = 12
    decoder_ffn_dim: int = 4096
    decoder_attention_heads: int = 16
    encoder_layerdrop: float = 0.0
    decoder_layerdrop: float = 0.0
    activation_function: str = "gelu"
    d_model: int = 1024
    dropout: float = 0.1
    attention_dropout: float = 0.0
    activation_dropout: float = 0.0
    init_std: float = 0.02
    scale_embedding: bool = False
    use_cache: bool = True
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | list[int] | None = 2
    is_encoder_decoder: bool = True
    decoder_start_token_id: int | None = 2
    forced_eos_token_id: int | list[int] | None = 2
    tie_word_embeddings: bool = True

    def __post_init__(self) -> None:
        _check_activation(self.activation_function, "activation_function")
        for heads in (self.encoder_attention_heads, self.decoder_attention_heads):
            if self.d_model % heads:
                raise ValueError(
                    f"{type(self).__name__}: d_model={self.d_model} is not divisible by "
                    f"{heads} attention heads"
                )
        if not self.tie_word_embeddings:
            raise NotImplementedError(
                f"{type(self).__name__}: untied output embeddings are not implemented"
            )

    @property
    def initializer_range(self) -> float:  # the name the shared loaders read
        return self.init_std

    @property
    def hidden_size(self) -> int:
        return self.d_model


def shift_tokens_right(input_ids: Any, pad_token_id: int | None, decoder_start_token_id: int):
    """Decoder inputs from labels, as Hugging Face's: [start, y₀, …, y_{T-2}], with
    -100 (ignored labels) replaced by ``pad_token_id``."""
    ids = as_index_array(input_ids, "labels")
    if pad_token_id is None:
        raise ValueError("self.model.config.pad_token_id has to be defined.")
    out = np.empty_like(ids)
    out[:, 1:] = ids[:, :-1]
    out[:, 0] = decoder_start_token_id
    out[out == -100] = pad_token_id
    return out


class BartLearnedPositionalEmbedding(nn.Embedding):
    """Learned positions, row p + 2 for position p (BART's offset of 2)."""

    offset = 2

    def __init__(self, num_embeddings: int, embedding_dim: int) -> None:
        super().__init__(num_embeddings + self.offset, embedding_dim)

    def forward(self, positions: np.ndarray) -> Tensor:  # type: ignore[override]
        return super().forward(Tensor(positions + self.offset))


class BartAttention(nn.Module):
    """Multi-head attention softmax(Q Kᵀ/√d + M) V; self-attention when
    ``key_value_states`` is None, else cross-attention (keys/values from the encoder).
    With a cache, self-attention appends the new keys/values; cross-attention computes
    the encoder's once and reuses them."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float, layer_idx: int = 0):
        super().__init__()
        self.num_heads, self.dropout, self.layer_idx = num_heads, dropout, layer_idx
        self.scaling = (embed_dim // num_heads) ** -0.5
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(
        self,
        h: Tensor,
        mask: AttentionMask,
        key_value_states: Tensor | None = None,
        cache: EncoderDecoderCache | DynamicCache | None = None,
    ) -> Tensor:
        n = self.num_heads
        q = split_heads(self.q_proj(h), n)
        cross = key_value_states is not None
        if isinstance(cache, EncoderDecoderCache):
            store = cache.cross_attention_cache if cross else cache.self_attention_cache
            reuse = cross and cache.is_updated.get(self.layer_idx, False)
        else:
            store, reuse = cache, False
        if reuse:
            k, v = store.keys[self.layer_idx], store.values[self.layer_idx]
        else:
            src = key_value_states if cross else h
            k, v = split_heads(self.k_proj(src), n), split_heads(self.v_proj(src), n)
            if store is not None:
                k, v = store.update(k, v, self.layer_idx)
                if cross:
                    cache.is_updated[self.layer_idx] = True  # type: ignore[union-attr]
        p = self.dropout if self.training else 0.0
        return self.out_proj(merge_heads(masked_attention(q, k, v, mask, p, self.scaling)))


class _FeedForward(nn.Module):
    """The shared tail of both layer kinds: LN(h + dropout(fc2(dropout(act(fc1 h)))))."""

    def __init__(self, config: BartConfig, ffn_dim: int) -> None:
        super().__init__()
        d = config.d_model
        self.act_name = config.activation_function
        self.dropout, self.activation_dropout = config.dropout, config.activation_dropout
        self.fc1 = nn.Linear(d, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, d)
        self.final_layer_norm = nn.LayerNorm(d)

    def feed_forward(self, h: Tensor) -> Tensor:
        x = activation(self.act_name, self.fc1(h))
        x = F.dropout(x, self.activation_dropout, self.training)
        x = F.dropout(self.fc2(x), self.dropout, self.training)
        return self.final_layer_norm(h + x)

    def residual(self, h: Tensor, x: Tensor, norm: nn.LayerNorm) -> Tensor:
        return norm(h + F.dropout(x, self.dropout, self.training))


class BartEncoderLayer(_FeedForward):
    def __init__(self, config: BartConfig, layer_idx: int = 0) -> None:
        super().__init__(config, config.encoder_ffn_dim)
        d = config.d_model
        self.self_attn = BartAttention(
            d, config.encoder_attention_heads, config.attention_dropout, layer_idx
        )
        self.self_attn_layer_norm = nn.LayerNorm(d)

    def forward(self, h: Tensor, mask: AttentionMask) -> Tensor:
        h = self.residual(h, self.self_attn(h, mask), self.self_attn_layer_norm)
        return self.feed_forward(h)


class BartDecoderLayer(_FeedForward):
    def __init__(self, config: BartConfig, layer_idx: int = 0) -> None:
        super().__init__(config, config.decoder_ffn_dim)
        d, heads = config.d_model, config.decoder_attention_heads
        self.self_attn = BartAttention(d, heads, config.attention_dropout, layer_idx)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.encoder_attn = BartAttention(d, heads, config.attention_dropout, layer_idx)
        self.encoder_attn_layer_norm = nn.LayerNorm(d)

    def forward(
        self,
        g: Tensor,
        mask: AttentionMask,
        encoder_hidden: Tensor,
        encoder_mask: AttentionMask,
        cache: EncoderDecoderCache | None,
    ) -> Tensor:
        g = self.residual(g, self.self_attn(g, mask, cache=cache), self.self_attn_layer_norm)
        x = self.encoder_attn(g, encoder_mask, encoder_hidden, cache)
        g = self.residual(g, x, self.encoder_attn_layer_norm)
        return self.feed_forward(g)


def _layerdrop(module: nn.Module, rate: float) -> bool:
    """Skip this layer? (training mode only, with probability ``rate``)."""
    return module.training and rate > 0.0 and minigrad.random.generator().random() < rate


class _Stack(nn.Module):
    """What the encoder and the decoder share: token embeddings (scaled by √d when
    ``scale_embedding``), positions, and (BART) a LayerNorm over their sum."""

    def __init__(self, config: BartConfig, embed_tokens: nn.Embedding) -> None:
        super().__init__()
        self.config = config
        self.embed_scale = math.sqrt(config.d_model) if config.scale_embedding else 1.0
        self.embed_tokens = embed_tokens
        self.embed_positions = self.position_embedding(config)
        if self.has_embedding_norm():
            self.layernorm_embedding = nn.LayerNorm(config.d_model)
        n = self.num_layers(config)
        self.layers = nn.ModuleList([self.layer_cls(config, i) for i in range(n)])

    layer_cls: type

    def num_layers(self, config: BartConfig) -> int:
        raise NotImplementedError

    def position_embedding(self, config: BartConfig) -> nn.Module:
        return BartLearnedPositionalEmbedding(config.max_position_embeddings, config.d_model)

    def has_embedding_norm(self) -> bool:
        return True

    def embed(self, ids: np.ndarray, past: int = 0) -> Tensor:
        seq = ids.shape[1]
        if past + seq > self.config.max_position_embeddings:
            raise ValueError(
                f"{type(self).__name__}: sequence length {past + seq} exceeds the "
                f"{self.config.max_position_embeddings} position embeddings"
            )
        h = self.embed_tokens(Tensor(ids))
        if self.embed_scale != 1.0:
            h = h * self.embed_scale
        h = h + self.embed_positions(np.arange(past, past + seq)[None, :])
        if self.has_embedding_norm():
            h = self.layernorm_embedding(h)
        return F.dropout(h, self.config.dropout, self.training)


class BartEncoder(_Stack):
    layer_cls: type = BartEncoderLayer

    def num_layers(self, config: BartConfig) -> int:
        return config.encoder_layers

    def forward(self, input_ids: Any, attention_mask: Any = None) -> BaseModelOutput:
        """``attention_mask`` (B, S): 1 = real token, 0 = padding."""
        ids = as_index_array(input_ids, f"{type(self).__name__} input_ids")
        mask = _mask_or_none(attention_mask, ids.shape, "attention_mask")
        h = self.embed(ids)
        blocked = build_mask(mask, ids.shape[1])
        for layer in self.layers:
            if not _layerdrop(self, self.config.encoder_layerdrop):
                h = layer(h, blocked)
        return BaseModelOutput(last_hidden_state=h)


class BartDecoder(_Stack):
    layer_cls: type = BartDecoderLayer

    def num_layers(self, config: BartConfig) -> int:
        return config.decoder_layers

    def forward(
        self,
        input_ids: Any,
        encoder_hidden_states: Tensor,
        attention_mask: Any = None,
        encoder_attention_mask: Any = None,
        past_key_values: EncoderDecoderCache | None = None,
        use_cache: bool = False,
    ) -> Any:
        """``attention_mask`` (B, P + T) over the cached and new decoder positions,
        ``encoder_attention_mask`` (B, S) over the encoder's."""
        ids = as_index_array(input_ids, f"{type(self).__name__} input_ids")
        cache = None
        if use_cache or past_key_values is not None:
            cache = past_key_values if past_key_values is not None else EncoderDecoderCache()
        past = cache.get_seq_length() if cache is not None else 0
        b, t = ids.shape
        mask = _mask_or_none(attention_mask, (b, past + t), "decoder_attention_mask")
        enc_shape = encoder_hidden_states.shape[:2]
        enc_mask = _mask_or_none(encoder_attention_mask, enc_shape, "attention_mask")
        g = self.embed(ids, past)
        self_mask = build_mask(mask, t, past, causal=True)
        cross_mask = build_mask(enc_mask, t)
        for layer in self.layers:
            if not _layerdrop(self, self.config.decoder_layerdrop):
                g = layer(g, self_mask, encoder_hidden_states, cross_mask, cache)
        return Seq2SeqModelOutput(last_hidden_state=g, past_key_values=cache)


def _mask_or_none(mask: Any, shape: tuple[int, ...], name: str) -> np.ndarray | None:
    if mask is None:
        return None
    m = as_index_array(mask, name)
    if m.shape != tuple(shape):
        raise ValueError(f"{name} has shape {m.shape}, expected {tuple(shape)}")
    return m


def _encoder_states(encoder_outputs: Any) -> Tensor:
    """A Tensor, an output record with ``last_hidden_state``, or a tuple whose first
    entry is the hidden states."""
    if isinstance(encoder_outputs, Tensor):
        return encoder_outputs
    if hasattr(encoder_outputs, "last_hidden_state"):
        return encoder_outputs.last_hidden_state
    return encoder_outputs[0]


class BartPreTrainedModel(nn.Module):
    """Shared initialisation and loading for the BART models."""

    config: BartConfig
    base_model_prefix = "model"
    config_cls: type = BartConfig

    def init_weights(self) -> None:
        """Hugging Face's scheme: N(0, init_std²) weights (padding row 0), zero biases,
        unit LayerNorms."""
        if not init_enabled():
            return
        for module in self.modules():
            if getattr(module, "weight", None) is not None and not module.weight.requires_grad:
                continue  # fixed tables (Marian's sinusoidal positions) keep their values
            init_normal_(module, self.config.init_std)

    @classmethod
    def from_pretrained(cls, folder: Any, **config_overrides: Any) -> Any:
        """Load a Hugging Face model folder (``config.json`` + ``model.safetensors``)."""
        from minigrad.models.convert import from_pretrained

        return from_pretrained(cls, cls.config_cls, folder, **config_overrides)


class BartModel(BartPreTrainedModel):
    """The encoder-decoder without a head: the decoder's ``last_hidden_state``."""

    encoder_cls: type = BartEncoder
    decoder_cls: type = BartDecoder

    def __init__(self, config: BartConfig) -> None:
        super().__init__()
        self.config = config
        self.shared = nn.Embedding(config.vocab_size, config.d_model, config.pad_token_id)
        self.encoder = self.encoder_cls(config, self.shared)
        self.decoder = self.decoder_cls(config, self.shared)
        self.init_weights()

    def get_encoder(self) -> BartEncoder:
        return self.encoder

    def default_decoder_inputs(self, input_ids: Any) -> np.ndarray:
        """BART's decoder inputs when none are given: the source shifted right."""
        cfg = self.config
        return shift_tokens_right(input_ids, cfg.pad_token_id, cfg.decoder_start_token_id)

    def forward(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        decoder_input_ids: Any = None,
        decoder_attention_mask: Any = None,
        encoder_outputs: Any = None,
        past_key_values: EncoderDecoderCache | None = None,
        use_cache: bool | None = None,
    ) -> Seq2SeqModelOutput:
        """``attention_mask`` (B, S) masks the source padding (in the encoder and in the
        decoder's cross-attention); ``encoder_outputs`` skips the encoder. With
        ``use_cache`` the decoder's keys/values are kept in ``past_key_values``
        (``use_cache`` defaults to False: a training step keeps no cache)."""
        if encoder_outputs is None:
            if input_ids is None:
                raise ValueError(f"{type(self).__name__}: give input_ids or encoder_outputs")
            encoder_outputs = self.encoder(input_ids, attention_mask)
        hidden = _encoder_states(encoder_outputs)
        if decoder_input_ids is None:
            if input_ids is None:
                raise ValueError(f"{type(self).__name__}: decoder_input_ids are needed")
            decoder_input_ids = self.default_decoder_inputs(input_ids)
        out = self.decoder(
            decoder_input_ids,
            hidden,
            decoder_attention_mask,
            attention_mask,
            past_key_values,
            bool(use_cache),
        )
        out.encoder_last_hidden_state = hidden
        return out


class BartForConditionalGeneration(BartPreTrainedModel, GenerationMixin):
    """BART with the language-model head: logits = decoder states · sharedᵀ +
    ``final_logits_bias`` (a buffer of zeros, kept as Hugging Face's checkpoints have
    it). ``labels`` (B, T): decoder inputs default to ``shift_tokens_right(labels)``;
    loss = mean cross entropy over labels that are not -100."""

    model_cls: type = BartModel

    def __init__(self, config: BartConfig) -> None:
        super().__init__()
        self.config = config
        self.model = self.model_cls(config)
        self.register_buffer("final_logits_bias", minigrad.zeros(1, config.vocab_size))
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.model.shared.weight

    def get_encoder(self) -> BartEncoder:
        return self.model.encoder

    def forward(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        decoder_input_ids: Any = None,
        decoder_attention_mask: Any = None,
        encoder_outputs: Any = None,
        past_key_values: EncoderDecoderCache | None = None,
        labels: Any = None,
        use_cache: bool | None = None,
    ) -> Seq2SeqLMOutput:
        lab = None if labels is None else as_index_array(labels, "labels")
        if lab is not None:
            use_cache = False
            if decoder_input_ids is None:
                cfg = self.config
                decoder_input_ids = shift_tokens_right(
                    lab, cfg.pad_token_id, cfg.decoder_start_token_id
                )
        out = self.model(
            input_ids,
            attention_mask,
            decoder_input_ids,
            decoder_attention_mask,
            encoder_outputs,
            past_key_values,
            use_cache,
        )
        logits = self.lm_head(out.last_hidden_state) + self.final_logits_bias
        loss = None if lab is None else token_cross_entropy(logits, lab)
        return Seq2SeqLMOutput(loss, logits, out.past_key_values, out.encoder_last_hidden_state)
