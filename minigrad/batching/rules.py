"""Batching rules for arithmetic, reductions, products and ``nn.functional``.

Each rule takes ``(fn, level, args, kwargs)`` and returns the batched result, or
``NotImplemented`` for arguments it does not cover (the loop in ``dispatch.py`` runs
then). The reasoning, family by family (B is the batch size, an example's shape s):

- **Elementwise** ops (and the comparisons, ``where``, ``clamp``, the activations):
  broadcasting aligns shapes on the right, so a batched value ``(B, *s)`` is reshaped
  to ``(B, 1, ..., 1, *s)`` with as many 1s as make its example as long as the longest
  argument's; unbatched arguments then broadcast against the examples' dimensions, and
  the result has the batch at dimension 0.
- **Reductions and scans along ``dim``** (sum, softmax, cumsum, sort...): the example's
  dim d is the physical dim d + 1; ``dim=None`` (all dims) becomes every dim but the
  batch, or a reduction of the example flattened to one dimension.
- **Products**: ``matmul`` broadcasts its batch dimensions, so each operand is aligned
  (1-D operands made matrices and squeezed back after, as ``matmul`` defines them);
  ``einsum`` gets a fresh letter for the batch; ``linear`` with batched weights is
  ``matmul(x, Wᵀ) + b``.
- **Layers on (N, C, *spatial) inputs** (convolutions, pooling): the batch and N merge
  into one dimension of size B·N (an example without N takes B as its N).
- **Losses**: the unreduced (``reduction="none"``) loss is elementwise; the mean or sum
  is then taken over each example's dimensions.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

from minigrad.batching.batched import BatchedTensor
from minigrad.batching.common import (
    Bound,
    batch_size,
    batched,
    is_b,
    is_tensor,
    logical_ndim,
    norm_dim,
    op,
    pad_to,
    shift,
    wrap,
)
from minigrad.batching.dispatch import RULES

Rule = Callable[..., Any]


def _tensors(args: tuple, kwargs: dict) -> list:
    return [a for a in (*args, *kwargs.values()) if is_tensor(a)]


# ------------------------------------------------------------------ elementwise
def elementwise(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """Every Tensor argument broadcasts with the others (see the module)."""
    nd = max(logical_ndim(t) for t in _tensors(args, kwargs))
    a = tuple(pad_to(x, level, nd) for x in args)
    k = {n: pad_to(v, level, nd) for n, v in kwargs.items()}
    return wrap(fn(*a, **k), level)


def elementwise_into_first(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """Elementwise where the first argument fixes the result's shape (masked_fill):
    the first argument is batched (expanded if it was not)."""
    nd = max(logical_ndim(t) for t in _tensors(args, kwargs))
    if logical_ndim(args[0]) < nd or any(is_b(v, level) for v in (*args[2:], *kwargs.values())):
        return NotImplemented  # a batched fill value: the op takes one value only
    first = batched(args[0], level, nd)
    rest = tuple(pad_to(x, level, nd) for x in args[1:])
    k = {n: pad_to(v, level, nd) for n, v in kwargs.items()}
    return wrap(fn(first, *rest, **k), level)


UNARY_LIKE = """neg abs sign exp log log1p expm1 sqrt rsqrt sin cos tanh sigmoid reciprocal erf
square pow_scalar rpow_scalar log2 log10 sinc floor ceil round trunc frac erfc lgamma
digamma polygamma erfinv tan atan asin acos sinh cosh asinh acosh atanh isnan isinf isfinite
logical_not bitwise_not relu leaky_relu elu gelu silu softplus relu6 celu selu hardtanh
hardsigmoid hardswish mish logsigmoid softsign tanhshrink threshold cast contiguous clone
dropout alpha_dropout zeros_like ones_like full_like empty_like rand_like randn_like""".split()
BINARY_LIKE = """add sub mul div pow maximum minimum where clamp eq ne lt le gt ge logical_and
logical_or logical_xor bitwise_and bitwise_or floor_divide remainder fmod logaddexp xlogy lerp
addcmul addcdiv atan2 hypot""".split()

for _n in UNARY_LIKE + BINARY_LIKE:
    RULES[_n] = elementwise
RULES["masked_fill"] = elementwise_into_first


def _like_random(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """``rand_like(x)``: independent draws per example ("different"), one draw for all
    ("same", an unbatched result of the example's shape)."""
    from minigrad.batching.dispatch import randomness

    if randomness(level) == "same":
        x = args[0]
        return fn(op("getitem", x.value, 0) if is_b(x, level) else x, *args[1:], **kwargs)
    return elementwise(fn, level, args, kwargs)


RULES["rand_like"] = RULES["randn_like"] = _like_random


# ------------------------------------------------------------------ along a dim
def along_dim(
    dim: str = "dim", none: str = "loop", post: Callable[[Any], Any] | None = None
) -> Rule:
    """A rule for an op reducing / scanning its first argument along ``dim``.
    ``none``: what ``dim=None`` means: "tuple" (all dims, as a tuple), "flatten" (the
    example flattened, then dim 0), "loop" (no rule)."""

    def rule(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
        b = _first_batched_alone(fn, args, kwargs, level)
        if b is None:
            return NotImplemented
        x = b[b.first]
        nd = x.ndim
        d = b.get(dim)
        v = x.value
        scalar = nd == 0  # an example of shape (): reduce a (1,) example, then drop it
        if scalar:
            if d is not None and (isinstance(d, (tuple, list)) or d not in (0, -1)):
                return NotImplemented
            v, nd = op("reshape", v, (v.shape[0], 1)), 1
            d = 0 if d is not None or none != "loop" else d
        if d is None:
            if none == "tuple":
                d = tuple(range(nd))
            elif none == "flatten":
                v, d, nd = op("reshape", v, (v.shape[0], -1)), 0, 1
            else:
                return NotImplemented
        b[b.first] = v
        b[dim] = shift(d, nd, getattr(fn, "__name__", "op"))
        out = b.call()
        if scalar:
            out = _drop_unit(out, v.shape[0])
        return wrap(post(out) if post is not None and b.get(dim) is not None else out, level)

    return rule


def _drop_unit(out: Any, n: int) -> Any:
    """Outputs of a (1,)-shaped example back to shape () (one value per example)."""
    if isinstance(out, (list, tuple)):
        items = [_drop_unit(o, n) for o in out]
        return type(out)(*items) if hasattr(out, "_fields") else type(out)(items)
    if is_tensor(out) and out.numel() == n and out.ndim > 1:
        return op("reshape", out, (n,))
    return out


def _level_in(v: Any, level: int) -> bool:
    if isinstance(v, (list, tuple)):
        return any(_level_in(e, level) for e in v)
    return is_b(v, level)


def _first_batched_alone(fn: Any, args: tuple, kwargs: dict, level: int) -> Bound | None:
    """The call's arguments bound, when the first one alone is batched at ``level``."""
    b = Bound(fn, args, kwargs)
    others = [v for k, v in b.ba.arguments.items() if k != b.first]
    if not is_b(b[b.first], level) or any(_level_in(v, level) for v in others):
        return None
    return b


for _n in ("sum", "mean", "amax", "amin", "var", "std", "nansum", "nanmean"):
    RULES[_n] = along_dim(none="tuple")
for _n in ("argmax", "argmin", "prod", "any", "all"):
    RULES[_n] = along_dim(none="flatten")
for _n in "logsumexp cumsum cumprod cummax cummin logcumsumexp sort argsort topk kthvalue".split():
    RULES[_n] = along_dim()
for _n in ("softmax", "log_softmax", "softmin", "glu", "unbind", "split", "chunk"):
    RULES[_n] = along_dim()
RULES["normalize"] = along_dim()


def _max_min(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """``max(x)``: the amax over every dim; ``max(x, dim)``: a reduction along dim;
    ``max(x, other)``: elementwise maximum."""
    b = Bound(fn, args, kwargs)
    d = b.get("dim")
    if is_tensor(d):
        return elementwise(fn, level, args, kwargs)
    if d is None:
        x = b[b.first]
        if not is_b(x, level) or x.ndim == 0:
            return NotImplemented
        name = "amax" if fn.__name__ == "max" else "amin"
        return op(name, x, tuple(range(x.ndim)))
    return along_dim()(fn, level, args, kwargs)


RULES["max"] = RULES["min"] = _max_min


def _median(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    b = Bound(fn, args, kwargs)
    if b.get("dim") is None:
        x = b[b.first]
        if not is_b(x, level) or len(b.ba.arguments) > 1:
            return NotImplemented
        return BatchedTensor(fn(op("reshape", x.value, (x.value.shape[0], -1)), 1)[0], level)
    return along_dim()(fn, level, args, kwargs)


RULES["median"] = _median


def _norm(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    b = Bound(fn, args, kwargs)
    if b.get("dim") is None and isinstance(b.get("p"), str):
        return NotImplemented  # a matrix norm of the whole example
    return along_dim(none="flatten")(fn, level, args, kwargs)


RULES["norm"] = _norm


def _msort(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    (x,) = args
    if not is_b(x, level) or x.ndim == 0:
        return NotImplemented
    return BatchedTensor(op("sort", x.value, 1)[0], level)


RULES["msort"] = _msort


# ------------------------------------------------------------------ products
def _matmul_pair(a: Any, b: Any, level: int) -> Any:
    """a @ b with either operand batched (see the module)."""
    a_vec, b_vec = logical_ndim(a) == 1, logical_ndim(b) == 1
    if a_vec:
        a = op("unsqueeze", a, 0)
    if b_vec:
        b = op("unsqueeze", b, -1)
    nd = max(a.ndim, b.ndim)
    out = op("matmul", pad_to(a, level, nd), pad_to(b, level, nd))
    out = BatchedTensor(out, level)
    if a_vec:
        out = op("squeeze", out, -2)
    if b_vec:
        out = op("squeeze", out, -1)
    return out


def _matmul(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    b = Bound(fn, args, kwargs)
    x, y = (b.ba.arguments[k] for k in list(b.ba.arguments)[:2])
    if len(b.ba.arguments) != 2 or min(logical_ndim(x), logical_ndim(y)) == 0:
        return NotImplemented
    return _matmul_pair(x, y, level)


def _fixed_rank(ranks: tuple[int, int]) -> Rule:
    """mm (2, 2), bmm (3, 3), dot (1, 1): matmul once the ranks are checked."""

    def rule(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
        if kwargs or len(args) != 2 or tuple(logical_ndim(a) for a in args) != ranks:
            return NotImplemented
        return _matmul_pair(args[0], args[1], level)

    return rule


RULES["matmul"] = _matmul
RULES["mm"], RULES["bmm"] = _fixed_rank((2, 2)), _fixed_rank((3, 3))
RULES["dot"], RULES["mv"], RULES["inner"] = (
    _fixed_rank((1, 1)),
    _fixed_rank((2, 1)),
    _fixed_rank((1, 1)),
)


def _outer(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    a, b = Bound(fn, args, kwargs).ba.args[:2]
    if logical_ndim(a) != 1 or logical_ndim(b) != 1:
        return NotImplemented
    return op("mul", op("unsqueeze", a, -1), op("unsqueeze", b, 0))


RULES["outer"] = _outer


def _linear(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """x Wᵀ + b: the op itself when only x is batched, else matmul and add."""
    b = Bound(fn, args, kwargs)
    x, w, bias = b[b.first], b["weight"], b["bias"]
    if not is_b(w, level) and not is_b(bias, level):
        b[b.first] = x.value
        return BatchedTensor(b.call(), level)
    out = _matmul_pair(x, op("transpose", w, -1, -2), level)
    return out if bias is None else op("add", out, bias)


RULES["linear"] = _linear


def _addmm(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """β·input + α·(mat1 @ mat2); β = 0 ignores input (NaNs in it included)."""
    b = Bound(fn, args, kwargs)
    m1, m2 = b["mat1"], b["mat2"]
    prod = _matmul_pair(m1, m2, level) if is_b(m1, level) or is_b(m2, level) else op("mm", m1, m2)
    alpha, beta = b.get("alpha", 1), b.get("beta", 1)
    prod = prod if alpha == 1 else op("mul", prod, alpha)
    if beta == 0:
        return op("add", prod, op("mul", op("zeros_like", b[b.first]), 0))
    inp = b[b.first] if beta == 1 else op("mul", b[b.first], beta)
    return op("add", inp, prod)


RULES["addmm"] = _addmm


def _einsum(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """A letter the equation does not use names the batch, in front of every batched
    operand and of the output."""
    if kwargs or not isinstance(args[0], str):
        return NotImplemented
    eq, ops_ = args[0].replace(" ", ""), args[1:]
    if len(ops_) == 1 and isinstance(ops_[0], (list, tuple)):
        ops_ = tuple(ops_[0])
    lhs, arrow, out = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ops_):
        return NotImplemented
    if not arrow:
        letters = [c for c in lhs if c.isalpha()]
        out = ("..." if "..." in lhs else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1)
        )
    z = next(c for c in string.ascii_letters if c not in eq)
    new_terms = [z + t if is_b(o, level) else t for t, o in zip(terms, ops_)]
    phys = [o.value if is_b(o, level) else o for o in ops_]
    return BatchedTensor(fn(",".join(new_terms) + "->" + z + out, *phys), level)


RULES["einsum"] = _einsum


# ------------------------------------------------------------------ nn.functional
def _merge_batch(spatial: int, batched_only: tuple[str, ...] = ()) -> Rule:
    """For ops on (N, C, *spatial) inputs whose other tensors (weights) are unbatched:
    B and N merge into one dimension."""

    def rule(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
        b = _first_batched_alone(fn, args, kwargs, level)
        if b is None:
            return NotImplemented
        x = b[b.first]
        v, n = x.value, batch_size(level)
        full = x.ndim == spatial + 2
        if not full and x.ndim != spatial + 1:
            return NotImplemented
        if full:
            v = op("reshape", v, (n * x.shape[0], *x.shape[1:]))
        b[b.first] = v
        out = b.call()

        def unmerge(o: Any) -> Any:
            if isinstance(o, (list, tuple)):
                return type(o)(unmerge(e) for e in o)
            if full and is_tensor(o):
                return BatchedTensor(op("reshape", o, (n, x.shape[0], *o.shape[1:])), level)
            return BatchedTensor(o, level) if is_tensor(o) else o

        return unmerge(out)

    return rule


for _k in (1, 2, 3):
    for _n in ("conv_transpose", "max_pool", "avg_pool", "adaptive_avg_pool"):
        RULES[f"{_n}{_k}d"] = _merge_batch(_k)


def _conv(spatial: int) -> Rule:
    """convNd. Shared weights: B merges into N (``_merge_batch``). Per-example weights
    (B, O, C/g, *K): one grouped convolution, the examples as B·g groups, so input
    channels (b, c) meet only example b's filters: input (N, B·C, *S), weight
    (B·O, C/g, *K), groups B·g; the output (N, B·O, *S') splits back into (B, N, O, *S')."""
    merged = _merge_batch(spatial)

    def rule(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
        b = Bound(fn, args, kwargs)
        x, w, bias = b[b.first], b["weight"], b.get("bias")
        if not is_b(w, level) and not is_b(bias, level):
            return merged(fn, level, args, kwargs)
        full = x.ndim == spatial + 2
        if not full and x.ndim != spatial + 1 or w.ndim != spatial + 2:
            return NotImplemented
        n, g = batch_size(level), b.get("groups", 1)
        xb = batched(x, level)
        if not full:
            xb = op("unsqueeze", xb, 1)
        rows, c = xb.shape[1], xb.shape[2]
        xb = op("transpose", xb, 0, 1)  # (N, B, C, *S)
        b[b.first] = op("reshape", xb, (rows, n * c, *xb.shape[3:]))
        wb = batched(w, level)
        o = wb.shape[1]
        b["weight"] = op("reshape", wb, (n * o, *wb.shape[2:]))
        if bias is not None:
            b["bias"] = op("reshape", batched(bias, level), (n * o,))
        b["groups"] = n * g
        out = b.call()  # (N, B·O, *S')
        out = op("transpose", op("reshape", out, (rows, n, o, *out.shape[2:])), 0, 1)
        if not full:
            out = op("squeeze", out, 1)
        return BatchedTensor(out, level)

    return rule


for _k in (1, 2, 3):
    RULES[f"conv{_k}d"] = _conv(_k)


def _weights_unbatched(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """Ops on the trailing dims of their first argument with unbatched parameters
    (layer_norm, rms_norm, embedding's indices, pad's constant mode): the op itself."""
    b = Bound(fn, args, kwargs)
    x = b[b.first]
    others = [v for k, v in b.ba.arguments.items() if k != b.first]
    if not is_b(x, level) or any(_level_in(v, level) for v in others):
        return NotImplemented
    if b.has("mode") and b.get("mode", "constant") != "constant":
        return NotImplemented
    if b.has("num_classes") and b.get("num_classes") == -1:
        return NotImplemented  # the class count would come from the whole batch
    b[b.first] = x.value
    return wrap(b.call(), level)


for _n in ("pad", "one_hot", "pixel_shuffle"):
    RULES[_n] = _weights_unbatched


def _norm_layer(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """layer_norm / rms_norm: with batched (per-example) weight or bias, the
    normalization without them, then ``* weight + bias`` (elementwise, aligned on the
    normalized trailing dims)."""
    b = Bound(fn, args, kwargs)
    w, bias = b.get("weight"), b.get("bias")
    if not is_b(w, level) and not is_b(bias, level):
        return _weights_unbatched(fn, level, args, kwargs)
    b["weight"] = None
    if b.has("bias"):
        b["bias"] = None
    out = b.call()  # dispatches again: only the input is batched now
    out = out if w is None else op("mul", out, w)
    return out if bias is None else op("add", out, bias)


def _embedding(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """Per-example tables (B, V, D): one table of B·V rows, example b's indices offset
    by b·V."""
    b = Bound(fn, args, kwargs)
    w = b["weight"]
    if not is_b(w, level):
        return _weights_unbatched(fn, level, args, kwargs)
    if any(b.get(k) is not None for k in ("padding_idx", "max_norm")) or w.ndim != 2:
        return NotImplemented  # the padding row's zero gradient is per table
    n, (rows, dim) = batch_size(level), w.shape
    idx = batched(b[b.first], level)
    offsets = op("reshape", op("mul", op("arange", n), rows), (n,) + (1,) * (idx.ndim - 1))
    b[b.first] = op("add", idx, offsets)
    b["weight"] = op("reshape", w.value, (n * rows, dim))
    return BatchedTensor(b.call(), level)


RULES["layer_norm"] = RULES["rms_norm"] = _norm_layer
RULES["embedding"] = _embedding
RULES["pixel_unshuffle"] = _weights_unbatched


def _loss(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """The unreduced loss elementwise, then its mean / sum over each example."""
    b = Bound(fn, args, kwargs)
    if b.get("size_average") is not None or b.get("reduce") is not None:
        return NotImplemented
    red = b.get("reduction", "mean")
    b["reduction"] = "none"
    nd = max(logical_ndim(t) for t in _tensors(b.ba.args, b.ba.kwargs))
    for k, v in list(b.ba.arguments.items()):
        if k in (b.first, "target"):  # the unreduced loss has their (common) shape
            b[k] = batched(v, level, nd)
        elif is_tensor(v):
            b[k] = pad_to(v, level, nd)
    out = BatchedTensor(b.call(), level)
    if red == "none" or out.ndim == 0:
        return out
    dims = tuple(range(out.ndim))
    if red == "sum":
        return op("sum", out, dims)
    if red == "mean":
        return op("mean", out, dims)
    if red == "batchmean":
        return op("div", op("sum", out, dims), out.shape[0])
    return NotImplemented


for _n in "mse_loss l1_loss smooth_l1_loss huber_loss kl_div binary_cross_entropy".split():
    RULES[_n] = _loss
RULES["binary_cross_entropy_with_logits"] = _loss


def _class_loss(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """cross_entropy / nll_loss on (C,) or (N, C) examples: the B·N rows of the batch
    are one (B·N, C) input, unreduced; then per example a sum, or a mean over the rows
    whose target is not ``ignore_index`` (all rows for probability targets)."""
    b = Bound(fn, args, kwargs)
    x, t = b[b.first], b["target"]
    if b.get("size_average") is not None or b.get("reduce") is not None:
        return NotImplemented
    red = b.get("reduction", "mean")
    if x.ndim not in (1, 2) or is_b(b.get("weight"), level) or red not in ("none", "sum", "mean"):
        return NotImplemented
    if red == "mean" and b.get("weight") is not None:
        return NotImplemented  # a weighted mean: the loop
    n, probs = batch_size(level), t.dtype.kind == "f"
    xb, tb = batched(x, level), batched(t, level)
    if x.ndim == 2:
        rows = n * x.shape[0]
        xb = op("reshape", xb, (rows, x.shape[1]))
        tb = op("reshape", tb, (rows, x.shape[1]) if probs else (rows,))
    b[b.first], b["target"], b["reduction"] = xb, tb, "none"
    out = b.call()
    if x.ndim == 2:
        out = op("reshape", out, (n, x.shape[0]))
    out = BatchedTensor(out, level)
    if red == "none":
        return out
    total = op("sum", out)
    if red == "sum":
        return total
    if probs:
        return op("div", total, x.shape[0] if x.ndim == 2 else 1)
    kept = op("sum", op("ne", t, b.get("ignore_index", -100)))
    return op("div", total, kept)


RULES["cross_entropy"] = RULES["nll_loss"] = _class_loss


def _cosine_similarity(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    b = Bound(fn, args, kwargs)
    x1, x2 = b["x1"], b["x2"]
    nd = max(logical_ndim(x1), logical_ndim(x2))
    if nd == 0:
        return NotImplemented
    b["dim"] = shift(b.get("dim", 1), nd, "cosine_similarity")
    b["x1"], b["x2"] = batched(x1, level, nd), batched(x2, level, nd)
    return BatchedTensor(b.call(), level)


RULES["cosine_similarity"] = _cosine_similarity


def _sdpa(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """Attention computes over the last two dims; the leading ones are batch dims, so
    query, key, value (and a mask) are batched and aligned."""
    b = Bound(fn, args, kwargs)
    names = [n for n in ("query", "key", "value", "attn_mask") if is_tensor(b.get(n))]
    nd = max(b[n].ndim for n in names)
    for n in names:
        b[n] = batched(b[n], level, nd)
    return BatchedTensor(b.call(), level)


RULES["scaled_dot_product_attention"] = _sdpa


def _trailing(nd_min: int) -> Rule:
    """linalg ops act on the trailing (matrix) dims and take any leading batch dims:
    the op itself, on operands aligned and all batched."""

    def rule(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
        b = Bound(fn, args, kwargs)
        names = [k for k, v in b.ba.arguments.items() if is_tensor(v)]
        if any(b[k].ndim < nd_min for k in names):
            return NotImplemented
        nd = max(b[k].ndim for k in names)
        for k in names:
            b[k] = batched(b[k], level, nd)
        dim = b.ba.arguments.get("dim")
        if dim is not None and any(d >= 0 for d in ((dim,) if isinstance(dim, int) else dim)):
            return NotImplemented  # (negative dims count from the end: the batch is unseen)
        return wrap(b.call(), level)

    return rule


for _n in (
    "inv det slogdet cholesky eigh eigvalsh matrix_exp matrix_norm svd svdvals qr pinv cond"
).split():
    RULES["linalg." + _n] = _trailing(2)

from minigrad.batching import shape_rules  # noqa: E402,F401  (registers the shape rules)

__all__ = ["RULES", "along_dim", "elementwise", "norm_dim"]
