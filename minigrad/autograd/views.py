"""Views and in-place writes: one memory, histories kept in step.

A *view* (``y[0:2]``, ``y.reshape(...)``, ``y.T``, ``y.expand(...)``) shares its base's
memory, so an in-place write to either one changes the values of both. The gradient
must follow the values, as PyTorch's does. Two cases, two rules:

1. **The base is written, then a view made before the write is used.** The view's
   values already follow the write (same memory); its history must too. The view is
   *rebased*: taken again from the base's current history, as if it had been made
   after the write (PyTorch regenerates the view's ``grad_fn`` the same way)::

       y = x * 2;  v = y[0:2];  y.mul_(3)        # v holds 6x[0:2] now
       v.sum().backward()                        # x.grad = [6, 6, 0], not [2, 2, 0]

2. **A view is written.** The base's values change in the view's region, so the base
   gets a new history, ``CopySlices``: the new base is the old base with the region
   replaced by the written value w. With R the region (the base elements the view
   covers) and ``view(·)`` the view's index map,

       base_new[i] = w[view⁻¹(i)]  (i ∈ R),   base_old[i]  (i ∉ R)
       ∂L/∂base_old = g · 1[i ∉ R]             ∂L/∂w = view(g)

   and the view itself is rebased onto ``base_new`` (rule 1). Other views of the same
   base become stale by the write and are rebased when next used.

What this module needs from each view node is what made it: its base Tensor and the
view op's parameters (``note_view`` keeps them, only for ops whose result really shares
the input's memory), so that the view can be replayed on a new history. The in-place
clock (``version.py``) says when a view is stale: its memory was written after it was
made.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from minigrad.autograd import version
from minigrad.core import primitives as P
from minigrad.core.autograd import Function, Tensor
from minigrad.core.grad_mode import enable_grad


def note_view(node: Function, base: Tensor, out: np.ndarray, params: dict) -> None:
    """Remember that ``node``'s output shares the memory of its input ``base`` (a real
    view, not a copy that a view op happened to make), how it was made, and when."""
    if version._root(out) is version._root(base.data):
        node._view_of, node._view_epoch = base.data, version.epoch
        node._view_base, node._view_params = base, params


# Views with no history (their base did not require grad), made while grad mode was on:
# a later write that brings a gradient (``v.copy_(w)``, w requiring grad) must reach
# the base too. id(view) -> (weakref to the view, base, view op, its parameters).
UNRECORDED: dict[int, tuple] = {}


def note_unrecorded_view(out: Tensor, base: Tensor, cls: type, params: dict) -> None:
    if version._root(out.data) is version._root(base.data):
        key = id(out)
        ref = weakref.ref(out, lambda _, k=key: UNRECORDED.pop(k, None))
        UNRECORDED[key] = (ref, base, cls, params)


def _link(t: Tensor) -> tuple | None:
    """(base, view op, parameters, several-views mark) when ``t`` is a view, else None."""
    node = t.grad_fn
    if node is not None:
        # (a node can be shared by a tensor with memory of its own: ``z.copy_(v)``)
        if node._view_of is None or version._root(t.data) is not version._root(node._view_of):
            return None
        return node._view_base, type(node), node._view_params, node._several_views
    entry = UNRECORDED.get(id(t)) if UNRECORDED else None
    if entry is None or entry[0]() is not t:
        return None
    return entry[1], entry[2], entry[3], None


def is_stale(t: Tensor) -> bool:
    """``t`` is a view whose history is behind its values: its memory was written after
    the view was made (a tensor that only shares the view's node, as the snapshot an
    in-place op saves, is not), or it has none while its base now has one."""
    node = t.grad_fn
    if node is None:
        link = _link(t)
        return link is not None and (link[0]._requires_grad or is_stale(link[0]))
    return (
        node._view_of is not None
        and version.written_since(node._view_of, node._view_epoch)
        and version._root(t.data) is version._root(node._view_of)
    )


def rebase_stale_views(inputs: tuple) -> bool:
    """Rebase every input that is a view made stale by a write (rule 1); True if any."""
    found = False
    for t in inputs:
        if isinstance(t, Tensor) and is_stale(t):
            rebase(t)
            found = True
    return found


def rebase(t: Tensor) -> None:
    """Give the view ``t`` the history of its base's current value: the view op run
    again on the base (itself rebased first when it is a stale view)."""
    base, cls, params, several = _link(t)
    if is_stale(base):
        rebase(base)
    with enable_grad():  # (a backward under no_grad still needs the history)
        fresh = cls.apply(base, **params)
    _take_history(t, fresh, base, params, several)


def _take_history(t: Tensor, fresh: Tensor, base: Tensor, params: dict, several: Any) -> None:
    """``t`` (a view of ``base``) takes ``fresh``'s history; it stays marked as the
    view it is (``fresh`` may be a copy when the replay could not view the memory)."""
    retained = t.grad_fn is not None and t.grad_fn._retained is not None
    if retained:
        t.grad_fn._retained = None
    t.grad_fn, t._requires_grad = fresh.grad_fn, fresh._requires_grad
    node = t.grad_fn
    if node is not None:
        UNRECORDED.pop(id(t), None)
        node._view_of, node._view_epoch = t.data, version.epoch
        node._view_base, node._view_params = base, params
        if several is not None:
            node._several_views = several
        if retained:  # .grad follows the new history, as PyTorch's retain_grad
            node._retained = weakref.ref(t)


def is_view(t: Tensor) -> bool:
    return _link(t) is not None


def _chain(t: Tensor) -> tuple[Tensor, list[tuple]]:
    """The tensor whose memory ``t`` views through view ops (the root base), and the
    links (base, view op, parameters, mark) from it to ``t``, root first."""
    links = []
    while (link := _link(t)) is not None:
        links.append(link)
        t = link[0]
    return t, links[::-1]


def _replay(links: list[tuple], arr: np.ndarray) -> np.ndarray:
    """The view ops of ``links`` run on a plain array (nothing recorded)."""
    for _, cls, params, _ in links:
        arr = cls.forward(cls.__new__(cls), arr, **params)
    return arr


def refuse_write_into_an_outdated_view(op: str, t: Tensor) -> None:
    """PyTorch refuses a write into a view made while its base required no grad, once
    the base has gained a history: the write would have to become part of it."""
    if t.grad_fn is None and not t._requires_grad and UNRECORDED and is_stale(t):
        raise RuntimeError(
            f"{op}: in-place write into a view made while its base did not require grad, "
            "and the base has gained a gradient since (PyTorch refuses this too: 'a leaf "
            "Variable that requires grad is being used in an in-place operation'); take "
            "the view again after the base's write"
        )


def prepare_write(op: str, view: Tensor) -> tuple[Tensor, list[tuple], np.ndarray]:
    """Before an in-place write into the view ``view``: bring its history up to date,
    refuse what PyTorch refuses, and find the region it covers in its root base (the
    root, the links from it, the flat index of each element of the view)."""
    rebase_stale_views((view,))
    root, links = _chain(view)
    for *_, several in links:
        if several is not None:
            name, i = several
            raise RuntimeError(
                f"{op}: Output {i} of {name}Backward is a view and is being modified inplace. "
                "This view is the output of a function that returns multiple views. Such "
                "functions do not allow the output views to be modified inplace. You should "
                "replace the inplace operation by an out-of-place one."
            )
    if root.grad_fn is None and root._requires_grad:
        raise RuntimeError(
            f"{op}: a view of a leaf Variable that requires grad is being used in an "
            "in-place operation (the leaf's value would change under its own gradient); "
            "use .clone() or wrap the write in minigrad.no_grad()"
        )
    region = _replay(links, np.arange(root.data.size).reshape(root.data.shape))
    flat = np.ascontiguousarray(region).reshape(-1)
    if np.unique(flat).size != flat.size:
        raise RuntimeError(
            f"{op}: unsupported operation: more than one element of the written-to tensor "
            f"(shape {view.shape}) refers to a single memory location; .clone() it first"
        )
    return root, links, flat


def write_through_view(view: Tensor, new: Tensor, prepared: tuple) -> None:
    """After ``new`` was written into the memory of ``view``, give the root base the
    ``CopySlices`` history (rule 2) and rebase the view onto it."""
    root, links, flat = prepared
    out = CopySlices.apply(root, new, flat=flat, view_shape=view.shape)
    root.grad_fn, root._requires_grad = out.grad_fn, out._requires_grad
    fresh = root  # the view, taken again from the new root
    for _, cls, params, _ in links:
        fresh = cls.apply(fresh, **params)
    base, _, params, several = links[-1]
    _take_history(view, fresh, base, params, several)


class CopySlices(Function):
    """base_new = base_old with the view's region replaced by w (see rule 2 above).

    ``flat`` lists, in the view's element order, the flat index in the base of each
    element the view covers; ``mask`` (those indices, as a boolean array of the base's
    shape) is the region R.

        ∂L/∂base_old = where(R, 0, g)        ∂L/∂w = g.flatten()[flat].reshape(w.shape)
    """

    @staticmethod
    def forward(ctx, base, w, flat, view_shape):
        # The write already happened (the memory is shared): the value is the base's.
        mask = np.zeros(base.size, dtype=bool)
        mask[flat] = True
        ctx.mask, ctx.flat, ctx.view_shape = mask.reshape(base.shape), flat, view_shape
        return base

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        zero = Tensor._from_op(np.zeros((), g.dtype), None)
        d_base = P.where(ctx.mask, zero, g) if need[0] else None
        d_w = None
        if need[1]:
            picked = P.getitem(P.reshape(g, (g.data.size,)), ctx.flat)
            d_w = P.reshape(picked, ctx.view_shape)
        return d_base, d_w

    @staticmethod
    def jvp(ctx, base_t, w_t):
        raise NotImplementedError(
            "in-place write into a view of a tensor that carries a forward-mode tangent is "
            "not supported; write into the base, or out of place"
        )
