"""``vmap``: a function of one example mapped over a batch dimension.

``vmap(f, in_dims, out_dims)(*args)`` calls ``f`` once per index b of the batch
dimension, on the slices ``arg.select(in_dim, b)`` (arguments with ``in_dim`` None are
passed whole), and stacks the results along ``out_dims``. The slices and the stack are
recorded ops (indexing and ``stack``), so gradients and tangents flow through ``vmap``,
and ``vmap`` composes with itself and with every transform of ``minigrad.func``:
``vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)`` gives per-sample gradients.

This is the loop definition of vmap: exact for every op, at the cost of one call per
example. It has no batching rules (PyTorch's vmap carries the batch dimension through
each op instead, which is faster, not different).
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
    matching the argument (tuples, lists, dicts of Tensors)."""
    from minigrad import ops
    from minigrad.func import tree_flatten, tree_unflatten

    def leaves_dims(arg: Any, d: Any) -> tuple[list, list, Any]:
        leaves, spec = tree_flatten(arg)
        if isinstance(d, (int, type(None))):
            return leaves, [d] * len(leaves), spec
        ds, _ = tree_flatten(d)
        if len(ds) != len(leaves):
            raise ValueError(f"vmap: in_dims {d!r} does not match the argument's structure")
        return leaves, ds, spec

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        dims = _dims_per_arg(in_dims, len(args))
        flat = [leaves_dims(a, d) for a, d in zip(args, dims)]
        sizes = set()
        for leaves, ds, _ in flat:
            for x, d in zip(leaves, ds):
                if d is not None:
                    if not isinstance(x, Tensor):
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
        results = []
        for b in range(n):
            call_args = []
            for leaves, ds, spec in flat:
                sliced = [
                    x if d is None else x[(slice(None),) * (d % x.ndim) + (b,)]
                    for x, d in zip(leaves, ds)
                ]
                call_args.append(tree_unflatten(sliced, spec))
            results.append(func(*call_args, **kwargs))
        outs0, out_spec = tree_flatten(results[0])
        per = [tree_flatten(r)[0] for r in results]
        od = out_dims if isinstance(out_dims, (tuple, list)) else (out_dims,) * len(outs0)
        if len(od) != len(outs0):
            raise ValueError(f"vmap: out_dims={out_dims!r} for {len(outs0)} outputs")
        stacked = []
        for k in range(len(outs0)):
            col = [p[k] for p in per]
            if not isinstance(col[0], Tensor):
                raise ValueError(f"vmap: func must return Tensors, got {type(col[0]).__name__}")
            stacked.append(ops.stack(col, dim=od[k]))
        return tree_unflatten(stacked, out_spec)

    return wrapper
