"""``Function``: one node of the define-by-run graph.

A subclass writes two static methods, side by side:

* ``forward(ctx, *arrays, **params) -> ndarray`` computes on plain NumPy arrays;
* ``backward(ctx, grad) -> grad_input | tuple`` receives the gradient of the loss
  with respect to the output as a :class:`~minigrad.Tensor` and returns one gradient
  per input (``None`` for inputs that need none), also as Tensors.

Because ``backward`` is written with minigrad's own differentiable ops, the
backward pass can itself be recorded (``create_graph=True``), which gives
higher-order derivatives for free. With ``create_graph=False`` the engine runs it
under ``no_grad`` and nothing is recorded.

``Function.apply`` runs ``forward`` and, when grad mode is on and an input requires
grad, turns the ``Function`` instance into the graph node (the "ctx"): it remembers
where the gradient of each input goes next (``next_edges``) and the arrays saved
for backward.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.autograd import anomaly
from minigrad.autograd.grad_mode import _state

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

# Marks "the saved array is this node's own output": the engine rebuilds it as a
# Tensor whose grad_fn is the node, without the node holding a Tensor that points
# back at it (a reference cycle that would keep the graph alive).
_OUTPUT = object()


class Function:
    """Base class of every differentiable operation (see the module docstring)."""

    # Filled in by ``apply`` when the node is recorded.
    next_edges: tuple[Any, ...]
    needs_input_grad: tuple[bool, ...]

    @staticmethod
    def forward(ctx: Function, *arrays: np.ndarray, **params: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Function, grad: Tensor) -> Tensor | None | tuple[Tensor | None, ...]:
        raise NotImplementedError

    # ----------------------------------------------------------------- ctx API
    def save_for_backward(self, *arrays: np.ndarray) -> None:
        """Keep arrays for ``backward``. Pass the input or output arrays themselves
        (not copies): the engine then hands them back as the graph's Tensors, so a
        backward that uses them is differentiable again."""
        self._to_save = arrays

    @property
    def saved_tensors(self) -> tuple[Tensor, ...]:
        from minigrad.tensor import Tensor

        saved = self._saved
        if saved is None:
            raise RuntimeError(
                f"{type(self).__name__}: trying to backward through the graph a second time "
                "(or to read saved tensors after they were freed). Saved arrays are freed "
                "after backward; pass retain_graph=True to the first backward to keep them."
            )
        result = []
        for item, version in zip(saved, self._saved_versions):
            if item is _OUTPUT:
                result.append(Tensor._from_op(self._out, self))
            elif isinstance(item, Tensor):
                if item._version != version:
                    raise RuntimeError(
                        f"{type(self).__name__}: one of the tensors saved for backward (shape "
                        f"{item.shape}) was modified in place after it was saved (version "
                        f"{version}, now {item._version}); its gradient would be wrong."
                    )
                result.append(item)
            else:
                result.append(Tensor(item))
        return tuple(result)

    def release(self) -> None:
        """Drop saved arrays once backward no longer needs them."""
        self._saved = None
        self._out = None

    # ----------------------------------------------------------------- apply
    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        """Run ``forward`` on the inputs' arrays; record the node when needed."""
        from minigrad.tensor import Tensor

        ctx = cls.__new__(cls)
        ctx._to_save = ()
        out = cls.forward(ctx, *[t.data for t in inputs], **params)
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if not (_state.enabled and any(t.requires_grad for t in inputs)):
            return Tensor._from_op(out, None)

        ctx.needs_input_grad = tuple(t.requires_grad for t in inputs)
        ctx.next_edges = tuple(
            t.grad_fn if t.grad_fn is not None else (t if t.requires_grad else None)
            for t in inputs
        )
        saved: list[Any] = []
        versions: list[int] = []
        ctx._out = None
        for arr in ctx._to_save:
            for t in inputs:
                if arr is t.data:
                    saved.append(t)
                    versions.append(t._version)
                    break
            else:
                if arr is out:
                    saved.append(_OUTPUT)
                    ctx._out = out
                else:
                    saved.append(arr)
                versions.append(0)
        ctx._saved = tuple(saved)
        ctx._saved_versions = tuple(versions)
        del ctx._to_save
        if anomaly._state.enabled:
            anomaly.record_creation(ctx)
        return Tensor._from_op(out, ctx)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"

    def name(self) -> str:
        return f"{type(self).__name__}Backward"
