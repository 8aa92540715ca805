"""``inference_mode``: PyTorch's faster ``no_grad`` for inference.

In minigrad nothing is cheaper to skip than in ``no_grad`` (no graph is recorded in
either), so ``inference_mode()`` is ``no_grad()`` plus the flag
``is_inference_mode_enabled()``. PyTorch also marks the tensors created inside as
"inference tensors" that autograd later refuses; minigrad's are ordinary tensors that do
not require grad, which gives the same values wherever PyTorch gives any.
"""

from __future__ import annotations

import threading

from minigrad.core.grad_mode import _GradModeContext, _state


class _InferenceState(threading.local):
    enabled: bool = False


_inference = _InferenceState()


def is_inference_mode_enabled() -> bool:
    return _inference.enabled


class inference_mode(_GradModeContext):
    """Context manager / decorator: record nothing, as ``no_grad`` (``mode=False``: a
    no-op, as PyTorch's)."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = bool(mode)
        self._mode = _state.enabled if not mode else False

    def __enter__(self) -> None:
        self._prev_inference = _inference.enabled
        _inference.enabled = self.mode or _inference.enabled
        self._mode = _state.enabled and not self.mode
        super().__enter__()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        _inference.enabled = self._prev_inference
