"""Model configurations that read Hugging Face ``config.json`` files.

``GPT2Config``, ``BertConfig`` and ``RobertaConfig`` are plain dataclasses holding the
sizes, activation, epsilons and dropout rates of a model. Field names are Hugging Face's own, so a
``config.json`` (or a ``transformers`` config's ``to_dict()``) maps onto them directly:

    cfg = BertConfig.from_json_file("all-MiniLM-L6-v2/config.json")
    cfg = GPT2Config.from_dict(hf_model.config.to_dict())
    hf_cfg = transformers.BertConfig(**cfg.to_dict())      # and back

Keys that do not change the computation (``architectures``, ``transformers_version``,
generation settings, ...) are ignored; settings this package cannot honour (cross
attention, relative position embeddings, an unknown activation) raise an error
instead of silently building a different model.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

# Hugging Face activation names -> (minigrad op, keyword arguments).
#   "gelu"       : x·Φ(x), Φ via erf          (BERT)
#   "gelu_new"   : ½x(1 + tanh(√(2/π)(x + 0.044715x³)))   (GPT-2; same as gelu_pytorch_tanh)
ACTIVATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "gelu": ("gelu", {}),
    "gelu_new": ("gelu", {"approximate": "tanh"}),
    "gelu_pytorch_tanh": ("gelu", {"approximate": "tanh"}),
    "relu": ("relu", {}),
    "silu": ("silu", {}),
    "swish": ("silu", {}),
    "tanh": ("tanh", {}),
}

C = TypeVar("C", bound="_Config")


def _check_activation(name: str, key: str) -> None:
    if name not in ACTIVATIONS:
        raise ValueError(
            f"{key}={name!r} is not supported; known activations: {sorted(ACTIVATIONS)}"
        )


class _Config:
    """Shared readers/writers for the dataclass configs below."""

    model_type: str = ""

    @classmethod
    def from_dict(cls: type[C], d: Mapping[str, Any], **overrides: Any) -> C:
        """Build from a Hugging Face config dict; ``overrides`` replace entries of ``d``."""
        d = {**d, **overrides}
        found = d.get("model_type")
        if found not in (None, "", cls.model_type):
            raise ValueError(
                f"{cls.__name__}.from_dict: config has model_type={found!r}, "
                f"expected {cls.model_type!r}"
            )
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        kwargs = {k: v for k, v in d.items() if k in names}
        if "num_labels" in overrides:  # a new head size replaces the checkpoint's labels
            kwargs.pop("id2label", None)
        elif "num_labels" in names and isinstance(d.get("id2label"), Mapping):
            labels = {int(k): v for k, v in d["id2label"].items()}
            kwargs["num_labels"] = len(labels)
            # transformers' generic names ("LABEL_0", ...) carry nothing: keep only real ones
            generic = all(v == f"LABEL_{k}" for k, v in labels.items())
            kwargs["id2label"] = None if generic else labels
        return cls(**kwargs)

    @classmethod
    def from_json_file(cls: type[C], path: str | Path, **overrides: Any) -> C:
        return cls.from_dict(json.loads(Path(path).read_text()), **overrides)

    @classmethod
    def from_pretrained(cls: type[C], folder: str | Path, **overrides: Any) -> C:
        """Read ``folder/config.json`` (a Hugging Face model folder)."""
        return cls.from_json_file(Path(folder) / "config.json", **overrides)

    def to_dict(self) -> dict[str, Any]:
        """The fields under Hugging Face's names (``transformers.XConfig(**cfg.to_dict())``)."""
        d = dataclasses.asdict(self)  # type: ignore[call-overload]
        if d.get("id2label", 0) is None:  # let transformers derive the labels from num_labels
            del d["id2label"]
        return {"model_type": self.model_type, **d}


@dataclass
class GPT2Config(_Config):
    """GPT-2 sizes and rates. Defaults are GPT-2 small (124M parameters)."""

    model_type = "gpt2"

    vocab_size: int = 50257
    n_positions: int = 1024
    n_embd: int = 768
    n_layer: int = 12
    n_head: int = 12
    n_inner: int | None = None  # MLP width; None means 4·n_embd
    activation_function: str = "gelu_new"
    resid_pdrop: float = 0.1
    embd_pdrop: float = 0.1
    attn_pdrop: float = 0.1
    layer_norm_epsilon: float = 1e-5
    initializer_range: float = 0.02
    scale_attn_weights: bool = True
    scale_attn_by_inverse_layer_idx: bool = False
    # Upcasting only changes float16 runs; minigrad computes in the model's dtype.
    reorder_and_upcast_attn: bool = False
    add_cross_attention: bool = False
    tie_word_embeddings: bool = True
    bos_token_id: int | None = 50256
    eos_token_id: int | None = 50256
    pad_token_id: int | None = None

    def __post_init__(self) -> None:
        _check_activation(self.activation_function, "activation_function")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"GPT2Config: n_embd={self.n_embd} is not divisible by n_head={self.n_head}"
            )
        if self.add_cross_attention:
            raise NotImplementedError("GPT2Config: cross attention is not implemented")

    # Hugging Face's attribute_map aliases, so code can use the BERT-style names.
    @property
    def hidden_size(self) -> int:
        return self.n_embd

    @property
    def num_hidden_layers(self) -> int:
        return self.n_layer

    @property
    def num_attention_heads(self) -> int:
        return self.n_head

    @property
    def max_position_embeddings(self) -> int:
        return self.n_positions

    @property
    def inner_size(self) -> int:
        return self.n_inner if self.n_inner is not None else 4 * self.n_embd


@dataclass
class BertConfig(_Config):
    """BERT sizes and rates. Defaults are BERT-base (110M parameters)."""

    model_type = "bert"

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int | None = 0
    position_embedding_type: str = "absolute"
    classifier_dropout: float | None = None
    num_labels: int = 2
    is_decoder: bool = False
    add_cross_attention: bool = False
    tie_word_embeddings: bool = True
    id2label: dict[int, str] | None = field(default=None)

    def __post_init__(self) -> None:
        _check_activation(self.hidden_act, "hidden_act")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"BertConfig: hidden_size={self.hidden_size} is not divisible by "
                f"num_attention_heads={self.num_attention_heads}"
            )
        if self.position_embedding_type != "absolute":
            raise NotImplementedError(
                f"BertConfig: position_embedding_type={self.position_embedding_type!r} is not "
                "implemented (only 'absolute')"
            )
        if self.is_decoder or self.add_cross_attention:
            raise NotImplementedError(
                "BertConfig: decoder BERT / cross attention is not implemented"
            )
        if self.id2label is not None:  # JSON object keys are strings
            self.id2label = {int(k): v for k, v in self.id2label.items()}
            if len(self.id2label) != self.num_labels:
                raise ValueError(
                    f"BertConfig: num_labels={self.num_labels} but id2label has "
                    f"{len(self.id2label)} entries"
                )

    @property
    def classifier_dropout_prob(self) -> float:
        """Dropout before the classification head: ``classifier_dropout``, else the
        hidden rate (as Hugging Face)."""
        if self.classifier_dropout is not None:
            return self.classifier_dropout
        return self.hidden_dropout_prob


@dataclass
class RobertaConfig(BertConfig):
    """RoBERTa sizes and rates: BERT's fields with RoBERTa's defaults (RoBERTa-base:
    50265 byte-level BPE tokens, ``<pad>`` = 1, ``<s>`` = 0, ``</s>`` = 2; checkpoints
    set ``max_position_embeddings=514``, since positions start after the padding index)."""

    model_type = "roberta"

    vocab_size: int = 50265
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | None = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pad_token_id is None:
            raise ValueError("RobertaConfig: pad_token_id is needed (position ids count from it)")
