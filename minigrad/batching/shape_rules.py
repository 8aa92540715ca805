"""Batching rules for shapes, joins and indexing.

The batch stays at physical dimension 0, so:

- a new shape for the example is the physical shape ``(B, *shape)`` (reshape, view,
  expand: an expand that adds leading dims first puts 1s after the batch);
- a permutation ``p`` of the example's dims is ``(0, p₀ + 1, p₁ + 1, ...)``; every
  other dim argument (transpose, flatten, flip, narrow, diagonal...) is shifted by one;
- ``cat`` / ``stack`` need every operand batched (an unbatched one is expanded over
  the batch), then join along the shifted dim;
- an index ``x[i]`` of the example is ``x[:, i]`` physically: the leading full slice
  keeps the batch in front, except where NumPy's rule for separated advanced indices
  would move the indexed dims in front of it (the loop runs then);
- ``gather``-like ops index along a dim with an index of the same rank: both the tensor
  and the index are batched (expanded if needed) and the dim shifted.
"""

from __future__ import annotations

from typing import Any

from minigrad.batching.batched import BatchedTensor
from minigrad.batching.common import (
    Bound,
    batched,
    is_b,
    is_tensor,
    logical_ndim,
    op,
    shift,
    wrap,
)
from minigrad.batching.dispatch import RULES


def _sizes(sizes: tuple) -> tuple:
    """``f(x, 2, 3)`` or ``f(x, (2, 3))``: the sizes as one tuple."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        return tuple(sizes[0])
    return tuple(sizes)


def _only_first(fn: Any, level: int, b: Bound) -> bool:
    x = b[b.first]
    others = [v for k, v in b.ba.arguments.items() if k != b.first]
    return is_b(x, level) and not any(_in(v, level) for v in others)


def _in(v: Any, level: int) -> bool:
    if isinstance(v, (list, tuple)):
        return any(_in(e, level) for e in v)
    return is_b(v, level)


def _reshape(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    x, *shape = args
    if kwargs or not is_b(x, level):
        return NotImplemented
    shape = _sizes(tuple(shape))
    return BatchedTensor(fn(x.value, (x.value.shape[0], *shape)), level)


RULES["reshape"] = RULES["view"] = _reshape


def _permute(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    x, *dims = args
    if kwargs or not is_b(x, level):
        return NotImplemented
    dims = _sizes(tuple(dims))
    return BatchedTensor(fn(x.value, (0, *shift(tuple(dims), x.ndim, "permute"))), level)


RULES["permute"] = _permute


def _shift_dims(*names: str, nd_plus: int = 0) -> Any:
    """The rule for an op of one batched tensor whose dim arguments ``names`` shift by
    one (``nd_plus=1`` for a dim counted in the result, which has one dim more)."""

    def rule(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
        b = Bound(fn, args, kwargs)
        if not _only_first(fn, level, b):
            return NotImplemented
        x = b[b.first]
        nd = x.ndim + nd_plus
        if nd == 0:
            return NotImplemented
        for n in names:
            d = b.get(n)
            if d is None:
                return NotImplemented
            b[n] = shift(d, nd, fn.__name__)
        b[b.first] = x.value
        return wrap(b.call(), level)

    return rule


RULES["transpose"] = _shift_dims("dim0", "dim1")
RULES["flatten"] = _shift_dims("start_dim", "end_dim")
RULES["unsqueeze"] = _shift_dims("dim", nd_plus=1)
RULES["flip"] = _shift_dims("dims")
RULES["narrow"] = _shift_dims("dim")
RULES["select"] = _shift_dims("dim")
RULES["diagonal"] = _shift_dims("dim1", "dim2")
RULES["diag_embed"] = _shift_dims("dim1", "dim2", nd_plus=1)
RULES["rot90"] = _shift_dims("dims")
RULES["roll"] = _shift_dims("dims")
RULES["index_select"] = _shift_dims("dim")


def _squeeze(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    b = Bound(fn, args, kwargs)
    if not _only_first(fn, level, b):
        return NotImplemented
    x = b[b.first]
    if x.ndim == 0:
        return NotImplemented
    d = b.get("dim")
    if d is None:
        d = tuple(i for i, s in enumerate(x.shape) if s == 1)
        if not d:
            return x
    return BatchedTensor(fn(x.value, shift(d, x.ndim, "squeeze")), level)


RULES["squeeze"] = _squeeze


def _t(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    (x,) = args
    if not is_b(x, level) or x.ndim > 2:
        return NotImplemented
    return x if x.ndim < 2 else op("transpose", x, 0, 1)


RULES["t"] = _t


def _tri(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """tril / triu / trace-free ops on the last two dims: the op itself."""
    b = Bound(fn, args, kwargs)
    if not _only_first(fn, level, b) or b[b.first].ndim < 2:
        return NotImplemented
    b[b.first] = b[b.first].value
    return BatchedTensor(b.call(), level)


RULES["tril"] = RULES["triu"] = _tri


def _trace(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    (x,) = args
    if not is_b(x, level) or x.ndim != 2:
        return NotImplemented
    return op("sum", op("diagonal", x, 0, 0, 1), -1)


RULES["trace"] = _trace


def _expand(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    x, *sizes = args
    if kwargs or not is_b(x, level):
        return NotImplemented
    sizes = _sizes(tuple(sizes))
    v = batched(x, level, len(sizes))
    return BatchedTensor(fn(v, (v.shape[0], *sizes)), level)


RULES["expand"] = RULES["broadcast_to"] = _expand


def _expand_as(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    x, other = args
    if is_b(other, level) and not is_b(x, level):
        return NotImplemented
    return op("expand", x, tuple(other.shape))


RULES["expand_as"] = _expand_as


def _broadcast_tensors(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    nd = max(logical_ndim(a) for a in args)
    phys = [batched(a, level, nd) if is_tensor(a) else a for a in args]
    return wrap(fn(*phys), level)


RULES["broadcast_tensors"] = _broadcast_tensors


def _repeat(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    x, *reps = args
    if kwargs or not is_b(x, level):
        return NotImplemented
    reps = _sizes(tuple(reps))
    if len(reps) < x.ndim:
        return NotImplemented  # PyTorch refuses; the loop gives its error
    v = batched(x, level, len(reps))
    return BatchedTensor(fn(v, (1, *reps)), level)


RULES["repeat"] = _repeat


def _join(nd_plus: int) -> Any:
    """cat (nd_plus 0) and stack (1): every operand batched, the dim shifted."""

    def rule(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
        b = Bound(fn, args, kwargs)
        ts = list(b["tensors"])
        if not ts:
            return NotImplemented
        ref = next(t for t in ts if is_b(t, level))
        nd = ref.ndim + nd_plus
        if nd_plus == 0 and any(t.ndim != ref.ndim for t in ts):
            return NotImplemented  # cat's legacy 1-D empty operands: the loop decides
        b["tensors"] = [batched(t, level) for t in ts]
        b["dim"] = shift(b.get("dim", 0), nd, fn.__name__)
        return BatchedTensor(b.call(), level)

    return rule


RULES["cat"], RULES["stack"] = _join(0), _join(1)


def _advanced(i: Any) -> bool:
    return is_tensor(i) or isinstance(i, (list, bool))


def _getitem(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    x, index = args
    idx = index if isinstance(index, tuple) else (index,)
    if kwargs or not is_b(x, level) or any(is_b(i, level) for i in idx):
        return NotImplemented
    adv = [k for k, i in enumerate(idx) if _advanced(i) or isinstance(i, int)]
    if any(_advanced(i) for i in idx) and adv and adv[-1] - adv[0] + 1 != len(adv):
        return NotImplemented  # separated advanced indices put their dims first
    if any(isinstance(i, bool) for i in idx):
        return NotImplemented
    return BatchedTensor(fn(x.value, (slice(None), *idx)), level)


RULES["getitem"] = _getitem


def _indexed_along(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """gather / scatter / scatter_add / take_along_dim: tensor, index and source are
    all batched (expanded over the batch if not), the dim shifted."""
    b = Bound(fn, args, kwargs)
    x = b[b.first]
    if b.get("dim") is None or x.ndim == 0:
        return NotImplemented
    for n in ("index", "indices", "src"):
        v = b.get(n)
        if is_tensor(v) and v.ndim != x.ndim:
            return NotImplemented
    nd = x.ndim
    for n in (b.first, "index", "indices", "src"):
        if is_tensor(b.get(n)):
            b[n] = batched(b[n], level)
    b["dim"] = shift(b["dim"], nd, fn.__name__)
    return BatchedTensor(b.call(), level)


for _n in ("gather", "scatter", "scatter_add", "take_along_dim"):
    RULES[_n] = _indexed_along


def _index_along(fn: Any, level: int, args: tuple, kwargs: dict) -> Any:
    """index_add / index_copy / index_fill: a 1-D index (unbatched) of positions along
    dim; the tensor and the source batched, the dim shifted."""
    b = Bound(fn, args, kwargs)
    x = b[b.first]
    if is_b(b["index"], level) or x.ndim == 0:
        return NotImplemented
    src = b.get("source")
    if is_tensor(src) and src.ndim != x.ndim:
        return NotImplemented
    b["dim"] = shift(b["dim"], x.ndim, fn.__name__)
    b[b.first] = batched(x, level)
    if is_tensor(src):
        b["source"] = batched(src, level)
    v = b.get("value")
    if is_b(v, level):
        return NotImplemented
    return BatchedTensor(b.call(), level)


for _n in ("index_add", "index_copy", "index_fill"):
    RULES[_n] = _index_along

__all__: list[str] = []  # rules register themselves in RULES
