"""What every batching rule needs: binding an op's arguments, unwrapping the batched
ones, moving their batch dimension into place and wrapping the result.

Conventions. A rule runs at one ``level``; an argument *batched* at it is a
BatchedTensor of that level, whose ``value`` (the physical tensor) has the batch at
dimension 0 and the example's dimensions after it. Every other argument is unbatched
(constant over the batch). A rule calls ordinary ops through :func:`op`, which
dispatches again, so the same code serves plain Tensors and lower vmap levels.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from minigrad.batching.batched import BatchedTensor
from minigrad.batching.dispatch import batch_size, call, entry_points
from minigrad.core.autograd import Tensor

__all__ = [
    "Bound",
    "batched",
    "is_b",
    "logical_ndim",
    "norm_dim",
    "op",
    "wrap",
]


@functools.cache
def _fn(name: str) -> Callable[..., Any]:
    return entry_points()[name]


def op(name: str, *args: Any, **kwargs: Any) -> Any:
    """The public op ``name`` on ``args`` (dispatching: lower levels are batched too)."""
    return call(name, _fn(name), args, kwargs)


def is_b(x: Any, level: int) -> bool:
    return isinstance(x, BatchedTensor) and x.level == level


def is_tensor(x: Any) -> bool:
    return isinstance(x, (Tensor, BatchedTensor))


def logical_ndim(x: Any) -> int:
    return x.ndim if is_tensor(x) else 0


def wrap(out: Any, level: int) -> Any:
    """The result of an op on physical tensors, as BatchedTensors of ``level``."""
    if isinstance(out, (Tensor, BatchedTensor)):
        return BatchedTensor(out, level)
    if isinstance(out, (list, tuple)):
        items = [wrap(o, level) for o in out]
        return type(out)(*items) if hasattr(out, "_fields") else type(out)(items)
    return out


def batched(x: Any, level: int, nd: int | None = None) -> Any:
    """The physical tensor of ``x`` with its batch at dimension 0 (an unbatched ``x`` is
    expanded over the batch) and, if ``nd`` is given, 1s inserted after the batch so
    the example has ``nd`` dimensions (aligned on the right, as broadcasting aligns)."""
    if is_b(x, level):
        v = x.value
    else:
        if not is_tensor(x):
            x = _scalar_tensor(x)
        v = op("expand", op("unsqueeze", x, 0), batch_size(level), *x.shape)
    k = v.ndim - 1
    if nd is not None and k < nd:
        v = op("reshape", v, (v.shape[0],) + (1,) * (nd - k) + tuple(v.shape[1:]))
    return v


def _scalar_tensor(x: Any) -> Tensor:
    from minigrad.ops.helpers import as_tensor

    return as_tensor(x)


def pad_to(x: Any, level: int, nd: int) -> Any:
    """``x`` unwrapped for broadcasting against examples of ``nd`` dimensions: batched
    values get 1s after the batch dimension; unbatched ones pass as they are."""
    if is_b(x, level):
        return batched(x, level, nd)
    return x


def norm_dim(d: int, nd: int, name: str) -> int:
    """``d`` in [0, nd) (PyTorch's IndexError otherwise); 0-d tensors accept 0 and -1."""
    n = max(nd, 1)
    if not -n <= d < n:
        raise IndexError(
            f"{name}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
            f"but got {d})"
        )
    return d % n


def shift(d: Any, nd: int, name: str) -> Any:
    """A logical dim (or a tuple/list of them) as the physical one: one more."""
    if isinstance(d, (tuple, list)):
        return type(d)(norm_dim(int(e), nd, name) + 1 for e in d)
    return norm_dim(int(d), nd, name) + 1


class Bound:
    """An op's arguments by parameter name (``inspect.Signature.bind``), to edit and
    call with: ``b["dim"]``, ``b.get("dim", default)``, ``b["dim"] = 2``, ``b.call()``."""

    def __init__(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        self.fn = fn
        self.ba = _signature(fn).bind(*args, **kwargs)
        self.first = next(iter(_signature(fn).parameters))

    def get(self, name: str, default: Any = None) -> Any:
        if name in self.ba.arguments:
            return self.ba.arguments[name]
        p = _signature(self.fn).parameters.get(name)
        return default if p is None or p.default is inspect.Parameter.empty else p.default

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __setitem__(self, name: str, value: Any) -> None:
        self.ba.arguments[name] = value

    def has(self, name: str) -> bool:
        return name in _signature(self.fn).parameters

    def call(self) -> Any:
        return self.fn(*self.ba.args, **self.ba.kwargs)


@functools.cache
def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(fn)
