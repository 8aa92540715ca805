"""Reverse-mode automatic differentiation: ``backward``, ``grad`` and friends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from minigrad.autograd import engine
from minigrad.autograd.anomaly import detect_anomaly, is_anomaly_enabled
from minigrad.autograd.engine import run_backward
from minigrad.autograd.function import Function
from minigrad.core.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

__all__ = [
    "Function",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "inference_mode",
    "is_inference_mode_enabled",
    "no_grad",
    "once_differentiable",
    "set_grad_enabled",
]


def _as_list(x: Tensor | Sequence[Tensor] | None) -> list:
    if x is None:
        return []
    if isinstance(x, (engine.Tensor, np.ndarray)):  # one tensor (or array), not a sequence
        return [x]
    return list(x)


def _make_root_grads(
    outputs: list[Tensor], grad_outputs: list[Tensor | None], op: str
) -> list[Tensor]:
    Tensor = engine.Tensor

    if grad_outputs and len(grad_outputs) != len(outputs):
        raise RuntimeError(f"{op}: got {len(grad_outputs)} gradients for {len(outputs)} outputs")
    result = []
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(
                f"{op}: element {i} of tensors does not require grad and does not have a grad_fn"
            )
        g = grad_outputs[i] if grad_outputs else None
        if g is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"{op}: grad can be implicitly created only for scalar outputs "
                    f"(output {i} has shape {out.shape}); pass a gradient"
                )
            g = Tensor._from_op(np.ones(out.data.shape, out.data.dtype), None)
        elif not isinstance(g, Tensor):
            g = Tensor(np.asarray(g, dtype=out.dtype))
        if g.shape != out.shape:
            raise RuntimeError(
                f"{op}: mismatch in shape: gradient {i} has shape {g.shape} but the output has "
                f"shape {out.shape}"
            )
        result.append(g)
    return result


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """Accumulate d(tensors)/d(leaf) · grad_tensors into every leaf's ``.grad``."""
    outputs = _as_list(tensors)
    grads = _make_root_grads(outputs, _as_list(grad_tensors), "backward")
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(outputs, grads, retain_graph, create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Return d(outputs)/d(inputs) · grad_outputs without touching any ``.grad``.

    With ``create_graph=True`` the result is itself differentiable (grad of grad).
    """
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    root_grads = _make_root_grads(outs, _as_list(grad_outputs), "grad")
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outs, root_grads, retain_graph, create_graph, inputs=ins)
    assert result is not None
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: one of the differentiated Tensors (input {i}, shape {ins[i].shape}) "
                "appears to not have been used in the graph. Set allow_unused=True if this "
                "is the desired behavior."
            )
    return tuple(result)


from minigrad.autograd import forward_ad, functional  # noqa: E402, F401
from minigrad.autograd.custom_function import once_differentiable  # noqa: E402
from minigrad.autograd.gradcheck import gradcheck, gradgradcheck  # noqa: E402
from minigrad.autograd.inference import inference_mode, is_inference_mode_enabled  # noqa: E402
