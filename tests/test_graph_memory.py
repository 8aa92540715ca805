"""The graph and memory: saved arrays are released after backward, deep graphs work
without recursion, and a training loop keeps memory flat."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F


def test_saved_arrays_are_released_after_backward() -> None:
    x = minigrad.randn(1000, requires_grad=True)
    h = x * 2.0  # an intermediate: only the Sin node below keeps it alive once we drop h
    ref = weakref.ref(h)
    loss = h.sin().sum()
    del h
    gc.collect()
    assert ref() is not None, "the Sin node must keep its saved input until backward"
    loss.backward()
    gc.collect()
    assert ref() is None, "the saved input was not released after backward"


def test_retain_graph_keeps_saved_arrays() -> None:
    x = minigrad.randn(1000, requires_grad=True)
    h = x * 2.0
    ref = weakref.ref(h)
    loss = h.sin().sum()
    del h
    loss.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None
    loss.backward()  # the second backward is allowed, and accumulates
    gc.collect()
    assert ref() is None


def test_saved_output_does_not_form_a_reference_cycle() -> None:
    # exp saves its own output; the node must not keep a Tensor that points back at it,
    # or the whole graph would live until the cycle collector runs.
    gc.disable()
    try:
        x = minigrad.randn(100, requires_grad=True)
        y = x.exp()
        node_ref = weakref.ref(y.grad_fn)
        del y
        assert node_ref() is None, "graph node kept alive by a reference cycle"
    finally:
        gc.enable()


@pytest.mark.parametrize("depth", [100_000])
def test_deep_chain_backward_without_recursion(depth: int) -> None:
    x = minigrad.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(depth):
        y = y + 1.0
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_wide_graph_backward() -> None:
    x = minigrad.randn(3, requires_grad=True)
    total = sum((x * float(i)).sum() for i in range(5000))
    total.backward()
    np.testing.assert_allclose(x.grad.data, np.full(3, sum(range(5000)), np.float32))


def test_training_memory_stays_flat() -> None:
    """1,000 steps of a small model: the traced memory after step 1,000 is no larger
    than after step 100 (plus a small slack for allocator noise)."""
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5))
    opt = minigrad.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((16, 20)).astype(np.float32))
    y = minigrad.tensor(rng.integers(0, 5, 16))

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    tracemalloc.start()
    try:
        for _ in range(100):
            step()
        gc.collect()
        after_100, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(900):
            step()
        gc.collect()
        after_1000, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    growth = after_1000 - after_100
    assert growth < 64 * 1024, f"memory grew by {growth} bytes over 900 steps"
    assert peak < after_100 + 512 * 1024, f"peak {peak} vs steady {after_100}"


def _graphs() -> list:
    """Graphs whose gradient arrays reach a leaf through every kind of sharing."""

    def add_same(a, b, kept):  # Add hands the very same array to both leaves
        return (a + b).sum()

    def broadcast(a, b, kept):  # a view of the gradient goes to b
        return (a + b[:1]).sum()

    def reshaped(a, b, kept):  # a reshape view of one array to a leaf, the array to another
        return (a * 1.0 + b.reshape(-1).reshape(b.shape)).sum()

    def hooked(a, b, kept):  # a hook holds a's gradient
        a.register_hook(lambda g: kept.append(g))
        return (a * b).sum()

    def retained(a, b, kept):  # a retained .grad of an intermediate is the same array
        y = a + b
        y.retain_grad()
        kept.append(y)
        return (y * 2.0).sum()

    def linear(a, b, kept):  # fresh GEMM products: the engine may keep them without a copy
        return F.linear(minigrad.randn(5, 3), a, b[:, 0]).sum()

    return [add_same, broadcast, reshaped, hooked, retained, linear]


@pytest.mark.parametrize("graph", _graphs(), ids=lambda f: f.__name__)
def test_leaf_gradients_never_alias_other_arrays(graph) -> None:
    """A leaf's first gradient becomes its ``.grad`` without a copy only when nothing else
    holds that memory; whatever else can see the array (another leaf, a view, a hook, a
    retained gradient) must not change when ``.grad`` is later updated in place."""
    a = minigrad.randn(4, 3, requires_grad=True)
    b = minigrad.randn(4, 3, requires_grad=True)
    kept: list = []
    graph(a, b, kept).backward()
    others = [b.grad.data] + [
        (k.grad if k.grad_fn is not None else k).data for k in kept if k is not None
    ]
    before = [o.copy() for o in others]
    a.grad.data += 100.0  # what gradient accumulation and optimizers do
    for o, snapshot in zip(others, before):
        assert not np.shares_memory(a.grad.data, o)
        np.testing.assert_array_equal(o, snapshot)


@pytest.mark.parametrize("first", [True, False], ids=["pass-through-first", "pass-through-last"])
def test_summing_a_leafs_gradients_in_place_leaves_other_holders_intact(first: bool) -> None:
    """A leaf used twice gets its contributions summed, in place when the engine alone
    holds the running sum; an array someone else also holds (here a retained ``.grad``
    of a pass-through node) must keep its value."""
    a = minigrad.randn(4, 3, requires_grad=True)
    b = minigrad.randn(4, 3)
    x = minigrad.randn(2, 3)
    y = a + 0.0  # its backward hands the incoming gradient array on unchanged
    y.retain_grad()
    terms = [(y * b).sum(), F.linear(x, a).sum() + (a * 3.0).sum()]
    loss = terms[0] + terms[1] if first else terms[1] + terms[0]
    loss.backward()
    np.testing.assert_allclose(y.grad.data, b.data)  # d loss / d y = b, untouched
    expected = b.data + x.data.sum(0) + 3.0  # the three uses of a
    np.testing.assert_allclose(a.grad.data, expected, rtol=1e-5, atol=1e-5)
