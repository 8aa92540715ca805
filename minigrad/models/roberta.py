"""RoBERTa (Liu et al., 2019) in minigrad, parameter for parameter as Hugging Face's.

The network is BERT's (the same embeddings, encoder layers and parameter names under
``roberta.`` instead of ``bert.``); what differs:

* **position ids** count real tokens only and start after the padding index p
  (``<pad>`` = 1), as Hugging Face's ``create_position_ids_from_input_ids``::

      m[b, t]   = 1 if input_ids[b, t] != p else 0
      pos[b, t] = (Σ_{s ≤ t} m[b, s]) · m[b, t] + p

  so the first real token sits at position p + 1, padding at position p (whose
  embedding row is the padding row), wherever the padding is (left or right);
* **the masked-LM head** ``lm_head``: dense -> gelu (always the exact gelu) ->
  ``layer_norm`` -> decoder tied to the word embeddings, plus ``bias``;
* **the sequence-classification head** works on the ``<s>`` token's state, not on a
  pooler: ``out_proj(dropout(tanh(dense(dropout(h[:, 0])))))``.

Segment ids (``token_type_ids``) default to zeros, as BERT; RoBERTa checkpoints have a
single segment (``type_vocab_size=1``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import minigrad
import minigrad.nn as nn
from minigrad.models._layers import (
    MaskedLMOutput,
    SequenceClassifierOutput,
    as_index_array,
    token_cross_entropy,
)
from minigrad.models.bert import (
    BertEmbeddings,
    BertForTokenClassification,
    BertModel,
    BertPreTrainedModel,
    sequence_classification_loss,
    tie_decoder,
)
from minigrad.models.config import RobertaConfig
from minigrad.tensor import Tensor


def create_position_ids_from_input_ids(
    input_ids: np.ndarray, padding_idx: int, past_key_values_length: int = 0
) -> np.ndarray:
    """RoBERTa's position ids (see the module docstring): cumsum of the non-padding mask,
    times the mask, plus ``padding_idx`` (``past_key_values_length`` shifts the real
    tokens' positions, as Hugging Face's)."""
    mask = (np.asarray(input_ids) != padding_idx).astype(np.int64)
    return (np.cumsum(mask, axis=1) + past_key_values_length) * mask + padding_idx


class RobertaEmbeddings(BertEmbeddings):
    """BERT's embeddings with a padding row in the position table too (row
    ``pad_token_id``, zero at initialisation)."""

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__(config)
        self.padding_idx = config.pad_token_id
        self.position_embeddings = nn.Embedding(
            config.max_position_embeddings, config.hidden_size, padding_idx=self.padding_idx
        )


class RobertaPreTrainedModel(BertPreTrainedModel):
    """Initialisation and loading for the RoBERTa models (BERT's, under ``roberta.``)."""

    config_class = RobertaConfig
    base_model_prefix = "roberta"


class RobertaModel(RobertaPreTrainedModel, BertModel):
    """The RoBERTa encoder: ``last_hidden_state`` (B, T, H) and ``pooler_output`` (B, H),
    BERT's computation with RoBERTa's position ids when none are given."""

    embeddings_class = RobertaEmbeddings

    def default_position_ids(self, ids: np.ndarray) -> np.ndarray:
        pos = create_position_ids_from_input_ids(ids, self.config.pad_token_id)
        limit = self.config.max_position_embeddings
        if pos.size and pos.max() >= limit:
            raise ValueError(
                f"RobertaModel: position id {int(pos.max())} (sequence of {ids.shape[1]} tokens, "
                f"positions start after padding_idx={self.config.pad_token_id}) exceeds the "
                f"{limit} position embeddings"
            )
        return pos


RobertaPreTrainedModel.base_model_class = RobertaModel


class RobertaLMHead(nn.Module):
    """Token scores: decoder(layer_norm(gelu(dense(h)))) + bias; ``bias`` and
    ``decoder.bias`` are one Parameter (two names, as in Hugging Face's state dict)."""

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__()
        h = config.hidden_size
        self.dense = nn.Linear(h, h)
        self.layer_norm = nn.LayerNorm(h, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(h, config.vocab_size)
        self.bias = self.decoder.bias

    def forward(self, features: Tensor) -> Tensor:
        return self.decoder(self.layer_norm(minigrad.gelu(self.dense(features))))


class RobertaForMaskedLM(RobertaPreTrainedModel):
    """RoBERTa with the masked-LM head (no pooler, as Hugging Face). ``labels``: -100 =
    ignored position; the loss is the mean cross entropy over the other positions."""

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__()
        self.config = config
        self._build_base_model(config, add_pooling_layer=False)
        self.lm_head = RobertaLMHead(config)
        self.init_weights()
        tie_decoder(self, self.lm_head)

    def forward(
        self,
        input_ids: Any,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        labels: Any = None,
    ) -> MaskedLMOutput:
        out = self._encode(input_ids, attention_mask, token_type_ids, position_ids)
        scores = self.lm_head(out.last_hidden_state)
        loss = None
        if labels is not None:
            loss = token_cross_entropy(scores, as_index_array(labels, "labels"))
        return MaskedLMOutput(loss, scores)


class RobertaClassificationHead(nn.Module):
    """Sentence-level scores from the ``<s>`` token (RoBERTa has no NSP-trained pooler):
    out_proj(dropout(tanh(dense(dropout(h[:, 0])))))."""

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.classifier_dropout_prob)
        self.out_proj = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, features: Tensor) -> Tensor:
        x = minigrad.tanh(self.dense(self.dropout(features[:, 0])))
        return self.out_proj(self.dropout(x))


class RobertaForSequenceClassification(RobertaPreTrainedModel):
    """``logits = classifier(last_hidden_state)`` (:class:`RobertaClassificationHead`);
    the loss follows Hugging Face's ``problem_type`` inference, as BERT's (see
    :func:`minigrad.models.bert.sequence_classification_loss`)."""

    def __init__(self, config: RobertaConfig) -> None:
        super().__init__()
        self.config = config
        self.num_labels = config.num_labels
        self._build_base_model(config, add_pooling_layer=False)
        self.classifier = RobertaClassificationHead(config)
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
        logits = self.classifier(out.last_hidden_state)
        return SequenceClassifierOutput(sequence_classification_loss(logits, labels), logits)


class RobertaForTokenClassification(RobertaPreTrainedModel, BertForTokenClassification):
    """A label per token: BERT's token-classification head on the RoBERTa encoder
    (``roberta.`` + ``dropout`` + ``classifier``, as Hugging Face)."""
