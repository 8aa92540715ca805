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

from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.autograd import anomaly, version
from minigrad.autograd.grad_mode import _state

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

# ``minigrad.tensor`` imports this module, so it registers the Tensor class here once
# it exists (a module-level name is the fastest lookup for the hot path, ``apply``).
_Tensor: Any = None

# ``t.data`` and ``t._requires_grad`` as C-level getters, for ``map`` in ``apply``.
_data = attrgetter("data")
_requires_grad = attrgetter("_requires_grad")

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
    # What ``save_for_backward`` was given, then (``apply``) the recorded form: a saved
    # input as its Tensor, the node's own output as ``_OUTPUT``. None once released.
    _saved: tuple[Any, ...] | None = ()
    _out: np.ndarray | None = None  # the output array, when it was saved
    _epoch = 0  # the in-place clock (``version.epoch``) when the arrays were saved

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

    # The name a node shows (``grad_fn=<MulBackward>``) when it is not the class name:
    # the scalar forms of an op show the op's name, as in PyTorch.
    display_name: str | None = None

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
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple[Tensor, ...]:
        saved = self._saved
        if saved is None:
            raise RuntimeError(
                f"{type(self).__name__}: trying to backward through the graph a second time "
                "(or to read saved tensors after they were freed). Saved arrays are freed "
                "after backward; pass retain_graph=True to the first backward to keep them."
            )
        if version.epoch != self._epoch:  # something was written in place since the save
            self._check_versions()
        arrays = self.array_backward and not _state.enabled  # see ``array_backward``
        result = []
        for item in saved:
            if item is _OUTPUT:
                result.append(self._out if arrays else _Tensor._from_op(self._out, self))
            elif isinstance(item, _Tensor):
                result.append(item.data if arrays else item)
            else:
                result.append(item if arrays else _Tensor._from_op(item, None))
        return tuple(result)

    def _check_versions(self) -> None:
        for item in self._saved or ():
            arr = self._out if item is _OUTPUT else getattr(item, "data", None)
            if isinstance(arr, np.ndarray) and version.written_since(arr, self._epoch):
                raise RuntimeError(
                    f"{type(self).__name__}: one of the tensors saved for backward (shape "
                    f"{arr.shape}) was modified in place after it was saved (it is now at "
                    f"version {version.version_of(arr)}); its gradient would be wrong."
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
        raw = out = cls.forward(ctx, *map(_data, inputs), **params)
        if type(out) is not np.ndarray:
            # NumPy ufuncs on 0-d arrays return scalars: wrap, but still recognise the
            # scalar as "the output" when it was saved for backward (below).
            out = np.asarray(out)
        if not _state.enabled:
            return make(out, None)
        needs = tuple(map(_requires_grad, inputs))
        if True not in needs:
            return make(out, None)

        ctx.needs_input_grad = needs
        ctx.next_edges = tuple(
            [
                t.grad_fn if t.grad_fn is not None else (t if r else None)
                for t, r in zip(inputs, needs)
            ]
        )
        if ctx._saved:
            ctx._saved = tuple([_recorded(ctx, arr, inputs, out, raw) for arr in ctx._saved])
            ctx._epoch = version.epoch
        if anomaly._state.enabled:
            anomaly.record_creation(ctx)
        return make(out, ctx)

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    def name(self) -> str:
        return f"{self.display_name or type(self).__name__}Backward"


def _recorded(ctx: Function, arr: Any, inputs: tuple[Tensor, ...], out: Any, raw: Any) -> Any:
    """How ``apply`` keeps one saved array: an input's array as that input's Tensor,
    the output as ``_OUTPUT`` (the array itself goes to ``ctx._out``), others as is."""
    for t in inputs:
        if arr is t.data:
            return t
    if arr is out or arr is raw:
        ctx._out = out
        return _OUTPUT
    return arr
