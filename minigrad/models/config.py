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

**Validation.** Every field is checked when a config is built, before any model is:
its type (``hidden_size=768.0`` or ``"768"`` is refused, as is ``True`` for an integer)
and its range (sizes from 1 to 2³¹ − 1, layer counts from 0, rates in [0, 1], finite
epsilons), with a ``ValueError`` naming the config, the field and the value, so a
``config.json`` with ``vocab_size`` 2⁴⁰ is refused instead of allocating 32 TiB, and
``num_attention_heads=0`` is refused instead of dividing by zero.
:func:`check_fits_in_memory` (called by ``from_pretrained``) also refuses sizes whose
parameters would not fit in this machine's memory.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from minigrad.serialization import strict_json

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
MAX_CONFIG_BYTES = 64 * 1024 * 1024
_SIZE = (1, 2**31 - 1)  # a dimension: token ids and sizes fit int32 in every real model
_COUNT = (0, 2**16)  # layers
_RATE = (0.0, 1.0)
_NONNEG = (0.0, math.inf)


def _validate(config: Any, ranges: Mapping[str, tuple[float, float]]) -> None:
    """Check every field against its annotation (``int``, ``float``, ``bool``, ``str``,
    ``dict``, each optionally ``| None``) and ``ranges``; ValueError naming the field."""
    cls = type(config).__name__
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        kinds = [k.strip() for k in str(f.type).split("|")]
        if value is None and "None" in kinds:
            continue
        base = kinds[0].split("[")[0]
        ok = {
            "int": type(value) is int,
            "float": type(value) in (int, float) and math.isfinite(value),
            "bool": type(value) is bool,
            "str": isinstance(value, str),
            "dict": isinstance(value, Mapping),
        }.get(base, True)
        if not ok:
            want = {"int": "an integer", "float": "a finite number", "bool": "true or false",
                    "str": "a string", "dict": "an object"}[base]  # fmt: skip
            want += " or None" if "None" in kinds else ""
            raise ValueError(f"{cls}: {f.name}={value!r} must be {want}")
        lo, hi = ranges.get(f.name, (-math.inf, math.inf))
        if base in ("int", "float") and not lo <= value <= hi:
            raise ValueError(f"{cls}: {f.name}={value!r} is out of range [{lo}, {hi}]")


def _label_map(labels: Mapping[Any, Any], cls: str) -> dict[int, str]:
    try:
        return {int(k): v for k, v in labels.items()}
    except (TypeError, ValueError):
        raise ValueError(f"{cls}: id2label keys must be integers, got {list(labels)[:5]}") from None


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not on this platform
        return None


def check_fits_in_memory(config: Any, itemsize: int = 4) -> None:
    """Refuse (ValueError) a config whose parameters, at ``itemsize`` bytes each, would
    not fit in this machine's physical memory; checked before a model is allocated."""
    need = config.estimated_parameters() * itemsize
    have = _physical_memory()
    if have is not None and need > have:
        raise ValueError(
            f"{type(config).__name__}: these sizes make about "
            f"{config.estimated_parameters():,} parameters ({need / 2**30:,.1f} GiB), more "
            f"than this machine's {have / 2**30:,.1f} GiB of memory; check the sizes in "
            "config.json"
        )


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
            labels = _label_map(d["id2label"], cls.__name__)
            kwargs["num_labels"] = len(labels)
            # transformers' generic names ("LABEL_0", ...) carry nothing: keep only real ones
            generic = all(v == f"LABEL_{k}" for k, v in labels.items())
            kwargs["id2label"] = None if generic else labels
        return cls(**kwargs)

    @classmethod
    def from_json_file(cls: type[C], path: str | Path, **overrides: Any) -> C:
        """Read a ``config.json`` (strict JSON: no duplicate keys, bounded size)."""
        config = strict_json.read(path, MAX_CONFIG_BYTES, "config")
        if not isinstance(config, Mapping):
            raise ValueError(f"{path}: the config is not a JSON object")
        return cls.from_dict(config, **overrides)

    @classmethod
    def from_pretrained(cls: type[C], folder: str | Path, **overrides: Any) -> C:
        """Read ``folder/config.json`` (a local Hugging Face model folder)."""
        from minigrad.models.checkpoint import read_config

        return cls.from_dict(read_config(folder), **overrides)

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
        _validate(self, _GPT2_RANGES)
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

    def estimated_parameters(self) -> int:
        """Parameters of GPT2LMHeadModel (the head tied to the embedding)."""
        e, i = self.n_embd, self.inner_size
        per_layer = 4 * e + (3 * e * e + 3 * e) + (e * e + e) + (e * i + i) + (i * e + e)
        return (self.vocab_size + self.n_positions) * e + self.n_layer * per_layer + 2 * e


_GPT2_RANGES = {
    **dict.fromkeys(["vocab_size", "n_positions", "n_embd", "n_head", "n_inner"], _SIZE),
    "n_layer": _COUNT,
    **dict.fromkeys(["resid_pdrop", "embd_pdrop", "attn_pdrop"], _RATE),
    **dict.fromkeys(["layer_norm_epsilon", "initializer_range"], _NONNEG),
}


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
        _validate(self, _BERT_RANGES)
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
            self.id2label = _label_map(self.id2label, "BertConfig")
            if len(self.id2label) != self.num_labels:
                raise ValueError(
                    f"BertConfig: num_labels={self.num_labels} but id2label has "
                    f"{len(self.id2label)} entries"
                )

    def estimated_parameters(self) -> int:
        """Parameters of BertForPreTraining (the largest BERT model; decoder tied)."""
        h, i, v = self.hidden_size, self.intermediate_size, self.vocab_size
        embeddings = (v + self.max_position_embeddings + self.type_vocab_size) * h + 2 * h
        per_layer = 4 * (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h
        heads = (h * h + h) + (h * h + h) + 2 * h + v + (2 * h + 2)  # pooler, MLM, NSP
        return embeddings + self.num_hidden_layers * per_layer + heads

    @property
    def classifier_dropout_prob(self) -> float:
        """Dropout before the classification head: ``classifier_dropout``, else the
        hidden rate (as Hugging Face)."""
        if self.classifier_dropout is not None:
            return self.classifier_dropout
        return self.hidden_dropout_prob


_BERT_RANGES = {
    **dict.fromkeys(
        [
            "vocab_size",
            "hidden_size",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
            "num_labels",
        ],
        _SIZE,
    ),  # fmt: skip
    "num_hidden_layers": _COUNT,
    **dict.fromkeys(
        ["hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"], _RATE
    ),
    **dict.fromkeys(["layer_norm_eps", "initializer_range"], _NONNEG),
}


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
