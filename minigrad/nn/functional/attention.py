"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

    Attention(Q, K, V) = softmax(Q Kᵀ · scale + M) V,   scale = 1/√d by default,

where M is 0 where a query may look at a key and -∞ where it may not (a softmax
weight of e^-∞ = 0). Masks come in two kinds: a float mask is added to the scores as
is; a boolean mask is turned into M. Beware the opposite conventions, kept from
PyTorch: in ``scaled_dot_product_attention`` True means "may attend", while in
multi-head attention's ``attn_mask`` and ``key_padding_mask`` True means "masked out".

Everything is a composition of differentiable ops (matmul, softmax, where, ...), so
the gradient with respect to queries, keys, values and projection weights comes from
autograd.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.nn.functional._util import float_input
from minigrad.ops._util import as_tensor, constant
from minigrad.tensor import Tensor

__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]


def _repeat_heads(x: Tensor, repeats: int) -> Tensor:
    """(..., H, S, E) -> (..., H·r, S, E), each head repeated r times in a row
    (``repeat_interleave`` on dim -3, for grouped-query attention)."""
    shape = x.shape
    x = ops.unsqueeze(x, -3)
    x = ops.expand(x, shape[:-2] + (repeats,) + shape[-2:])
    return ops.reshape(x, shape[:-3] + (shape[-3] * repeats,) + shape[-2:])


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(Q Kᵀ · scale + M) V over the last two dims of (..., L, E) queries and
    (..., S, E) keys.

    ``attn_mask`` (broadcastable to (..., L, S)): bool, True = may attend; or float,
    added to the scores. ``is_causal``: query i sees keys j ≤ i (top-left aligned, as
    PyTorch). ``dropout_p`` drops attention weights (always applied when > 0, as the
    functional form in PyTorch)."""
    q = float_input(query, "scaled_dot_product_attention")
    k, v = as_tensor(key), as_tensor(value)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2 or q.shape[-1] != k.shape[-1]:
        raise RuntimeError(
            "scaled_dot_product_attention: expected query (..., L, E), key (..., S, E) and "
            f"value (..., S, Ev), got {q.shape}, {k.shape}, {v.shape}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise RuntimeError(
            f"scaled_dot_product_attention: key {k.shape} and value {v.shape} must have the "
            "same sequence length"
        )
    if enable_gqa and q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        hq, hk = q.shape[-3], k.shape[-3]
        if hq % hk or v.shape[-3] != hk:
            raise RuntimeError(
                f"scaled_dot_product_attention: {hq} query heads must be a multiple of the "
                f"{hk} key/value heads"
            )
        k, v = _repeat_heads(k, hq // hk), _repeat_heads(v, hq // hk)
    l_len, s_len = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = ops.matmul(q, ops.transpose(k, -2, -1)) * scale
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError(
                "scaled_dot_product_attention: attn_mask must be None when is_causal=True"
            )
        attn_mask = Tensor._from_op(np.tril(np.ones((l_len, s_len), dtype=bool)), None)
    if attn_mask is not None:
        mask = as_tensor(attn_mask)
        if mask.dtype == np.bool_:
            scores = ops.where(mask, scores, constant(-math.inf, scores.dtype))
        else:
            scores = scores + mask
    weights = ops.softmax(scores, -1)
    if dropout_p > 0.0:
        weights = ops.dropout(weights, dropout_p, True)
    return ops.matmul(weights, v)


def _float_mask(mask: Tensor | None, dtype: np.dtype, name: str) -> Tensor | None:
    """Multi-head attention's masks as additive float masks (bool True -> -inf)."""
    if mask is None:
        return None
    mask = as_tensor(mask)
    if mask.dtype == np.bool_:
        return constant(np.where(mask.data, -np.inf, 0.0), dtype)
    if mask.dtype.kind != "f":
        raise TypeError(f"only bool and floating types of {name} are supported, got {mask.dtype}")
    return mask


def _in_projection(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    w_q: Tensor,
    w_k: Tensor,
    w_v: Tensor,
    b: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor]:
    bq = bk = bv = None
    if b is not None:
        bq, bk, bv = ops.chunk(b, 3)
    return ops.linear(query, w_q, bq), ops.linear(key, w_k, bk), ops.linear(value, w_v, bv)


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """PyTorch's multi-head attention on sequence-first inputs: query (L, N, E) or (L, E),
    key/value (S, N, E_k/E_v). Returns (output (L, N, E), weights or None); the weights
    are (N, L, S) averaged over heads, or (N, H, L, S) with ``average_attn_weights=False``.

    Per head h: softmax(Q_h K_hᵀ/√d + M) V_h, with Q = query W_qᵀ + b_q etc. and
    d = E / H; the heads are concatenated and projected by ``out_proj``."""
    query = float_input(query, "multi_head_attention_forward")
    key, value = as_tensor(key), as_tensor(value)
    batched = query.ndim == 3
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise RuntimeError(
            "multi_head_attention_forward: query, key and value must all be 2-D (unbatched) "
            f"or 3-D, got {query.shape}, {key.shape}, {value.shape}"
        )
    if not batched:
        query, key, value = (ops.unsqueeze(t, 1) for t in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = ops.unsqueeze(as_tensor(key_padding_mask), 0)
    tgt_len, bsz, embed_dim = query.shape
    if embed_dim != embed_dim_to_check:
        raise RuntimeError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}"
        )
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise RuntimeError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint (is_causal is only a hint that "
            "attn_mask is the causal mask)"
        )
    key_padding_mask = _float_mask(key_padding_mask, query.dtype, "key_padding_mask")
    attn_mask = _float_mask(attn_mask, query.dtype, "attn_mask")

    if use_separate_proj_weight:
        q, k, v = _in_projection(
            query, key, value, q_proj_weight, k_proj_weight, v_proj_weight, in_proj_bias
        )
    else:
        if key.shape != value.shape:
            raise RuntimeError(f"key shape {key.shape} does not match value shape {value.shape}")
        w_q, w_k, w_v = ops.chunk(in_proj_weight, 3)
        q, k, v = _in_projection(query, key, value, w_q, w_k, w_v, in_proj_bias)

    if attn_mask is not None:
        src = key.shape[0]
        if attn_mask.ndim == 2:
            if attn_mask.shape != (tgt_len, src):
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                    f"{(tgt_len, src)}."
                )
            attn_mask = ops.unsqueeze(attn_mask, 0)
        elif attn_mask.ndim == 3:
            if attn_mask.shape != (bsz * num_heads, tgt_len, src):
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                    f"{(bsz * num_heads, tgt_len, src)}."
                )
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")

    if bias_k is not None and bias_v is not None:
        k = ops.cat([k, ops.expand(ops.reshape(bias_k, (1, 1, embed_dim)), (1, bsz, embed_dim))])
        v = ops.cat([v, ops.expand(ops.reshape(bias_v, (1, 1, embed_dim)), (1, bsz, embed_dim))])
        attn_mask = ops.pad(attn_mask, (0, 1)) if attn_mask is not None else None
        key_padding_mask = (
            ops.pad(key_padding_mask, (0, 1)) if key_padding_mask is not None else None
        )

    # (L, N, E) -> (N·H, L, d): one batch entry per (sample, head).
    q = ops.transpose(ops.reshape(q, (tgt_len, bsz * num_heads, head_dim)), 0, 1)
    k = (
        static_k
        if static_k is not None
        else ops.transpose(ops.reshape(k, (k.shape[0], bsz * num_heads, head_dim)), 0, 1)
    )
    v = (
        static_v
        if static_v is not None
        else ops.transpose(ops.reshape(v, (v.shape[0], bsz * num_heads, head_dim)), 0, 1)
    )
    if add_zero_attn:
        zeros = constant(np.zeros((bsz * num_heads, 1, head_dim)), q.dtype)
        k, v = ops.cat([k, zeros], 1), ops.cat([v, zeros], 1)
        attn_mask = ops.pad(attn_mask, (0, 1)) if attn_mask is not None else None
        key_padding_mask = (
            ops.pad(key_padding_mask, (0, 1)) if key_padding_mask is not None else None
        )
    src_len = k.shape[1]

    if key_padding_mask is not None:
        if key_padding_mask.shape != (bsz, src_len):
            raise RuntimeError(
                f"key_padding_mask of shape {key_padding_mask.shape} should be {(bsz, src_len)}"
            )
        kpm = ops.reshape(
            ops.expand(
                ops.reshape(key_padding_mask, (bsz, 1, 1, src_len)), (bsz, num_heads, 1, src_len)
            ),
            (bsz * num_heads, 1, src_len),
        )
        attn_mask = kpm if attn_mask is None else attn_mask + kpm

    if not training:
        dropout_p = 0.0
    scores = ops.matmul(q * (1.0 / math.sqrt(head_dim)), ops.transpose(k, -2, -1))
    if attn_mask is not None:
        scores = scores + attn_mask
    weights = ops.softmax(scores, -1)
    if dropout_p > 0.0:
        weights = ops.dropout(weights, dropout_p, True)
    out = ops.matmul(weights, v)  # (N·H, L, d)
    out = ops.reshape(ops.transpose(out, 0, 1), (tgt_len * bsz, embed_dim))
    out = ops.reshape(ops.linear(out, out_proj_weight, out_proj_bias), (tgt_len, bsz, embed_dim))

    avg: Any = None
    if need_weights:
        avg = ops.reshape(weights, (bsz, num_heads, tgt_len, src_len))
        if average_attn_weights:
            avg = ops.mean(avg, 1)
        if not batched:
            avg = ops.squeeze(avg, 0)
    if not batched:
        out = ops.squeeze(out, 1)
    return out, avg
