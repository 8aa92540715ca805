"""The random-program generator shared by the fuzzers: an op table and programs drawn from it.

A program starts from a few float64 leaves and repeatedly applies an op drawn from a
table of :class:`FuzzOp` to values already computed (so intermediate values are reused
and gradients meet at fan-out points), tracking shapes so that every program is valid.
The same program text runs on both libraries -- the APIs are the same -- so a step's
``apply`` is one function for minigrad and PyTorch tensors. ``FUZZ_OPS`` are the core
ops; ``tests/fuzz_table.py`` adds the further ops (one line each) and ``ALL_OPS`` is both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

import minigrad

Shape = tuple[int, ...]


@dataclass(frozen=True)
class FuzzOp:
    name: str
    arity: int
    # (shapes of the chosen inputs, draw) -> params for ``apply`` or None if not applicable
    plan: Callable[[list[Shape], Any], dict | None]
    apply: Callable[..., Any]  # (*tensors, **params) -> tensor; same code for both libraries
    # relative tolerance of values this op computes, where PyTorch's own float64 result
    # is less accurate than the default (a program is compared at its ops' largest)
    rtol: float = 1e-9


def program_rtol(steps: list) -> float:
    return max([1e-9] + [op.rtol for op, _, _ in steps])


def _unary(name: str, fn: Callable[[Any], Any]) -> FuzzOp:
    return FuzzOp(name, 1, lambda shapes, draw: {}, lambda a: fn(a))


def _pick_dim(shapes: list[Shape], draw: Any) -> dict | None:
    """A non-empty dim: PyTorch refuses max/amax along an empty one (values of the
    further ops, a diagonal off a 1-wide matrix, can have one)."""
    dims = [d for d, n in enumerate(shapes[0]) if n >= 1]
    if not dims:
        return None
    return {"dim": draw(st.sampled_from(dims)), "keepdim": draw(st.booleans())}


def _binary_plan(shapes: list[Shape], draw: Any) -> dict | None:
    try:
        np.broadcast_shapes(shapes[0], shapes[1])
    except ValueError:
        return None
    return {}


def _matmul_plan(shapes: list[Shape], draw: Any) -> dict | None:
    a, b = shapes
    if len(a) == 2 and len(b) == 2 and a[1] == b[0]:
        return {}
    if len(a) == 2 and len(b) == 2 and a[1] == b[1]:
        return {"transpose_b": True}
    return None


def _getitem_plan(shapes: list[Shape], draw: Any) -> dict | None:
    shape = shapes[0]
    if not shape or shape[0] < 2:
        return None
    kind = draw(st.sampled_from(["slice", "int_array", "step"]))
    if kind == "slice":
        return {"index": slice(1, None)}
    if kind == "step":
        return {"index": slice(None, None, 2)}
    idx = draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=4))
    return {"index": idx}  # repeats allowed: gradients must accumulate


def _reshape_plan(shapes: list[Shape], draw: Any) -> dict | None:
    shape = shapes[0]
    n = int(np.prod(shape))
    if draw(st.booleans()) or n == 0:
        return {"shape": (n,)}
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    d = draw(st.sampled_from(divisors))
    return {"shape": (d, n // d)}


def _transpose_plan(shapes: list[Shape], draw: Any) -> dict | None:
    return {"dims": (0, 1)} if len(shapes[0]) >= 2 else None


def _getitem(a: Any, index: Any) -> Any:
    if isinstance(index, list):
        # (``a`` may be a value batched by minigrad's vmap: not a minigrad.Tensor)
        index = torch.tensor(index) if isinstance(a, torch.Tensor) else minigrad.tensor(index)
    return a[index]


def _softmax_plan(shapes: list[Shape], draw: Any) -> dict | None:
    return {"dim": draw(st.integers(0, len(shapes[0]) - 1))} if shapes[0] else None


FUZZ_OPS: list[FuzzOp] = [
    _unary("tanh", lambda a: a.tanh()),
    _unary("sigmoid", lambda a: a.sigmoid()),
    _unary("sin", lambda a: a.sin()),
    _unary("exp_bounded", lambda a: a.tanh().exp()),
    _unary("log_positive", lambda a: (a * a + 1).log()),
    _unary("sqrt_positive", lambda a: (a * a + 0.5).sqrt()),
    _unary("relu_shifted", lambda a: (a + 0.1234).relu()),
    _unary("square", lambda a: a**2),
    _unary("neg_scale", lambda a: -a * 0.7 + 0.3),
    _unary("reciprocal_safe", lambda a: 1.0 / (a * a + 1)),
    _unary(
        "gelu",
        lambda a: torch.nn.functional.gelu(a) if isinstance(a, torch.Tensor) else minigrad.gelu(a),
    ),
    FuzzOp("add", 2, _binary_plan, lambda a, b: a + b),
    FuzzOp("sub", 2, _binary_plan, lambda a, b: a - b),
    FuzzOp("mul", 2, _binary_plan, lambda a, b: a * b),
    FuzzOp("div_safe", 2, _binary_plan, lambda a, b: a / (b * b + 1)),
    FuzzOp("maximum", 2, _binary_plan, lambda a, b: a.maximum(b)),
    FuzzOp(
        "matmul", 2, _matmul_plan, lambda a, b, transpose_b=False: a @ (b.T if transpose_b else b)
    ),
    FuzzOp("sum", 1, _pick_dim, lambda a, dim, keepdim: a.sum(dim=dim, keepdim=keepdim)),
    FuzzOp("mean", 1, _pick_dim, lambda a, dim, keepdim: a.mean(dim=dim, keepdim=keepdim)),
    FuzzOp("amax", 1, _pick_dim, lambda a, dim, keepdim: a.amax(dim=dim, keepdim=keepdim)),
    FuzzOp("max_dim", 1, _pick_dim, lambda a, dim, keepdim: a.max(dim=dim, keepdim=keepdim).values),
    FuzzOp(
        "logsumexp", 1, _pick_dim, lambda a, dim, keepdim: a.logsumexp(dim=dim, keepdim=keepdim)
    ),
    FuzzOp("softmax", 1, _softmax_plan, lambda a, dim: a.softmax(dim=dim)),
    FuzzOp("log_softmax", 1, _softmax_plan, lambda a, dim: a.log_softmax(dim=dim)),
    FuzzOp("reshape", 1, _reshape_plan, lambda a, shape: a.reshape(shape)),
    FuzzOp("transpose", 1, _transpose_plan, lambda a, dims: a.transpose(*dims)),
    FuzzOp("getitem", 1, _getitem_plan, _getitem),
    FuzzOp(
        "unsqueeze_expand",
        1,
        lambda s, d: {} if len(s[0]) < 3 else None,
        lambda a: a.unsqueeze(0).expand(2, *a.shape),
    ),
    FuzzOp(
        "cat_self",
        2,
        lambda s, d: {} if s[0] and s[1] and s[0][1:] == s[1][1:] else None,
        lambda a, b: (torch.cat if isinstance(a, torch.Tensor) else minigrad.cat)([a, b], 0),
    ),
]

shapes_st = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


@st.composite
def programs(
    draw: Any, ops: list[FuzzOp], min_ops: int = 5, max_ops: int = 40, max_numel: int = 256
) -> tuple[list[np.ndarray], list[tuple[FuzzOp, list[int], dict]]]:
    """Leaves (as arrays) and a list of steps (op, indices of inputs in the value pool,
    params), each op drawn from ``ops``; no value has over ``max_numel`` elements."""
    n_leaves = draw(st.integers(1, 3))
    leaf_shapes = [draw(shapes_st) for _ in range(n_leaves)]
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    leaves = [rng.standard_normal(s) for s in leaf_shapes]
    shapes = list(leaf_shapes)
    steps: list[tuple[FuzzOp, list[int], dict]] = []
    n_ops = draw(st.integers(min_ops, max_ops))
    attempts = 0
    while len(steps) < n_ops and attempts < 400:
        attempts += 1
        op = draw(st.sampled_from(ops))
        # Prefer recent values (deeper graphs) but allow any (reuse, fan-out).
        picks = [
            draw(
                st.integers(max(0, len(shapes) - 4), len(shapes) - 1)
                | st.integers(0, len(shapes) - 1)
            )
            for _ in range(op.arity)
        ]
        params = op.plan([shapes[i] for i in picks], draw)
        if params is None:
            continue
        out = op.apply(*[torch.zeros(shapes[i], dtype=torch.float64) for i in picks], **params)
        if out.numel() > max_numel:
            continue
        shapes.append(tuple(out.shape))
        steps.append((op, picks, params))
    return leaves, steps


def program_function(steps: list) -> Callable[..., tuple]:
    """The program as a function of its leaves, returning every value it computes (so
    transforms of it, jvp, vjp and vmap, are checked at every step)."""

    def f(*xs: Any) -> tuple:
        pool = list(xs)
        for op, picks, params in steps:
            pool.append(op.apply(*[pool[i] for i in picks], **params))
        return tuple(pool[len(xs) :])

    return f


def run_program(lib: str, leaves: list[np.ndarray], steps: list) -> tuple[Any, list[Any]]:
    if lib == "torch":
        xs = [torch.tensor(a, requires_grad=True) for a in leaves]
    else:
        xs = [minigrad.tensor(a, requires_grad=True) for a in leaves]
    pool = list(xs) + list(program_function(steps)(*xs))
    # Every value feeds the loss (weights make each path matter differently).
    loss = None
    for k, v in enumerate(pool[len(xs) :]):
        term = v.sum() * (1.0 + 0.1 * k)
        loss = term if loss is None else loss + term
    return loss, xs, pool


# ------------------------------------------------------------------ refusals
# A refusal must be PyTorch's: the same exception type from both libraries. (minigrad
# keeps views' histories in step with in-place writes as PyTorch does, so no
# one-sided refusal is accepted.)


def outcome(run: Callable[..., Any], *args: Any) -> Any:
    """``run(*args)``, or the exception it raised."""
    try:
        return run(*args)
    except Exception as e:
        return e


def both_ran(mg: Any, th: Any, context: str) -> bool:
    """Whether minigrad's and PyTorch's outcomes are results to compare; else check the
    refusals: the same exception type from both."""
    if isinstance(th, Exception):
        assert isinstance(mg, Exception), f"{context}: PyTorch raised {th!r}; minigrad ran"
        assert type(mg) is type(th), f"{context}: minigrad raised {mg!r}, PyTorch {th!r}"
        return False
    assert not isinstance(mg, Exception), f"{context}: minigrad raised {mg!r}; PyTorch ran"
    return True
