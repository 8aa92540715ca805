"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``.

    Attention(Q, K, V) = softmax(Q Kᵀ · scale + M) V,   scale = 1/√d by default,

where M is 0 where a query may look at a key and -∞ where it may not (a softmax
weight of e^-∞ = 0). Masks come in two kinds: a float mask is added to the scores as
is; a boolean mask is turned into M. Beware the opposite conventions, kept from
PyTorch: in ``scaled_dot_product_attention`` True means "may attend", while in
multi-head attention's ``attn_mask`` and ``key_padding_mask`` True means "masked out".

The whole formula is one graph node, :class:`Attention`, with its closed-form
backward: of the (L, S) intermediates only the softmax weights (and dropout's
boolean mask) are kept for backward, and boolean masks are applied in place (the
causal one is built once per size).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from minigrad import dtypes, fast, ops
from minigrad.autograd.function import Function
from minigrad.fast.fused import reference_of
from minigrad.fast.kernels import keep_mask, keep_scale, rowdot, softmax_
from minigrad.ops._util import as_tensor, check_dropout_p, constant, float_input, is_array, sum_to
from minigrad.ops.nn_ops import dropout_reference
from minigrad.tensor import Tensor

__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]


class Attention(Function):
    """O = dropout(softmax(Q Kᵀ·s + M)) V over the last two dims, as one node.

    Forward, per batch entry (Q: L×E, K: S×E, V: S×Ev):
        A = Q Kᵀ·s + M,   P = softmax(A) (each row),   P̃ = P ⊙ D/(1 - p),   O = P̃ V,
    where M is a float mask (an optional fourth input, which may require grad) and/or
    ``fill`` wherever the boolean mask ``blocked`` is True; D is dropout's keep mask.
    Backward, from dO:
        dV = P̃ᵀ dO,   dP = (dO Vᵀ) ⊙ D/(1 - p),
        dA = P ⊙ (dP - rowsum(dP ⊙ P))   (softmax's Jacobian),   dM = dA,
        dQ = dA K·s,   dK = dAᵀ Q·s      (each summed back over broadcast batch dims).

    Kept for backward: Q, K, V (the inputs), P and D (booleans). Under ``create_graph``
    P is recomputed from Q and K with graph-recording ops, so second derivatives are
    exact.
    """

    array_backward = True

    @staticmethod
    def forward(ctx, q, k, v, mask=None, *, blocked, fill, scale, dropout_p):
        ctx.blocked, ctx.fill, ctx.scale, ctx.dropout_p = blocked, fill, scale, dropout_p
        out, kept = _forward(ctx, q, k, v, mask)
        ctx.save_for_backward(q, k, v, *([] if mask is None else [mask]), *kept)
        return out

    @staticmethod
    def backward(ctx, g):
        q, k, v, *rest = ctx.saved_tensors
        mask = rest.pop(0) if len(ctx.needs_input_grad) == 4 else None
        need = ctx.needs_input_grad
        dq, dk, dv, da = _grads(ctx, g, q, k, v, mask, rest, need[:3])
        grads = tuple(
            None if d is None else sum_to(d, x.shape) for d, x in ((dq, q), (dk, k), (dv, v))
        )
        if mask is None:
            return grads
        return grads + (sum_to(da, mask.shape) if need[3] else None,)


@reference_of(Attention)
def attention_reference(q, k, v, mask=None, *, blocked, fill, scale, dropout_p) -> Tensor:
    """softmax(Q Kᵀ·s + M) (``attention_weights``), dropout with the kernel's mask draw,
    times V."""
    p = attention_weights(q, k, mask, blocked, fill, scale)
    return ops.matmul(dropout_reference(p, dropout_p) if dropout_p else p, v)


class PackedAttention(Function):
    """:class:`Attention` with H heads over a packed input, in the layouts of a model's
    projections: X = [Q | K | V] of shape (B, T, 3·H·D) (one product's output) and
    O of shape (B, T, H·D), heads side by side. So neither splitting X into heads nor
    merging the heads of O costs a copy or a graph node, and dX = [dQ | dK | dV] is
    one new array. Math, masks and saved arrays as :class:`Attention` (no float mask).
    """

    array_backward = True

    @staticmethod
    def forward(ctx, x, *, heads, blocked, fill, scale, dropout_p):
        ctx.blocked, ctx.fill, ctx.scale, ctx.dropout_p = blocked, fill, scale, dropout_p
        ctx.heads = heads
        q, k, v = _unpack_heads(x, heads)
        b, t = x.shape[:2]
        out = np.empty((b, t, heads, v.shape[-1]), dtype=x.dtype)
        _, kept = _forward(ctx, q, k, v, None, out=out.swapaxes(1, 2))
        ctx.save_for_backward(x, *kept)
        return out.reshape(b, t, -1)

    @staticmethod
    def backward(ctx, g):
        x, *rest = ctx.saved_tensors
        b, t, _ = x.shape
        q, k, v = _unpack_heads(x, ctx.heads)
        g = ops.reshape(g, (b, t, ctx.heads, -1)).swapaxes(1, 2)
        grads = _grads(ctx, g, q, k, v, None, rest, (True, True, True))[:3]
        stack = np.stack if is_array(grads[0]) else ops.stack
        return ops.reshape(stack([d.swapaxes(1, 2) for d in grads], 2), x.shape)


@reference_of(PackedAttention)
def packed_attention_reference(x, *, heads, blocked, fill, scale, dropout_p) -> Tensor:
    """Split X into the heads' Q, K, V; attention; heads side by side again."""
    q, k, v = _unpack_heads(x, heads)
    o = attention_reference(q, k, v, blocked=blocked, fill=fill, scale=scale, dropout_p=dropout_p)
    return ops.reshape(ops.permute(o, (0, 2, 1, 3)), x.shape[:2] + (-1,))


def _unpack_heads(x: Any, heads: int) -> tuple[Any, Any, Any]:
    """(B, T, 3·H·D) -> Q, K, V of shape (B, H, T, D): strided views of x (Tensors or arrays)."""
    b, t, n = x.shape
    x = ops.permute(ops.reshape(x, (b, t, 3, heads, n // (3 * heads))), (2, 0, 3, 1, 4))
    return x[0], x[1], x[2]


def _forward(
    ctx: Function,
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    mask: np.ndarray | None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The forward of :class:`Attention` on arrays: (O, the arrays backward needs: P and,
    with dropout, D). ``out``: where to write O."""
    a = np.matmul(q, k.swapaxes(-1, -2))
    if ctx.scale != 1.0:
        a *= ctx.scale
    p = softmax_(_apply_masks(a, mask, ctx.blocked, ctx.fill), -1)
    if ctx.dropout_p == 0.0:
        return np.matmul(p, v, out=out), [p]
    keep = keep_mask(p.shape, ctx.dropout_p)
    o = np.matmul(p * keep, v, out=out)
    o *= keep_scale(ctx.dropout_p)  # P̃ V = ((P ⊙ D) V)/(1 - p): scale the smaller array
    return o, [p, keep]


def _grads(
    ctx: Function,
    g: Any,
    q: Any,
    k: Any,
    v: Any,
    mask: Any,
    kept: list[Any],
    need: tuple[bool, ...],
) -> tuple[Any, Any, Any, Any]:
    """dQ, dK, dV (None where not needed, not yet summed over broadcast dims) and dA, by
    the formulas of :class:`Attention`, on arrays or (``create_graph``) on Tensors."""
    p, keep = kept[0], (kept[1] if len(kept) > 1 else None)
    if not is_array(q):  # create_graph: P as a function of Q and K (and M)
        p = attention_weights(q, k, mask, ctx.blocked, ctx.fill, ctx.scale)
    if keep is not None:  # dropout's 1/(1 - p) goes on dO, smaller than P or dP
        g = g * keep_scale(ctx.dropout_p)
    dv = ops.matmul((p if keep is None else p * keep).swapaxes(-1, -2), g) if need[2] else None
    da = ops.matmul(g, v.swapaxes(-1, -2))  # dP, then dA in place
    if keep is not None:
        da *= keep
    da -= rowdot(da, p)
    da *= p
    dq = dk = None
    if need[0]:
        dq = ops.matmul(da, k)
        dq *= ctx.scale
    if need[1]:
        dk = ops.matmul(da.swapaxes(-1, -2), q)
        dk *= ctx.scale
    return dq, dk, dv, da


def _apply_masks(
    a: np.ndarray, mask: np.ndarray | None, blocked: np.ndarray | None, fill: float
) -> np.ndarray:
    """A + M, then ``fill`` where ``blocked``: in place in the new array ``a``."""
    shapes = [m.shape for m in (mask, blocked) if m is not None]
    if not shapes:
        return a
    shape = np.broadcast_shapes(a.shape, *shapes)
    if shape != a.shape:  # rare: a mask with more batch dims than Q Kᵀ
        a = np.array(np.broadcast_to(a, shape))
    if mask is not None:
        a += mask
    if blocked is not None:
        np.copyto(a, fill, where=blocked)
    return a


def attention_weights(
    q: Tensor,
    k: Tensor,
    mask: Tensor | None,
    blocked: np.ndarray | None,
    fill: float,
    scale: float,
) -> Tensor:
    """softmax(Q Kᵀ·s + M) with graph-recording ops: :class:`Attention`'s P, for a
    backward that must be differentiable and for callers that return the weights."""
    a = ops.matmul(q, k.swapaxes(-1, -2)) * scale
    if mask is not None:
        a = a + mask
    if blocked is not None:
        a = ops.where(constant(blocked, np.bool_), constant(fill, a.dtype), a)
    return ops.softmax(a, -1)


def attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None = None,
    blocked: np.ndarray | None = None,
    fill: float = -math.inf,
    scale: float = 1.0,
    dropout_p: float = 0.0,
) -> Tensor:
    """dropout(softmax(Q Kᵀ·s + M)) V (see :class:`Attention`): q (..., L, E), k (..., S, E),
    v (..., S, Ev); ``mask`` a float tensor added to the scores, ``blocked`` a boolean
    array (True = may not attend) whose scores become ``fill``; both broadcast to
    (..., L, S)."""
    check_dropout_p(dropout_p)
    dt = dtypes.result_type(q, k, v)
    q, k, v = as_tensor(q, dt), as_tensor(k, dt), as_tensor(v, dt)
    params = dict(blocked=blocked, fill=fill, scale=float(scale), dropout_p=float(dropout_p))
    masks = () if mask is None else (as_tensor(mask, dt),)
    if not fast.enabled():
        return attention_reference(q, k, v, *masks, **params)
    return Attention.apply(q, k, v, *masks, **params)


def packed_attention(
    x: Tensor,
    heads: int,
    blocked: np.ndarray | None = None,
    fill: float = -math.inf,
    scale: float = 1.0,
    dropout_p: float = 0.0,
) -> Tensor:
    """Multi-head self-attention over packed projections (see :class:`PackedAttention`):
    x = [Q | K | V] of shape (B, T, 3·H·D) -> (B, T, H·D); ``blocked`` broadcasts to
    (B, H, T, T)."""
    if x.ndim != 3 or x.shape[-1] % (3 * heads):
        raise RuntimeError(
            f"packed_attention: expected (batch, seq, 3·heads·head_dim) with {heads} heads, "
            f"got {x.shape}"
        )
    check_dropout_p(dropout_p)
    params = dict(blocked=blocked, fill=fill, scale=float(scale), dropout_p=float(dropout_p))
    if not fast.enabled():
        return packed_attention_reference(x, heads=heads, **params)
    return PackedAttention.apply(x, heads=heads, **params)


@functools.lru_cache(maxsize=32)
def causal_blocked(l_len: int, s_len: int) -> np.ndarray:
    """The causal mask as "blocked" booleans: True where key j > query i (top-left
    aligned, as PyTorch). Built once per size, and read-only since it is shared."""
    blocked = np.triu(np.ones((l_len, s_len), dtype=bool), 1)
    blocked.flags.writeable = False
    return blocked


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
    q = float_input(query, "scaled_dot_product_attention", "query")
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
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    mask = blocked = None
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError(
                "scaled_dot_product_attention: attn_mask must be None when is_causal=True"
            )
        blocked = causal_blocked(q.shape[-2], k.shape[-2])
    elif attn_mask is not None:
        mask = as_tensor(attn_mask)
        if mask.dtype == np.bool_:
            mask, blocked = None, ~mask.data
    return attention(q, k, v, mask, blocked, -math.inf, scale, dropout_p)


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
    query = float_input(query, "multi_head_attention_forward", "query")
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
    scale = 1.0 / math.sqrt(head_dim)
    weights = None
    if need_weights:  # the weights are an output too: compose them from recorded ops
        weights = attention_weights(q, k, attn_mask, None, 0.0, scale)
        if dropout_p > 0.0:
            weights = ops.dropout(weights, dropout_p, True)
        out = ops.matmul(weights, v)  # (N·H, L, d)
    else:
        out = attention(q, k, v, attn_mask, scale=scale, dropout_p=dropout_p)
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
