"""Fused kernels and the compositions that define them.

A fused kernel is one graph node (a :class:`~minigrad.autograd.Function`) computing
what a chain of primitive ops would, with its backward derived in closed form in its
docstring: fewer nodes, fewer activation-sized temporaries, in-place arithmetic. It
is an optimisation, so it must not change a result. Each kernel therefore has, right
after its class, a ``reference``: the few lines composing the same function from the
core's primitives and public ops, registered here with ``@reference_of(Kernel)``::

    class Softmax(Function): ...          # fused: forward and derived backward

    @reference_of(Softmax)
    def softmax_reference(x, axis):       # the definition, autodiff does the rest
        e = exp(x - amax(x, axis, keepdim=True).detach())
        return e / sum(e, axis, keepdim=True)

The public function runs the kernel while ``minigrad.fast.enabled()`` and the
reference otherwise (reference mode: ``MINIGRAD_REFERENCE=1`` or
``minigrad.set_reference_mode(True)``). ``tests/test_fused_reference.py`` checks, for
every entry of :data:`FUSED`, that both give the same values and gradients in float64,
and that every Function outside the core is either here or an op with its own
derivative.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R", bound=Callable[..., Any])

FUSED: dict[type, Callable[..., Any]] = {}
"""Every fused kernel class -> the reference composition that defines it."""


def reference_of(kernel: type) -> Callable[[R], R]:
    """Register the decorated function as ``kernel``'s reference composition."""

    def register(fn: R) -> R:
        if kernel in FUSED:
            raise RuntimeError(f"{kernel.__name__} has a reference already: {FUSED[kernel]}")
        FUSED[kernel] = fn
        fn.kernel = kernel  # type: ignore[attr-defined]
        return fn

    return register
