"""What a user's own ``Function`` can do beyond the core's one-output node, as PyTorch's
``torch.autograd.Function``:

- **several outputs**: ``forward`` returns a tuple; ``backward(ctx, *grad_outputs)``
  receives one gradient per output (zeros for an output that got none, unless
  ``ctx.set_materialize_grads(False)``, then ``None``);
- ``ctx.mark_non_differentiable(*outputs)``: those outputs carry no gradient;
- ``ctx.mark_dirty(*inputs)``: ``forward`` wrote those inputs in place; the call returns
  the input tensors themselves, rebased onto the new node, as PyTorch does;
- ``@once_differentiable`` on ``backward``: its results refuse a further backward.

How: every Function subclass defined outside minigrad gets its ``forward``, ``backward``
and ``apply`` wrapped (built-in ops are untouched, so they pay nothing). The node keeps
the core's shape — one node, one gradient slot — because its gradient is a
:class:`GradTuple`: each output tensor hangs on a small ``OutputOf`` node that sends
its gradient to slot i, and the engine's usual summing (``+``) merges the slots.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import version
from minigrad.core.autograd import Function, Tensor
from minigrad.core.grad_mode import _state, no_grad


class GradTuple:
    """The gradient of a node with several outputs: one slot per output (None = none)."""

    __slots__ = ("slots",)

    def __init__(self, slots: list[Any]) -> None:
        self.slots = slots

    def __add__(self, other: GradTuple) -> GradTuple:
        return GradTuple(
            [b if a is None else a if b is None else a + b for a, b in zip(self.slots, other.slots)]
        )


class OutputOf(Function):
    """Output i of a several-output node: y_i;  its gradient goes to slot i of the node."""

    @staticmethod
    def backward(ctx, g):
        slots: list[Any] = [None] * ctx.n
        slots[ctx.i] = g
        return GradTuple(slots)


class _Stash(threading.local):
    outputs: tuple | None = None


_stash = _Stash()


def _wrap_forward(forward: Callable) -> Callable:
    @functools.wraps(forward)
    def run(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        out = forward(ctx, *args, **kwargs)
        if isinstance(out, (tuple, list)):
            _stash.outputs = tuple(np.asarray(getattr(o, "data", o)) for o in out)
            return np.empty(0)  # the node's own output is the tuple, built by ``apply``
        return getattr(out, "data", out) if isinstance(out, Tensor) else out

    return run


def _wrap_backward(backward: Callable) -> Callable:
    @functools.wraps(backward)
    def run(ctx: Any, grad: Any) -> Any:
        if not isinstance(grad, GradTuple):
            return backward(ctx, grad)
        meta = ctx._output_meta
        grads = [
            g if g is not None or not ctx._materialize else Tensor(np.zeros(shape, dtype))
            for g, (shape, dtype) in zip(grad.slots, meta)
        ]
        return backward(ctx, *grads)

    return run


def _wrap_apply() -> Callable:
    def run(cls: type, *inputs: Any, **params: Any) -> Any:
        _stash.outputs = None
        out = Function.__dict__["apply"].__func__(cls, *inputs, **params)  # this mode's apply
        outputs, _stash.outputs = _stash.outputs, None
        node = out.grad_fn
        if node is not None:
            _check_dirty(node, inputs)
        if outputs is None:
            return _rebase_dirty(node, inputs, (out,), (out.data,))[0]
        if node is None:
            return tuple(Tensor._from_op(o, None) for o in outputs)
        node._output_meta = [(o.shape, o.dtype) for o in outputs]
        skip = {id(a) for a in node.__dict__.get("_non_differentiable", ())}
        results = []
        for i, o in enumerate(outputs):
            if id(o) in skip or o.dtype.kind != "f":
                results.append(Tensor._from_op(o, None))
                continue
            sel = OutputOf()
            sel.next_edges, sel.needs_input_grad = (node,), (True,)
            sel.i, sel.n = i, len(outputs)
            sel.display_name = type(node).__name__  # shows as <SplitBackward>, as PyTorch
            results.append(Tensor._from_op(o, sel))
        return _rebase_dirty(node, inputs, tuple(results), outputs)

    return classmethod(run)


def _dirty_inputs(node: Any, inputs: tuple) -> list[Tensor]:
    """The input tensors whose arrays ``forward`` marked dirty."""
    marked = node.__dict__.get("_dirty", ()) if node is not None else ()
    return [t for t in inputs if isinstance(t, Tensor) and any(t.data is a for a in marked)]


def _check_dirty(node: Any, inputs: tuple) -> None:
    for t in _dirty_inputs(node, inputs):
        if t.grad_fn is None and t.requires_grad:
            raise RuntimeError(
                f"{type(node).__name__}: a leaf Variable that requires grad is being used in an "
                "in-place operation (mark_dirty)"
            )


def _rebase_dirty(node: Any, inputs: tuple, results: tuple, arrays: tuple) -> tuple:
    """An output that is a dirty input's array is that input, rebased onto the node."""
    dirty = _dirty_inputs(node, inputs)
    if not dirty:
        return results
    out = list(results)
    for t in dirty:
        version.bump(t.data)
        for i, arr in enumerate(arrays):
            if arr is t.data or (isinstance(arr, np.ndarray) and np.shares_memory(arr, t.data)):
                t.grad_fn, t._requires_grad = out[i].grad_fn, out[i].requires_grad
                out[i] = t
    return tuple(out)


def mark_non_differentiable(self: Function, *outputs: Any) -> None:
    """These outputs (arrays returned by ``forward``) get no gradient."""
    self._non_differentiable = [getattr(o, "data", o) for o in outputs]


def mark_dirty(self: Function, *arrays: Any) -> None:
    """``forward`` changed these inputs (the arrays it was given) in place."""
    self._dirty = [getattr(a, "data", a) if isinstance(a, Tensor) else a for a in arrays]


def set_materialize_grads(self: Function, value: bool) -> None:
    """False: ``backward`` receives None (not zeros) for outputs that got no gradient."""
    self._materialize = bool(value)


class _DoubleBackward(Function):
    """Identity whose backward refuses: what ``once_differentiable`` results carry (and
    any other result whose second derivative is not available, with its ``message``)."""

    @staticmethod
    def forward(ctx, g, message=None):
        ctx.message = message
        return g

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(
            ctx.message
            or "trying to differentiate twice a function that was marked with @once_differentiable"
        )


def once_differentiable(backward: Callable) -> Callable:
    """Decorate ``backward``: it runs without recording, and its results refuse a further
    backward (rather than give a silently wrong second derivative)."""

    @functools.wraps(backward)
    def run(ctx: Any, *grads: Any) -> Any:
        recording = _state.enabled
        with no_grad():
            out = backward(ctx, *grads)
        if not recording:
            return out
        many = isinstance(out, tuple)
        outs = out if many else (out,)
        outs = tuple(
            _DoubleBackward.apply(Tensor._from_op(g.data, None).requires_grad_())
            if isinstance(g, Tensor)
            else g
            for g in outs
        )
        return outs if many else outs[0]

    return run


def custom(cls: type) -> type:
    """Give ``cls`` the abilities above (done for every user's Function subclass)."""
    for name, wrap in (("forward", _wrap_forward), ("backward", _wrap_backward)):
        if name in cls.__dict__:
            fn = cls.__dict__[name]
            setattr(cls, name, staticmethod(wrap(getattr(fn, "__func__", fn))))
    if "apply" not in cls.__dict__:
        cls.apply = _wrap_apply()
    return cls


def _init_subclass(cls: type, **kwargs: Any) -> None:
    if not cls.__module__.startswith("minigrad."):  # a user's Function
        custom(cls)


Function._materialize = True
Function.mark_non_differentiable = mark_non_differentiable
Function.mark_dirty = mark_dirty
Function.set_materialize_grads = set_materialize_grads
Function.__init_subclass__ = classmethod(_init_subclass)
