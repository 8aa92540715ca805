"""Helpers for the ``minigrad.nn`` tests: copy weights between a minigrad module and its
PyTorch twin, then compare outputs and every gradient against PyTorch's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

import minigrad
from minigrad import nn

# float64: the two libraries do the same arithmetic up to summation order;
# float32: within 1e-4 relative.
TOL = {np.float64: (1e-7, 1e-10), np.float32: (1e-4, 1e-5)}
TORCH_DTYPE = {np.float64: torch.float64, np.float32: torch.float32}


def tol(dtype: Any) -> tuple[float, float]:
    return TOL[np.dtype(dtype).type]


def assert_close(actual: Any, expected: Any, dtype: Any = np.float64, what: str = "") -> None:
    """minigrad Tensor/array vs torch tensor/array, with the dtype's tolerance."""
    a = actual.data if isinstance(actual, minigrad.Tensor) else np.asarray(actual)
    e = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != torch's {e.shape}"
    rtol, atol = tol(dtype)
    scale = max(1.0, float(np.max(np.abs(e)))) if e.size else 1.0
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol * scale, err_msg=what)


def to_torch_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.array(v.data)) for k, v in module.state_dict().items()}


def sync(mg_module: nn.Module, t_module: torch.nn.Module, direction: str) -> None:
    """Copy the weights: ``"mg->torch"`` (minigrad state_dict into torch) or
    ``"torch->mg"`` (torch's state_dict, as torch tensors, into minigrad)."""
    assert list(mg_module.state_dict()) == list(t_module.state_dict())
    if direction == "mg->torch":
        t_module.load_state_dict(to_torch_state(mg_module))
    else:
        mg_module.load_state_dict(t_module.state_dict())


def _outputs(out: Any) -> list[Any]:
    if isinstance(out, (tuple, list)):
        return [o for o in out if o is not None]
    return [out]


def compare_module(
    mg_module: nn.Module,
    t_module: torch.nn.Module,
    inputs: Sequence[np.ndarray],
    dtype: Any = np.float64,
    direction: str = "mg->torch",
    seed: int = 0,
    call: Callable[[Any, list[Any]], Any] | None = None,
) -> None:
    """Sync weights, run both modules on ``inputs`` (float arrays get requires_grad),
    backpropagate the same random upstream gradients and compare outputs, input
    gradients, parameter gradients and the state after the step (running stats)."""
    sync(mg_module, t_module, direction)
    mg_in = [minigrad.tensor(x, requires_grad=np.asarray(x).dtype.kind == "f") for x in inputs]
    t_in = [torch.tensor(x, requires_grad=np.asarray(x).dtype.kind == "f") for x in inputs]
    call = call or (lambda m, xs: m(*xs))
    mg_out, t_out = _outputs(call(mg_module, mg_in)), _outputs(call(t_module, t_in))
    assert len(mg_out) == len(t_out)
    rng = np.random.default_rng(seed)
    mg_loss, t_loss = None, None
    for i, (o, to) in enumerate(zip(mg_out, t_out)):
        assert_close(o, to, dtype, f"output {i}")
        g = rng.standard_normal(to.shape).astype(dtype)
        mg_loss = (o * minigrad.tensor(g)).sum() + (mg_loss if mg_loss is not None else 0)
        t_loss = (to * torch.tensor(g)).sum() + (t_loss if t_loss is not None else 0)
    if t_loss is None or not t_loss.requires_grad:
        return
    mg_loss.backward()
    t_loss.backward()
    for i, (x, tx) in enumerate(zip(mg_in, t_in)):
        if tx.requires_grad:
            assert_close(x.grad, tx.grad, dtype, f"input {i} grad")
    t_params = dict(t_module.named_parameters())
    mg_params = dict(mg_module.named_parameters())
    assert list(mg_params) == list(t_params)
    for name, p in mg_params.items():
        tp = t_params[name]
        assert (p.grad is None) == (tp.grad is None), name
        if tp.grad is not None:
            assert_close(p.grad, tp.grad, dtype, f"grad of {name}")
    for name, v in mg_module.state_dict().items():
        assert_close(v, t_module.state_dict()[name], dtype, f"state {name}")
