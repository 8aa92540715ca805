"""Grad mode: whether new operations are recorded in the graph.

Recording costs memory (every node keeps what its backward needs), so evaluation and
the backward pass itself switch it off. The flag is thread-local, as in PyTorch:
``no_grad`` in one thread does not switch recording off in another.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _GradState(threading.local):
    enabled: bool = True  # class attribute: the default seen by every new thread
    forward: object = False  # truthy inside a dual level: ops carry tangents (forward mode)


_state = _GradState()


def is_grad_enabled() -> bool:
    """True when operations on tensors that require grad are being recorded."""
    return _state.enabled


class _GradModeContext:
    """Base of ``no_grad`` / ``enable_grad``: a context manager that is also a decorator."""

    _mode: bool

    def __enter__(self) -> None:
        self._prev = _state.enabled
        _state.enabled = self._mode

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self._prev

    def __call__(self, fn: F) -> F:
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = _state.enabled
            _state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _state.enabled = prev

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeContext):
    """Context manager / decorator: record nothing (results have ``requires_grad=False``)."""

    _mode = False


class enable_grad(_GradModeContext):
    """Context manager / decorator: record operations again, inside a ``no_grad`` block."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """Switch recording on or off: as a call (``set_grad_enabled(False)``) it takes effect
    at once; as a context manager the previous mode comes back on exit (as PyTorch)."""

    def __init__(self, mode: bool) -> None:
        self._prev = _state.enabled
        self._mode = bool(mode)
        _state.enabled = self._mode

    def __enter__(self) -> None:
        pass  # already switched by __init__

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self._prev

    def __call__(self, fn: F) -> F:
        _state.enabled = self._prev  # used as a decorator: switch only inside ``fn``
        return super().__call__(fn)
