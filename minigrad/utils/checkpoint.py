"""Activation checkpointing: trade compute for memory.

A plain forward pass keeps, for every recorded op, the arrays its backward needs, so
a deep network holds all its intermediate activations until the backward pass.
``checkpoint(fn, *args)`` instead runs ``fn`` without recording (under ``no_grad``),
keeps only its inputs, and in the backward pass runs ``fn`` again, this time recording,
and backpropagates through that recomputation:

    forward:   y = fn(x)                      (nothing of fn's inside is kept)
    backward:  y' = fn(x) recorded;  dx = (∂y'/∂x)ᵀ dy,  dθ = (∂y'/∂θ)ᵀ dy

The recomputation equals the first run (``preserve_rng_state`` restores the random
generator, so dropout draws the same masks), so the gradients are those of the plain
backward, for the memory of one segment's activations at a time.

Gradients of parameters. The tensors passed as arguments, and the parameters of ``fn``
when it is a Module (or a Module's bound method), are inputs of the checkpoint node:
their gradients flow through the graph like any op's, so both ``backward()`` and
``minigrad.autograd.grad`` see them. Any other leaf that ``fn`` reaches (a tensor
captured in a closure) is found in the recomputed graph and gets its gradient
accumulated into ``.grad`` during the backward pass, as in PyTorch's reentrant variant;
``autograd.grad`` with respect to such a captured tensor is not supported (pass it as
an argument instead). A tuple of outputs travels through the node as one flat
tensor. ``use_reentrant`` is accepted for PyTorch compatibility; both
values behave as described here.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad import random
from minigrad.autograd import enable_grad, grad, is_grad_enabled, no_grad
from minigrad.autograd.function import Function
from minigrad.ops import cat, reshape
from minigrad.tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


def _module_parameters(fn: Any) -> list[Tensor]:
    from minigrad.nn.modules.module import Module

    owner = fn if isinstance(fn, Module) else getattr(fn, "__self__", None)
    if isinstance(owner, Module):
        return [p for p in owner.parameters() if p.requires_grad]
    return []


def _leaves(out: Tensor) -> list[Tensor]:
    """The leaf tensors requiring grad that ``out``'s recorded graph reaches."""
    found, seen = {}, set()
    stack = [out.grad_fn] if out.grad_fn is not None else []
    while stack:
        node = stack.pop()
        for nxt in node.next_edges:
            if isinstance(nxt, Function):
                if id(nxt) not in seen:
                    seen.add(id(nxt))
                    stack.append(nxt)
            elif isinstance(nxt, Tensor):
                found[id(nxt)] = nxt
    return list(found.values())


class CheckpointFunction(Function):
    """One graph node for the whole of ``fn``: forward runs it unrecorded, backward runs
    it again recorded and differentiates the recomputation (see the module docstring).
    Its inputs are the tensor arguments followed by the module's parameters."""

    @staticmethod
    def forward(ctx, *arrays, fn, args, n_tensors, params, rng_state):
        ctx.fn, ctx.args, ctx.n_tensors, ctx.params, ctx.rng_state = (
            fn,
            args,
            n_tensors,
            params,
            rng_state,
        )
        with no_grad():
            out = fn(*args)
        if not isinstance(out, Tensor):
            raise TypeError(
                "checkpoint: the checkpointed function must return one Tensor or a tuple of "
                f"Tensors, got {type(out).__name__}"
            )
        return out.data

    @staticmethod
    def backward(ctx, g):
        tensors = [a for a in ctx.args if isinstance(a, Tensor)]
        detached = {id(t): t.detach().requires_grad_(t.requires_grad) for t in tensors}
        args = [detached[id(a)] if isinstance(a, Tensor) else a for a in ctx.args]
        gen = random.generator().bit_generator
        current = gen.state
        if ctx.rng_state is not None:
            gen.state = ctx.rng_state
        try:
            with enable_grad():
                out = ctx.fn(*args)
        finally:
            if ctx.rng_state is not None:
                gen.state = current
        if not out.requires_grad:
            return (None,) * (ctx.n_tensors + len(ctx.params))
        inputs = [detached[id(t)] for t in tensors]
        known = {id(t) for t in inputs} | {id(p) for p in ctx.params}
        others = [leaf for leaf in _leaves(out) if id(leaf) not in known]
        wanted = [t for t in inputs if t.requires_grad] + list(ctx.params) + others
        grads = list(grad(out, wanted, g, allow_unused=True)) if wanted else []
        by_id = {id(t): gr for t, gr in zip(wanted, grads)}
        for leaf in others:  # captured leaves: accumulate, as a reentrant backward does
            gr = by_id[id(leaf)]
            if gr is not None:
                with no_grad():
                    leaf.grad = gr.detach() if leaf.grad is None else leaf.grad + gr.detach()
        result = [by_id.get(id(t)) for t in inputs] + [by_id.get(id(p)) for p in ctx.params]
        return tuple(result)


def checkpoint(
    function: Callable[..., Tensor],
    *args: Any,
    use_reentrant: bool | None = None,
    preserve_rng_state: bool = True,
    **kwargs: Any,
) -> Tensor:
    """``function(*args, **kwargs)``, recomputed in the backward pass instead of keeping
    its intermediate activations. ``function`` returns one Tensor or a tuple of Tensors
    of one dtype (Nones allowed)."""
    if kwargs:
        fn = function

        def function(*a: Any) -> Tensor:  # noqa: F811
            return fn(*a, **kwargs)

        function.__self__ = getattr(fn, "__self__", fn)  # type: ignore[attr-defined]
    if not is_grad_enabled():
        return function(*args)
    params = _module_parameters(function)
    tensors = [a for a in args if isinstance(a, Tensor)]
    state = copy.deepcopy(random.generator().bit_generator.state) if preserve_rng_state else None
    if not any(t.requires_grad for t in (*tensors, *params)):
        warnings.warn(
            "checkpoint: none of the inputs have requires_grad=True (and fn is not a Module "
            "with trainable parameters); gradients will be None, also for tensors fn "
            "captures: pass those as arguments",
            stacklevel=2,
        )
    layout: dict[str, Any] = {}
    flat = CheckpointFunction.apply(
        *tensors,
        *params,
        fn=_flattening(function, layout),
        args=args,
        n_tensors=len(tensors),
        params=params,
        rng_state=state,
    )
    return _unflatten(flat, layout)


def _flattening(fn: Callable[..., Any], layout: dict[str, Any]) -> Callable[..., Any]:
    """``fn`` with a tuple (or list) of Tensors (or Nones) as output turned into one flat
    Tensor (the checkpoint node has one output); ``layout`` records how to undo it. The
    Module owning ``fn`` stays visible (``__self__``) for its parameters."""

    def flat(*args: Any) -> Any:
        out = fn(*args)
        if not isinstance(out, (tuple, list)):
            return out
        parts = [o for o in out if o is not None]
        if not parts or not all(isinstance(o, Tensor) for o in parts):
            raise TypeError(
                "checkpoint: the checkpointed function must return one Tensor or a tuple of "
                f"Tensors, got {type(out).__name__} of {[type(o).__name__ for o in out]}"
            )
        if len({o.dtype for o in parts}) > 1:
            raise TypeError("checkpoint: the returned tensors must share one dtype")
        layout.update(kind=type(out), shapes=[None if o is None else o.shape for o in out])
        return cat([reshape(o, (-1,)) for o in parts])

    flat.__self__ = getattr(fn, "__self__", fn)  # type: ignore[attr-defined]
    return flat


def _unflatten(flat: Tensor, layout: dict[str, Any]) -> Any:
    if not layout:
        return flat
    out, start = [], 0
    for shape in layout["shapes"]:
        if shape is None:
            out.append(None)
            continue
        n = int(np.prod(shape))
        out.append(reshape(flat[start : start + n], shape))
        start += n
    return layout["kind"](out)


def _chain(fns: list, sequential: type) -> Callable[[Tensor], Tensor]:
    """The functions applied in turn: a Sequential when they are all modules (so their
    parameters are inputs of the checkpoint), otherwise a plain closure."""
    from minigrad.nn.modules.module import Module

    if all(isinstance(f, Module) for f in fns):
        return sequential(*fns)

    def run(x: Tensor) -> Tensor:
        for f in fns:
            x = f(x)
        return x

    return run


def checkpoint_sequential(
    functions: Sequence[Callable[[Tensor], Tensor]] | Any,
    segments: int,
    input: Tensor,
    use_reentrant: bool | None = None,
    preserve_rng_state: bool = True,
) -> Tensor:
    """Run ``functions`` (a Sequential or a list of modules) in ``segments`` chunks, each
    checkpointed except the last (whose activations the backward needs first anyway),
    as ``torch.utils.checkpoint.checkpoint_sequential``."""
    from minigrad.nn.modules.container import Sequential

    fns = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be positive, got {segments}")
    size = max(1, len(fns) // segments)
    x, end = input, -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        x = checkpoint(
            _chain(fns[start : end + 1], Sequential),
            x,
            use_reentrant=use_reentrant,
            preserve_rng_state=preserve_rng_state,
        )
    for f in fns[end + 1 :]:
        x = f(x)
    return x
