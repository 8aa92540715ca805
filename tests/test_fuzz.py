"""Random-program fuzzer: random graphs of 5-40 ops, run in minigrad and PyTorch.

Each program starts from a few leaf tensors and repeatedly applies an op drawn
from ``ALL_OPS`` (``tests/fuzz_programs.py``, ``tests/fuzz_table.py``) to values
already computed (so intermediate values are reused, and gradients meet at fan-out
points), tracking shapes so that every program is valid. The same program text
runs on both libraries -- the APIs are the same -- and the outputs and every leaf's
gradient must agree in float64 (at 1e-9 relative, looser only for an op whose
PyTorch result is less accurate: ``FuzzOp.rtol``).

The ``ci`` hypothesis profile runs a bounded number of programs; ``thorough``
runs thousands (``MINIGRAD_HYPOTHESIS_PROFILE=thorough``).
"""

from __future__ import annotations

import os

import numpy as np
from fuzz_programs import program_rtol, programs, run_program
from fuzz_table import ALL_OPS
from hypothesis import given, settings

# Programs per run: bounded in CI, thousands when hunting bugs.
N_PROGRAMS = 3000 if os.environ.get("MINIGRAD_HYPOTHESIS_PROFILE") == "thorough" else 80


@settings(max_examples=N_PROGRAMS)
@given(programs(ALL_OPS))
def test_random_programs_match_pytorch(program: tuple) -> None:
    leaves, steps = program
    rtol = program_rtol(steps)
    atol = 1e-12 if rtol <= 1e-9 else rtol / 100  # the same error, after a cancellation
    loss_t, xs_t, pool_t = run_program("torch", leaves, steps)
    loss_m, xs_m, pool_m = run_program("minigrad", leaves, steps)
    for i, (vm, vt) in enumerate(zip(pool_m, pool_t)):
        assert vm.shape == tuple(vt.shape), f"value {i}: shape {vm.shape} vs {tuple(vt.shape)}"
        np.testing.assert_allclose(
            vm.data, vt.detach().numpy(), rtol=rtol, atol=atol, err_msg=f"value {i}"
        )
    loss_t.backward()
    loss_m.backward()
    for i, (xm, xt) in enumerate(zip(xs_m, xs_t)):
        gt = xt.grad
        if gt is None:
            assert xm.grad is None or not np.any(xm.grad.data), f"leaf {i}"
            continue
        assert xm.grad is not None, f"leaf {i} got no gradient; PyTorch's is {gt}"
        np.testing.assert_allclose(
            xm.grad.data,
            gt.numpy(),
            rtol=10 * rtol,
            atol=max(1e-10, 10 * atol),
            err_msg=f"gradient of leaf {i}; program: {[s[0].name for s in steps]}",
        )
