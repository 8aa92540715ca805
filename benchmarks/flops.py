"""Analytic FLOP counts of the workloads (a multiply-add is 2 FLOPs).

Only the matrix products are counted: elementwise work, reductions, the loss and
the optimizer update are O(parameters + activations), a rounding error next to the
O(parameters x batch) products, and counting them would reward slow kernels.

* A matmul (m x k) @ (k x n) is ``2·m·n·k`` forward; its backward computes both
  dX = dY·Wᵀ and dW = Xᵀ·dY, ``2 x`` the forward, so a training step costs
  ``3 x`` the forward products. (The very first layer's dX is not needed and
  PyTorch skips it; we count it anyway, as the usual convention does.)
* A convolution is the matmul of its im2col form:
  ``2 · B · H_out · W_out · C_out · C_in · k_h · k_w`` forward, ``3 x`` per training step.
* Transformers (Kaplan et al. 2020; PaLM, Chowdhery et al. 2022, appendix B):
  training costs ``6·N`` FLOPs per token for the weights plus ``12·L·d·T`` for attention
  (QKᵀ and A·V: ``2·2·T·d`` per token per layer forward, x3 for training), where N is the
  number of parameters that take part in a matmul: every weight except the position
  (and token-type) embeddings. GPT-2's token embedding counts once, as the tied LM
  head's matmul. Inference is a third of that: ``2·N + 4·L·d·T`` per token.
  Causal masking is not subtracted (eager attention computes the full T x T scores).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def linear_train(batch: int, sizes: Sequence[int]) -> float:
    """An MLP with layer widths ``sizes`` (input first), one training step."""
    fwd = sum(2 * batch * a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 3.0 * fwd


def conv2d_forward(batch: int, c_in: int, c_out: int, k: int, h_out: int, w_out: int) -> float:
    return 2.0 * batch * h_out * w_out * c_out * c_in * k * k


def gemm(n: int) -> float:
    """A square ``n x n @ n x n`` product."""
    return 2.0 * n**3


def gpt2_matmul_params(cfg: dict[str, Any]) -> int:
    """GPT-2's parameters that enter a matmul: the tied token embedding / LM head (V·d),
    per block c_attn (3d²+3d), attn c_proj (d²+d), c_fc (d·f+f), mlp c_proj (f·d+d) and two
    LayerNorms (4d), and the final LayerNorm (2d). Position embeddings excluded."""
    d, layers, vocab = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"]
    f = cfg.get("n_inner") or 4 * d
    block = (3 * d * d + 3 * d) + (d * d + d) + (d * f + f) + (f * d + d) + 4 * d
    return vocab * d + layers * block + 2 * d


def gpt2_train(cfg: dict[str, Any], batch: int, seq: int) -> float:
    tokens = batch * seq
    n = gpt2_matmul_params(cfg)
    return 6.0 * n * tokens + 12.0 * cfg["n_layer"] * cfg["n_embd"] * seq * tokens


def bert_encoder_params(cfg: dict[str, Any]) -> int:
    """BERT's encoder parameters (all embeddings excluded: they are lookups, not matmuls):
    per layer Q, K, V, O (4d²+4d), intermediate (d·f+f), output (f·d+d), two LayerNorms (4d)."""
    d, layers, f = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"]
    return layers * ((4 * d * d + 4 * d) + (d * f + f) + (f * d + d) + 4 * d)


def bert_inference(cfg: dict[str, Any], batch: int, seq: int) -> float:
    """Forward of ``BertModel``: encoder products per token, attention, and the pooler
    (one d x d product per sentence, on the [CLS] token)."""
    tokens = batch * seq
    d, layers = cfg["hidden_size"], cfg["num_hidden_layers"]
    return (
        2.0 * bert_encoder_params(cfg) * tokens
        + 4.0 * layers * d * seq * tokens
        + 2.0 * d * d * batch
    )
