"""``Function``: the core's graph node, with what PyTorch's nodes also do.

The node itself (forward on arrays, backward on Tensors, ``save_for_backward``,
``needs_input_grad``, ``next_edges``, ``apply``) is ``minigrad.core.Function``; read it
there first. This module adds, outside the core:

- **in-place safety**: a node records the version of every array it saved
  (``minigrad/autograd/version.py``); reading ``saved_tensors`` after one of them was
  written in place raises instead of giving a wrong gradient;
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

from minigrad.autograd import anomaly, forward_ad, version
from minigrad.core import primitives
from minigrad.core.autograd import _OUTPUT, Function
from minigrad.core.broadcast import BroadcastTo

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
    """Refuse when a saved array was written in place after clock value ``since``."""
    for arr in _saved_arrays(node):
        if arr is not None and version.written_since(arr, since):
            raise RuntimeError(
                f"{node.name()}: one of the tensors saved for backward (shape {arr.shape}) "
                f"was modified in place after it was saved (it is now at version "
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
    """The core's ``apply``, then the node's version stamp and anomaly record."""
    out = _core_apply(cls, *inputs, **params)
    if out._fw is not None:
        forward_ad.track(out)
    node = out.grad_fn
    if node is not None:
        node._epoch = version.epoch
        if anomaly._state.enabled:
            anomaly.record_creation(node)
    return out


def saved_tensors(self: Function) -> tuple[Any, ...]:
    """The core's ``saved_tensors``, after checking nothing saved was written in place."""
    if self._saved is not None:
        check_versions(self, self._epoch)
    return _core_saved_tensors(self)


def release(self: Function) -> None:
    """Free everything backward used, keeping only the edges (so that the graph can
    still be counted) and the freed mark: the node's attributes are cleared, not
    replaced, so a kept graph holds less after backward than before it."""
    edges, needs = self.next_edges, self.needs_input_grad
    self.__dict__.clear()
    self.next_edges, self.needs_input_grad, self._saved = edges, needs, None


def name(self: Function) -> str:
    return f"{self.display_name or type(self).__name__}Backward"


# The parity attributes every node has (class defaults: nothing per node until used).
Function._hooks = None  # hooks registered on the output tensor (a non-leaf)
Function._retained = None  # weakref to the output tensor after retain_grad()
Function._epoch = 0  # the in-place clock when the node saved its arrays
# True for ops whose output may share memory with their input (views): an in-place
# write to such an output changes the input too (see ``Tensor._inplace``).
Function.is_view = False
# The name a node shows when it is not the class name (``AddScalar`` shows ``Add``).
Function.display_name = None
Function.array_backward = False  # see ``minigrad/fast/array_mode.py``
Function.name = name
Function.release = release
Function.apply = classmethod(apply)
Function.saved_tensors = property(saved_tensors)
for _view in (primitives.Reshape, primitives.Permute, primitives.GetItem, BroadcastTo):
    _view.is_view = True  # the core's ops whose output may share the input's memory
