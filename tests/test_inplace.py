"""In-place ops and the version counter, against PyTorch's behaviour.

In-place ops on tensors inside a graph are recorded (the graph is rebased onto the
new value), and changing in place a tensor that an op saved for backward makes that
backward raise -- through any view of the same memory -- instead of giving a wrong
gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import minigrad


def _both(program: Callable[[Any, Any], Any]) -> tuple[np.ndarray, np.ndarray]:
    """Run ``program(lib, leaf)`` in both libraries; return both leaf gradients."""
    grads = []
    for lib in (minigrad, torch):
        a = lib.tensor([0.5, -1.5, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        program(lib, a).sum().backward()
        grads.append(np.asarray(a.grad.tolist()))
    return grads[0], grads[1]


PROGRAMS: dict[str, Callable[[Any, Any], Any]] = {
    "add_": lambda lib, a: (a * 2).add_(a),
    "sub_ alpha": lambda lib, a: (a * 2).sub_(a * a, alpha=0.5),
    "mul_": lambda lib, a: (a + 1).mul_(a),
    "div_": lambda lib, a: (a * 3).div_(a * a + 1),
    "clamp_": lambda lib, a: (a * 2).clamp_(-1.0, 3.0),
    "setitem scalar": lambda lib, a: _setitem(a * 2, 1, 7.0),
    "setitem tensor": lambda lib, a: _setitem(a * 2, slice(0, 2), a[2:] * a[2:]),
    "setitem mask": lambda lib, a: _setitem(a * 1, a > 1, 0.0),
    "fill_": lambda lib, a: (a * 2).fill_(1.5) * a,
    "copy_ from graph": lambda lib, a: lib.zeros(4, dtype=lib.float64).copy_(a.exp()),
    "zero_ then add_": lambda lib, a: (a * 2).zero_().add_(a),
    "chain": lambda lib, a: (a * 1).mul_(2).add_(a).mul_(a),
}


def _setitem(x: Any, index: Any, value: Any) -> Any:
    x[index] = value
    return x


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_inplace_gradients_match_pytorch(name: str) -> None:
    ours, ref = _both(PROGRAMS[name])
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "modify",
    [
        lambda w: w.add_(1.0),
        lambda w: w.detach().add_(1.0),  # a view sharing the memory
        lambda w: w[1:].mul_(2.0),  # a slice
        lambda w: w.reshape(2, 2).zero_(),
        lambda w: w.__setitem__(0, 5.0),
    ],
    ids=["direct", "detach view", "slice view", "reshape view", "setitem"],
)
def test_modifying_a_saved_tensor_raises_in_both(modify: Callable[[Any], Any]) -> None:
    for lib in (minigrad, torch):
        w = lib.tensor([1.0, 2.0, 3.0, 4.0])
        x = lib.tensor([1.0, 1.0, 1.0, 1.0], requires_grad=True)
        y = (x * w).sum()
        with lib.no_grad():
            modify(w)
        with pytest.raises(RuntimeError, match="modified (by an inplace operation|in place)"):
            y.backward()


def test_optimizer_step_before_backward_raises() -> None:
    w = minigrad.nn.Parameter(minigrad.tensor([1.0, 2.0]))
    opt = minigrad.optim.SGD([w], lr=0.1)
    y = (w * w).sum()
    w.grad = minigrad.ones(2)
    opt.step()  # updates w in place after the graph saved it
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_inplace_on_leaf_requires_no_grad() -> None:
    w = minigrad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1.0)
    with minigrad.no_grad():
        w.add_(1.0)  # the optimizer's way: allowed, not recorded
    assert w.tolist() == [2.0, 3.0] and w.grad_fn is None and w.requires_grad


def test_inplace_writes_through_views() -> None:
    base = minigrad.zeros(4)
    view = base[1:3]
    view.fill_(7.0)
    assert base.tolist() == [0.0, 7.0, 7.0, 0.0]


def test_unrelated_arrays_keep_version_zero() -> None:
    a, b = minigrad.zeros(3), minigrad.zeros(3)
    a.add_(1.0)
    assert a._version == 1 and b._version == 0


def test_inplace_on_a_view_inside_a_graph_gives_the_base_pytorchs_gradient() -> None:
    grads = []
    for lib in (minigrad, torch):
        x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        y = x * 1
        y[1:].mul_(2.0)  # a write into a view: y's history becomes CopySlices
        z = (x * 1).clone()
        z[1:] = z[1:].clone() * 2
        (y * y + z).sum().backward()
        grads.append(np.asarray(x.grad.tolist()))
    np.testing.assert_array_equal(*grads)
