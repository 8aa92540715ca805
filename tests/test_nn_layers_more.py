"""ConvTranspose1d/2d/3d, EmbeddingBag, Upsample, PixelShuffle/PixelUnshuffle and
InstanceNorm1d/2d/3d against their torch.nn twins, weights copied both ways: outputs,
input gradients, parameter gradients and the state after the step
(``nn_helpers.compare_module``). The functional forms are in the op registry
(``tests/op_registry_layers.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from nn_helpers import TORCH_DTYPE, assert_close, compare_module

import minigrad
from minigrad import nn

dtypes = st.sampled_from([np.float64, np.float32])
directions = st.sampled_from(["mg->torch", "torch->mg"])
CONVT = {
    1: (nn.ConvTranspose1d, torch.nn.ConvTranspose1d),
    2: (nn.ConvTranspose2d, torch.nn.ConvTranspose2d),
    3: (nn.ConvTranspose3d, torch.nn.ConvTranspose3d),
}


def _data(seed, shape, dtype):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@st.composite
def conv_transpose_case(draw):
    nd = draw(st.sampled_from([1, 2, 2, 3]))
    groups = draw(st.sampled_from([1, 1, 2]))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    padding = tuple(draw(st.integers(0, 1)) for _ in range(nd))
    out_pad = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    spatial = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    sizes = [
        (n - 1) * s - 2 * p + d * (kk - 1) + o + 1
        for n, s, p, d, kk, o in zip(spatial, stride, padding, dilation, k, out_pad)
    ]
    if min(sizes) < 1:
        padding = (0,) * nd
    kw = dict(
        in_channels=groups * draw(st.integers(1, 2)),
        out_channels=groups * draw(st.integers(1, 2)),
        kernel_size=k,
        stride=stride,
        padding=padding,
        output_padding=out_pad,
        groups=groups,
        bias=draw(st.booleans()),
        dilation=dilation,
    )
    batch = draw(st.sampled_from([(), (2,)]))
    return nd, kw, (*batch, kw["in_channels"], *spatial)


@given(conv_transpose_case(), dtypes, directions, st.integers(0, 99))
def test_conv_transpose_matches_torch(case, dtype, direction, seed):
    nd, kw, shape = case
    mg_cls, t_cls = CONVT[nd]
    m, t = mg_cls(**kw, dtype=dtype), t_cls(**kw, dtype=TORCH_DTYPE[dtype])
    assert repr(m) == repr(t)
    compare_module(m, t, [_data(seed, shape, dtype)], dtype, direction, seed)


@given(st.integers(1, 3), st.integers(2, 3), st.integers(0, 99))
def test_conv_transpose_output_size(n, stride, seed):
    """forward(input, output_size) picks output_padding as PyTorch does."""
    m = nn.ConvTranspose2d(2, 3, 3, stride=stride, padding=1, dtype=np.float64)
    t = torch.nn.ConvTranspose2d(2, 3, 3, stride=stride, padding=1, dtype=torch.float64)
    lo = (n - 1) * stride - 2 + 3
    size = [lo + seed % stride, lo + (seed // 2) % stride]
    compare_module(
        m,
        t,
        [_data(seed, (1, 2, n, n), np.float64)],
        call=lambda mod, xs: mod(xs[0], output_size=size),
    )


@st.composite
def bag_case(draw):
    n, d = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    mode = draw(st.sampled_from(["sum", "mean", "max"]))
    pad = draw(st.none() | st.integers(0, n - 1))
    length = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    idx = rng.integers(0, n, length)
    cuts = sorted(rng.integers(0, length + 1, draw(st.integers(0, 3))).tolist())
    last = draw(st.booleans())
    offsets = np.array([0, *cuts] + ([length] if last else []), dtype=np.int64)
    weighted = mode == "sum" and draw(st.booleans())
    return n, d, mode, pad, idx, offsets, last, weighted


@given(bag_case(), dtypes, directions, st.integers(0, 99))
def test_embedding_bag_matches_torch(case, dtype, direction, seed):
    n, d, mode, pad, idx, offsets, last, weighted = case
    kw = dict(mode=mode, padding_idx=pad, include_last_offset=last)
    m = nn.EmbeddingBag(n, d, dtype=dtype, **kw)
    t = torch.nn.EmbeddingBag(n, d, dtype=TORCH_DTYPE[dtype], **kw)
    # distinct row values, so a max has one argmax
    with minigrad.no_grad():
        m.weight.data[...] += np.arange(n * d).reshape(n, d).astype(dtype) * 4
    psw = [_data(seed, idx.shape, dtype)] if weighted else []

    def call(mod, xs):
        lib_t = minigrad.tensor if isinstance(mod, nn.Module) else torch.from_numpy
        return mod(lib_t(idx), lib_t(offsets), per_sample_weights=xs[0] if xs else None)

    compare_module(m, t, psw, dtype, direction, seed, call)


def test_embedding_bag_2d_input_and_init():
    m = nn.EmbeddingBag(7, 3, mode="sum", padding_idx=2, dtype=np.float64)
    t = torch.nn.EmbeddingBag(7, 3, mode="sum", padding_idx=2, dtype=torch.float64)
    assert repr(m) == repr(t)
    assert np.all(m.weight.data[2] == 0)
    idx = np.array([[1, 2, 3], [2, 2, 6]])
    compare_module(
        m,
        t,
        [],
        call=lambda mod, xs: mod(
            minigrad.tensor(idx) if isinstance(mod, nn.Module) else torch.from_numpy(idx)
        ),
    )


@given(
    st.sampled_from(["nearest", "nearest-exact", "linear", "bilinear", "trilinear"]),
    st.booleans(),
    st.booleans(),
    st.integers(0, 99),
)
def test_upsample_matches_torch(mode, by_size, align, seed):
    nd = {"linear": 1, "bilinear": 2, "trilinear": 3}.get(mode, 1 + seed % 3)
    shape = (2, 2, *([3] * nd))
    kw = {"size": tuple(range(2, 2 + nd))} if by_size else {"scale_factor": 2.0}
    if mode in ("linear", "bilinear", "trilinear"):
        kw["align_corners"] = align
    m, t = nn.Upsample(mode=mode, **kw), torch.nn.Upsample(mode=mode, **kw)
    assert repr(m) == repr(t)
    compare_module(m, t, [_data(seed, shape, np.float64)])


def test_upsampling_aliases_match_torch():
    x = _data(0, (1, 2, 3, 4), np.float64)
    for mg_cls, t_cls in (
        (nn.UpsamplingNearest2d, torch.nn.UpsamplingNearest2d),
        (nn.UpsamplingBilinear2d, torch.nn.UpsamplingBilinear2d),
    ):
        compare_module(mg_cls(scale_factor=2), t_cls(scale_factor=2), [x])


@given(st.integers(1, 3), st.sampled_from([(), (2,), (1, 2)]), directions, st.integers(0, 99))
def test_pixel_shuffle_round_trip_matches_torch(r, lead, direction, seed):
    x = _data(seed, (*lead, 2 * r * r, 2, 3), np.float64)
    compare_module(nn.PixelShuffle(r), torch.nn.PixelShuffle(r), [x], direction=direction)
    y = _data(seed, (*lead, 2, 2 * r, 3 * r), np.float64)
    compare_module(nn.PixelUnshuffle(r), torch.nn.PixelUnshuffle(r), [y], direction=direction)
    back = nn.PixelUnshuffle(r)(nn.PixelShuffle(r)(minigrad.tensor(x)))
    np.testing.assert_array_equal(back.data, x)


INORM = {
    1: (nn.InstanceNorm1d, torch.nn.InstanceNorm1d),
    2: (nn.InstanceNorm2d, torch.nn.InstanceNorm2d),
    3: (nn.InstanceNorm3d, torch.nn.InstanceNorm3d),
}


@given(
    st.sampled_from([1, 2, 3]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    dtypes,
    directions,
    st.integers(0, 99),
)
def test_instance_norm_matches_torch(
    nd, affine, track, unbatched, evaluate, dtype, direction, seed
):
    mg_cls, t_cls = INORM[nd]
    m = mg_cls(3, affine=affine, track_running_stats=track, dtype=dtype)
    t = t_cls(3, affine=affine, track_running_stats=track, dtype=TORCH_DTYPE[dtype])
    assert repr(m) == repr(t)
    shape = (3, *([4] * nd)) if unbatched else (2, 3, *([4] * nd))
    x = _data(seed, shape, dtype) * 2 + 1
    compare_module(m, t, [x], dtype, direction, seed)  # training step (updates the stats)
    if evaluate:
        m.eval(), t.eval()
        compare_module(m, t, [_data(seed + 1, shape, dtype)], dtype, "torch->mg", seed)


def test_group_norm_still_matches_torch():
    m, t = nn.GroupNorm(2, 4, dtype=np.float64), torch.nn.GroupNorm(2, 4, dtype=torch.float64)
    compare_module(m, t, [_data(0, (2, 4, 3), np.float64)])


@pytest.mark.parametrize("factor", [2, 3])
def test_interpolate_nearest_scale_factor_indices(factor):
    x = np.arange(10, dtype=np.float64).reshape(1, 1, 10)
    got = minigrad.nn.functional.interpolate(minigrad.tensor(x), scale_factor=1 / factor)
    want = torch.nn.functional.interpolate(torch.from_numpy(x), scale_factor=1 / factor)
    assert_close(got, want)
