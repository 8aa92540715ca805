"""Views and in-place writes, against PyTorch: memory shared where PyTorch shares it,
copies where PyTorch copies, new tensor objects for no-op views, requires_grad and
retained gradients after in-place writes, assignment of broadcastable values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad


def _both(program):
    return program(minigrad), program(torch)


def test_basic_index_view_writes_through():
    def program(lib):
        x = lib.zeros(3)
        x[1].fill_(5)
        y = lib.zeros(2, 3)
        y[1, 2].zero_().add_(7)
        y[0].mul_(0).add_(1)
        return x.tolist(), y.tolist()

    mg, th = _both(program)
    assert mg == th


def test_view_of_non_contiguous_memory_is_refused_reshape_copies():
    for lib in (minigrad, torch):
        t = lib.arange(12.0).reshape(3, 4)
        with pytest.raises(RuntimeError, match="view size is not compatible"):
            t.T.view(12)
    mg, th = _both(lambda lib: lib.arange(12.0).reshape(3, 4).T.reshape(12).tolist())
    assert mg == th
    mg, th = _both(lambda lib: lib.arange(12.0).reshape(3, 4)[:, :2].reshape(2, 3, 1).shape)
    assert tuple(mg) == tuple(th)


NOOP_VIEWS = {
    "transpose_same": lambda x: x.transpose(0, 0),
    "view_same": lambda x: x.view(2, 3),
    "reshape_same": lambda x: x.reshape(2, 3),
    "permute_identity": lambda x: x.permute(0, 1),
    "expand_same": lambda x: x.expand(2, 3),
    "t_of_1d": lambda x: x[0].t(),
}


@pytest.mark.parametrize("name", list(NOOP_VIEWS))
def test_no_op_views_are_new_tensors_that_share_memory(name):
    for lib in (minigrad, torch):
        x = lib.ones(2, 3)
        v = NOOP_VIEWS[name](x)
        assert v is not x
        v.mul_(4)  # written through the view
        assert float(x.sum()) > 6


def test_hook_on_a_no_op_view_does_not_act_on_the_original():
    def program(lib):
        x = lib.ones(2, 3, requires_grad=True)
        y = x * 1.0
        v = y.view(2, 3)
        v.register_hook(lambda g: g * 10)
        (v.sum() + y.sum()).backward()
        return x.grad.tolist()

    mg, th = _both(program)
    assert mg == th


@pytest.mark.parametrize("make", ["flip", "contiguous_of_transpose"])
def test_copies_where_pytorch_copies(make):
    def program(lib):
        x = lib.arange(6.0).reshape(2, 3)
        y = x.flip(0) if make == "flip" else x.T.contiguous()
        y[0, 0] = 99.0
        return x.tolist()

    mg, th = _both(program)
    assert mg == th


def test_contiguous_of_contiguous_is_itself():
    for lib in (minigrad, torch):
        x = lib.ones(2, 3)
        assert x.contiguous() is x


@pytest.mark.parametrize("fill", ["fill_", "zero_", "copy_"])
def test_fill_of_a_non_leaf_keeps_requires_grad(fill):
    def program(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        if fill == "fill_":
            y.fill_(1.5)
        elif fill == "zero_":
            y.zero_()
        else:
            y.copy_(lib.tensor([4.0, 5.0, 6.0]))
        (y * x).sum().backward()
        return y.requires_grad, x.grad.tolist()

    mg, th = _both(program)
    assert mg == th


def test_copy_of_a_tensor_that_requires_grad_into_a_non_leaf():
    def program(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, -1.0], requires_grad=True)
        y = x * 2
        y.copy_(w * w)
        (y * x).sum().backward()
        return x.grad.tolist(), w.grad.tolist()

    mg, th = _both(program)
    assert mg == th


def test_retain_grad_then_in_place_keeps_the_new_values_gradient():
    def program(lib):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        y.retain_grad()
        y.mul_(3)
        (y * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        return y.grad.tolist(), x.grad.tolist()

    mg, th = _both(program)
    assert mg == th


def test_setitem_drops_leading_unit_dims_of_the_value():
    def program(lib):
        x = lib.ones(3, requires_grad=True)
        z = lib.zeros(2, 3) + x
        v = lib.ones(1, 3, requires_grad=True)
        z[0] = v * 5
        (z * lib.arange(6.0).reshape(2, 3)).sum().backward()
        return z.tolist(), v.grad.tolist(), x.grad.tolist()

    mg, th = _both(program)
    assert mg == th


def test_in_place_on_a_view_inside_a_graph_rebases_the_base():
    """A write into a view changes its base: the base's history becomes PyTorch's
    CopySlices (see minigrad/autograd/views.py)."""

    def program(lib):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        y[0:2].mul_(3)
        y.sum().backward()
        return x.grad.tolist(), y.tolist()

    mg, th = _both(program)
    assert mg == th


def test_backward_through_a_view_whose_base_was_written_follows_the_write() -> None:
    """PyTorch rebases a view's history onto a later in-place write to its base
    (``[6, 6, 0]`` here; the view's old history gave a silently wrong ``[2, 2, 0]``)."""

    def program(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        v = y[0:2]
        y.mul_(3)
        v.sum().backward()
        return x.grad.tolist(), v.tolist()

    mg, th = _both(program)
    assert mg == th == ([6.0, 6.0, 0.0], [6.0, 12.0])


def test_a_copy_made_by_indexing_is_not_a_view() -> None:
    grads = []
    for lib in (minigrad, torch):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        v = y[[0, 1]]  # advanced indexing copies: the later write does not reach v
        y.mul_(3)
        v.sum().backward()
        grads.append(np.asarray(x.grad.tolist()))
    np.testing.assert_array_equal(*grads)
