"""Marian (Junczys-Dowmunt et al., 2018; the Helsinki-NLP opus-mt translation models)
in minigrad, parameter for parameter as Hugging Face's ``MarianMTModel``.

The layers are BART's (post-norm encoder and decoder, see ``bart``); Marian differs in
its embeddings: no LayerNorm after them, and fixed sinusoidal positions,

    P[p, j]          = sin(p / 10000^(2⌊j/2⌋/d))   for j in 0, 2, 4, … (first half)
    P[p, ⌈d/2⌉ + i]  = cos(p / 10000^(2⌊j/2⌋/d))   for the odd j = 2i + 1 (second half)

(``MarianSinusoidalPositionalEmbedding``: the sines fill the first half of the vector,
the cosines the second, values rounded to float32 as Hugging Face builds them), so
h₀ = s·E[ids] + P[pos], with s = √d when ``scale_embedding`` (True in the opus-mt
checkpoints). The table is a frozen Parameter (``requires_grad=False``), as in
``transformers``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

import minigrad
import minigrad.nn as nn
from minigrad.models.bart import (
    BartConfig,
    BartDecoder,
    BartEncoder,
    BartForConditionalGeneration,
    BartModel,
    BartPreTrainedModel,
)
from minigrad.tensor import Tensor


@dataclass
class MarianConfig(BartConfig):
    """Marian sizes and rates under Hugging Face's names (defaults as
    ``transformers.MarianConfig``)."""

    model_type = "marian"

    vocab_size: int = 58101
    decoder_vocab_size: int | None = None
    encoder_layers: int = 12
    decoder_layers: int = 12
    pad_token_id: int | None = 58100
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = 0
    decoder_start_token_id: int | None = 58100
    forced_eos_token_id: int | list[int] | None = 0
    share_encoder_decoder_embeddings: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.decoder_vocab_size is None:
            self.decoder_vocab_size = self.vocab_size
        if not self.share_encoder_decoder_embeddings:
            raise NotImplementedError(
                "MarianConfig: separate source and target embeddings "
                "(share_encoder_decoder_embeddings=False) are not implemented"
            )


def sinusoidal_table(n_pos: int, dim: int) -> np.ndarray:
    """Hugging Face's ``MarianSinusoidalPositionalEmbedding.create_weight`` (float32)."""
    pos = np.arange(n_pos, dtype=np.float64)[:, None]
    j = np.arange(dim)
    angle = pos / np.power(10000, 2 * (j // 2) / dim)
    out = np.empty((n_pos, dim), dtype=np.float32)
    half = dim // 2 if dim % 2 == 0 else dim // 2 + 1
    out[:, :half] = np.sin(angle[:, 0::2])
    out[:, half:] = np.cos(angle[:, 1::2])
    return out


class MarianSinusoidalPositionalEmbedding(nn.Embedding):
    """The fixed table above, looked up by position (no offset)."""

    def __init__(self, num_positions: int, embedding_dim: int) -> None:
        super().__init__(num_positions, embedding_dim, _freeze=True)  # fills the table

    def reset_parameters(self) -> None:
        with minigrad.no_grad():
            table = sinusoidal_table(self.num_embeddings, self.embedding_dim)
            self.weight.copy_(Tensor(table.astype(self.weight.dtype)))

    def forward(self, positions: np.ndarray) -> Tensor:  # type: ignore[override]
        return super().forward(Tensor(positions))


class _MarianEmbeddings:
    """Marian's embedding choices for the encoder and decoder stacks."""

    def position_embedding(self, config: BartConfig) -> nn.Module:
        return MarianSinusoidalPositionalEmbedding(config.max_position_embeddings, config.d_model)

    def has_embedding_norm(self) -> bool:
        return False


class MarianEncoder(_MarianEmbeddings, BartEncoder):
    pass


class MarianDecoder(_MarianEmbeddings, BartDecoder):
    pass


class MarianPreTrainedModel(BartPreTrainedModel):
    config_cls = MarianConfig

    @classmethod
    def from_pretrained(cls, folder: Any, **config_overrides: Any) -> Any:
        """Load a Hugging Face model folder. ``transformers`` leaves the sinusoidal
        tables out of saved checkpoints; they are rebuilt here, not initialised."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = super().from_pretrained(folder, **config_overrides)
        for module in model.modules():
            if isinstance(module, MarianSinusoidalPositionalEmbedding):
                module.reset_parameters()
        for w in caught:
            text = str(w.message)
            if "newly initialised" in text and all(
                "embed_positions" in k for k in text.split("[", 1)[-1].split(",")
            ):
                continue
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return model


class MarianModel(MarianPreTrainedModel, BartModel):
    """The Marian encoder-decoder without a head. Unlike BART, decoder inputs are
    never derived from the source: give ``decoder_input_ids`` (or ``labels`` to the
    MT model)."""

    encoder_cls = MarianEncoder
    decoder_cls = MarianDecoder

    def default_decoder_inputs(self, input_ids: Any) -> np.ndarray:
        raise ValueError("MarianModel: decoder_input_ids are needed")


class MarianMTModel(MarianPreTrainedModel, BartForConditionalGeneration):
    """Marian with its language-model head (tied to the shared embeddings, plus
    ``final_logits_bias``); ``generate`` translates (decoding starts from
    ``decoder_start_token_id``, the pad id)."""

    model_cls = MarianModel
