"""``grad``, ``vjp`` and ``jvp`` called inside vmap: each example differentiated alone.

Under vmap a differentiated argument may be batched, or unbatched (``in_dims`` None:
the same parameters for every example). Differentiating the batched computation as it
stands would sum the examples' gradients into the unbatched parameters. So each
differentiated argument is first *materialized*: made a physical tensor holding every
active level's batch dimension in front (an unbatched one is copied per example), and
the transform runs on the function of those physical tensors (its arguments wrapped
back into BatchedTensors, its results materialized). Batching rules never mix
examples, so example b of the output depends only on example b of each input: the
gradient of the summed outputs with respect to the materialized input holds, at
position b, example b's own gradient; a tangent's example b flows to output b alone.
The results are wrapped back, batched at every active level.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minigrad.batching.batched import BatchedTensor
from minigrad.batching.common import batched, op
from minigrad.batching.dispatch import LEVELS
from minigrad.core.autograd import Tensor

__all__ = ["lifted_grad_and_value", "lifted_jvp", "lifted_vjp"]


def _levels() -> list[int]:
    return [lv for lv, _, _ in LEVELS]


def materialize(x: Any, levels: list[int]) -> Any:
    """x as a plain Tensor of shape (B_outer, ..., B_inner, *example)."""
    if not isinstance(x, (Tensor, BatchedTensor)):
        return x
    for lv in reversed(levels):
        x = batched(x, lv)
    if isinstance(x, BatchedTensor):
        raise RuntimeError("vmap: a batched Tensor of an inactive vmap level reached a transform")
    return x


def rewrap(p: Any, levels: list[int]) -> Any:
    if not isinstance(p, Tensor):
        return p
    for lv in levels:
        p = BatchedTensor(p, lv)
    return p


def _as_fresh(p: Any) -> Any:
    """A materialized input that owns its memory (an expanded view would alias)."""
    if isinstance(p, Tensor) and not p.requires_grad and not p.data.flags.c_contiguous:
        return Tensor(p.data.copy())
    return p


def _tree(fn: Callable[[Any], Any], tree: Any) -> Any:
    from minigrad.func import _tree_map

    return _tree_map(fn, tree)


def _on_physical(func: Callable, levels: Any, has_aux: bool) -> tuple[Callable, list]:
    """``func`` as a function of physical tensors (rewrapped at ``levels`` for the call,
    materialized after), and the list that receives its aux output."""
    aux_box: list = []

    def of_physical(*ins: Any) -> Any:
        out = func(*[_tree(lambda p: rewrap(p, levels), t) for t in ins])
        if has_aux:
            out, aux = out
            aux_box.append(aux)
        return _tree(lambda o: materialize(o, levels), out)

    return of_physical, aux_box


def lifted_vjp(func: Callable, primals: tuple, has_aux: bool) -> tuple:
    from minigrad.func import _vjp

    levels = _levels()
    phys = [_tree(lambda x: _as_fresh(materialize(x, levels)), p) for p in primals]
    of_physical, aux_box = _on_physical(func, levels, has_aux)

    value, vjp_phys = _vjp(of_physical, *phys)

    def vjp_fn(cotangents: Any) -> tuple:
        cot = _tree(lambda u: materialize(u, levels), cotangents)
        return _tree(lambda g: rewrap(g, levels), vjp_phys(cot))

    value = _tree(lambda v: rewrap(v, levels), value)
    return (value, vjp_fn, aux_box[0]) if has_aux else (value, vjp_fn)


def lifted_grad_and_value(
    func: Callable, argnums: Any, has_aux: bool, args: tuple, kwargs: dict
) -> Any:
    from minigrad.func import _argnums

    nums = _argnums(argnums, len(args), "grad")

    def of_diff(*xs: Any) -> Any:
        full = list(args)
        for a, x in zip(nums, xs):
            full[a] = x
        out = func(*full, **kwargs)
        if has_aux and not (isinstance(out, tuple) and len(out) == 2):
            raise RuntimeError(
                "grad_and_value(f)(*args): output of function f should be a tuple: "
                "(output, aux) if has_aux is True"
            )
        value = out[0] if has_aux else out
        if not isinstance(value, (Tensor, BatchedTensor)) or value.numel() != 1:
            shape = getattr(value, "shape", type(value).__name__)
            raise RuntimeError(
                f"grad(f)(*args): expected f(*args) to return a scalar Tensor, got {shape}"
            )
        return out

    res = lifted_vjp(of_diff, tuple(args[a] for a in nums), has_aux)
    value, vjp_fn = res[0], res[1]
    grads = vjp_fn(op("ones_like", value))
    g = grads[0] if isinstance(argnums, int) else tuple(grads)
    return (g, (value, res[2])) if has_aux else (g, value)


def lifted_jvp(func: Callable, primals: tuple, tangents: tuple, has_aux: bool) -> tuple:
    from minigrad.func import _jvp

    levels = _levels()
    ps = tuple(_tree(lambda x: _as_fresh(materialize(x, levels)), p) for p in primals)
    ts = tuple(_tree(lambda x: _as_fresh(materialize(x, levels)), t) for t in tangents)
    of_physical, aux_box = _on_physical(func, levels, has_aux)

    prim, tang = _jvp(of_physical, ps, ts)
    prim = _tree(lambda v: rewrap(v, levels), prim)
    tang = _tree(lambda v: rewrap(v, levels), tang)
    return (prim, tang, aux_box[0]) if has_aux else (prim, tang)
