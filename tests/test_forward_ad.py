"""Forward mode against PyTorch: every differentiable registry op's JVP.

For each entry of ``tests/op_registry.py`` (the nn.functional entries included), in
float64, with random tangents v and cotangents u:

- the tangent of its outputs under ``minigrad.autograd.forward_ad`` equals
  ``torch.func.jvp``'s (rtol 1e-7);
- it is the transpose of minigrad's VJP: ⟨u, J v⟩ = ⟨Jᵀ u, v⟩.

Plus the ``forward_ad`` API itself (levels, errors) and forward-over-reverse.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from op_registry import REGISTRY, OpInfo, Sample
from test_ops import _build, _convert, _flatten, _np
from torch.nn.attention import SDPBackend, sdpa_kernel

import minigrad as mg
from minigrad.autograd import forward_ad as fwd

DIFF = [e for e in REGISTRY if e.differentiable]
FEW = 2  # examples per entry: each runs torch.func.jvp, a dual pass and a VJP
RTOL, ATOL = 1e-7, 1e-10
# Entries whose PyTorch forward-mode formula is wrong: its tangent of scatter_reduce(...,
# 'prod') is 0 (torch 2.13); compared with PyTorch's reverse-mode Jacobian times v instead.
TORCH_JVP_WRONG = {"scatter_reduce.prod", "scatter_reduce.prod_zeros"}


def _floats(out: object) -> list:
    return (
        [o for o in _flatten(out) if hasattr(o, "dtype") and o.dtype.is_floating_point]
        if (
            isinstance(out, torch.Tensor)
            or (
                isinstance(out, (tuple, list))
                and out
                and isinstance(_flatten(out)[0], torch.Tensor)
            )
        )
        else [o for o in _flatten(out) if isinstance(o, mg.Tensor) and o.dtype.kind == "f"]
    )


def _fn(entry: OpInfo, sample: Sample, args: list, slots: list[int], lib: str):
    kwargs = _convert(sample.kwargs, lib)
    call = entry.mg_fn if lib == "mg" else entry.torch_fn

    def fn(*xs):
        full = list(args)
        for i, x in zip(slots, xs):
            full[i] = x
        return tuple(_floats(call(*full, **kwargs)))

    return fn


def _jacobian_times(fn, primals: tuple, vs: tuple) -> list:
    """J v from torch's Jacobian (reverse mode, one backward pass per output element)."""
    jac = torch.autograd.functional.jacobian(fn, primals)
    n_out = len(fn(*primals))
    out = []
    for k in range(n_out):
        total = 0
        for i, v in enumerate(vs):
            total = total + torch.tensordot(jac[k][i], v, dims=v.ndim)
        out.append(total)
    return out


@pytest.mark.parametrize("entry", DIFF, ids=lambda e: e.id)
def test_jvp_matches_torch_and_is_the_transpose_of_the_vjp(entry: OpInfo) -> None:
    @settings(max_examples=FEW, deadline=None)
    @given(sample=entry.sample(False), seed=st.integers(0, 2**32 - 1))
    def check(sample: Sample, seed: int) -> None:
        # forward mode on inputs that record nothing (as dual inputs usually are)
        mg_args, th_args, mg_in, th_in = _build(sample, "float64", False)
        slots = [i for i, a in enumerate(mg_args) if any(a is x for x in mg_in)]
        rng = np.random.default_rng(seed)
        vs = [rng.standard_normal(x.shape) for x in mg_in]
        mg_fn = _fn(entry, sample, mg_args, slots, "mg")
        th_fn = _fn(entry, sample, th_args, slots, "torch")
        # forward mode, minigrad
        with fwd.dual_level():
            duals = [fwd.make_dual(x, mg.tensor(v)) for x, v in zip(mg_in, vs)]
            outs = mg_fn(*duals)
            tangents = [fwd.unpack_dual(o).tangent for o in outs]
        tangents = [np.zeros(o.shape) if t is None else _np(t) for o, t in zip(outs, tangents)]
        # torch.func.jvp
        prim = tuple(t.detach() for t in th_in)
        th_vs = tuple(torch.from_numpy(v) for v in vs)
        with sdpa_kernel(SDPBackend.MATH):  # the fused CPU attention has no forward AD
            try:
                if entry.id in TORCH_JVP_WRONG:
                    raise NotImplementedError(entry.id)
                _, th_tangents = torch.func.jvp(th_fn, prim, th_vs)
            except NotImplementedError:  # torch has no forward formula (embedding_bag), nor
                # a double backward: contract its reverse-mode Jacobian with v instead
                th_tangents = _jacobian_times(th_fn, prim, th_vs)
        assert len(tangents) == len(th_tangents), entry.id
        for i, (a, b) in enumerate(zip(tangents, th_tangents)):
            b = _np(b)
            assert a.shape == b.shape, f"{entry.id}: tangent {i} shape {a.shape} vs {b.shape}"
            np.testing.assert_allclose(
                a, b, RTOL, ATOL, equal_nan=True, err_msg=f"{entry.id} tangent {i}"
            )
        # <u, J v> = <J^T u, v>; not for embedding's padding_idx, whose backward is
        # defined (in PyTorch too) to send the padding row no gradient while its
        # forward (and tangent) still reads that row
        if sample.kwargs.get("padding_idx") is not None:
            return
        mg_in = [mg.tensor(x.data, requires_grad=True) for x in mg_in]
        outs = list(mg_fn(*mg_in))
        pairs = [(o, t) for o, t in zip(outs, tangents) if o.requires_grad]
        if not pairs:
            return
        us = [rng.standard_normal(o.shape) for o, _ in pairs]
        grads = mg.autograd.grad(
            [o for o, _ in pairs], mg_in, [mg.tensor(u) for u in us], allow_unused=True
        )
        lhs = sum(float(np.sum(u * t)) for u, (_, t) in zip(us, pairs))
        rhs = sum(float(np.sum(_np(g) * v)) for g, v in zip(grads, vs) if g is not None)
        if np.isfinite(lhs) and np.isfinite(rhs):
            assert abs(lhs - rhs) <= 1e-8 * (1 + abs(lhs) + abs(rhs)), (entry.id, lhs, rhs)

    check()


def test_torch_jvp_wrong_list_is_still_wrong() -> None:
    """Each TORCH_JVP_WRONG entry: PyTorch's forward-mode tangent still differs from its
    reverse-mode Jacobian times v (drop the entry from the list once PyTorch is fixed)."""
    x, s = torch.tensor([2.0, 3.0], dtype=torch.float64), torch.tensor([0.5, 4.0, 5.0]).double()
    index = torch.tensor([0, 0, 1])
    fn = lambda x, s: (torch.scatter_reduce(x, 0, index, s, "prod"),)  # noqa: E731
    vs = (torch.ones(2, dtype=torch.float64), torch.ones(3, dtype=torch.float64))
    (jvp,) = torch.func.jvp(fn, (x, s), vs)[1]
    (expected,) = _jacobian_times(fn, (x, s), vs)
    assert not torch.allclose(jvp, expected)
    assert {e.id for e in DIFF} >= TORCH_JVP_WRONG
