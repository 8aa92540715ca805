"""Forward-mode automatic differentiation, as ``torch.autograd.forward_ad``.

A *dual tensor* carries a tangent ẋ beside its value x: think of x + εẋ with ε² = 0.
Every op applied to dual tensors computes, beside its value, the tangent of its output,
ẏ = J ẋ (the op's ``jvp``, written beside its ``backward``), so one forward pass gives
the Jacobian-vector product J v of a whole program, at about the cost of the program:

    with forward_ad.dual_level():
        x = forward_ad.make_dual(x0, v)
        y = f(x)
        jv = forward_ad.unpack_dual(y).tangent

Reverse mode gives a row of the Jacobian per backward pass (vᵀJ); forward mode a column
per forward pass: forward mode is the cheaper one for functions with few inputs and
many outputs. The tangents are Tensors computed by recorded ops, so forward and reverse
mode compose (``minigrad.func.hessian`` is forward-over-reverse).

One level is open at a time (PyTorch's ``forward_ad`` has the same restriction); when it
closes, the tangents of the tensors made inside it are dropped.
"""

from __future__ import annotations

import weakref
from typing import Any, NamedTuple

from minigrad.core import primitives as P
from minigrad.core.autograd import Tensor
from minigrad.core.grad_mode import _state

__all__ = ["UnpackedDualTensor", "dual_level", "enter_dual_level", "exit_dual_level"]
__all__ += ["make_dual", "unpack_dual"]


class UnpackedDualTensor(NamedTuple):
    """What ``unpack_dual`` returns: the value and its tangent (None if it has none)."""

    primal: Tensor
    tangent: Tensor | None


class _Level:
    """An open dual level: remembers (weakly) the tensors that got a tangent in it."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.duals: list[weakref.ref] = []

    def track(self, t: Tensor) -> None:
        self.duals.append(weakref.ref(t))

    def __bool__(self) -> bool:
        return True


def track(out: Tensor) -> None:
    """Called by ``Function.apply`` for an output that got a tangent."""
    level = _state.forward
    if isinstance(level, _Level):
        level.track(out)


def enter_dual_level() -> int:
    """Open a dual level (ops on dual tensors carry tangents until it is closed)."""
    from minigrad.autograd import jvp_rules  # noqa: F401  (attaches the rules)

    if _state.forward:
        raise RuntimeError(
            "enter_dual_level: a dual level is already open; nested forward-mode AD is not "
            "supported (use minigrad.func.jvp over minigrad.func.vjp/grad to compose modes)"
        )
    _state.forward = _Level(0)
    return 0


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the open dual level: every tangent made inside it is dropped."""
    current = _state.forward
    if not isinstance(current, _Level):
        raise RuntimeError("exit_dual_level: no dual level is open")
    _state.forward = False
    for ref in current.duals:
        t = ref()
        if t is not None:
            t._fw = None
            if t.grad_fn is not None:
                t.grad_fn._out_fw = None


class dual_level:
    """Context manager: ``with dual_level(): ...`` opens a level for forward-mode AD."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: object) -> None:
        exit_dual_level()


def _alias(t: Tensor) -> Tensor:
    """A view of ``t``: the same array and graph position (gradients flow back to t)."""
    level, _state.forward = _state.forward, False
    try:
        return P.Reshape.apply(t, shape=t.shape)
    finally:
        _state.forward = level


def make_dual(tensor: Tensor, tangent: Any, *, level: int | None = None) -> Tensor:
    """A view of ``tensor`` carrying ``tangent`` (same shape, floating point): x + εẋ."""
    if not isinstance(_state.forward, _Level):
        raise RuntimeError(
            "make_dual: no dual level is open; call it inside `with forward_ad.dual_level():`"
        )
    if not isinstance(tangent, Tensor):
        tangent = Tensor(tangent, dtype=tensor.dtype)
    if tensor.dtype.kind != "f" or tangent.dtype.kind != "f":
        raise ValueError(
            f"make_dual: expected floating point primal and tangent, got {tensor.dtype} and "
            f"{tangent.dtype}"
        )
    if tangent.shape != tensor.shape:
        raise RuntimeError(
            f"make_dual: trying to set a forward gradient of shape {tangent.shape} on a tensor "
            f"of shape {tensor.shape}: the shapes must be equal"
        )
    if tangent.dtype != tensor.dtype:
        tangent = P.cast(tangent, tensor.dtype)
    out = _alias(tensor)
    out._fw = tangent
    _state.forward.track(out)
    return out


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)``: a view of the value without its tangent, and the tangent
    (None when ``tensor`` is not dual)."""
    tangent = tensor._fw if _state.forward else None
    if tangent is None:
        return UnpackedDualTensor(tensor, None)
    return UnpackedDualTensor(_alias(tensor), tangent)
