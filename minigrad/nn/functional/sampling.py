"""Resampling: ``interpolate`` (nearest, nearest-exact, linear, bilinear, trilinear) and
``pixel_shuffle`` / ``pixel_unshuffle``, as compositions of recorded ops (gathers,
products, reshapes), so their gradients come from the engine.

Along each spatial axis of input size n and output size m, output position j reads the
source coordinate

    align_corners=True:   u = j · (n - 1)/(m - 1)              (0 when m = 1)
    align_corners=False:  u = max((j + ½) · r - ½, 0)          r = n/m, or 1/scale_factor

and linear modes blend its neighbours, y_j = (1 - λ) x[⌊u⌋] + λ x[min(⌊u⌋ + 1, n - 1)]
with λ = u - ⌊u⌋; (bi/tri)linear does this axis after axis. ``nearest`` reads
x[min(⌊j · r⌋, n - 1)], ``nearest-exact`` x[min(⌊(j + ½) · r⌋, n - 1)].

``pixel_shuffle`` with factor r moves channel blocks into space:
(*, C·r², H, W) -> (*, C, H·r, W·r),  y[c, h·r + i, w·r + j] = x[c·r² + i·r + j, h, w];
``pixel_unshuffle`` is its inverse.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.nn.functional._util import float_input
from minigrad.ops.helpers import as_tensor, constant
from minigrad.tensor import Tensor

__all__ = ["interpolate", "pixel_shuffle", "pixel_unshuffle", "upsample"]

_LINEAR = {"linear": 3, "bilinear": 4, "trilinear": 5}
_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")


def _sizes(x: Tensor, nd: int, size: Any, scale_factor: Any, recompute: bool | None) -> tuple:
    """Output sizes and the per-axis scales r used for the source coordinates."""
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    spatial = x.shape[2:]
    if size is not None:
        out = tuple(int(s) for s in size) if isinstance(size, (tuple, list)) else (int(size),) * nd
        if len(out) != nd:
            raise ValueError(
                f"Input and output must have the same number of spatial dimensions, but got "
                f"input with spatial dimensions of {list(spatial)} and output size of "
                f"{list(out)}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                "and output size in (o1, o2, ...,oK) format."
            )
        return out, tuple(n / m for n, m in zip(spatial, out))
    sf = (
        tuple(float(s) for s in scale_factor)
        if isinstance(scale_factor, (tuple, list))
        else (float(scale_factor),) * nd
    )
    if len(sf) != nd:
        raise ValueError(
            f"Input and scale_factor must have the same number of spatial dimensions, but got "
            f"input with spatial dimensions of {list(spatial)} and scale_factor of shape "
            f"{list(sf)}."
        )
    out = tuple(int(math.floor(n * s)) for n, s in zip(spatial, sf))
    if recompute:
        return out, tuple(n / m for n, m in zip(spatial, out))
    return out, tuple(1.0 / s for s in sf)


def _gather(x: Tensor, axis: int, index: np.ndarray) -> Tensor:
    return ops.index_select(x, axis, as_tensor(index.astype(np.int64)))


def _linear_axis(x: Tensor, axis: int, m: int, r: float, align_corners: bool) -> Tensor:
    n = x.shape[axis]
    j = np.arange(m, dtype=np.float64)
    if align_corners:
        u = j * ((n - 1) / (m - 1)) if m > 1 else np.zeros(m)
    else:
        u = np.maximum((j + 0.5) * r - 0.5, 0.0)
    i0 = np.minimum(np.floor(u).astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    lam = (u - i0).reshape((m,) + (1,) * (x.ndim - axis - 1))
    lo, hi = _gather(x, axis, i0), _gather(x, axis, i1)
    return lo * constant(1.0 - lam, x.dtype) + hi * constant(lam, x.dtype)


def _nearest_axis(x: Tensor, axis: int, m: int, r: float, exact: bool) -> Tensor:
    j = np.arange(m, dtype=np.float64)
    src = np.floor((j + 0.5) * r if exact else j * r).astype(np.int64)
    return _gather(x, axis, np.minimum(src, x.shape[axis] - 1))


def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize (N, C, *spatial) to ``size`` or ``spatial · scale_factor`` (see the module
    docstring for the source coordinates of each mode)."""
    x = float_input(input, "interpolate")
    if mode not in _MODES:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {x.ndim}D) for the "
            f"modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact "
            f"(got {mode})"
        )
    if mode in ("bicubic", "area") or antialias:
        raise NotImplementedError(f"interpolate: mode={mode!r} / antialias is not implemented")
    if mode in ("nearest", "nearest-exact") and align_corners is not None:
        raise ValueError(
            "align_corners option can only be set with the interpolating modes: "
            "linear | bilinear | bicubic | trilinear"
        )
    if mode in _LINEAR and x.ndim != _LINEAR[mode]:
        raise NotImplementedError(
            f"Got {x.ndim}D input, but {mode} mode needs {_LINEAR[mode]}D input"
        )
    if x.ndim not in (3, 4, 5):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {x.ndim}D) for the "
            f"modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact "
            f"(got {mode})"
        )
    nd = x.ndim - 2
    out, scales = _sizes(x, nd, size, scale_factor, recompute_scale_factor)
    if min(out) <= 0:
        raise RuntimeError(f"interpolate: output size {out} must be positive (input {x.shape})")
    y = x
    for k, (m, r) in enumerate(zip(out, scales)):
        axis = 2 + k
        if mode in _LINEAR:
            y = _linear_axis(y, axis, m, r, bool(align_corners))
        else:
            y = _nearest_axis(y, axis, m, r, mode == "nearest-exact")
    return y


def upsample(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """The deprecated alias of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) -> (*, C, H·r, W·r)."""
    x, r = as_tensor(input), int(upscale_factor)
    if x.ndim < 3:
        raise RuntimeError(
            f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
            f"{x.ndim} dimension(s)"
        )
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
            f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}"
        )
    k = len(lead)
    y = ops.reshape(x, (*lead, c // (r * r), r, r, h, w))
    y = ops.permute(y, (*range(k), k, k + 3, k + 1, k + 4, k + 2))
    return ops.reshape(y, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) -> (*, C·r², H, W), the inverse of :func:`pixel_shuffle`."""
    x, r = as_tensor(input), int(downscale_factor)
    if x.ndim < 3:
        raise RuntimeError(
            f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
            f"{x.ndim} dimension(s)"
        )
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *lead, c, h, w = x.shape
    for name, n, dim in (("height", h, -2), ("width", w, -1)):
        if n % r:
            raise RuntimeError(
                f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                f"input.size({dim})={n} is not divisible by {r}"
            )
    k = len(lead)
    y = ops.reshape(x, (*lead, c, h // r, r, w // r, r))
    y = ops.permute(y, (*range(k), k, k + 2, k + 4, k + 1, k + 3))
    return ops.reshape(y, (*lead, c * r * r, h // r, w // r))
