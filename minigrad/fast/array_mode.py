"""Array mode: backward formulas evaluated on bare NumPy arrays.

Without ``create_graph`` nothing the backward pass computes is recorded, yet every
op of a backward formula would still build a Tensor, run ``Function.apply`` and
check grad mode. Most formulas (``g * b``, ``sum_to(g, shape)``, ``matmul(g, w)``)
use only operators and functions that mean the same on an ndarray; the core's
primitives are written that way (see ``minigrad/core/primitives.py``).

So when no graph is recorded, the engine hands such a node (``array_backward``) the
gradient as an ndarray, ``saved_tensors`` returns the saved arrays, and ``apply``,
while the formula runs, evaluates each op's ``forward`` alone on the arrays: the
same formula, the same arithmetic, without a Tensor around every intermediate.
Reference mode (``minigrad.set_reference_mode(True)``) turns this off; the op tests
run in both modes.

Measured: see ``benchmarks/README.md`` ("How the fast engine differs").
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from minigrad.autograd import anomaly, forward_ad, version, views
from minigrad.autograd.function import check_versions, refuse_tuple
from minigrad.core import primitives as P
from minigrad.core.autograd import (
    _OUTPUT,
    Function,
    Tensor,
    _keep,
    forward_tangent,
    rebuilt_output,
)
from minigrad.core.broadcast import BroadcastTo, SumTo
from minigrad.core.grad_mode import _state
from minigrad.fast.version_clock import unchanged_since


class _ArrayState(threading.local):
    active: bool = False  # True while an array-mode backward formula runs


state = _ArrayState()


class _Scratch:
    """Stands in for ``ctx`` when a forward runs outside the graph."""

    def save_for_backward(self, *arrays: Any) -> None:
        pass


def is_array(x: Any) -> bool:
    """True for NumPy arrays and scalars (0-d arithmetic gives scalars)."""
    return isinstance(x, (np.ndarray, np.generic))


def array_of(x: Any) -> np.ndarray:
    """The array behind a Tensor, or the array itself (``ndarray.data`` is a buffer)."""
    return x if is_array(x) else x.data


def forward_only(cls: type[Function], *xs: Any, **params: Any) -> Any:
    """``cls``'s forward on arrays (Tensors unwrapped): nothing is recorded."""
    return cls.forward(_Scratch(), *[array_of(x) for x in xs], **params)


def apply(cls: type[Function], *inputs: Any, **params: Any) -> Any:
    """``Function.apply`` for the fast engine: the core's, plus the parity layer's
    version stamp and anomaly record, written for speed (this runs for every op);
    inside an array-mode formula (or given arrays) it runs the forward alone and
    returns an array."""
    if state.active or not isinstance(inputs[0], Tensor):
        return forward_only(cls, *inputs, **params)
    ctx = cls.__new__(cls)
    raw = out = cls.forward(ctx, *[t.data for t in inputs], **params)
    if type(out) is not np.ndarray:
        refuse_tuple(cls, out)
        out = np.asarray(out)
    if not _state.enabled or True not in (needs := tuple([t._requires_grad for t in inputs])):
        # (unless an input is a view whose base has gained a history since: views.py)
        if not (_state.enabled and views.UNRECORDED and views.rebase_stale_views(inputs)):
            result = Tensor._from_op(out, None)
            if cls.is_view and _state.enabled:
                views.note_unrecorded_view(result, inputs[0], cls, params)
            if _state.forward:
                _tangent(ctx, inputs, result, params)
            return result
        needs = tuple([t._requires_grad for t in inputs])
    for t in inputs:  # an input that is a view made stale by a write is rebased
        g = t.grad_fn
        if (g._view_of is not None) if g is not None else views.UNRECORDED:
            views.rebase_stale_views(inputs)
            needs = tuple([t._requires_grad for t in inputs])
            break
    ctx.needs_input_grad = needs
    ctx.next_edges = tuple(
        [t.grad_fn if t.grad_fn is not None else (t if r else None) for t, r in zip(inputs, needs)]
    )
    if ctx._saved:
        ctx._saved = tuple([_keep(ctx, a, inputs, out, raw) for a in ctx._saved])
        ctx._epoch = version.epoch
    if cls.is_view:
        views.note_view(ctx, inputs[0], out, params)
    if anomaly._state.enabled:
        anomaly.record_creation(ctx)
    result = Tensor._from_op(out, ctx)
    if _state.forward:
        _tangent(ctx, inputs, result, params)
    return result


def _tangent(ctx: Function, inputs: tuple[Tensor, ...], out: Tensor, params: dict) -> None:
    """Forward mode, as the core's ``apply`` does it, when some input has a tangent."""
    for t in inputs:
        if t._fw is not None:
            forward_tangent(ctx, inputs, out, params)
            forward_ad.track(out)
            return


def saved_tensors(self: Function) -> tuple[Any, ...]:
    """Saved values as Tensors, or as arrays inside an array-mode formula; the version
    check runs only when the in-place clock moved (``version_clock.py``)."""
    saved = self._saved
    if saved is None:
        from minigrad.core.autograd import _freed_message

        raise RuntimeError(_freed_message(self))
    if not (_clock[0] and unchanged_since(self._epoch)):
        check_versions(self, self._epoch)
    if state.active:
        return tuple(
            [self._out if s is _OUTPUT else s.data if isinstance(s, Tensor) else s for s in saved]
        )
    return tuple(
        [
            rebuilt_output(self)
            if s is _OUTPUT
            else s
            if isinstance(s, Tensor)
            else Tensor._from_op(s, None)
            for s in saved
        ]
    )


_clock = [True]  # False when the version clock alone is switched off (measurements)


class ArrayModeTask:
    """GraphTask mixin: run ``array_backward`` nodes on arrays when nothing is recorded."""

    create_graph: bool

    def vjp(self, node: Function, grad: Any) -> Any:
        if not self.create_graph and node.array_backward:
            state.active = True
            try:
                return node.backward(node, grad.data if isinstance(grad, Tensor) else grad)
            finally:
                state.active = False
        if isinstance(grad, (np.ndarray, np.generic)):  # (a GradTuple stays as it is)
            grad = Tensor._from_op(np.asarray(grad), None)
        return node.backward(node, grad)


# The core primitives whose backward runs on arrays (the rule in primitives.py). Other
# Functions declare ``array_backward = True`` in their class. Only the fast engine's
# GraphTask reads the flag.
ARRAY_SAFE: tuple[type[Function], ...] = (
    P.Add,
    P.Sub,
    P.Neg,
    P.Mul,
    P.Div,
    P.Exp,
    P.Log,
    P.Tanh,
    P.Where,
    P.Cast,
    P.Sum,
    P.Amax,
    P.Reshape,
    P.Permute,
    P.GetItem,
    P.IndexAdd,
    P.MatMul,
    SumTo,
    BroadcastTo,
)
for _cls in ARRAY_SAFE:
    _cls.array_backward = True
