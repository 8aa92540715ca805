"""BERT (Devlin et al., 2019) in minigrad, parameter for parameter as Hugging Face's.

    h₀ = dropout(LN(word[ids] + position[pos] + token_type[types]))
    for each layer:  a = LN(h + dropout(W_o · SelfAttn(h)))        (bidirectional)
                     h = LN(a + dropout(W₂ · gelu(W₁ a)))
    pooler_output = tanh(W_p · h[:, 0])                              ([CLS] token)

Self-attention, per head (Q, K, V of shape (B, H, T, d), d = H_model / heads)::

    SelfAttn(h) = softmax(Q Kᵀ/√d + M) V,   M[b, :, :, j] = 0 for a real token j,
                                             finfo.min for a padding position j

(``F.scaled_dot_product_attention`` with Hugging Face's additive mask M).

Heads: masked-LM (``cls.predictions``: dense -> gelu -> LN -> decoder tied to the word
embeddings, with its own bias), next-sentence prediction (``cls.seq_relationship``),
sequence classification (pooler -> dropout -> linear, as
``transformers.BertForSequenceClassification``) and token classification (dropout ->
linear on every token, as ``transformers.BertForTokenClassification``). Parameter
names are Hugging Face's, so ``load_state_dict(hf_model.state_dict())`` copies a
``transformers`` model in, and :meth:`BertPreTrainedModel.from_pretrained` reads a
Hugging Face model folder such as all-MiniLM-L6-v2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.models._layers import (
    BaseModelOutput,
    BertForPreTrainingOutput,
    MaskedLMOutput,
    NextSentencePredictorOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
    activation,
    additive_attention_mask,
    as_array,
    as_index_array,
    check_same_shape,
    default_positions,
    init_enabled,
    init_normal_,
    merge_heads,
    split_heads,
    token_cross_entropy,
)
from minigrad.models.config import BertConfig
from minigrad.tensor import Tensor


class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, h, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, h)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, h)
        self.LayerNorm = nn.LayerNorm(h, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, ids: np.ndarray, types: np.ndarray, pos: np.ndarray) -> Tensor:
        e = self.word_embeddings(Tensor(ids)) + self.token_type_embeddings(Tensor(types))
        e = e + self.position_embeddings(Tensor(pos))
        return self.dropout(self.LayerNorm(e))


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        h = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.scale = (h // self.num_heads) ** -0.5

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        """h (B, T, H·d) -> (B, T, H·d); ``mask``: the additive (B, 1, 1, T) mask or None."""
        n = self.num_heads
        q, k, v = (split_heads(lin(h), n) for lin in (self.query, self.key, self.value))
        p = self.dropout.p if self.training else 0.0
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, scale=self.scale)
        return merge_heads(out)


class BertSelfOutput(nn.Module):
    """LN(residual + dropout(dense(x))): the projection closing a sub-layer."""

    def __init__(self, config: BertConfig, in_features: int | None = None) -> None:
        super().__init__()
        self.dense = nn.Linear(in_features or config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertOutput(BertSelfOutput):
    """The feed-forward block's closing projection: the same computation, wider input."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config, config.intermediate_size)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        return self.output(self.self(h, mask), h)


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.act_name = config.hidden_act
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)

    def forward(self, x: Tensor) -> Tensor:
        return activation(self.act_name, self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        a = self.attention(h, mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, h: Tensor, mask: Tensor | None) -> Tensor:
        for layer in self.layer:
            h = layer(h, mask)
        return h


class BertPooler(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, h: Tensor) -> Tensor:
        return minigrad.tanh(self.dense(h[:, 0]))


class BertPreTrainedModel(nn.Module):
    """Shared initialisation and loading for the BERT models (and, through
    ``config_class`` / ``base_model_prefix`` / ``base_model_class``, the RoBERTa ones:
    the heads build their encoder as ``self.<base_model_prefix>``)."""

    config: BertConfig
    config_class: type = BertConfig
    base_model_prefix = "bert"
    base_model_class: type  # BertModel (set below, once it exists)

    @property
    def base_model(self) -> BertModel:
        return getattr(self, self.base_model_prefix)

    def _build_base_model(self, config: BertConfig, add_pooling_layer: bool) -> None:
        setattr(self, self.base_model_prefix, self.base_model_class(config, add_pooling_layer))

    def _encode(
        self, input_ids: Any, attention_mask: Any, token_type_ids: Any, position_ids: Any
    ) -> BaseModelOutput:
        return self.base_model(input_ids, attention_mask, token_type_ids, position_ids)

    def init_weights(self) -> None:
        """Hugging Face's scheme: N(0, initializer_range²) weights (padding row 0),
        zero biases, unit LayerNorms."""
        if not init_enabled():
            return
        for module in self.modules():
            init_normal_(module, self.config.initializer_range)

    @classmethod
    def from_pretrained(cls, folder: Any, **config_overrides: Any) -> Any:
        """Load a Hugging Face model folder (``config.json`` + ``model.safetensors``);
        head weights the checkpoint lacks keep their fresh initialisation (as
        ``transformers`` does, which warns about them)."""
        from minigrad.models.convert import from_pretrained

        return from_pretrained(cls, cls.config_class, folder, **config_overrides)

    def save_pretrained(self, folder: Any, max_shard_size: int | str | None = None) -> None:
        """Write ``config.json`` + ``model.safetensors`` (sharded above
        ``max_shard_size``), a folder that ``transformers`` (and :meth:`from_pretrained`)
        loads."""
        from minigrad.models.convert import save_pretrained

        save_pretrained(self, folder, max_shard_size)


class BertModel(BertPreTrainedModel):
    """The BERT encoder: ``last_hidden_state`` (B, T, H) and ``pooler_output`` (B, H)."""

    embeddings_class: type = BertEmbeddings

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__()
        self.config = config
        self.embeddings = self.embeddings_class(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.init_weights()

    def forward(
        self,
        input_ids: Any,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
    ) -> BaseModelOutput:
        """``attention_mask`` (B, T): 1 = real token, 0 = padding (no token attends to a
        padding position; the padding positions' own outputs are computed but
        meaningless). ``token_type_ids`` default to 0 (segment A)."""
        ids = as_index_array(input_ids, "BertModel input_ids")
        mask = None if attention_mask is None else as_index_array(attention_mask, "attention_mask")
        check_same_shape(ids, mask, "attention_mask")
        if position_ids is None:
            pos = self.default_position_ids(ids)
        else:
            pos = as_index_array(position_ids, "position_ids")
            check_same_shape(ids, pos, "position_ids")
        if token_type_ids is None:
            types = np.zeros_like(ids)
        else:
            types = as_index_array(token_type_ids, "token_type_ids")
            check_same_shape(ids, types, "token_type_ids")
        h = self.embeddings(ids, types, pos)
        h = self.encoder(h, additive_attention_mask(mask, h.dtype))
        pooled = self.pooler(h) if self.pooler is not None else None
        return BaseModelOutput(last_hidden_state=h, pooler_output=pooled)

    def default_position_ids(self, ids: np.ndarray) -> np.ndarray:
        """0, 1, ..., T-1 in every row."""
        return default_positions(ids, self.config.max_position_embeddings, type(self).__name__)


BertPreTrainedModel.base_model_class = BertModel


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.act_name = config.hidden_act
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, h: Tensor) -> Tensor:
        return self.LayerNorm(activation(self.act_name, self.dense(h)))


class BertLMPredictionHead(nn.Module):
    """Token scores: decoder(transform(h)); ``bias`` and ``decoder.bias`` are one Parameter
    (two names, as in Hugging Face's state dict)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = self.decoder.bias

    def forward(self, h: Tensor) -> Tensor:
        return self.decoder(self.transform(h))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, h: Tensor) -> Tensor:
        return self.predictions(h)


class BertPreTrainingHeads(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, h: Tensor, pooled: Tensor) -> tuple[Tensor, Tensor]:
        return self.predictions(h), self.seq_relationship(pooled)


def tie_decoder(model: BertPreTrainedModel, head: nn.Module) -> None:
    """Make the MLM decoder's weight the word-embedding Parameter itself (when the config
    ties them), so its gradient is the sum of both uses."""
    if model.config.tie_word_embeddings:
        head.decoder.weight = model.base_model.embeddings.word_embeddings.weight


class BertForPreTraining(BertPreTrainedModel):
    """BERT with the masked-LM and next-sentence heads.

    With ``labels`` (B, T; -100 = not a masked position) and ``next_sentence_label`` (B,;
    0 = B follows A, 1 = random), ``loss`` = MLM cross entropy (mean over labelled
    positions) + NSP cross entropy (mean over the batch), as Hugging Face.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self._build_base_model(config, add_pooling_layer=True)
        self.cls = BertPreTrainingHeads(config)
        self.init_weights()
        tie_decoder(self, self.cls.predictions)

    def forward(
        self,
        input_ids: Any,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        labels: Any = None,
        next_sentence_label: Any = None,
    ) -> BertForPreTrainingOutput:
        out = self._encode(input_ids, attention_mask, token_type_ids, position_ids)
        scores, nsp = self.cls(out.last_hidden_state, out.pooler_output)
        loss = None
        if labels is not None and next_sentence_label is not None:
            nsp_labels = as_array(next_sentence_label).reshape(-1).astype(np.int64)
            mlm_loss = token_cross_entropy(scores, as_index_array(labels, "labels"))
            loss = mlm_loss + F.cross_entropy(nsp, Tensor(nsp_labels))
        return BertForPreTrainingOutput(loss, scores, nsp)


class BertForMaskedLM(BertPreTrainedModel):
    """BERT with the masked-LM head only (no pooler, as Hugging Face). ``labels``: -100 =
    ignored position; the loss is the mean cross entropy over the other positions."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self._build_base_model(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self.init_weights()
        tie_decoder(self, self.cls.predictions)

    def forward(
        self,
        input_ids: Any,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        labels: Any = None,
    ) -> MaskedLMOutput:
        out = self._encode(input_ids, attention_mask, token_type_ids, position_ids)
        scores = self.cls(out.last_hidden_state)
        loss = (
            None
            if labels is None
            else token_cross_entropy(scores, as_index_array(labels, "labels"))
        )
        return MaskedLMOutput(loss, scores)


class BertForSequenceClassification(BertPreTrainedModel):
    """``logits = classifier(dropout(pooler_output))`` (the pooled [CLS] representation,
    exactly ``transformers.BertForSequenceClassification``).

    Loss as Hugging Face's ``problem_type`` inference: ``num_labels == 1`` -> mean squared
    error (regression); integer labels -> cross entropy; float labels of shape
    (B, num_labels) -> binary cross entropy with logits (multi-label).
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.num_labels = config.num_labels
        self._build_base_model(config, add_pooling_layer=True)
        self.dropout = nn.Dropout(config.classifier_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.init_weights()

    def forward(
        self,
        input_ids: Any,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        labels: Any = None,
    ) -> SequenceClassifierOutput:
        out = self._encode(input_ids, attention_mask, token_type_ids, position_ids)
        logits = self.classifier(self.dropout(out.pooler_output))
        return SequenceClassifierOutput(sequence_classification_loss(logits, labels), logits)


def sequence_classification_loss(logits: Tensor, labels: Any) -> Tensor | None:
    """Hugging Face's ``problem_type`` inference on (B, num_labels) logits: one label ->
    mean squared error; integer labels -> cross entropy; float labels (B, num_labels)
    -> binary cross entropy with logits. None without labels."""
    if labels is None:
        return None
    y = as_array(labels)
    if logits.shape[-1] == 1:
        return F.mse_loss(logits.reshape(-1), Tensor(y.reshape(-1).astype(logits.dtype)))
    if y.dtype.kind in "iu":
        return F.cross_entropy(logits, Tensor(y.reshape(-1).astype(np.int64)))
    return F.binary_cross_entropy_with_logits(logits, Tensor(y.astype(logits.dtype)))


class BertForTokenClassification(BertPreTrainedModel):
    """A label per token (named-entity recognition): ``logits = classifier(dropout(h))``
    on every position of ``last_hidden_state`` (no pooler, as Hugging Face). ``labels``
    (B, T): -100 = ignored (padding, sub-word continuations); the loss is the mean cross
    entropy over the other positions."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.num_labels = config.num_labels
        self._build_base_model(config, add_pooling_layer=False)
        self.dropout = nn.Dropout(config.classifier_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.init_weights()

    def forward(
        self,
        input_ids: Any,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        labels: Any = None,
    ) -> TokenClassifierOutput:
        out = self._encode(input_ids, attention_mask, token_type_ids, position_ids)
        logits = self.classifier(self.dropout(out.last_hidden_state))
        loss = None
        if labels is not None:
            loss = token_cross_entropy(logits, as_index_array(labels, "labels"))
        return TokenClassifierOutput(loss, logits)


class BertOnlyNSPHead(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, pooled: Tensor) -> Tensor:
        return self.seq_relationship(pooled)


class BertForNextSentencePrediction(BertPreTrainedModel):
    """Next-sentence prediction alone: ``logits = cls.seq_relationship(pooler_output)``,
    (B, 2). ``labels`` (B,): 0 = segment B follows A, 1 = B is random; the loss is the
    mean cross entropy."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self._build_base_model(config, add_pooling_layer=True)
        self.cls = BertOnlyNSPHead(config)
        self.init_weights()

    def forward(
        self,
        input_ids: Any,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        labels: Any = None,
    ) -> NextSentencePredictorOutput:
        out = self._encode(input_ids, attention_mask, token_type_ids, position_ids)
        logits = self.cls(out.pooler_output)
        loss = None
        if labels is not None:
            y = as_array(labels).reshape(-1).astype(np.int64)
            loss = F.cross_entropy(logits, Tensor(y))
        return NextSentencePredictorOutput(loss, logits)


# ------------------------------------------------------------------ sentence embeddings
def mean_pool(last_hidden_state: Tensor, attention_mask: Any) -> Tensor:
    """Average of the token vectors over real tokens only (sentence-transformers' "mean"
    pooling): Σₜ mₜ hₜ / max(Σₜ mₜ, 1e-9)."""
    m = as_index_array(attention_mask, "attention_mask").astype(last_hidden_state.dtype)
    summed = (last_hidden_state * Tensor(m[:, :, None])).sum(dim=1)
    counts = np.maximum(m.sum(axis=1, keepdims=True), 1e-9).astype(m.dtype)
    return summed / Tensor(counts)


def l2_normalize(x: Tensor, eps: float = 1e-12) -> Tensor:
    """x / max(‖x‖₂, eps) along the last dim."""
    return F.normalize(x, p=2.0, dim=-1, eps=eps)


def sentence_embeddings(model: BertModel, input_ids: Any, attention_mask: Any) -> Tensor:
    """all-MiniLM-L6-v2's sentence vectors: mean-pooled, L2-normalised token states."""
    out = model(input_ids, attention_mask=attention_mask)
    return l2_normalize(mean_pool(out.last_hidden_state, attention_mask))
