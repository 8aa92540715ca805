"""Broadcast views built directly.

``np.broadcast_to`` is a general function that costs several microseconds; the
backward of every sum, mean and broadcasting op calls it. A broadcast view is just
the array with stride 0 along each broadcast dimension, which the ndarray
constructor builds in a fraction of that time. Reference mode uses NumPy's function.
"""

from __future__ import annotations

import numpy as np


def broadcast_view(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``np.broadcast_to(x, shape)``: a read-only view with stride 0 where broadcast."""
    lead = len(shape) - x.ndim
    if lead < 0 or not x.flags.c_contiguous or x.size == 0:
        return np.broadcast_to(x, shape)
    strides = [0] * lead
    for n, target, stride in zip(x.shape, shape[lead:], x.strides):
        if n == target:
            strides.append(stride)
        elif n == 1:
            strides.append(0)
        else:
            return np.broadcast_to(x, shape)  # not broadcastable: NumPy's error
    view = np.ndarray(shape, x.dtype, x, 0, tuple(strides))
    view.flags.writeable = False  # as NumPy's: a write would hit one element many times
    return view


def broadcast_forward(ctx, x, shape):  # noqa: ANN001  (a Function.forward)
    """``BroadcastTo.forward`` with the direct view."""
    ctx.in_shape = x.shape
    return broadcast_view(x, shape)
