"""Transformer models built from ``minigrad.nn`` layers, with Hugging Face's parameter
names (so ``transformers`` weights load directly):

* GPT-2: :class:`GPT2Model`, :class:`GPT2LMHeadModel`;
* BART and Marian (encoder-decoders for translation): :class:`BartModel`,
  :class:`BartForConditionalGeneration`, :class:`MarianModel`, :class:`MarianMTModel`;
* generation (greedy, sampling, beam search; KV cache): :class:`GenerationMixin`,
  :class:`DynamicCache`, the logits processors;
* BERT: :class:`BertModel`, :class:`BertForPreTraining`, :class:`BertForMaskedLM`,
  :class:`BertForSequenceClassification`, and the sentence-embedding helpers
  (:func:`sentence_embeddings`: mean pooling + L2 normalisation, as all-MiniLM-L6-v2).

Configs (:class:`GPT2Config`, :class:`BertConfig`) read Hugging Face ``config.json``;
``Model.from_pretrained(folder)`` reads a Hugging Face model folder (safetensors).
"""

from minigrad.models._layers import no_init_weights
from minigrad.models.bart import (
    BartConfig,
    BartForConditionalGeneration,
    BartModel,
    shift_tokens_right,
)
from minigrad.models.bert import (
    BertForMaskedLM,
    BertForPreTraining,
    BertForSequenceClassification,
    BertModel,
    l2_normalize,
    mean_pool,
    sentence_embeddings,
)
from minigrad.models.cache import DynamicCache, EncoderDecoderCache
from minigrad.models.config import BertConfig, GPT2Config
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

__all__ = [
    "BartConfig",
    "BartForConditionalGeneration",
    "BartModel",
    "DynamicCache",
    "EncoderDecoderCache",
    "ForcedEOSTokenLogitsProcessor",
    "GenerationMixin",
    "LogitsProcessorList",
    "MarianConfig",
    "MarianMTModel",
    "MarianModel",
    "TemperatureLogitsWarper",
    "TopKLogitsWarper",
    "TopPLogitsWarper",
    "shift_tokens_right",
    "BertConfig",
    "BertForMaskedLM",
    "BertForPreTraining",
    "BertForSequenceClassification",
    "BertModel",
    "Conv1D",
    "GPT2Config",
    "GPT2LMHeadModel",
    "GPT2Model",
    "convert_hf_state_dict",
    "l2_normalize",
    "load_hf_state_dict",
    "mean_pool",
    "no_init_weights",
    "sentence_embeddings",
]
