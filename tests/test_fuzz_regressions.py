"""Failures the random-program fuzzers found, each minimised to a small program and
compared with PyTorch (``tests/test_fuzz.py``, ``tests/test_fuzz_families.py``,
``tests/test_fuzz_ops.py``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import minigrad


# ------------------------------------------------------------ size arguments
@pytest.mark.parametrize("method", ["view", "reshape", "permute", "expand", "repeat"])
def test_shape_methods_without_sizes_refuse_as_pytorch(method):
    """``x.view(*x.shape)`` on a 0-d tensor is ``x.view()``, which PyTorch refuses
    (TypeError); minigrad returned x. The 0-d target is spelled ``x.view(())``."""
    with pytest.raises(TypeError):
        getattr(torch.tensor(1.5), method)()
    with pytest.raises(TypeError, match=method):
        getattr(minigrad.tensor(1.5), method)()
    mg, th = getattr(minigrad.tensor(1.5), method)(()), getattr(torch.tensor(1.5), method)(())
    assert mg.shape == tuple(th.shape) == ()
    assert mg.item() == th.item()


# ------------------------------------------------------------ rounding divisions at jumps
def test_remainder_at_a_jump_is_ill_conditioned_not_wrong():
    """remainder(x, 1.5) jumps at x = 3; PyTorch's float64 sqrt(2.0) is an ulp below the
    correctly rounded one (NumPy's), so 2·sqrt(2)² − 1 lands on either side of 3 and the
    remainders differ by 1.5. Both libraries are right for their inputs: each library's
    remainder of the other's input agrees with the other's result. (The fuzzer's
    divisors are irrational since.)"""
    x = torch.tensor(2.0, dtype=torch.float64)
    v_torch = float(x.sqrt() ** 2 * 2 - 1)
    v_np = float(np.sqrt(2.0) ** 2 * 2 - 1)
    for v in (v_torch, v_np):
        mg = minigrad.remainder(minigrad.tensor(v, dtype=minigrad.float64), 1.5).item()
        th = torch.remainder(torch.tensor(v, dtype=torch.float64), 1.5).item()
        assert mg == th
    assert math.isclose(abs(v_torch - v_np), 0.0, abs_tol=1e-14)
