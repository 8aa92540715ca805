"""Hooks that watch the backward pass from outside a tensor's own gradient hook:

- ``Tensor.register_post_accumulate_grad_hook(hook)``: ``hook(leaf)`` runs right after
  backward has added into ``leaf.grad`` (an optimizer step per parameter, as
  PyTorch's), once per backward;
- ``Module.register_full_backward_pre_hook(hook)``: ``hook(module, grad_output)`` runs
  when the gradients of the module's outputs are known, and may return replacements;
- ``Module.register_full_backward_hook(hook)``: ``hook(module, grad_input, grad_output)``
  runs when the gradients of its tensor inputs are known, and may return replacements
  for ``grad_input``.

The module hooks work as PyTorch's ``BackwardHook``: the inputs and outputs of the call
pass through identity nodes (one several-output node each side), whose backward sees
the gradients and calls the hooks.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from minigrad.autograd.custom_function import custom
from minigrad.autograd.function import Function
from minigrad.tensor import RemovableHandle, Tensor

# id(leaf) -> its hooks; the entry goes when the leaf is freed (tensors compare
# elementwise, so they cannot be keys of a WeakKeyDictionary).
POST_ACCUMULATE: dict[int, list] = {}


def register_post_accumulate_grad_hook(self: Tensor, hook: Callable[[Tensor], None]) -> Any:
    """Run ``hook(self)`` after each backward has accumulated into ``self.grad``."""
    if self.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    key = id(self)
    if key not in POST_ACCUMULATE:
        POST_ACCUMULATE[key] = []
        weakref.finalize(self, POST_ACCUMULATE.pop, key, None)
    hooks = POST_ACCUMULATE[key]
    hooks.append(hook)
    return RemovableHandle(hooks, hook)


def run_post_accumulate(leaf: Tensor) -> None:
    for hook in list(POST_ACCUMULATE.get(id(leaf), ())):
        hook(leaf)


@custom
class BackwardHook(Function):
    """Identity on several tensors; its backward hands the incoming gradients to
    ``ctx.on_grads`` and returns what that gives back (the hooks' replacements)."""

    @staticmethod
    def forward(ctx, *xs, on_grads):
        ctx.on_grads = on_grads
        return tuple(x.copy() for x in xs)

    @staticmethod
    def backward(ctx, *grads):
        out = tuple(ctx.on_grads(grads))
        return out if len(out) != 1 else out[0]


def _identity_through(tensors: list[Tensor], on_grads: Callable) -> list[Tensor]:
    out = BackwardHook.apply(*tensors, on_grads=on_grads)
    return list(out) if isinstance(out, tuple) else [out]


def call_with_backward_hooks(module: Any, args: tuple, kwargs: dict, forward: Callable) -> Any:
    """``forward(*args, **kwargs)`` with the module's full backward (pre-)hooks wired in."""
    state: dict[str, Any] = {"grad_output": None}
    slots = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]

    def on_inputs(grads: tuple) -> tuple:
        grad_input = tuple(grads)
        for hook in list(module._backward_hooks.values()):
            result = hook(module, grad_input, state["grad_output"])
            if result is not None:
                grad_input = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        return grad_input

    if slots:
        passed = _identity_through([args[i] for i in slots], on_inputs)
        args = list(args)
        for i, t in zip(slots, passed):
            args[i] = t
        args = tuple(args)
    out = forward(*args, **kwargs)
    outs = out if isinstance(out, tuple) else (out,)
    tensor_slots = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if not tensor_slots:
        return out

    def on_outputs(grads: tuple) -> tuple:
        grad_output = tuple(grads)
        for hook in list(module._backward_pre_hooks.values()):
            result = hook(module, grad_output)
            if result is not None:
                grad_output = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        state["grad_output"] = grad_output
        if not slots and module._backward_hooks:  # no input needs a gradient
            for hook in list(module._backward_hooks.values()):
                hook(module, (None,), grad_output)
        return grad_output

    passed = _identity_through([outs[i] for i in tensor_slots], on_outputs)
    new = list(outs)
    for i, t in zip(tensor_slots, passed):
        new[i] = t
    return tuple(new) if isinstance(out, tuple) else new[0]


def register_full_backward_hook(self: Any, hook: Callable) -> Any:
    """``hook(module, grad_input, grad_output)`` after the gradients of the inputs."""
    from minigrad.nn.modules.module import RemovableHandle as ModuleHandle

    handle = ModuleHandle(self._backward_hooks)
    self._backward_hooks[handle.id] = hook
    return handle


def register_full_backward_pre_hook(self: Any, hook: Callable) -> Any:
    """``hook(module, grad_output)`` when the gradients of the outputs are known."""
    from minigrad.nn.modules.module import RemovableHandle as ModuleHandle

    handle = ModuleHandle(self._backward_pre_hooks)
    self._backward_pre_hooks[handle.id] = hook
    return handle


Tensor.register_post_accumulate_grad_hook = register_post_accumulate_grad_hook
