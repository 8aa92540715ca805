"""One declaration per op: from it come the export, the Tensor methods and operators.

An op is declared where it is written, on its public function::

    @op(methods=("mul", "multiply"), operators=("__mul__", "__rmul__"))
    def mul(a, b): ...

``minigrad.ops`` exports every declared function under its name (``minigrad.mul``),
and ``minigrad/_methods.py`` attaches each method and operator to ``Tensor``:
``x.mul(y)``, ``x * y`` and ``2 * x`` (a reflected operator, ``__r...__``, calls the
function with its operands swapped). Adding an op therefore touches its module and
its registry entry in ``tests/op_registry.py``, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class OpDeclaration:
    name: str  # the exported name: minigrad.<name>
    fn: Callable[..., Any]
    methods: tuple[str, ...]  # Tensor methods that call fn(self, ...)
    operators: tuple[str, ...]  # Python operators; __rX__ calls fn(other, self)
    aliases: tuple[str, ...]  # further exported names (minigrad.multiply, ...)


DECLARED: dict[str, OpDeclaration] = {}


def op(
    methods: Sequence[str] | bool = True,
    operators: Sequence[str] = (),
    aliases: Sequence[str] = (),
    name: str | None = None,
) -> Callable[[F], F]:
    """Declare the decorated function a public op. ``methods=True`` (the default) makes
    it a Tensor method of the same name, ``False`` none; ``aliases`` are exported too."""

    def declare(fn: F) -> F:
        key = name or fn.__name__
        if key in DECLARED:
            raise RuntimeError(f"op {key!r} is declared twice")
        m = (key,) if methods is True else () if methods is False else tuple(methods)
        DECLARED[key] = OpDeclaration(key, fn, m, tuple(operators), tuple(aliases))
        return fn

    return declare


def reflected(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with its two operands swapped: what ``2 * x`` calls (``x.__rmul__(2)``)."""
    return lambda x, other: fn(other, x)


def exports() -> dict[str, Callable[..., Any]]:
    """Every declared op under its name and aliases."""
    out: dict[str, Callable[..., Any]] = {}
    for d in DECLARED.values():
        for n in (d.name, *d.aliases):
            out[n] = d.fn
    return out


def tensor_members() -> dict[str, Callable[..., Any]]:
    """Every declared method and operator, ready to set on ``Tensor``."""
    out: dict[str, Callable[..., Any]] = {}
    for d in DECLARED.values():
        for m in d.methods:
            out[m] = d.fn
        for o in d.operators:
            out[o] = reflected(d.fn) if o.startswith("__r") and o != "__rshift__" else d.fn
    return out
