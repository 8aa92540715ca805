"""A second random-program fuzzer, for the patterns the first one never drew:
non-contiguous values (transposes, negative strides), views of views, in-place ops
inside graphs (on clones, so PyTorch allows them), masks feeding infinite gradients
(relu/clamp/hardtanh then sqrt), rounding divisions, integer and bool constants,
0-d and size-0 tensors, hooks and retain_grad, and second derivatives through
``autograd.grad(create_graph=True)``.

Each program runs in minigrad and PyTorch; values, gradients (first and second order)
and retained gradients must agree in float64, or both libraries must refuse with the
same exception type. ``ci``: 60 programs; ``thorough``: 2,000.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import numpy as np
import torch
from fuzz_programs import both_ran, outcome
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad

warnings.filterwarnings("ignore", category=RuntimeWarning)


def _nn(lib: Any) -> Any:
    return minigrad.nn.functional if lib is minigrad else torch.nn.functional


# The rounding divisions jump where x is a multiple of the divisor, and there one ulp
# between the libraries' inputs (PyTorch's sqrt(2.0) is an ulp below NumPy's) moves the
# value by the whole divisor. The divisors are irrational (pi/2, e/4) and remainder's
# jumps are moved off 0, so no value these steps build (from 0, +-1, 0.5, 3, 6, sums,
# products and square roots) lies on a jump.
_REM, _FMOD = math.pi / 2, math.e / 4

# name -> (lib, x) -> value; every op keeps float64 and needs no shape planning
STEPS = {
    "T": lambda lib, x: x.transpose(0, -1) if x.ndim else x,
    "rev": lambda lib, x: x[::-1] if x.ndim and lib is minigrad else _rev(lib, x),
    "slice": lambda lib, x: x[1:] if x.ndim else x,
    "index0": lambda lib, x: x[0] if x.ndim and x.shape[0] else x,
    "view_same": lambda lib, x: x.view(tuple(x.shape)),
    "reshape_flat": lambda lib, x: x.reshape(-1),
    "relu_sqrt": lambda lib, x: lib.relu(x).sqrt(),
    "clamp_sqrt": lambda lib, x: x.clamp(min=0.1).sqrt(),
    "hardtanh_sqrt": lambda lib, x: (_nn(lib).hardtanh(x) + 1).sqrt(),
    "relu6": lambda lib, x: _nn(lib).relu6(x * 4),
    "hardswish": lambda lib, x: _nn(lib).hardswish(x * 3),
    "rem": lambda lib, x: ((x + _REM / 2) % _REM) + x,
    "fmod": lambda lib, x: lib.fmod(x, _FMOD) * x,
    "mul_": lambda lib, x: x.clone().mul_(2.5),
    "add_int": lambda lib, x: x.clone().add_(3),
    "fill_": lambda lib, x: x.clone().fill_(0.5) * x,
    "clamp_": lambda lib, x: x.clone().clamp_(-0.5, 0.5),
    "view_mul_": lambda lib, x: _write_through_view(x),
    "stale_view": lambda lib, x: _stale_view(x),
    "mask_mul": lambda lib, x: x * (x > 0),
    "bool_add": lambda lib, x: x + lib.tensor(True),
    "int_const": lambda lib, x: x * lib.tensor(2) - 1,
    "sum0d": lambda lib, x: x.sum() * x,
    "amax": lambda lib, x: x.amax() + x,
    "exp_tanh": lambda lib, x: x.tanh().exp(),
    "sign": lambda lib, x: x.sign() * x,
    "abs": lambda lib, x: x.abs(),
    "softmax": lambda lib, x: lib.softmax(x, dim=-1) if x.ndim else x,
    "logsumexp": lambda lib, x: lib.logsumexp(x, dim=0) if x.ndim else x,
    "square": lambda lib, x: x * x,
}


def _write_through_view(x: Any) -> Any:
    """An in-place op on a view of a clone: the clone sees the write (PyTorch rebases
    the clone's history; minigrad refuses, a known refusal)."""
    c = x.clone()
    (c[:1] if c.ndim else c.view(())).mul_(3.0)
    return c * 1.0


def _stale_view(x: Any) -> Any:
    """A view taken before its base is written in place, used after the write."""
    c = x.clone()
    v = c.view(tuple(c.shape))
    c.add_(0.25)
    return v * 2.0


def _rev(lib: Any, x: Any) -> Any:
    return x.flip(0) if x.ndim else x  # torch has no negative strides; flip is the same value


shapes_st = st.sampled_from([(), (3,), (2, 3), (3, 2), (0,), (2, 0), (1, 4), (4, 1, 2)])


@st.composite
def programs(draw: Any) -> dict:
    return {
        "shape": draw(shapes_st),
        "seed": draw(st.integers(0, 2**31)),
        "steps": draw(st.lists(st.sampled_from(sorted(STEPS)), min_size=1, max_size=6)),
        "retain": draw(st.booleans()),
        "hook": draw(st.booleans()),
        "second_order": draw(st.booleans()),
    }


def run(lib: Any, prog: dict) -> Any:
    data = np.random.default_rng(prog["seed"]).standard_normal(prog["shape"])
    x = lib.tensor(data, dtype=lib.float64, requires_grad=True)
    v = x * 1.0
    if prog["hook"]:
        v.register_hook(lambda g: g * 2)
    values = []
    for name in prog["steps"]:
        v = STEPS[name](lib, v)
        if prog["retain"] and v.requires_grad and v.grad_fn is not None:
            v.retain_grad()
        values.append(v)
    loss = sum((w * w).sum() * (1 + k) for k, w in enumerate(values))
    (g,) = lib.autograd.grad(loss, [x], create_graph=prog["second_order"], allow_unused=True)
    out = [w.detach().numpy().copy() for w in values] + [None if g is None else g.detach().numpy()]
    # (an empty gradient's own graph is nothing to compare: PyTorch's rebased view of
    # an empty tensor returns one that does not require grad)
    if prog["second_order"] and g is not None and g.requires_grad and g.numel():
        (g2,) = lib.autograd.grad(g.sum(), [x], allow_unused=True)
        out.append(None if g2 is None else g2.detach().numpy())
    return out


N_PROGRAMS = 2000 if os.environ.get("MINIGRAD_HYPOTHESIS_PROFILE") == "thorough" else 60


@settings(max_examples=N_PROGRAMS)
@given(programs())
def test_hostile_programs_match_pytorch(prog: dict) -> None:
    mg, th = outcome(run, minigrad, prog), outcome(run, torch, prog)
    if not both_ran(mg, th, str(prog)):
        return
    assert len(mg) == len(th), prog
    for i, (a, b) in enumerate(zip(mg, th)):
        if a is None or b is None:
            assert a is None or not np.any(a), f"{prog}: value {i}"
            continue
        assert a.shape == b.shape, f"{prog}: value {i} shape {a.shape} vs {b.shape}"
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10, err_msg=f"{prog}: value {i}")
