"""PyTorch's in-place method variants (``x.exp_()``, ``x.masked_fill_(m, v)``,
``x.index_add_(...)``...), against PyTorch: the values written, and the gradients when
the write is recorded inside a graph (of the old value and of every operand), or the
same refusal. Each variant is ``Tensor._inplace`` over the out-of-place op
(``minigrad/_methods.py::IN_PLACE``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad
from minigrad._methods import IN_PLACE

X = np.array([[0.2, 0.5, 0.7, 0.4], [0.3, 0.9, 0.6, 0.1], [0.8, 0.25, 0.35, 0.65]])


def _args(name: str, lib, grad: bool) -> tuple[list, list]:
    """(arguments, the tensors among them whose gradients are compared)."""

    def t(values, g=grad):
        return lib.tensor(np.asarray(values), dtype=lib.float64, requires_grad=g)

    other = t(X[::-1].copy() + 0.05)
    idx = lib.tensor([2, 0])
    mask = lib.tensor(X > 0.5)
    src = t(X[:2] * 3)
    table = {
        "pow": [2.0],
        "clip": [0.3, 0.6],
        "masked_fill": [mask, 0.5],
        "masked_scatter": [mask, t(X * 2)],
        "index_add": [0, idx, src],
        "index_fill": [0, idx, 0.5],
        "index_copy": [0, idx, src],
        "scatter": [0, lib.tensor([[0, 1, 2, 0], [1, 2, 0, 2]]), src],
        "scatter_add": [0, lib.tensor([[0, 1, 2, 0], [1, 2, 0, 2]]), src],
        "scatter_reduce": [0, lib.tensor([[0, 1, 2, 0], [1, 2, 0, 2]]), src, "amax"],
        "fmod": [0.3],
        "remainder": [0.3],
        "lerp": [other, 0.3],
        "addcmul": [other, t(X + 1)],
        "addcdiv": [other, t(X + 1)],
    }
    args = table.get(name, [other] if name in TWO_OPERANDS else [])
    return args, [
        a for a in args if isinstance(a, (minigrad.Tensor, torch.Tensor)) and a.requires_grad
    ]


TWO_OPERANDS = {
    "atan2",
    "hypot",
    "xlogy",
    "multiply",
    "subtract",
    "divide",
    "true_divide",
    "floor_divide",
}


def _program(name: str, grad: bool, in_place: bool = True):
    def run(lib):
        base = X + 1.0 if name == "acosh" else X
        x = lib.tensor(base, dtype=lib.float64, requires_grad=grad)
        args, operands = _args(name, lib, grad)
        y = x * 1 if grad else x
        if in_place:
            getattr(y, f"{name}_")(*args)
        else:  # the reference where PyTorch has no in-place derivative
            y = getattr(y, name)(*args)
        if not grad:
            return y.tolist()
        (y * lib.tensor(X, dtype=lib.float64)).sum().backward()
        grads = [
            None if a.grad is None else np.round(a.grad.numpy(), 10).tolist()
            for a in (x, *operands)
        ]
        return np.round(np.asarray(y.tolist()), 10).tolist(), grads

    return run


def _outcome(program, lib):
    try:
        return program(lib)
    except Exception as e:  # a refusal is compared by type
        return ("refused", type(e).__name__)


@pytest.mark.parametrize("grad", [False, True], ids=["values", "in a graph"])
@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_variant_matches_pytorch(name: str, grad: bool) -> None:
    mg, th = _outcome(_program(name, grad), minigrad), _outcome(_program(name, grad), torch)
    if th == ("refused", "NotImplementedError"):
        # PyTorch has no derivative for this in-place op (asinh_, acosh_, atanh_): the
        # gradient must then be that of the out-of-place op.
        th = _outcome(_program(name, grad, in_place=False), torch)
    if isinstance(th, tuple) and th and th[0] == "refused":
        assert mg == th, f"{name}_: minigrad {mg} vs PyTorch {th}"
        return
    assert not (isinstance(mg, tuple) and mg and mg[0] == "refused"), f"{name}_: {mg}"
    values, grads = (mg, []) if not grad else mg
    t_values, t_grads = (th, []) if not grad else th
    np.testing.assert_allclose(np.asarray(values), np.asarray(t_values), rtol=1e-12, atol=1e-12)
    assert [g is None for g in grads] == [g is None for g in t_grads]
    for g, tg in zip(grads, t_grads):
        if g is not None:  # (digamma's derivative: both series agree to ~1e-10)
            np.testing.assert_allclose(np.asarray(g), np.asarray(tg), rtol=1e-9, atol=1e-12)


def test_every_in_place_variant_is_pytorchs_name() -> None:
    missing = [n for n in IN_PLACE if not hasattr(torch.Tensor, f"{n}_")]
    assert not missing, missing
