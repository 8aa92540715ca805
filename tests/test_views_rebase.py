"""Views and in-place writes inside graphs, against PyTorch: a write into a base rebases
the views made before it; a write into a view gives the base PyTorch's ``CopySlices``
history; views of tensors with no history gain one when a write brings a gradient;
PyTorch's refusals (a view of a leaf, overlapping memory, outputs of split/unbind)
are refused alike. See ``minigrad/autograd/views.py``.

Each program runs in both libraries; both must give the same values and gradients
(float64, to 12 significant digits), or both must refuse with the same error type.
A random-program test draws chains of views, writes and reads.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad


def _run(program, lib):
    try:
        return program(lib)
    except Exception as e:  # a refusal: compared by type
        return ("refused", type(e).__name__)


def _rounded(v):
    """Nested results with floats to 12 significant digits (sums may be ordered
    differently: the last bit may differ)."""
    if isinstance(v, float):
        return float(f"{v:.12g}")
    if isinstance(v, (list, tuple)):
        return type(v)(_rounded(e) for e in v)
    return v


def _agree(program) -> None:
    mg, th = _rounded(_run(program, minigrad)), _rounded(_run(program, torch))
    assert mg == th, f"minigrad {mg} vs PyTorch {th}"


def _f64(lib, values, grad=False):
    return lib.tensor(values, dtype=lib.float64, requires_grad=grad)


def base_write_then_view_used(lib):
    x = _f64(lib, [1.0, 2.0, 3.0], True)
    y = x * 2
    v = y[0:2]
    y.mul_(3)
    (v * v).sum().backward()
    return x.grad.tolist(), v.tolist()


def view_written_then_base_used(lib):
    x = _f64(lib, [1.0, 2.0, 3.0, 4.0], True)
    w = _f64(lib, [5.0, 6.0], True)
    y = x * 1
    y.reshape(2, 2)[1].mul_(w)
    (y * lib.arange(4.0, dtype=lib.float64)).sum().backward()
    return x.grad.tolist(), w.grad.tolist(), y.tolist()


def two_overlapping_views_written(lib):
    x = _f64(lib, [1.0, 2.0, 3.0], True)
    y = x * 1
    a, b = y[1:], y[:2]
    a.mul_(2)
    b.mul_(3)
    (a * b).sum().backward()  # both stale after the second write: both rebased
    return x.grad.tolist(), y.tolist(), a.tolist(), b.tolist()


def view_of_a_view_written(lib):
    x = _f64(lib, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], True)
    y = x * 1
    t = y.t()
    row = t[1]
    row[1:].mul_(5)
    (y * y).sum().backward()
    return x.grad.tolist(), t.tolist()


def setitem_through_a_transpose(lib):
    x = lib.arange(6.0, dtype=lib.float64).reshape(2, 3).requires_grad_()
    y = x * 1
    t = y.t()
    t[0] = t[1] * 5
    (y * y).sum().backward()
    return x.grad.tolist(), y.tolist()


def diagonal_is_a_view(lib):
    x = lib.arange(9.0, dtype=lib.float64).reshape(3, 3).requires_grad_()
    y = x * 1
    y.diagonal().mul_(10)
    (y * y).sum().backward()
    return x.grad.tolist(), y.tolist()


def select_narrow_unsqueeze_chain(lib):
    x = lib.arange(6.0, dtype=lib.float64).reshape(2, 3).requires_grad_()
    y = x * 1
    v = y.unsqueeze(0).select(1, 1).narrow(1, 0, 2)
    v.add_(v * 2)
    (y * y).sum().backward()
    return x.grad.tolist(), y.tolist()


def retained_view_follows_the_write(lib):
    x = _f64(lib, [1.0, 1.0, 1.0], True)
    y = x * 2
    v = y[0:2]
    v.retain_grad()
    y.mul_(3)
    (v * v).sum().backward()
    return x.grad.tolist(), v.grad.tolist()


def second_order_through_copy_slices(lib):
    x = _f64(lib, [1.0, 2.0, 3.0], True)
    y = x * x
    w = x[1:] * 1
    y[0:2].mul_(w)
    (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
    g.sum().backward()
    return g.tolist(), x.grad.tolist()


def backward_from_a_stale_view(lib):
    x = _f64(lib, [1.0, 2.0, 3.0], True)
    y = x * 2
    v = y[1]
    y.mul_(3)
    v.backward()
    return x.grad.tolist()


def base_written_under_no_grad(lib):
    x = _f64(lib, [1.0, 2.0, 3.0], True)
    y = x * 2
    v = y[:2]
    with lib.no_grad():
        y.mul_(10)
    v.sum().backward()
    return x.grad.tolist(), v.tolist()


def write_with_a_gradient_into_a_view_of_a_constant(lib):
    x = lib.zeros(3, dtype=lib.float64)
    w = _f64(lib, [1.0, 1.0], True)
    x[0:2].copy_(w * 3)
    (x * _f64(lib, [1.0, 2.0, 3.0])).sum().backward()
    return x.tolist(), x.requires_grad, w.grad.tolist()


def view_of_a_constant_whose_base_gains_a_gradient(lib):
    x = lib.zeros(3, dtype=lib.float64)
    v = x[0:2]
    w = _f64(lib, [1.0, 1.0, 1.0], True)
    u = _f64(lib, [1.0, 2.0], True)
    x.copy_(w * 2)
    (v * u).sum().backward()
    return w.grad.tolist(), u.grad.tolist(), v.requires_grad


def max_values_written(lib):
    x = _f64(lib, [[1.0, 5.0], [3.0, 2.0]], True)
    v = x.max(1)[0]
    v.mul_(2)
    v.sum().backward()
    return x.grad.tolist()


def copy_into_a_tensor_then_write_a_view_of_it(lib):
    """z takes the history of a view by ``copy_`` (its memory stays its own): a view
    of z written in place must give z, not the copied view's base, the new history."""
    w = lib.tensor(np.linspace(-1, 1, 12), dtype=lib.float64, requires_grad=True)
    z = lib.zeros(3, 4, dtype=lib.float64)
    z.copy_((w * 2).reshape(3, 4))
    v = z[0]
    v.mul_(1.5)
    ((z * z).sum() + v.sum()).backward()
    return w.grad.tolist(), z.tolist()


def copy_into_a_tensor_that_requires_grad_keeps_its_old_value_connected(lib):
    x = _f64(lib, [1.0, 2.0, 3.0], True)
    w = _f64(lib, [4.0, 5.0, 6.0], True)
    y = x * 1
    y.copy_(w * 2)
    y.sum().backward()
    return x.grad.tolist(), w.grad.tolist()  # PyTorch: x.grad is zeros, not None


def refused_view_of_a_leaf(lib):
    x = _f64(lib, [1.0, 1.0, 1.0], True)
    x[0:2].mul_(3)


def refused_overlapping_memory(lib):
    x = _f64(lib, [1.0, 1.0, 1.0], True)
    (x * 1).expand(2, 3).mul_(2)


def refused_write_into_an_unbind_output(lib):
    y = _f64(lib, [[1.0, 5.0], [3.0, 2.0]], True) * 1
    y.unbind(0)[0].mul_(2)


def refused_write_into_a_split_output(lib):
    y = _f64(lib, [[1.0, 5.0], [3.0, 2.0]], True) * 1
    y.split(1)[0].mul_(2)


def refused_saved_output_written_through_a_view(lib):
    x = _f64(lib, [[1.0, 2.0], [3.0, 4.0]], True)
    y = x.exp()
    y[0].zero_()
    y.sum().backward()


PROGRAMS = [v for k, v in dict(globals()).items() if callable(v) and v.__module__ == __name__]
PROGRAMS = [
    p
    for p in PROGRAMS
    if p.__code__.co_varnames[:1] == ("lib",) and p.__name__ not in {"_f64", "_run"}
]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_view_and_write_programs_agree_with_pytorch(program) -> None:
    _agree(program)


def test_the_refusals_are_refusals() -> None:
    for program in PROGRAMS:
        if program.__name__.startswith("refused_"):
            assert _run(program, minigrad)[0] == "refused", program.__name__


def test_a_view_write_without_grad_still_writes_through() -> None:
    _agree(
        lambda lib: (lambda x: (x[1].fill_(5), x.diagonal().add_(1), x.tolist())[-1])(
            lib.zeros(3, 3, dtype=lib.float64)
        )
    )


# --------------------------------------------------------------- random programs
VIEWS = [
    ("row", lambda t: t[0] if t.ndim >= 1 and t.shape[0] else None),
    ("tail", lambda t: t[1:] if t.ndim >= 1 and t.shape[0] > 1 else None),
    ("cols", lambda t: t[:, 1:] if t.ndim == 2 and t.shape[1] > 1 else None),
    ("t", lambda t: t.t() if t.ndim == 2 else None),
    ("diag", lambda t: t.diagonal() if t.ndim == 2 else None),
    ("unsq", lambda t: t.unsqueeze(0) if t.ndim < 3 else None),
    ("sel", lambda t: t.select(-1, 0) if t.ndim >= 1 and t.shape[-1] else None),
]
WRITES = [
    ("mul_", lambda t, w: t.mul_(1.5)),
    ("add_w", lambda t, w: t.add_(w.reshape(-1)[: t.numel()].reshape(t.shape) * 2)),
    ("fill_", lambda t, w: t.fill_(0.25)),
    (
        "copy_w",
        lambda t, w: t.copy_((w.reshape(-1)[: t.numel()] * w.reshape(-1)[0]).reshape(t.shape)),
    ),
]


def _random_program(steps):
    def program(lib):
        x = lib.tensor(
            np.arange(1.0, 13.0).reshape(3, 4) / 7, dtype=lib.float64, requires_grad=True
        )
        w = lib.tensor(np.linspace(-1, 1, 12), dtype=lib.float64, requires_grad=True)
        pool = [x * 1, lib.zeros(3, 4, dtype=lib.float64)]
        for kind, pick, which in steps:
            t = pool[pick % len(pool)]
            if kind == "view":
                v = VIEWS[which % len(VIEWS)][1](t)
                if v is not None:
                    pool.append(v)
            elif kind == "write":
                if t.numel():
                    WRITES[which % len(WRITES)][1](t, w)
            else:  # an out-of-place read: a new base
                pool.append(t * 2 + 1)
        loss = sum(((t * t).sum() for t in pool if t.requires_grad), x.sum())
        loss.backward()
        return (
            x.grad.tolist(),
            None if w.grad is None else w.grad.tolist(),
            [t.tolist() for t in pool],
        )

    return program


STEP = st.tuples(
    st.sampled_from(["view", "view", "write", "read"]), st.integers(0, 9), st.integers(0, 9)
)


@settings(max_examples=int(os.environ.get("VIEWS_EXAMPLES", 40)), deadline=None)
@given(steps=st.lists(STEP, min_size=1, max_size=8))
def test_random_view_and_write_programs_agree_with_pytorch(steps) -> None:
    _agree(_random_program(steps))
