"""``Function``: the core's graph node, with what PyTorch's nodes also do.

The node itself (forward on arrays, backward on Tensors, ``save_for_backward``,
``needs_input_grad``, ``next_edges``, ``apply``) is ``minigrad.core.Function``; read it
there first. This module adds, outside the core:

- **in-place safety**: a node records the version of every array it saved
  (``minigrad/autograd/version.py``); reading ``saved_tensors`` after one of them was
  written in place raises instead of giving a wrong gradient; a view node remembers
  its base, so that writes through views keep histories in step
  (``minigrad/autograd/views.py``);
- **anomaly mode**: inside ``detect_anomaly()`` a node keeps the stack of the line
  that created it (``minigrad/autograd/anomaly.py``);
- **multiple outputs refused**: ``forward`` must return one array;
- the attributes hooks and views need (``_hooks``, ``_retained``, ``is_view``) and the
  display name of the node (``grad_fn=<MulBackward>``).

The fast engine (``minigrad/fast/``) replaces ``apply`` and ``saved_tensors`` with
versions that do the same and more cheaply; ``minigrad.set_reference_mode(True)``
puts these back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd import anomaly, forward_ad, version, views
from minigrad.core import primitives
from minigrad.core.autograd import _OUTPUT, Function
from minigrad.core.broadcast import BroadcastTo
from minigrad.core.grad_mode import _state as _grad_state

__all__ = ["Function"]

_core_apply = Function.apply.__func__
_core_saved_tensors = Function.saved_tensors.fget


def _saved_arrays(node: Function) -> list[np.ndarray]:
    """The arrays behind a node's saved values (inputs' data, the output, constants)."""
    out = []
    for s in node._saved or ():
        arr = node._out if s is _OUTPUT else getattr(s, "data", s)
        out.append(arr if isinstance(arr, np.ndarray) else None)
    return out


def check_versions(node: Function, since: int) -> None:
    """Refuse when a saved array that backward will read was written in place after
    clock value ``since``."""
    arrays = _saved_arrays(node)
    need = getattr(node, "needs_input_grad", None)  # (None: freed, or forward mode only)
    if node.saved_read is not None and need is not None:
        reads = node.saved_read(need)
        arrays = [a for a, r in zip(arrays, reads) if r]
    for arr in arrays:
        if arr is not None and version.written_since(arr, since):
            raise RuntimeError(
                f"{node.name()}: one of the variables needed for gradient computation has "
                f"been modified by an inplace operation: a tensor saved for backward (shape "
                f"{arr.shape}) was modified in place after it was saved (it is now at version "
                f"{version.version_of(arr)}); its gradient would be wrong."
            )


def refuse_tuple(cls: type, out: Any) -> None:
    if isinstance(out, (tuple, list)):
        raise TypeError(
            f"{cls.__name__}.forward returned a {type(out).__name__} of {len(out)} values; "
            "a Function has one output array (split it into several Functions, or stack "
            "the values into one array yourself)"
        )


def apply(cls: type[Function], *inputs: Any, **params: Any) -> Any:
    """The core's ``apply`` (after rebasing inputs that are stale views, see
    ``views.py``), then the node's version stamp and anomaly record."""
    if _grad_state.enabled:
        views.rebase_stale_views(inputs)
    out = _core_apply(cls, *inputs, **params)
    if out._fw is not None:
        forward_ad.track(out)
    node = out.grad_fn
    if node is None and cls.is_view and _grad_state.enabled:
        views.note_unrecorded_view(out, inputs[0], cls, params)
    if node is not None:
        node._epoch = version.epoch
        if cls.is_view:
            views.note_view(node, inputs[0], out.data, params)
        if anomaly._state.enabled:
            anomaly.record_creation(node)
    return out


def saved_tensors(self: Function) -> tuple[Any, ...]:
    """The core's ``saved_tensors``, after checking nothing saved was written in place."""
    if self._saved is not None:
        check_versions(self, self._epoch)
    return _core_saved_tensors(self)


def release(self: Function) -> None:
    """Free the saved values, and ``needs_input_grad`` (None marks the node freed: a
    second backward refuses; ``next_edges`` stays, so the graph can still be counted).
    Only values of attributes the node already has are replaced, none is added (and
    the instance dict is never materialised, which CPython 3.11+ keeps inline): a graph
    kept alive after backward holds less than before it."""
    if self._saved:
        self._saved = None
    if self._out is not None:
        self._out = None
    self.needs_input_grad = None


def name(self: Function) -> str:
    return f"{self.display_name or type(self).__name__}Backward"


# The parity attributes every node has (class defaults: nothing per node until used).
Function._hooks = None  # hooks registered on the output tensor (a non-leaf)
Function._retained = None  # weakref to the output tensor after retain_grad()
Function._epoch = 0  # the in-place clock when the node saved its arrays
# True for ops whose output may share memory with their input (views): an in-place
# write to such an output changes the input too (see ``Tensor._inplace``).
Function.is_view = False
# A view's input (array and Tensor), the view op's parameters, and the in-place clock
# when it was made, when the output shares the input's memory (``views.py``).
Function._view_of = Function._view_base = Function._view_params = None
Function._view_epoch = 0
Function._several_views = None  # (op, i) for output i of split/chunk/unbind
# True for ops whose PyTorch node saves its *output* for backward (amax, relu,
# logsumexp, norm, prod...) even where minigrad's backward needs only a mask or the
# input: an in-place write to the output then makes backward refuse, as PyTorch's
# does (``Tensor._inplace`` marks the node, ``GraphTask.call`` checks the mark).
Function.output_saved = False
Function._output_written = False
# The name a node shows when it is not the class name (``AddScalar`` shows ``Add``).
Function.display_name = None
Function.array_backward = False  # see ``minigrad/fast/array_mode.py``
Function.name = name
Function.release = release
Function.apply = classmethod(apply)
Function.saved_tensors = property(saved_tensors)
for _view in (primitives.Reshape, primitives.Permute, primitives.GetItem, BroadcastTo):
    _view.is_view = True  # the core's ops whose output may share the input's memory
primitives.Amax.output_saved = True
# Which saved values a node's backward reads, given ``needs_input_grad`` (None: all).
# PyTorch saves only those, so a value it never saved may be written in place:
# ``t[0] = t[1] * 5`` (a Mul saving the view t[1], whose memory the write changes).
Function.saved_read = None
primitives.Mul.saved_read = staticmethod(lambda need: (need[1], need[0]))  # da = g·b, db = g·a
primitives.Div.saved_read = staticmethod(lambda need: (need[1], True))  # da = g/b, db = -g·a/b²


def saves_output(t: Any) -> Any:
    """Mark the node that made ``t`` as one whose output PyTorch saves, so that writing
    ``t`` in place makes its backward refuse: for the reference compositions of ops
    whose fused kernel (and PyTorch's node) keeps the output (relu, softmax, norm)."""
    if t.grad_fn is not None:
        t.grad_fn.output_saved = True
    return t


def check_output_unchanged(node: Function) -> None:
    """Refuse to run the backward of a node whose output was written in place when
    PyTorch's node saves that output (``output_saved``)."""
    if node._output_written:
        raise RuntimeError(
            f"{node.name()}: one of the variables needed for gradient computation has been "
            "modified by an inplace operation: the output of this op (which PyTorch saves "
            "for backward) was changed in place after it was computed; use an out-of-place "
            "op (y = y * 2) or .clone() the output first"
        )
