"""The backward pass users run: the core's walk (``minigrad.core.GraphTask``, read it
first) with what PyTorch's engine also does.

- **Hooks**: a hook registered on a non-leaf tensor sees (and may replace) the
  gradient of its node's output before the node's backward runs; a leaf's hooks see
  the *sum* of its contributions, once, as PyTorch's ``AccumulateGrad`` does.
- **retain_grad**: a non-leaf that asked keeps its gradient in ``.grad``.
- **autograd.grad**: the gradients reaching the requested inputs are collected and
  returned instead of accumulated (``inputs=``).
- **anomaly mode**: every gradient a node returns is checked for NaN/inf.
- Gradients arriving in a leaf's dtype or shape are checked and cast.

The fast engine (``minigrad/fast/``) subclasses this task with its optimisations;
``minigrad.set_reference_mode(True)`` makes ``run_backward`` use this one alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.autograd import anomaly, views
from minigrad.autograd.function import check_output_unchanged
from minigrad.autograd.hooks import POST_ACCUMULATE, run_post_accumulate
from minigrad.core.autograd import Function, _freed_message
from minigrad.core.autograd import GraphTask as CoreGraphTask
from minigrad.tensor import Tensor


def as_tensor(grad: Any) -> Tensor:
    """Gradients may travel as bare arrays (the fast engine's array mode): wrap one."""
    return grad if isinstance(grad, Tensor) else Tensor._from_op(np.asarray(grad), None)


def _apply_hooks(hooks: list, grad: Tensor) -> Tensor:
    for hook in hooks:
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


class GraphTask(CoreGraphTask):
    """One backward pass with hooks, retained gradients, ``inputs=`` capture and anomaly
    checks (see the module docstring)."""

    def __init__(
        self, retain_graph: bool, create_graph: bool, inputs: Sequence[Tensor] | None = None
    ) -> None:
        super().__init__(retain_graph, create_graph)
        self.check_anomaly = anomaly._state.enabled
        # A leaf may receive several contributions (``x * x``): they are summed here,
        # and its hooks run once on the total in ``finish``.
        self.leaf_sums: dict[int, list] = {}
        self.captured: list[Tensor | None] | None = None
        self.capture_nodes: dict[Function, list[int]] = {}
        self.capture_leaves: dict[int, list[int]] = {}
        if inputs is not None:
            self.captured = [None] * len(inputs)
            for i, t in enumerate(inputs):
                if t.grad_fn is not None:
                    self.capture_nodes.setdefault(t.grad_fn, []).append(i)
                else:
                    self.capture_leaves.setdefault(id(t), []).append(i)

    node: Function | None = None  # the node whose gradients are being sent (for errors)

    def call(self, node: Function, grad: Any) -> tuple[Any, ...]:
        self.node = node
        if node.needs_input_grad is None:  # released by an earlier backward
            raise RuntimeError(_freed_message(node))
        if node._output_written:
            check_output_unchanged(node)
        if node._hooks or node._retained is not None or self.captured is not None:
            grad = self.observe(node, grad)
        if not self.check_anomaly:
            return super().call(node, grad)
        where = getattr(node, "_creation_stack", None)  # (release clears the node)
        in_grads = super().call(node, grad)
        anomaly.check_gradients(node, in_grads, where)
        return in_grads

    def observe(self, node: Function, grad: Any) -> Any:
        """What looks at a node's output gradient before its backward: hooks on the
        output (which may replace it), a retained ``.grad``, ``inputs=`` capture."""
        if node._hooks:
            grad = _apply_hooks(node._hooks, as_tensor(grad))
        if node._retained is not None and (t := node._retained()) is not None:
            g = as_tensor(grad)
            g = g if self.create_graph else g.detach()
            t.grad = g if t.grad is None else t.grad + g  # accumulates, as a leaf's
        for i in self.capture_nodes.get(node, ()):
            self._capture(i, as_tensor(grad))
        return grad

    def _capture(self, i: int, g: Tensor) -> None:
        assert self.captured is not None
        self.captured[i] = g if self.captured[i] is None else self.captured[i] + g

    def to_leaf(self, leaf: Tensor, grad: Any) -> None:
        if grad.shape != leaf.data.shape:
            who = self.node.name() if self.node is not None else "backward"
            raise RuntimeError(
                f"Function {who} returned an invalid gradient for a leaf: got shape "
                f"{grad.shape} but expected shape {leaf.data.shape}"
            )
        if self.captured is not None and id(leaf) not in self.capture_leaves:
            return
        entry = self.leaf_sums.get(id(leaf))
        if entry is None:
            self.leaf_sums[id(leaf)] = [leaf, grad]
        else:
            entry[1] = self.add_to_sum(entry[1], grad)

    def add_to_sum(self, total: Any, grad: Any) -> Any:
        return total + grad

    def finish(self) -> None:
        while self.leaf_sums:
            leaf, grad = self.leaf_sums.popitem()[1]
            if leaf._hooks:
                grad = _apply_hooks(leaf._hooks, as_tensor(grad))
            if self.captured is not None:
                for i in self.capture_leaves[id(leaf)]:
                    self._capture(i, as_tensor(grad))
            else:
                self.accumulate(leaf, grad)
                if POST_ACCUMULATE and id(leaf) in POST_ACCUMULATE:
                    run_post_accumulate(leaf)

    def accumulate(self, leaf: Tensor, grad: Any) -> None:
        """Add ``grad`` into ``leaf.grad`` (the core's copy rule, in the leaf's dtype)."""
        if grad.dtype != leaf.dtype:
            grad = as_tensor(grad).to(leaf.dtype)
        if leaf.grad is not None and leaf.grad.requires_grad and not self.create_graph:
            leaf.grad = leaf.grad + as_tensor(grad)  # a graph-carrying .grad stays one
            return
        super().to_leaf(leaf, as_tensor(grad))


def run_backward(
    roots: Sequence[Tensor],
    root_grads: Sequence[Tensor],
    retain_graph: bool,
    create_graph: bool,
    inputs: Sequence[Tensor] | None = None,
) -> list[Tensor | None] | None:
    """Backpropagate ``root_grads`` from ``roots``: into the leaves' ``.grad``
    (``inputs=None``, as ``Tensor.backward``), or, with ``inputs`` (``autograd.grad``),
    returning the gradients that reach them and accumulating nothing."""
    views.rebase_stale_views(tuple(roots))  # a root may be a view whose base was written
    task = _TASK[0](retain_graph, create_graph, inputs)
    task.run(roots, root_grads)
    return task.captured


_TASK: list[type[GraphTask]] = [GraphTask]  # set by ``minigrad.fast`` when it is enabled
