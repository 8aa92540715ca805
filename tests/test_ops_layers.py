"""The layers' functional ops (``tests/op_registry_layers.py``) through the generic
registry checks of ``tests/test_ops.py``: values and dtypes, gradients under a random
upstream gradient, second-order gradients and numerical Jacobians, against PyTorch."""

from __future__ import annotations

import pytest
import test_ops as generic
from op_registry import OpInfo
from op_registry_layers import ENTRIES


def _id(v: object) -> str:
    return v.id if isinstance(v, OpInfo) else str(v)


@pytest.mark.parametrize(
    ("entry", "dtype"), [(e, d) for e in ENTRIES for d in e.float_dtypes], ids=_id
)
def test_forward_and_gradient_match_torch(entry: OpInfo, dtype: str) -> None:
    generic.test_forward_and_gradient_match_torch(entry, dtype)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.twice_differentiable], ids=_id)
def test_second_order_matches_torch(entry: OpInfo) -> None:
    generic.test_second_order_matches_torch(entry)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.differentiable], ids=_id)
def test_gradcheck(entry: OpInfo) -> None:
    generic.test_gradcheck(entry)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.twice_differentiable], ids=_id)
def test_gradgradcheck(entry: OpInfo) -> None:
    generic.test_gradgradcheck(entry)
