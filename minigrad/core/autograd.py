"""Reverse-mode automatic differentiation in three parts: the Tensor, the Function
node, and the backward pass that walks the nodes.

A program ``loss = f(x)`` is a chain of elementary operations. The chain rule says
that the gradient of the loss with respect to any intermediate value ``v`` is the sum,
over every operation ``u = op(..., v, ...)`` that read ``v``, of ``∂loss/∂u · ∂u/∂v``.
Reverse mode computes those sums from the loss backwards: each operation, given the
gradient of its output, returns the gradients of its inputs (a vector-Jacobian
product), and the gradients flowing into one value are added up.

To do that after the fact, every operation is *recorded* as it runs (define-by-run):
its result remembers the node (a :class:`Function`) that made it, and the node
remembers where its inputs came from. ``backward`` then visits the nodes in reverse
topological order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .grad_mode import _state, set_grad_enabled

# ====================================================================== 1. Tensor


class Tensor:
    """An array (``.data``, a ``numpy.ndarray``) that remembers how it was computed.

    - ``grad_fn``: the :class:`Function` node that made it, or ``None`` for a *leaf*
      (a tensor the user created);
    - ``requires_grad``: whether gradients flow to it. A leaf that requires grad
      receives ∂loss/∂leaf in ``.grad`` when ``backward`` runs.
    """

    # ``_hooks`` and ``__weakref__`` serve the PyTorch-parity layer (tensor hooks,
    # retained gradients); the core itself never reads them. ``_fw`` is the tangent
    # that forward mode carries beside the value (a dual number), or None.
    __slots__ = ("data", "grad", "grad_fn", "_requires_grad", "_hooks", "_fw", "__weakref__")
    __array_priority__ = 1000  # ``ndarray * Tensor`` calls ``Tensor.__rmul__``

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data: np.ndarray = np.asarray(data, dtype)
        self.grad: Tensor | None = None
        self.grad_fn: Function | None = None
        self._hooks: list | None = None
        self._fw: Tensor | None = None
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _from_op(cls, data: np.ndarray, grad_fn: Function | None) -> Tensor:
        """Wrap an op's result as it is: no conversion (the op made the array)."""
        t = object.__new__(cls)
        t.data, t.grad, t.grad_fn, t._hooks, t._fw = data, None, grad_fn, None, None
        t._requires_grad = grad_fn is not None
        return t

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None and not value:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables; use detach() "
                "to get a tensor that does not require grad"
            )
        if value and self.data.dtype.kind != "f":
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients (got {self.dtype})"
            )
        self._requires_grad = bool(value)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def detach(self) -> Tensor:
        """The same array, cut from the graph: no gradient flows through the result."""
        return Tensor._from_op(self.data, None)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def backward(
        self, gradient: Tensor | None = None, retain_graph: bool = False, create_graph: bool = False
    ) -> None:
        """Add ∂self/∂leaf · ``gradient`` into ``leaf.grad`` for every leaf that requires
        grad. ``gradient`` (∂loss/∂self) may be left out for a one-element tensor: 1."""
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            gradient = Tensor._from_op(np.ones_like(self.data), None)
        GraphTask(retain_graph or create_graph, create_graph).run([self], [gradient])

    def __repr__(self) -> str:
        return f"tensor({self.data}, grad_fn={self.grad_fn})"


# ====================================================================== 2. Function


class Function:
    """One node of the graph: an operation with its derivative.

    A subclass writes three static methods side by side:

    - ``forward(ctx, *arrays, **params) -> ndarray``: the value, on plain arrays;
    - ``backward(ctx, grad) -> grad_input | tuple``: given ∂loss/∂output (a Tensor),
      one ∂loss/∂input per input (``None`` where ``ctx.needs_input_grad`` is False):
      the vector-Jacobian product, vᵀJ, for reverse mode;
    - ``jvp(ctx, *tangents) -> tangent``: given one tangent per input (a Tensor; zeros
      where the input has none, ``ctx.given`` says which), the output's tangent
      Σᵢ ∂out/∂inᵢ · tᵢ: the Jacobian-vector product, Jv, for forward mode.

    ``backward`` is written with Tensor operations, so with ``create_graph=True`` the
    backward pass is itself recorded, and can be differentiated again: higher-order
    derivatives need nothing more.

    ``apply`` runs ``forward``; when recording, the instance becomes the node (the
    ``ctx``): ``next_edges`` says where each input's gradient goes (the input's own
    node, the input itself if it is a leaf that requires grad, or nowhere).
    """

    next_edges: tuple[Any, ...]  # Function | Tensor (a leaf) | None, one per input
    needs_input_grad: tuple[bool, ...]
    # What ``save_for_backward`` was given; after ``apply``, each saved input as its
    # Tensor and the node's own output as ``_OUTPUT``; None once released.
    _saved: tuple[Any, ...] | None = ()
    _out: np.ndarray | None = None  # the output array, when it was saved
    _out_fw: Tensor | None = None  # the output's tangent (forward mode), if it has one

    @staticmethod
    def forward(ctx: Function, *arrays: np.ndarray, **params: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Function, grad: Tensor) -> Tensor | None | tuple[Tensor | None, ...]:
        raise NotImplementedError

    @staticmethod
    def jvp(ctx: Function, *tangents: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(ctx).__name__} has no jvp: no forward-mode derivative")

    def save_for_backward(self, *arrays: np.ndarray) -> None:
        """Keep arrays for ``backward``: the input or output arrays themselves (not
        copies), which ``saved_tensors`` hands back as the graph's own Tensors, so a
        backward that uses them is differentiable again."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple[Tensor, ...]:
        if self._saved is None:
            raise RuntimeError(_freed_message(self))
        return tuple(
            rebuilt_output(self)  # the output, rebuilt: no node→tensor cycle
            if s is _OUTPUT
            else s
            if isinstance(s, Tensor)
            else Tensor._from_op(s, None)
            for s in self._saved
        )

    def release(self) -> None:
        """Free what backward used: the graph can then not be walked a second time."""
        self._saved = self._out = None

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Tensor:
        """Run ``forward`` on the inputs' arrays; record the node if a gradient may
        be needed (grad mode on, and some input requires grad)."""
        ctx = cls()
        raw = cls.forward(ctx, *[t.data for t in inputs], **params)
        if isinstance(raw, tuple):
            raise TypeError(f"{cls.__name__}.forward must return one array, not a tuple")
        out = Tensor._from_op(np.asarray(raw), None)  # NumPy gives 0-d results as scalars
        needs = tuple(t.requires_grad for t in inputs)
        if _state.enabled and any(needs):
            ctx.needs_input_grad = needs
            ctx.next_edges = tuple(t.grad_fn or (t if n else None) for t, n in zip(inputs, needs))
            if ctx._saved:
                ctx._saved = tuple(_keep(ctx, a, inputs, out.data, raw) for a in ctx._saved)
            out.grad_fn, out._requires_grad = ctx, True
        if _state.forward and any(t._fw is not None for t in inputs):
            forward_tangent(ctx, inputs, out, params)
        return out

    def name(self) -> str:
        return f"{type(self).__name__}Backward"

    def __repr__(self) -> str:
        return f"<{self.name()}>"


_OUTPUT = object()  # marks "this saved array is the node's own output"


def _keep(ctx: Function, arr: Any, inputs: tuple[Tensor, ...], out: np.ndarray, raw: Any) -> Any:
    """How ``apply`` keeps one saved array: an input's array as that input's Tensor
    (whose graph it belongs to), the output as ``_OUTPUT``, anything else as it is."""
    for t in inputs:
        if arr is t.data:
            return t
    if arr is out or arr is raw:
        ctx._out = out
        return _OUTPUT
    return arr


def rebuilt_output(node: Function) -> Tensor:
    """The node's saved output as a Tensor again, with its tangent (forward mode)."""
    out = Tensor._from_op(node._out, node)
    out._fw = node._out_fw
    return out


def forward_tangent(ctx: Function, inputs: Sequence[Tensor], out: Tensor, params: dict) -> None:
    """Forward mode (dual numbers x + εẋ, ε² = 0): give ``out`` the tangent ``ctx.jvp``
    computes from the inputs' tangents (zeros where an input has none). The jvp is
    written with Tensor ops, so it is recorded like any computation: reverse mode can
    differentiate it, and tangents can flow through a backward pass (forward-over-reverse).
    Its own ops carry no tangent (one level of forward mode at a time)."""
    ctx.op_inputs, ctx.op_params, ctx.given = inputs, params, [t._fw is not None for t in inputs]
    level, _state.forward = _state.forward, False
    try:
        ts = [Tensor(np.zeros_like(t.data)) if t._fw is None else t._fw for t in inputs]
        out._fw = ctx._out_fw = type(ctx).jvp(ctx, *ts)
    finally:
        _state.forward = level


def _freed_message(node: Function) -> str:
    return (
        f"{node.name()}: trying to backward through the graph a second time (or to read "
        "saved tensors after they were freed). Saved values are freed after backward; "
        "pass retain_graph=True to the first backward to keep them."
    )


# ====================================================================== 3. backward


class GraphTask:
    """One backward pass, from some roots with given gradients.

    1. Count, for every node reachable from the roots, how many edges lead into it.
    2. Run a node once all its consumers have sent their gradient (Kahn's topological
       order), with the *sum* of those gradients: the multivariate chain rule.
    3. Send what it returns along ``next_edges``: to a parent node (summed) or to a
       leaf (accumulated into ``.grad``).

    The walk uses an explicit stack, so a chain of 100,000 ops never meets Python's
    recursion limit. The methods ``call``, ``vjp``, ``to_leaf`` and ``finish`` are where
    the full engine (``minigrad.autograd``) adds hooks, and the fast engine its tricks.
    """

    def __init__(self, retain_graph: bool, create_graph: bool) -> None:
        self.retain_graph, self.create_graph = retain_graph, create_graph

    def run(self, roots: Sequence[Tensor], root_grads: Sequence[Any]) -> None:
        with set_grad_enabled(self.create_graph):  # record the backward only if asked
            self.walk(roots, root_grads)
            self.finish()

    def walk(self, roots: Sequence[Tensor], root_grads: Sequence[Any]) -> None:
        grads: dict[Function, Any] = {}  # node -> sum of the gradients sent to it
        nodes = []
        for root, g in zip(roots, root_grads):
            if root.grad_fn is None:
                self.to_leaf(root, g)
            elif root.grad_fn in grads:
                grads[root.grad_fn] = grads[root.grad_fn] + g
            else:
                grads[root.grad_fn] = g
                nodes.append(root.grad_fn)
        deps = count_dependencies(nodes)
        ready = [n for n in nodes if deps.get(n, 0) == 0]
        while ready:
            node = ready.pop()
            grad = grads.pop(node, None)
            in_grads = (None,) * len(node.next_edges) if grad is None else self.call(node, grad)
            for nxt, g in zip(node.next_edges, in_grads):
                if isinstance(nxt, Function):
                    if g is not None:
                        grads[nxt] = g if nxt not in grads else grads[nxt] + g
                    deps[nxt] -= 1
                    if deps[nxt] == 0:
                        ready.append(nxt)
                elif nxt is not None and g is not None:
                    self.to_leaf(nxt, g)

    def call(self, node: Function, grad: Any) -> tuple[Any, ...]:
        """The node's vector-Jacobian product: one gradient per input."""
        if node._saved is None:  # released by an earlier backward
            raise RuntimeError(_freed_message(node))
        in_grads = self.vjp(node, grad)
        in_grads = in_grads if type(in_grads) is tuple else (in_grads,)
        if len(in_grads) != len(node.next_edges):
            raise RuntimeError(
                f"Function {node.name()} returned {len(in_grads)} gradients, "
                f"expected {len(node.next_edges)}"
            )
        if not self.retain_graph:
            node.release()
        return in_grads

    def vjp(self, node: Function, grad: Any) -> Any:
        return node.backward(node, grad)

    def to_leaf(self, leaf: Tensor, grad: Any) -> None:
        """Accumulate into ``leaf.grad``: a fresh copy the first time (the same gradient
        array may reach several leaves), then added in place."""
        grad = grad if isinstance(grad, Tensor) else Tensor._from_op(np.asarray(grad), None)
        if grad.shape != leaf.shape:
            raise RuntimeError(f"gradient of shape {grad.shape} for a leaf of shape {leaf.shape}")
        if self.create_graph:
            leaf.grad = grad if leaf.grad is None else leaf.grad + grad
        elif leaf.grad is None:
            leaf.grad = Tensor._from_op(grad.data.astype(leaf.dtype, copy=True), None)
        else:
            leaf.grad.data += grad.data

    def finish(self) -> None:
        """Called once the walk is done (the full engine flushes leaf sums here)."""


def count_dependencies(roots: list[Function]) -> dict[Function, int]:
    """For every node reachable from ``roots``: how many edges lead into it."""
    deps: dict[Function, int] = {}
    seen, stack = set(roots), list(roots)
    while stack:
        for nxt in stack.pop().next_edges:
            if isinstance(nxt, Function):
                deps[nxt] = deps.get(nxt, 0) + 1
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
    return deps
