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

from minigrad.autograd import anomaly, version
from minigrad.autograd.grad_mode import _state

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

# ``minigrad.tensor`` imports this module, so it registers the Tensor class here once
# it exists (a module-level name is the fastest lookup for the hot path, ``apply``).
_Tensor: Any = None

# Marks "the saved array is this node's own output": the engine rebuilds it as a
# Tensor whose grad_fn is the node, without the node holding a Tensor that points
# back at it (a reference cycle that would keep the graph alive).
_OUTPUT = object()


class Function:
    """Base class of every differentiable operation (see the module docstring)."""

    # Filled in by ``apply`` when the node is recorded.
    next_edges: tuple[Any, ...]
    needs_input_grad: tuple[bool, ...]
    _hooks: list | None = None  # hooks registered on the output tensor (non-leaf)
    _retained: Any = None  # weakref to the output tensor when it called retain_grad()

    # True when ``backward`` is written only with operations that work on both Tensors
    # and plain ndarrays (arithmetic operators, and minigrad functions that accept
    # arrays: sum_to, reshape, matmul, exp, ...). When no graph is recorded
    # (create_graph=False) the engine then passes ndarrays -- the gradient, and the
    # saved arrays -- and the same formula runs as bare NumPy. With create_graph=True
    # it gets Tensors, and the formula is recorded for higher-order derivatives.
    array_backward: bool = False

    # True for ops whose output may share memory with their input (slicing, reshape,
    # permute, broadcast): an in-place write to such an output would also change the
    # input, which the graph cannot express, so ``Tensor._inplace`` refuses it.
    is_view: bool = False

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
        arrays = self.array_backward and not _state.enabled  # see ``array_backward``
        result = []
        for item, saved_version in zip(saved, self._saved_versions):
            if item is _OUTPUT:
                self._check_version(self._out, saved_version)
                result.append(self._out if arrays else Tensor._from_op(self._out, self))
            elif isinstance(item, Tensor):
                self._check_version(item.data, saved_version)
                result.append(item.data if arrays else item)
            else:
                result.append(item if arrays else Tensor._from_op(item, None))
        return tuple(result)

    def _check_version(self, arr: np.ndarray, saved_version: int) -> None:
        now = version.version_of(arr)
        if now != saved_version:
            raise RuntimeError(
                f"{type(self).__name__}: one of the tensors saved for backward (shape "
                f"{arr.shape}) was modified in place after it was saved (version "
                f"{saved_version}, now {now}); its gradient would be wrong."
            )

    def release(self) -> None:
        """Drop saved arrays once backward no longer needs them."""
        self._saved = None
        self._out = None

    # ----------------------------------------------------------------- apply
    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        """Run ``forward`` on the inputs' arrays; record the node when needed.

        This is the hot path of every op, so it reads the tensors' slots directly.
        """
        make = _Tensor._from_op
        ctx = cls.__new__(cls)
        ctx._to_save = ()
        raw = out = cls.forward(ctx, *[t.data for t in inputs], **params)
        if type(out) is not np.ndarray:
            # NumPy ufuncs on 0-d arrays return scalars: wrap, but still recognise the
            # scalar as "the output" when it was saved for backward (below).
            out = np.asarray(out)
        if not _state.enabled:
            return make(out, None)
        needs = tuple([t._requires_grad for t in inputs])
        if True not in needs:
            return make(out, None)

        ctx.needs_input_grad = needs
        ctx.next_edges = tuple(
            [
                t.grad_fn if t.grad_fn is not None else (t if r else None)
                for t, r in zip(inputs, needs)
            ]
        )
        ctx._out = None
        to_save = ctx._to_save
        del ctx._to_save
        if not to_save:
            ctx._saved = ctx._saved_versions = ()
        else:
            saved: list[Any] = []
            versions: list[int] = []
            for arr in to_save:
                for t in inputs:
                    if arr is t.data:
                        saved.append(t)
                        versions.append(t._version)
                        break
                else:
                    if arr is out or arr is raw:
                        saved.append(_OUTPUT)
                        ctx._out = out
                        # The output can be changed in place too (``x.exp().add_(1)``).
                        versions.append(version.version_of(out))
                    else:
                        saved.append(arr)
                        versions.append(0)
            ctx._saved = tuple(saved)
            ctx._saved_versions = tuple(versions)
        if anomaly._state.enabled:
            anomaly.record_creation(ctx)
        return make(out, ctx)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"

    def name(self) -> str:
        return f"{type(self).__name__}Backward"
