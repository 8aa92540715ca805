"""Registry entries (``OpInfo``) for the functional forms of the layers: transposed
convolution, embedding bags, interpolation and pixel shuffling. Run by
``tests/test_ops_layers.py`` with the generic checks of ``tests/test_ops.py``."""

from __future__ import annotations

import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st
from op_registry import FIRST_ORDER, OpInfo
from op_samples import REAL, Const, Sample

import minigrad.nn.functional as F

__all__ = ["ENTRIES"]


@st.composite
def conv_transpose_sample(draw, small, nd):
    groups = draw(st.sampled_from([1, 1, 2]))
    cin, cout_g = groups * draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, (d * (kk - 1)) // 2 + 1)) for kk, d in zip(k, dilation))
    out_pad = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    side = 3 if small or nd == 3 else 4
    spatial = tuple(draw(st.integers(1, side)) for _ in range(nd))
    size = [
        (n - 1) * s - 2 * p + d * (kk - 1) + o + 1
        for n, s, p, d, kk, o in zip(spatial, stride, padding, dilation, k, out_pad)
    ]
    if min(size) < 1:
        padding = (0,) * nd
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    args = (draw(REAL((*batch, cin, *spatial))), draw(REAL((cin, cout_g, *k))))
    if draw(st.booleans()):
        args += (draw(REAL((cout_g * groups,))),)
    kwargs = dict(
        stride=stride, padding=padding, output_padding=out_pad, groups=groups, dilation=dilation
    )
    return Sample(args, kwargs)


@st.composite
def embedding_bag_sample(draw, small):
    n, d = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["sum", "mean", "max"]))
    two_d = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    kwargs: dict = {"mode": mode}
    if two_d:
        idx = rng.integers(0, n, (draw(st.integers(1, 3)), draw(st.integers(1, 3))))
        args: tuple = (Const(idx), draw(REAL((n, d))))
    else:
        length = draw(st.integers(0, 6))
        idx = rng.integers(0, n, length)
        cuts = sorted(rng.integers(0, length + 1, draw(st.integers(0, 3))).tolist())
        last = draw(st.booleans())
        offsets = [0, *cuts] + ([length] if last else [])
        kwargs["include_last_offset"] = last
        args = (Const(idx), draw(REAL((n, d))), Const(np.array(offsets, dtype=np.int64)))
    if mode == "max":
        # distinct rows: ties in a bag's max have no single derivative
        args = (
            args[0],
            np.asarray(draw(REAL((n, d)))) + np.arange(n * d).reshape(n, d) * 3.0,
            *args[2:],
        )
    if mode == "sum" and draw(st.booleans()):
        args += (draw(REAL(idx.shape)),)  # per_sample_weights, differentiated too
        kwargs["weighted"] = True
    # padding rows get no gradient by convention, so the numerical checks leave them out
    if not small and draw(st.booleans()):
        kwargs["padding_idx"] = int(draw(st.integers(0, n - 1)))
    return Sample(args, kwargs)


def _embedding_bag(lib_fn):
    """embedding_bag(idx, weight[, offsets][, per_sample_weights]) with the optional
    tensors passed by keyword (``weighted`` says the last argument is the weights)."""

    def call(idx, weight, *rest, weighted=False, **kw):
        rest = list(rest)
        if weighted:
            kw["per_sample_weights"] = rest.pop()
        if rest:
            kw["offsets"] = rest.pop()
        return lib_fn(idx, weight, **kw)

    return call


_LINEAR_DIMS = {"linear": 1, "bilinear": 2, "trilinear": 3}


@st.composite
def interpolate_sample(draw, small, mode):
    nd = _LINEAR_DIMS.get(mode) or draw(st.integers(1, 3 if not small else 2))
    spatial = tuple(draw(st.integers(1, 4 if nd < 3 else 3)) for _ in range(nd))
    x = draw(REAL((draw(st.integers(1, 2)), draw(st.integers(1, 2)), *spatial)))
    kwargs: dict = {"mode": mode}
    if draw(st.booleans()):
        kwargs["size"] = tuple(draw(st.integers(1, 6)) for _ in range(nd))
    else:
        kwargs["scale_factor"] = draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]))
        if min(int(np.floor(n * kwargs["scale_factor"])) for n in spatial) < 1:
            kwargs["scale_factor"] = 2.0
    if mode in _LINEAR_DIMS:
        kwargs["align_corners"] = draw(st.booleans())
    return Sample((x,), kwargs)


@st.composite
def pixel_shuffle_sample(draw, small, unshuffle):
    r = draw(st.integers(1, 3))
    lead = draw(st.sampled_from([(), (1,), (2,), (2, 1)]))
    c, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    shape = (*lead, c, h * r, w * r) if unshuffle else (*lead, c * r * r, h, w)
    return Sample((draw(REAL(shape)), r))


ENTRIES: list[OpInfo] = [
    *(
        OpInfo(
            f"nn.functional.conv_transpose{nd}d",
            getattr(F, f"conv_transpose{nd}d"),
            getattr(TF, f"conv_transpose{nd}d"),
            lambda small, nd=nd: conv_transpose_sample(small, nd),
        )
        for nd in (1, 2, 3)
    ),
    OpInfo(
        "nn.functional.embedding_bag",
        _embedding_bag(F.embedding_bag),
        _embedding_bag(TF.embedding_bag),
        embedding_bag_sample,
        **FIRST_ORDER,
    ),
    *(
        OpInfo(
            "nn.functional.interpolate",
            F.interpolate,
            TF.interpolate,
            lambda small, m=mode: interpolate_sample(small, m),
            variant=mode.replace("-", "_"),
        )
        for mode in ("nearest", "nearest-exact", "linear", "bilinear", "trilinear")
    ),
    OpInfo(
        "nn.functional.pixel_shuffle",
        F.pixel_shuffle,
        TF.pixel_shuffle,
        lambda small: pixel_shuffle_sample(small, False),
    ),
    OpInfo(
        "nn.functional.pixel_unshuffle",
        F.pixel_unshuffle,
        TF.pixel_unshuffle,
        lambda small: pixel_shuffle_sample(small, True),
    ),
]
