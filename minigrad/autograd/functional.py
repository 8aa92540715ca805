"""Higher-level derivatives, as ``torch.autograd.functional``: ``jacobian``, ``hessian``,
``hvp`` (H v) and ``vhp`` (vᵀ H), built on :mod:`minigrad.func`.

``inputs`` is a Tensor or a tuple of Tensors; the results follow PyTorch's nesting (a
Tensor for one input and one output, tuples otherwise). ``create_graph=True`` keeps
the results differentiable; ``strict`` refuses outputs independent of an input;
``vectorize`` is accepted (the Jacobian is computed row by row either way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.core.autograd import Tensor

__all__ = ["hessian", "hvp", "jacobian", "vhp"]


def _tuple(x: Any) -> tuple[tuple, bool]:
    return (tuple(x), True) if isinstance(x, (tuple, list)) else ((x,), False)


def _finish(t: Tensor, create_graph: bool) -> Tensor:
    return t if create_graph else t.detach()


def _check_strict(jac: Tensor, name: str, i: int, j: int) -> None:
    if not jac.requires_grad and not np.any(jac.data):
        raise RuntimeError(
            f"{name}: output {i} is independent of input {j} (strict=True): its Jacobian is 0"
        )


def jacobian(
    func: Callable,
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """∂func(inputs)/∂inputs: one block of shape ``out.shape + in.shape`` per pair."""
    from minigrad import func as mf

    ins, multi_in = _tuple(inputs)
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(
            f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got {strategy!r}"
        )
    ins = tuple(x if create_graph else x.detach() for x in ins)
    jac_fn = mf.jacrev if strategy == "reverse-mode" else mf.jacfwd
    multi_out = isinstance(func(*ins), (tuple, list))
    out = jac_fn(func, tuple(range(len(ins))))(*ins)
    outs = tuple(out) if multi_out else (out,)
    res = tuple(tuple(_finish(b, create_graph) for b in row) for row in outs)
    if strict:
        for i, row in enumerate(res):
            for j, b in enumerate(row):
                _check_strict(b, "jacobian", i, j)
    res = res if multi_in else tuple(row[0] for row in res)
    return res if multi_out else res[0]


def hessian(
    func: Callable,
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """∇²func(inputs) for a scalar ``func``: blocks of shape ``inᵢ.shape + inⱼ.shape``."""
    from minigrad import func as mf

    ins, multi = _tuple(inputs)
    ins = tuple(x.detach() for x in ins) if not create_graph else ins
    h = mf.hessian(func, tuple(range(len(ins))))(*ins)
    res = tuple(tuple(_finish(b, create_graph) for b in row) for row in h)
    return res if multi else res[0][0]


def _vhp_or_hvp(name: str, func: Callable, inputs: Any, v: Any, create_graph: bool) -> tuple:
    from minigrad import autograd

    ins, multi = _tuple(inputs)
    xs = [Tensor(x.data, requires_grad=True) for x in ins]
    vs, _ = _tuple(v) if v is not None else ((None,) * len(xs), multi)
    if any(vi is None for vi in vs):
        if all(x.data.size == 1 for x in xs):
            vs = tuple(Tensor(np.ones_like(x.data)) for x in xs)
        else:
            raise RuntimeError(f"{name}: v can only be omitted for inputs of one element")
    for x, vi in zip(xs, vs):
        if tuple(vi.shape) != tuple(x.shape):
            raise RuntimeError(f"{name}: v has shape {vi.shape}, the input {x.shape}")
    out = func(*xs)
    if not isinstance(out, Tensor) or out.data.size != 1:
        raise RuntimeError(f"{name}: the function must return a single-element Tensor")
    gs = autograd.grad(out, xs, create_graph=True, allow_unused=True)
    terms = [(g * vi).sum() for g, vi in zip(gs, vs) if g is not None]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    hv = autograd.grad(total, xs, create_graph=create_graph, allow_unused=True)
    hv = tuple(Tensor(np.zeros_like(x.data)) if h is None else h for x, h in zip(xs, hv))
    hv = tuple(_finish(h, create_graph) for h in hv)
    return _finish(out, create_graph), (hv if multi else hv[0])


def vhp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``(func(inputs), vᵀ H)``: the gradient of ⟨∇func, v⟩ (double backward)."""
    return _vhp_or_hvp("vhp", func, inputs, v, create_graph)


def hvp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``(func(inputs), H v)``; H is symmetric for a twice continuously differentiable
    func, so H v = (vᵀ H)ᵀ, computed the same way."""
    return _vhp_or_hvp("hvp", func, inputs, v, create_graph)
