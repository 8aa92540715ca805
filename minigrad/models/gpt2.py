"""GPT-2 (Radford et al., 2019) in minigrad, parameter for parameter as Hugging Face's.

    h₀ = dropout(wte[ids] + wpe[positions])
    for each block:   h = h + Attn(LN₁(h))          (causal, multi-head)
                      h = h + MLP(LN₂(h)),   MLP(x) = dropout(c_proj(gelu_tanh(c_fc(x))))
    last_hidden_state = LN_f(h);   logits = last_hidden_state · wteᵀ   (tied lm_head)

Attention splits [Q | K | V] = c_attn(h) into heads (B, H, T, D) and calls
``F.scaled_dot_product_attention`` (see ``cache.masked_attention``); with
``use_cache`` / ``past_key_values`` the keys and values of earlier positions come from
a :class:`~minigrad.models.cache.DynamicCache`, which ``generate`` (greedy, sampling,
beam search, see ``generation``) uses for incremental decoding.

Parameter names are Hugging Face's (``transformer.h.0.attn.c_attn.weight``, ...), so
``model.load_state_dict(hf_model.state_dict())`` copies a ``transformers`` model in.
GPT-2's projections are ``Conv1D`` layers whose weight is stored (in, out), the
transpose of ``Linear``'s; :class:`Conv1D` here keeps that layout, so no conversion
is needed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import minigrad
import minigrad.nn as nn
from minigrad.models._layers import (
    IGNORE_INDEX,
    activation,
    as_index_array,
    check_same_shape,
    init_enabled,
    init_normal_,
    merge_heads,
    split_heads,
    token_cross_entropy,
)
from minigrad.models.cache import (
    AttentionMask,
    BaseModelOutputWithPast,
    CausalLMOutputWithPast,
    DynamicCache,
    build_mask,
    masked_attention,
)
from minigrad.models.config import GPT2Config
from minigrad.models.generation import GenerationMixin
from minigrad.tensor import Tensor


class Conv1D(nn.Module):
    """y = x W + b with W of shape (in_features, out_features): a Linear layer whose
    weight is stored transposed (GPT-2's layout). dW = xᵀ dy, db = Σ dy, dx = dy Wᵀ."""

    def __init__(self, nf: int, nx: int) -> None:
        super().__init__()
        self.nf, self.nx = nf, nx
        self.weight = nn.Parameter(minigrad.zeros(nx, nf))
        self.bias = nn.Parameter(minigrad.zeros(nf))
        nn.init.normal_(self.weight, 0.0, 0.02)  # N(0, 0.02²), as HF; no_init_weights skips it

    def forward(self, x: Tensor) -> Tensor:
        return x.matmul(self.weight) + self.bias

    def extra_repr(self) -> str:
        return f"nf={self.nf}, nx={self.nx}"


class GPT2Attention(nn.Module):
    """Causal multi-head self-attention: [Q | K | V] = c_attn(h), heads split to
    (B, H, T, D), out = c_proj(merge(softmax(Q Kᵀ · s + M) V)). With a cache, K and V
    of the new positions are appended to the cached ones first (see ``cache``)."""

    def __init__(self, config: GPT2Config, layer_idx: int) -> None:
        super().__init__()
        e = config.n_embd
        self.n_head = config.n_head
        self.layer_idx = layer_idx
        self.c_attn = Conv1D(3 * e, e)  # Q, K and V projections side by side
        self.c_proj = Conv1D(e, e)
        self.attn_dropout = nn.Dropout(config.attn_pdrop)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)
        self.scale = (e // config.n_head) ** -0.5 if config.scale_attn_weights else 1.0
        if config.scale_attn_by_inverse_layer_idx:
            self.scale /= float(layer_idx + 1)

    def forward(self, h: Tensor, mask: AttentionMask, cache: DynamicCache | None = None) -> Tensor:
        q, k, v = (split_heads(x, self.n_head) for x in self.c_attn(h).chunk(3, dim=-1))
        if cache is not None:
            k, v = cache.update(k, v, self.layer_idx)
        p = self.attn_dropout.p if self.training else 0.0
        out = merge_heads(masked_attention(q, k, v, mask, p, self.scale))
        return self.resid_dropout(self.c_proj(out))


class GPT2MLP(nn.Module):
    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.act_name = config.activation_function
        self.c_fc = Conv1D(config.inner_size, config.n_embd)
        self.c_proj = Conv1D(config.n_embd, config.inner_size)
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(activation(self.act_name, self.c_fc(x))))


class GPT2Block(nn.Module):
    def __init__(self, config: GPT2Config, layer_idx: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(config)

    def forward(self, h: Tensor, mask: AttentionMask, cache: DynamicCache | None = None) -> Tensor:
        h = h + self.attn(self.ln_1(h), mask, cache)
        return h + self.mlp(self.ln_2(h))


class GPT2PreTrainedModel(nn.Module):
    """Shared initialisation and loading for the GPT-2 models."""

    config: GPT2Config
    base_model_prefix = "transformer"

    def init_weights(self) -> None:
        """Hugging Face's scheme: N(0, 0.02²) weights, zero biases, unit LayerNorms, and
        the residual projections (``c_proj``) scaled by 1/√(2·n_layer) (GPT-2 paper)."""
        if not init_enabled():
            return
        std = self.config.initializer_range
        for name, module in self.named_modules():
            init_normal_(module, std)
            if isinstance(module, Conv1D):
                scale = 1.0 / math.sqrt(2 * self.config.n_layer) if name.endswith("c_proj") else 1
                with minigrad.no_grad():
                    module.weight.normal_(0.0, std * scale)
                    module.bias.zero_()

    @classmethod
    def from_pretrained(cls, folder: Any, **config_overrides: Any) -> Any:
        """Load a Hugging Face model folder (``config.json`` + ``model.safetensors``)."""
        from minigrad.models.convert import from_pretrained

        return from_pretrained(cls, GPT2Config, folder, **config_overrides)

    def save_pretrained(self, folder: Any, max_shard_size: int | str | None = None) -> None:
        """Write ``config.json`` + ``model.safetensors`` (sharded above
        ``max_shard_size``), a folder that ``transformers`` (and :meth:`from_pretrained`)
        loads."""
        from minigrad.models.convert import save_pretrained

        save_pretrained(self, folder, max_shard_size)


class GPT2Model(GPT2PreTrainedModel):
    """The GPT-2 transformer without a head: ``last_hidden_state`` (B, T, n_embd)."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList([GPT2Block(config, i) for i in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.init_weights()

    def forward(
        self,
        input_ids: Any,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        past_key_values: DynamicCache | None = None,
        use_cache: bool | None = None,
    ) -> BaseModelOutputWithPast:
        """``attention_mask`` (B, P + T): 1 = real token, 0 = padding (never attended to),
        over the P cached positions and the T new ones. ``token_type_ids`` index the
        token table ``wte``, as Hugging Face's GPT-2 does. ``position_ids`` default to
        P .. P+T-1. With ``use_cache`` (or a ``past_key_values`` given) the keys and
        values are appended to ``past_key_values`` (a new :class:`DynamicCache` if
        None), which is returned; ``use_cache`` defaults to False (a training step
        keeps no cache)."""
        ids = as_index_array(input_ids, "GPT2Model input_ids")
        if use_cache is None:
            use_cache = past_key_values is not None
        cache = None
        if use_cache:
            cache = past_key_values if past_key_values is not None else DynamicCache()
        past = cache.get_seq_length() if cache is not None else 0
        mask = None if attention_mask is None else as_index_array(attention_mask, "attention_mask")
        if mask is not None and mask.shape != (ids.shape[0], past + ids.shape[1]):
            raise ValueError(
                f"attention_mask has shape {mask.shape}, but input_ids {ids.shape} with "
                f"{past} cached positions need ({ids.shape[0]}, {past + ids.shape[1]})"
            )
        if position_ids is None:
            pos = np.broadcast_to(np.arange(past, past + ids.shape[1]), ids.shape)
        else:
            pos = as_index_array(position_ids, "position_ids")
            check_same_shape(ids, pos, "position_ids")
        if pos.size and (pos.max() >= self.config.n_positions or pos.min() < 0):
            raise ValueError(
                f"GPT2Model: position {pos.max() if pos.min() >= 0 else pos.min()} (sequence "
                f"length {past + ids.shape[1]}) exceeds the {self.config.n_positions} position "
                "embeddings"
            )
        h = self.wte(Tensor(ids)) + self.wpe(Tensor(pos))
        if token_type_ids is not None:
            types = as_index_array(token_type_ids, "token_type_ids")
            check_same_shape(ids, types, "token_type_ids")
            h = h + self.wte(Tensor(types))
        h = self.drop(h)
        blocked = build_mask(mask, ids.shape[1], past, causal=True)
        for block in self.h:
            h = block(h, blocked, cache)
        return BaseModelOutputWithPast(self.ln_f(h), cache)


class GPT2LMHeadModel(GPT2PreTrainedModel, GenerationMixin):
    """GPT-2 with the language-model head (its weight *is* ``transformer.wte.weight``:
    one Parameter, whose gradient sums the embedding and the output uses).

    With ``labels`` (B, T) the loss is Hugging Face's causal LM loss: position t
    predicts token t+1, i.e. mean cross entropy of ``logits[:, :-1]`` against
    ``labels[:, 1:]``, skipping labels equal to -100. (Hugging Face computes it in
    float32 even for a float64 model; here it is computed in the model's dtype.)
    """

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.config = config
        self.transformer = GPT2Model(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.transformer.wte.weight
        elif init_enabled():
            init_normal_(self.lm_head, config.initializer_range)

    def forward(
        self,
        input_ids: Any,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        labels: Any = None,
        past_key_values: DynamicCache | None = None,
        use_cache: bool | None = None,
    ) -> CausalLMOutputWithPast:
        hidden = self.transformer(
            input_ids, attention_mask, token_type_ids, position_ids, past_key_values, use_cache
        )
        logits = self.lm_head(hidden.last_hidden_state)
        loss = None
        if labels is not None:
            lab = as_index_array(labels, "labels")
            check_same_shape(as_index_array(input_ids, "input_ids"), lab, "labels")
            # shift: append an ignored label and drop the first, so logits[t] ↔ labels[t+1]
            pad = np.full((lab.shape[0], 1), IGNORE_INDEX, dtype=np.int64)
            shifted = np.concatenate([lab[:, 1:], pad], axis=1)
            loss = token_cross_entropy(logits, shifted)
        return CausalLMOutputWithPast(loss, logits, hidden.past_key_values)
