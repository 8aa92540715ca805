"""Function transforms of random programs against ``torch.func``.

A program drawn from every op of the fuzzers' tables (``tests/fuzz_programs.py``,
``tests/fuzz_table.py``) is a function f of its float64 leaves that returns every value
it computes. For each program:

- ``minigrad.func.jvp(f, primals, tangents)`` equals ``torch.func.jvp`` (values and J·v);
- ``minigrad.func.vjp(f, *primals)`` equals ``torch.func.vjp`` (values and uᵀJ);
- the transpose identity ⟨u, J v⟩ = ⟨Jᵀu, v⟩ holds between minigrad's jvp and vjp;
- ``minigrad.func.vmap(f)`` over a batch of leaves equals ``torch.func.vmap(f)``.

``ci``: 80 programs for jvp/vjp and 50 for vmap; ``thorough``: 1,000 each.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import torch
from fuzz_programs import program_function, program_rtol, programs
from fuzz_table import ALL_OPS
from hypothesis import given, settings

import minigrad
from minigrad import func as mfunc

warnings.filterwarnings("ignore", category=RuntimeWarning)
warnings.filterwarnings("ignore", message=".*batching rule.*")  # torch's vmap fallback

THOROUGH = os.environ.get("MINIGRAD_HYPOTHESIS_PROFILE") == "thorough"
N_JVP = 1000 if THOROUGH else 80
N_VMAP = 1000 if THOROUGH else 50
RTOL, ATOL = 1e-7, 1e-9
small_programs = programs(ALL_OPS, min_ops=3, max_ops=12)


def _np(x: Any) -> np.ndarray:
    return x.detach().numpy() if isinstance(x, torch.Tensor) else x.detach().data


def _close(mg: Any, th: Any, what: str, names: list[str], rtol: float = RTOL) -> None:
    assert len(mg) == len(th), f"{what}: {len(mg)} values vs {len(th)}"
    for i, (a, b) in enumerate(zip(mg, th)):
        a, b = _np(a), _np(b)
        step = names[i] if i < len(names) else f"leaf {i - len(names)}"
        assert a.shape == b.shape, f"{what} {i} ({step}): shape {a.shape} vs {b.shape}"
        np.testing.assert_allclose(
            a, b, rtol=rtol, atol=ATOL * rtol / RTOL, err_msg=f"{what} {i} ({step}): {names}"
        )


def _torch_jvp(f: Any, primals: tuple, tangents: tuple) -> tuple:
    """torch.func.jvp; for an op without a forward-mode formula in PyTorch, the
    double-backward J·v of torch.autograd.functional.jvp (the same quantity)."""
    try:
        return torch.func.jvp(f, primals, tangents)
    except NotImplementedError:
        return torch.autograd.functional.jvp(f, primals, tangents)


def _draws(leaves: list[np.ndarray], steps: list) -> tuple:
    rng = np.random.default_rng(len(steps) + 7 * len(leaves))
    tangents = [rng.standard_normal(x.shape) for x in leaves]
    outs = program_function(steps)(*[torch.tensor(x) for x in leaves])
    cotangents = [rng.standard_normal(tuple(o.shape)) for o in outs]
    return tangents, cotangents


@settings(max_examples=N_JVP)
@given(small_programs)
def test_jvp_and_vjp_of_random_programs_match_torch_func(program: tuple) -> None:
    leaves, steps = program
    names = [op.name for op, _, _ in steps]
    rtol = max(RTOL, program_rtol(steps))
    f = program_function(steps)
    tangents, cotangents = _draws(leaves, steps)
    tp = tuple(torch.tensor(x) for x in leaves)
    mp = tuple(minigrad.tensor(x) for x in leaves)

    out_t, jv_t = _torch_jvp(f, tp, tuple(torch.tensor(v) for v in tangents))
    out_m, jv_m = mfunc.jvp(f, mp, tuple(minigrad.tensor(v) for v in tangents))
    _close(out_m, out_t, "jvp value", names, rtol)
    _close(jv_m, jv_t, "jvp tangent", names, rtol)

    _, vjp_t = torch.func.vjp(f, *tp)
    _, vjp_m = mfunc.vjp(f, *mp)
    ju_t = vjp_t(tuple(torch.tensor(u) for u in cotangents))
    ju_m = vjp_m(tuple(minigrad.tensor(u) for u in cotangents))
    _close(ju_m, ju_t, "vjp cotangent of leaf", [], rtol)

    # <u, J v> = <J^T u, v>, within minigrad (relative to the size of the terms)
    terms_out = [u * _np(t) for u, t in zip(cotangents, jv_m)]
    terms_in = [_np(g) * v for g, v in zip(ju_m, tangents)]
    lhs = sum(float(t.sum()) for t in terms_out)
    rhs = sum(float(t.sum()) for t in terms_in)
    scale = sum(float(np.abs(t).sum()) for t in terms_out + terms_in) + 1.0
    if np.isfinite(lhs) and np.isfinite(rhs):  # (a NaN derivative, hypot at 0, is torch's too)
        assert abs(lhs - rhs) <= 1e-9 * scale, f"<u, Jv> {lhs} != <J^T u, v> {rhs}: {names}"


@settings(max_examples=N_VMAP)
@given(small_programs)
def test_vmap_of_random_programs_matches_torch_func(program: tuple) -> None:
    leaves, steps = program
    names = [op.name for op, _, _ in steps]
    f = program_function(steps)
    rng = np.random.default_rng(len(steps))
    batch = [np.stack([x, *(rng.standard_normal(x.shape) for _ in range(2))]) for x in leaves]
    out_t = torch.func.vmap(f)(*[torch.tensor(b) for b in batch])
    out_m = mfunc.vmap(f)(*[minigrad.tensor(b) for b in batch])
    _close(out_m, out_t, "vmap value", names, max(RTOL, program_rtol(steps)))
