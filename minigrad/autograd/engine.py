"""The backward pass: reverse-mode differentiation over the recorded graph.

Algorithm (iterative, so a chain of 100,000 ops never meets Python's recursion
limit):

1. From the roots, walk the graph once with an explicit stack and count, for each
   node, how many edges lead into it (its dependencies).
2. Seed the roots with their gradients (1 for a scalar loss).
3. Pop a node whose every consumer has already sent its gradient (Kahn's
   topological order), call its ``backward`` with the summed gradient of its
   output, and send each returned gradient along ``next_edges``: to a parent node
   (summed with what others sent it: the multivariate chain rule) or to a leaf
   tensor (accumulated into ``.grad``).
4. Without ``retain_graph`` each node frees its saved arrays right after use.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.autograd import anomaly
from minigrad.autograd.function import Function
from minigrad.autograd.grad_mode import _state
from minigrad.tensor import Tensor


def _count_dependencies(roots: list[Function]) -> dict[Function, int]:
    deps: dict[Function, int] = {}
    seen = set(roots)
    stack = list(roots)
    while stack:
        node = stack.pop()
        for nxt in node.next_edges:
            if isinstance(nxt, Function):
                deps[nxt] = deps.get(nxt, 0) + 1
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
    return deps


def _apply_hooks(hooks: list, grad: Tensor) -> Tensor:
    for hook in hooks:
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


def _bad_grad_shape(node: Function, i: int, grad: Any, target_shape: tuple[int, ...]) -> None:
    raise RuntimeError(
        f"Function {node.name()} returned an invalid gradient at index {i}: got shape "
        f"{grad.shape} but expected shape {target_shape}"
    )


def _observe(
    node: Function,
    grad: Any,
    create_graph: bool,
    captured: list[Tensor | None] | None,
    capture_nodes: dict[Function, int],
) -> Tensor | np.ndarray:
    """What may look at a node's gradient before its backward runs: hooks registered on
    its output (which may replace the gradient), a retained ``.grad``, and
    ``autograd.grad`` collecting the gradient of one of its ``inputs``."""
    hooks = node._hooks
    if hooks:
        grad = _apply_hooks(hooks, _as_tensor(grad))
    retained = node._retained
    if retained is not None and (t := retained()) is not None:
        g = _as_tensor(grad)
        g = g if create_graph else g.detach()
        t.grad = g if t.grad is None else t.grad + g  # accumulates, as a leaf's
    if captured is not None and node in capture_nodes:
        i = capture_nodes[node]
        g = _as_tensor(grad)
        captured[i] = g if captured[i] is None else captured[i] + g
    return grad


def _as_tensor(grad: Tensor | np.ndarray) -> Tensor:
    """Gradients travel as plain arrays between array-mode nodes; wrap one for the API."""
    from minigrad.tensor import Tensor

    return grad if isinstance(grad, Tensor) else Tensor._from_op(np.asarray(grad), None)


def _refs_in_call(arr: Any) -> int:
    return sys.getrefcount(arr)


def _calibrate_refs() -> int:
    arr = np.empty(0)  # held by this variable alone
    return _refs_in_call(arr) - 1


# The references that a call like ``_engine_only(arr)`` itself adds to what
# ``sys.getrefcount`` reports (measured once, the same way, so right on any CPython).
_CALL_REFS = _calibrate_refs()


def _engine_only(arr: Any, holders: int) -> bool:
    """True when ``arr`` is an ndarray that owns its writeable memory and is referenced
    by the engine's ``holders`` references alone (the caller's variable among them): no
    other leaf, hook, retained ``.grad`` or view was given it, so the engine may keep it
    as a ``.grad`` or add into it in place."""
    return (
        type(arr) is np.ndarray
        and arr.base is None
        and arr.flags.writeable
        and sys.getrefcount(arr) <= _CALL_REFS + holders
    )


def _accumulate_leaf(
    leaf: Tensor, grad: Tensor | np.ndarray, create_graph: bool, exclusive: bool = False
) -> None:
    """Add ``grad`` into ``leaf.grad``. ``exclusive``: nothing but the engine holds the
    array ``grad`` (see ``run_backward``), so it may become ``.grad`` without a copy."""
    if leaf._hooks:
        grad = _apply_hooks(leaf._hooks, _as_tensor(grad))
    if grad.dtype != leaf.dtype:
        grad = _as_tensor(grad).to(leaf.dtype)
    if leaf.grad is None:
        if create_graph:
            leaf.grad = _as_tensor(grad)
        elif exclusive and type(grad) is np.ndarray:
            # Keep the array as ``.grad`` without a copy, as PyTorch's AccumulateGrad
            # steals a gradient that nobody else references.
            leaf.grad = Tensor._from_op(grad, None)
        else:
            # Copy: the same gradient array may also flow to another leaf (``a + b``
            # hands ``grad`` to both), and ``.grad`` is later changed in place.
            leaf.grad = Tensor._from_op(np.array(_as_tensor(grad).data, copy=True), None)
    elif create_graph or leaf.grad.requires_grad:
        leaf.grad = leaf.grad + _as_tensor(grad)
    else:
        leaf.grad.data += grad if type(grad) is np.ndarray else grad.data


def run_backward(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Tensor] | None = None,
) -> list[Tensor | None] | None:
    """Backpropagate ``root_grads`` from ``roots``.

    With ``inputs=None`` (``Tensor.backward``) gradients accumulate into the
    ``.grad`` of leaves. With ``inputs`` given (``autograd.grad``) nothing is
    accumulated: the gradients reaching those tensors are returned instead.
    """
    capture_nodes: dict[Function, int] = {}
    capture_leaves: dict[int, int] = {}
    captured: list[Tensor | None] | None = None
    if inputs is not None:
        captured = [None] * len(inputs)
        for i, t in enumerate(inputs):
            if t.grad_fn is not None:
                capture_nodes[t.grad_fn] = i
            else:
                capture_leaves[id(t)] = i

    # A leaf may receive several contributions (``x * x``): sum them first, then run its
    # hooks once on the total and store it, as PyTorch's AccumulateGrad node does.
    leaf_sums: dict[int, list] = {}

    def send_to_leaf(leaf: Tensor, grad: Tensor) -> None:
        if captured is not None and id(leaf) not in capture_leaves:
            return
        entry = leaf_sums.get(id(leaf))
        if entry is None:
            leaf_sums[id(leaf)] = [leaf, grad]
            return
        total = entry[1]
        if (
            type(grad) is np.ndarray
            and total.dtype == grad.dtype
            and total.shape == grad.shape
            and _engine_only(total, holders=2)  # this variable and the entry
        ):
            # Nothing else sees the running sum: add in place
            # rather than allocate a third array (a tied embedding is 154 MB in GPT-2).
            total += grad
        else:
            entry[1] = total + grad

    def flush_leaves() -> None:
        while leaf_sums:
            leaf, grad = leaf_sums.popitem()[1]
            if captured is None:
                exclusive = _engine_only(grad, holders=1)  # this variable alone
                _accumulate_leaf(leaf, grad, create_graph, exclusive)
                continue
            grad = _as_tensor(grad)
            if leaf._hooks:
                grad = _apply_hooks(leaf._hooks, grad)
            captured[capture_leaves[id(leaf)]] = grad

    grads: dict[Function, Tensor] = {}
    root_nodes: list[Function] = []
    for root, g in zip(roots, root_grads):
        node = root.grad_fn
        if node is None:
            send_to_leaf(root, g)
        elif node in grads:
            grads[node] = grads[node] + g
        else:
            grads[node] = g
            root_nodes.append(node)

    deps = _count_dependencies(root_nodes)
    ready = [n for n in root_nodes if deps.get(n, 0) == 0]
    prev_mode = _state.enabled
    _state.enabled = create_graph
    check_anomaly = anomaly._state.enabled
    array_mode = not create_graph
    try:
        while ready:
            node = ready.pop()
            grad = grads.pop(node, None)
            edges = node.next_edges
            if grad is None:  # no gradient reached this node: only pass the count on
                for nxt in edges:
                    if isinstance(nxt, Function):
                        deps[nxt] -= 1
                        if deps[nxt] == 0:
                            ready.append(nxt)
                continue
            if node._hooks or node._retained is not None or captured is not None:
                grad = _observe(node, grad, create_graph, captured, capture_nodes)

            # Array mode: no graph is being recorded and the node's backward formula also
            # runs on plain ndarrays, so it gets (and returns) arrays: the same formula,
            # without a Tensor wrapper around every intermediate.
            if array_mode and node.array_backward:
                grad = grad.data if isinstance(grad, Tensor) else grad
            elif not isinstance(grad, Tensor):
                grad = Tensor._from_op(np.asarray(grad), None)
            in_grads = node.backward(node, grad)
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            if len(in_grads) != len(edges):
                raise RuntimeError(
                    f"Function {node.name()} returned {len(in_grads)} gradients, "
                    f"expected {len(edges)}"
                )
            if check_anomaly:
                anomaly.check_gradients(node, in_grads)
            if not retain_graph:
                node.release()

            for i, (nxt, g) in enumerate(zip(edges, in_grads)):
                if isinstance(nxt, Function):
                    if g is not None:
                        prev = grads.get(nxt)
                        grads[nxt] = g if prev is None else prev + g
                    deps[nxt] -= 1
                    if deps[nxt] == 0:
                        ready.append(nxt)
                elif nxt is not None and g is not None:
                    if g.shape != nxt.data.shape:
                        _bad_grad_shape(node, i, g, nxt.data.shape)
                    send_to_leaf(nxt, g)
        # Drop this frame's references to the last gradients, so that flush_leaves can
        # tell an array that only the leaf sums still hold.
        grad = in_grads = g = None
        flush_leaves()
    finally:
        _state.enabled = prev_mode
    return captured
