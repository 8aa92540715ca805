"""``vmap``: a function of one example mapped over a batch dimension, by batching rules.

``vmap(f, in_dims, out_dims)(*args)`` means: call ``f`` on each slice
``arg.select(in_dim, b)`` of the mapped arguments (those with ``in_dim`` None pass
whole) and stack the results along ``out_dims``. It is computed without that loop: each
mapped argument becomes a :class:`~minigrad.batching.BatchedTensor` (its batch dimension
moved to the front, tagged with this vmap's level), ``f`` runs once, and every op it
calls on a batched value goes to the op's *batching rule*, which calls the ordinary op
on the whole batch with its dimension arguments adjusted (``x.sum(0)`` of an example is
``sum(dim=1)`` of the batch; ``x @ w`` is one batched ``matmul``; see
``minigrad/batching/rules.py``). An op without a rule runs per example and stacks (the
loop is the definition, so the result is the same, only slower); ``python -m pytest
tests/test_vmap_registry.py`` checks every op of the registry against
``torch.func.vmap`` and names the ops that still loop.

Autograd records the ordinary ops, so gradients and tangents flow through ``vmap``, and
the transforms of ``minigrad.func`` called under vmap treat each example on its own:
``vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)`` gives per-sample gradients
(the unbatched parameters are expanded per example, so each has its own gradient).
``randomness``: "error" (random ops inside vmap raise, as PyTorch's default),
"different" (independent draws per example), "same" (one draw shared by all).
``chunk_size`` maps that many examples at a time (less memory, the same result).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minigrad.tensor import Tensor

__all__ = ["vmap"]


def _dims_per_arg(in_dims: Any, n: int) -> tuple:
    if isinstance(in_dims, (int, type(None))):
        return (in_dims,) * n
    if not isinstance(in_dims, (tuple, list)) or len(in_dims) != n:
        raise ValueError(
            f"vmap: in_dims={in_dims!r} must be an int, None, or a tuple with one entry per "
            f"positional argument ({n})"
        )
    return tuple(in_dims)


def _prefix_dims(d: Any, tree: Any, what: str) -> list:
    """One dim per leaf of ``tree``: ``d`` is an int / None (for every leaf below) or a
    nest matching the tree's structure down to where it holds ints (a pytree prefix)."""
    from minigrad.func import tree_flatten

    if isinstance(d, (int, type(None))):
        return [d] * len(tree_flatten(tree)[0])
    if isinstance(d, (tuple, list)) and isinstance(tree, (tuple, list)) and len(d) == len(tree):
        return [x for dd, t in zip(d, tree) for x in _prefix_dims(dd, t, what)]
    if isinstance(d, dict) and isinstance(tree, dict) and set(d) == set(tree):
        return [x for k in tree for x in _prefix_dims(d[k], tree[k], what)]
    raise ValueError(f"vmap: {what}={d!r} does not match the structure of {tree!r}")


def vmap(
    func: Callable,
    in_dims: int | None | tuple = 0,
    out_dims: int | tuple = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable:
    """``func`` mapped over dimension ``in_dims`` of its arguments; results stacked at
    ``out_dims``. ``in_dims`` per argument may be an int, None (not mapped), or a nest
    matching the argument (tuples, lists, dicts of Tensors); ``out_dims`` likewise for
    the results."""
    from minigrad.func import tree_flatten

    if randomness not in ("error", "different", "same"):
        raise RuntimeError(
            f"vmap: randomness must be 'error', 'different' or 'same', got {randomness!r}"
        )
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size should be None or a positive int, got {chunk_size}")

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        dims = _dims_per_arg(in_dims, len(args))
        flat = []
        for a, d in zip(args, dims):
            leaves, spec = tree_flatten(a)
            flat.append((leaves, _prefix_dims(d, a, "in_dims"), spec))
        sizes = set()
        for leaves, ds, _ in flat:
            for x, d in zip(leaves, ds):
                if d is not None:
                    if not hasattr(x, "shape") or isinstance(x, (int, float)):
                        raise ValueError(f"vmap: in_dim {d} given for a non-Tensor argument {x!r}")
                    if not -x.ndim <= d < x.ndim:
                        raise ValueError(
                            f"vmap: in_dim {d} is out of range for a Tensor of shape {x.shape}"
                        )
                    sizes.add(x.shape[d])
        if not sizes:
            raise ValueError("vmap: at least one argument must be mapped over (in_dims not None)")
        if len(sizes) > 1:
            raise ValueError(
                f"vmap: the mapped dimensions have different sizes {sorted(sizes)}; they must agree"
            )
        (n,) = sizes
        step = n if chunk_size is None else chunk_size
        parts = [
            _run(func, flat, kwargs, lo, min(lo + step, n), n, out_dims, randomness)
            for lo in range(0, n, step)
        ]
        if len(parts) == 1:
            return parts[0][0]
        from minigrad import ops
        from minigrad.func import tree_unflatten

        spec, ods = parts[0][1], parts[0][2]
        cols = zip(*(tree_flatten(p[0])[0] for p in parts))
        return tree_unflatten([ops.cat(list(c), dim=d) for c, d in zip(cols, ods)], spec)

    return wrapper


def _run(
    func: Callable,
    flat: list,
    kwargs: dict,
    lo: int,
    hi: int,
    n: int,
    out_dims: Any,
    randomness: str,
) -> tuple[Any, Any, list]:
    """``func`` on examples lo..hi: arguments batched at a new level, results unbatched."""
    from minigrad.batching import LEVELS, BatchedTensor, patched
    from minigrad.batching.common import batched, op
    from minigrad.func import tree_flatten, tree_unflatten

    with patched():
        level = max((lv for lv, _, _ in LEVELS), default=0) + 1
        call_args = []
        for leaves, ds, spec in flat:
            mapped = []
            for x, d in zip(leaves, ds):
                if d is None:
                    mapped.append(x)
                    continue
                d %= x.ndim
                perm = (d, *(i for i in range(x.ndim) if i != d))
                v = op("permute", x, perm) if d else x
                if (lo, hi) != (0, n):
                    v = op("narrow", v, 0, lo, hi - lo)
                mapped.append(BatchedTensor(v, level))
            call_args.append(tree_unflatten(mapped, spec))
        LEVELS.append((level, hi - lo, randomness))
        try:
            out = func(*call_args, **kwargs)
            leaves, spec = tree_flatten(out)
            ods = _prefix_dims(out_dims, out, "out_dims")
            results = []
            for o, d in zip(leaves, ods):
                if not isinstance(o, (Tensor, BatchedTensor)):
                    raise ValueError(
                        f"vmap: func must return only Tensors, got {type(o).__name__} "
                        f"({o!r}) among its results"
                    )
                if isinstance(o, BatchedTensor) and o.level > level:
                    raise RuntimeError("vmap: a batched Tensor of an inner vmap escaped it")
                v = batched(o, level)
                if d is None:
                    raise ValueError("vmap: out_dims None is not supported for batched results")
                nd = v.ndim
                d %= nd
                if d:
                    perm = (*range(1, d + 1), 0, *range(d + 1, nd))
                    v = op("permute", v, perm)
                results.append(v)
        finally:
            LEVELS.pop()
    return tree_unflatten(results, spec), spec, ods
