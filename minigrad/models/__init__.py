"""Transformer models built from ``minigrad.nn`` layers, with Hugging Face's parameter
names (so ``transformers`` weights load directly):

* GPT-2: :class:`GPT2Model`, :class:`GPT2LMHeadModel`;
* BART and Marian (encoder-decoders for translation): :class:`BartModel`,
  :class:`BartForConditionalGeneration`, :class:`MarianModel`, :class:`MarianMTModel`;
* generation (greedy, sampling, beam search; KV cache): :class:`GenerationMixin`,
  :class:`DynamicCache`, the logits processors;
* BERT: :class:`BertModel`, :class:`BertForPreTraining`, :class:`BertForMaskedLM`,
  :class:`BertForNextSentencePrediction`, :class:`BertForSequenceClassification`,
  :class:`BertForTokenClassification`, and the sentence-embedding helpers
  (:func:`sentence_embeddings`: mean pooling + L2 normalisation, as all-MiniLM-L6-v2);
* RoBERTa: :class:`RobertaModel`, :class:`RobertaForMaskedLM`,
  :class:`RobertaForSequenceClassification`, :class:`RobertaForTokenClassification`.

Configs (:class:`GPT2Config`, :class:`BertConfig`, :class:`RobertaConfig`, :class:`BartConfig`,
:class:`MarianConfig`) read
Hugging Face ``config.json``; ``Model.from_pretrained(folder)`` reads a local Hugging
Face model folder (safetensors, single file or sharded, with minigrad's own reader);
``model.save_pretrained(folder)`` writes one that ``transformers`` loads (see
:mod:`minigrad.models.checkpoint`).
"""

from minigrad.models._layers import (
    BaseModelOutput,
    BertForPreTrainingOutput,
    MaskedLMOutput,
    NextSentencePredictorOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
    no_init_weights,
)
from minigrad.models.bart import (
    BartConfig,
    BartForConditionalGeneration,
    BartModel,
    shift_tokens_right,
)
from minigrad.models.bert import (
    BertForMaskedLM,
    BertForNextSentencePrediction,
    BertForPreTraining,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertModel,
    l2_normalize,
    mean_pool,
    sentence_embeddings,
)
from minigrad.models.cache import DynamicCache, EncoderDecoderCache
from minigrad.models.config import BertConfig, GPT2Config, RobertaConfig
from minigrad.models.convert import convert_hf_state_dict, load_hf_state_dict
from minigrad.models.generation import GenerationMixin
from minigrad.models.gpt2 import Conv1D, GPT2LMHeadModel, GPT2Model
from minigrad.models.logits_process import (
    ForcedEOSTokenLogitsProcessor,
    LogitsProcessorList,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)
from minigrad.models.marian import MarianConfig, MarianModel, MarianMTModel
from minigrad.models.roberta import (
    RobertaForMaskedLM,
    RobertaForSequenceClassification,
    RobertaForTokenClassification,
    RobertaModel,
    create_position_ids_from_input_ids,
)

__all__ = [
    "BartConfig",
    "BartForConditionalGeneration",
    "BartModel",
    "BaseModelOutput",
    "BertConfig",
    "BertForMaskedLM",
    "BertForNextSentencePrediction",
    "BertForPreTraining",
    "BertForPreTrainingOutput",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertModel",
    "Conv1D",
    "DynamicCache",
    "EncoderDecoderCache",
    "ForcedEOSTokenLogitsProcessor",
    "GPT2Config",
    "GPT2LMHeadModel",
    "GPT2Model",
    "GenerationMixin",
    "LogitsProcessorList",
    "MarianConfig",
    "MarianMTModel",
    "MarianModel",
    "MaskedLMOutput",
    "NextSentencePredictorOutput",
    "RobertaConfig",
    "RobertaForMaskedLM",
    "RobertaForSequenceClassification",
    "RobertaForTokenClassification",
    "RobertaModel",
    "SequenceClassifierOutput",
    "TemperatureLogitsWarper",
    "TokenClassifierOutput",
    "TopKLogitsWarper",
    "TopPLogitsWarper",
    "convert_hf_state_dict",
    "create_position_ids_from_input_ids",
    "l2_normalize",
    "load_hf_state_dict",
    "mean_pool",
    "no_init_weights",
    "sentence_embeddings",
    "shift_tokens_right",
]
