"""Helpers for the Hugging Face model tests: a seeded ``transformers`` model and its
minigrad twin, and one forward + backward on both compared output by output and
gradient by gradient."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from comparison.hf_models import hf_model, minigrad_twin, to_numpy
from comparison.transformers_compare import _named_grads_ours, _named_grads_ref

CPU = torch.device("cpu")
# float64: both sides do the same arithmetic up to summation order. The absolute floor
# is relative to the largest value compared (for gradients: of the whole model): it
# covers entries that are zero in exact arithmetic (the key biases' gradients, as the
# softmax ignores a shift shared by a query's scores; padding rows) where the two
# libraries' rounding leaves different residues around 1e-17 · scale.
TOL = {"float64": (1e-10, 1e-13), "float32": (1e-4, 1e-5)}
GRAD_TOL = {"float64": (1e-10, 1e-13), "float32": (2e-3, 1e-5)}


def pair(hf_cls: Any, ours_cls: Any, config: Any, dtype: str = "float64", seed: int = 0):
    """(reference, ours) in eval mode, ours holding the reference's seeded weights."""
    ref = hf_model(hf_cls, config, seed, dtype, CPU)
    return ref.eval(), minigrad_twin(ours_cls, config, ref, dtype).eval()


def assert_close_scaled(
    a: Any, b: Any, tol: tuple[float, float], what: str, scale: float | None = None
) -> None:
    """|a - b| <= rtol·|b| + atol·scale, scale = max |b| unless given."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != reference {b.shape}"
    if scale is None:
        scale = float(np.max(np.abs(b))) if b.size else 0.0
    np.testing.assert_allclose(a, b, rtol=tol[0], atol=tol[1] * max(scale, 1e-30), err_msg=what)


def check_forward_backward(
    ref: Any, ours: Any, batch: dict[str, np.ndarray], dtype: str = "float64"
) -> dict[str, float]:
    """Logits, loss and every parameter's gradient of ``ours(**batch)`` against
    ``ref(**batch)``; returns the largest relative differences (logits, loss, grads)."""
    out_ref = ref(**{k: torch.from_numpy(np.asarray(v)) for k, v in batch.items()})
    out = ours(**batch)
    assert_close_scaled(out.logits.data, to_numpy(out_ref.logits), TOL[dtype], "logits")
    assert_close_scaled(out.loss.item(), out_ref.loss.item(), TOL[dtype], "loss")
    out_ref.loss.backward()
    out.loss.backward()
    g_ours, g_ref = _named_grads_ours(ours), _named_grads_ref(ref)
    assert list(g_ours) == list(g_ref)  # HF's names in HF's order
    scale = max(float(np.max(np.abs(g))) for g in g_ref.values())
    worst = 0.0
    for name, g in g_ref.items():
        assert_close_scaled(g_ours[name], g, GRAD_TOL[dtype], f"gradient of {name}", scale)
        worst = max(worst, float(np.max(np.abs(g_ours[name] - g))) / scale)
    logits_ref = to_numpy(out_ref.logits)
    return {
        "logits": float(np.max(np.abs(out.logits.data - logits_ref)) / np.max(np.abs(logits_ref))),
        "loss": abs(out.loss.item() - out_ref.loss.item()) / abs(out_ref.loss.item()),
        "grads (max diff / max |grad| of the model)": worst,
    }
