"""Every layer of minigrad.nn against its torch.nn twin.

Each test draws the layer's options and input shape, builds both layers, copies the
weights across (minigrad -> torch and torch -> minigrad, alternately), and checks the
outputs, the input gradients, every parameter gradient and the state after the step
(see ``nn_helpers.compare_module``).
"""

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


def _data(seed: int, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _pair(mg_cls, t_cls, dtype, *args, **kwargs):
    return mg_cls(*args, dtype=dtype, **kwargs), t_cls(*args, dtype=TORCH_DTYPE[dtype], **kwargs)


@given(
    st.integers(1, 6),
    st.integers(1, 6),
    st.booleans(),
    st.lists(st.integers(1, 3), max_size=2),
    dtypes,
    directions,
    st.integers(0, 99),
)
def test_linear(fin, fout, bias, lead, dtype, direction, seed):
    m, t = _pair(nn.Linear, torch.nn.Linear, dtype, fin, fout, bias=bias)
    compare_module(m, t, [_data(seed, (*lead, fin), dtype)], dtype, direction)


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.booleans(), directions)
def test_bilinear(in1, in2, out, bias, direction):
    m, t = _pair(nn.Bilinear, torch.nn.Bilinear, np.float64, in1, in2, out, bias=bias)
    compare_module(m, t, [_data(1, (3, in1)), _data(2, (3, in2))], np.float64, direction)


@st.composite
def conv2d_case(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(
        st.sampled_from(["valid", "same"])
        | st.tuples(st.integers(0, 2), st.integers(0, 2))
        | st.integers(0, 2)
    )
    stride = 1 if padding == "same" else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    mode = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    reach = [d * (kk - 1) + 1 for kk, d in zip(k, dilation)]
    pads = (
        (2, 2)
        if isinstance(padding, str)
        else (padding, padding)
        if isinstance(padding, int)
        else padding
    )
    # reflect padding needs pad < size (the mirror excludes the edge element)
    low = [max(r, p + 1) for r, p in zip(reach, pads)]
    hw = (draw(st.integers(low[0], low[0] + 5)), draw(st.integers(low[1], low[1] + 5)))
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    return dict(
        in_channels=cin,
        out_channels=cout,
        kernel_size=k,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=draw(st.booleans()),
        padding_mode=mode,
    ), batch + (cin,) + hw


@given(conv2d_case(), dtypes, directions, st.integers(0, 99))
def test_conv2d(case, dtype, direction, seed):
    kwargs, shape = case
    m, t = _pair(nn.Conv2d, torch.nn.Conv2d, dtype, **kwargs)
    compare_module(m, t, [_data(seed, shape, dtype)], dtype, direction)


@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 3),
    st.sampled_from([0, 1, "same", "valid"]),
    st.integers(1, 2),
    directions,
)
def test_conv1d(cin, cout, k, stride, padding, dilation, direction):
    stride = 1 if padding == "same" else stride
    m, t = _pair(
        nn.Conv1d,
        torch.nn.Conv1d,
        np.float64,
        cin,
        cout,
        k,
        stride=stride,
        padding=padding,
        dilation=dilation,
    )
    length = dilation * (k - 1) + 1 + 3
    compare_module(m, t, [_data(0, (2, cin, length))], np.float64, direction)


def test_conv3d():
    m, t = _pair(
        nn.Conv3d,
        torch.nn.Conv3d,
        np.float64,
        2,
        4,
        (2, 3, 2),
        stride=(1, 2, 1),
        padding=1,
        groups=2,
    )
    compare_module(m, t, [_data(0, (2, 2, 4, 5, 4))])


@st.composite
def pool_case(draw, max_pool: bool):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if max_pool else (1, 1)
    padding = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    reach = [d * (kk - 1) + 1 for kk, d in zip(k, dilation)]
    hw = (draw(st.integers(reach[0], reach[0] + 5)), draw(st.integers(reach[1], reach[1] + 5)))
    kwargs = dict(kernel_size=k, stride=stride, padding=padding, ceil_mode=draw(st.booleans()))
    if max_pool:
        kwargs["dilation"] = dilation
    else:
        kwargs["count_include_pad"] = draw(st.booleans())
        kwargs["divisor_override"] = draw(st.none() | st.integers(1, 5))
    return kwargs, draw(st.sampled_from([(2, 3), (3,)])) + hw


@given(pool_case(max_pool=True), st.booleans(), st.integers(0, 99))
def test_max_pool2d(case, ties, seed):
    """Ties (integer-valued inputs) send the gradient to the first maximum, as torch."""
    kwargs, shape = case
    x = (
        np.random.default_rng(seed).integers(0, 3, shape).astype(np.float64)
        if ties
        else _data(seed, shape)
    )
    compare_module(nn.MaxPool2d(**kwargs), torch.nn.MaxPool2d(**kwargs), [x])


@given(pool_case(max_pool=False), st.integers(0, 99))
def test_avg_pool2d(case, seed):
    kwargs, shape = case
    compare_module(nn.AvgPool2d(**kwargs), torch.nn.AvgPool2d(**kwargs), [_data(seed, shape)])


@given(
    st.tuples(st.integers(1, 9), st.integers(1, 9)),
    st.tuples(st.integers(1, 5) | st.none(), st.integers(1, 5)),
    st.integers(0, 99),
)
def test_adaptive_avg_pool2d(hw, out, seed):
    compare_module(
        nn.AdaptiveAvgPool2d(out), torch.nn.AdaptiveAvgPool2d(out), [_data(seed, (2, 3) + hw)]
    )


def test_pool_1d_3d():
    x1, x3 = _data(0, (2, 3, 9)), _data(1, (2, 2, 5, 6, 4))
    compare_module(nn.MaxPool1d(3, 2, 1), torch.nn.MaxPool1d(3, 2, 1), [x1])
    compare_module(nn.AvgPool1d(3, 2, 1), torch.nn.AvgPool1d(3, 2, 1), [x1])
    compare_module(nn.AdaptiveAvgPool1d(4), torch.nn.AdaptiveAvgPool1d(4), [x1])
    compare_module(nn.MaxPool3d(2, 1), torch.nn.MaxPool3d(2, 1), [x3])
    compare_module(nn.AvgPool3d(2, 2, 1), torch.nn.AvgPool3d(2, 2, 1), [x3])
    compare_module(nn.AdaptiveAvgPool3d((2, 3, 3)), torch.nn.AdaptiveAvgPool3d((2, 3, 3)), [x3])


@st.composite
def batchnorm_case(draw):
    kind = draw(st.sampled_from(["1d-2", "1d-3", "2d"]))
    c = draw(st.integers(1, 4))
    n = draw(st.integers(2, 4))
    shape = {"1d-2": (n, c), "1d-3": (n, c, draw(st.integers(1, 3))), "2d": (n, c, 2, 3)}[kind]
    opts = dict(
        eps=draw(st.sampled_from([1e-5, 1e-3])),
        momentum=draw(st.sampled_from([0.1, 0.5, None])),
        affine=draw(st.booleans()),
        track_running_stats=draw(st.booleans()),
    )
    return kind, shape, opts


@given(batchnorm_case(), dtypes, st.integers(0, 99))
def test_batchnorm_running_stats_then_eval(case, dtype, seed):
    """Several training steps (running statistics, num_batches_tracked), then eval."""
    kind, shape, opts = case
    mg_cls, t_cls = (
        (nn.BatchNorm2d, torch.nn.BatchNorm2d)
        if kind == "2d"
        else (nn.BatchNorm1d, torch.nn.BatchNorm1d)
    )
    m, t = _pair(mg_cls, t_cls, dtype, shape[1], **opts)
    for step in range(3):
        x = _data(seed + step, shape, dtype) * 3 + 1
        compare_module(m, t, [x], dtype, "mg->torch" if step == 0 else "torch->mg", seed=step)
    m.eval()
    t.eval()
    compare_module(m, t, [_data(seed + 10, shape, dtype)], dtype)


def test_batchnorm_checks():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        bn(minigrad.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(minigrad.randn(1, 3))
    bn.eval()
    assert bn(minigrad.randn(1, 3)).shape == (1, 3)  # fine in eval mode
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(minigrad.randn(2, 3))


@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=3),
    st.integers(1, 3),
    st.booleans(),
    st.booleans(),
    dtypes,
    directions,
)
def test_layer_norm(shape, k, affine, bias, dtype, direction):
    k = min(k, len(shape))
    normalized = tuple(shape[-k:])
    if np.prod(normalized) == 1:  # x - mean is pure float32 rounding noise, amplified by
        dtype = np.float64  # 1/√eps differently in each library; compare in float64
    m, t = _pair(
        nn.LayerNorm, torch.nn.LayerNorm, dtype, normalized, elementwise_affine=affine, bias=bias
    )
    compare_module(m, t, [_data(3, (2, *shape), dtype) * 2 + 1], dtype, direction)


@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=3),
    st.integers(1, 3),
    st.sampled_from([None, 1e-6, 0.1]),
    st.booleans(),
    dtypes,
)
def test_rms_norm(shape, k, eps, affine, dtype):
    k = min(k, len(shape))
    m, t = _pair(
        nn.RMSNorm, torch.nn.RMSNorm, dtype, tuple(shape[-k:]), eps=eps, elementwise_affine=affine
    )
    compare_module(m, t, [_data(4, (2, *shape), dtype)], dtype)


@given(st.sampled_from([(1, 4), (2, 4), (4, 4), (3, 6)]), st.booleans(), st.booleans())
def test_group_norm(groups_channels, affine, spatial):
    g, c = groups_channels
    shape = (2, c, 3, 2) if spatial else (2, c)
    m, t = _pair(nn.GroupNorm, torch.nn.GroupNorm, np.float64, g, c, affine=affine)
    compare_module(m, t, [_data(5, shape)])


@given(
    st.integers(2, 8),
    st.integers(1, 5),
    st.none() | st.integers(-2, 1),
    st.lists(st.integers(1, 4), min_size=1, max_size=2),
    directions,
    st.integers(0, 99),
)
def test_embedding(num, dim, padding_idx, shape, direction, seed):
    m, t = _pair(nn.Embedding, torch.nn.Embedding, np.float64, num, dim, padding_idx=padding_idx)
    if padding_idx is not None:  # the padding row is initialised to zeros
        assert np.all(m.weight.data[padding_idx] == 0)
    idx = np.random.default_rng(seed).integers(0, num, shape)
    compare_module(m, t, [idx], np.float64, direction)


def test_embedding_from_pretrained_and_max_norm():
    w = _data(0, (5, 3)) * 3
    m = nn.Embedding.from_pretrained(minigrad.tensor(w), max_norm=1.0)
    t = torch.nn.Embedding.from_pretrained(torch.tensor(w), max_norm=1.0)
    assert not m.weight.requires_grad
    idx = np.array([[0, 2], [2, 4]])
    assert_close(m(minigrad.tensor(idx)), t(torch.tensor(idx)))
    assert_close(m.weight, t.weight)  # the rows used were renormalised in place


ACTIVATIONS = [
    ("ReLU", ()),
    ("ReLU6", ()),
    ("GELU", ()),
    ("GELU", ("tanh",)),
    ("Tanh", ()),
    ("Sigmoid", ()),
    ("SiLU", ()),
    ("Softmax", (1,)),
    ("LogSoftmax", (-1,)),
    ("Softmin", (0,)),
    ("LeakyReLU", ()),
    ("LeakyReLU", (0.2,)),
    ("ELU", ()),
    ("ELU", (0.5,)),
    ("CELU", (0.7,)),
    ("SELU", ()),
    ("Softplus", ()),
    ("Softplus", (2.0, 1.0)),
    ("Mish", ()),
    ("Hardtanh", ()),
    ("Hardtanh", (-2.0, 0.5)),
    ("LogSigmoid", ()),
    ("Softsign", ()),
    ("Tanhshrink", ()),
    ("Hardsigmoid", ()),
    ("Hardswish", ()),
    ("Threshold", (0.1, -2.0)),
    ("GLU", (1,)),
]


@pytest.mark.parametrize(("name", "args"), ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_activation_modules(name, args, dtype):
    x = _data(7, (3, 4, 2), dtype) * 3
    m, t = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    compare_module(m, t, [x], dtype)
    assert repr(m) == repr(t)


@given(st.lists(st.integers(1, 4), min_size=2, max_size=4), st.data())
def test_flatten_unflatten_identity(shape, data):
    start = data.draw(st.integers(-len(shape), len(shape) - 1))
    end = data.draw(st.integers(start % len(shape), len(shape) - 1))
    x = _data(0, tuple(shape))
    compare_module(nn.Flatten(start, end), torch.nn.Flatten(start, end), [x])
    compare_module(nn.Identity(3, foo=1), torch.nn.Identity(3, foo=1), [x])
    d = data.draw(st.integers(0, len(shape) - 1))
    sizes = (1, shape[d], 1) if data.draw(st.booleans()) else (-1, 1)
    compare_module(nn.Unflatten(d, sizes), torch.nn.Unflatten(d, sizes), [x])


def test_dropout_train_eval():
    minigrad.manual_seed(0)
    x = minigrad.ones(200, 50, requires_grad=True)
    for cls, p in [(nn.Dropout, 0.3), (nn.Dropout, 0.0), (nn.Dropout, 0.7)]:
        d = cls(p)
        y = d(x)
        kept = y.data != 0
        assert np.allclose(y.data[kept], 1 / (1 - p))  # survivors are scaled by 1/(1 - p)
        assert abs(1 - kept.mean() - p) < 0.05  # about p of them are dropped
        y.sum().backward()
        assert np.array_equal(x.grad.data, y.data)  # dy/dx is the same mask
        x.grad = None
        d.eval()
        assert d(x) is x or np.array_equal(d(x).data, x.data)
    assert repr(nn.Dropout(0.2)) == repr(torch.nn.Dropout(0.2))
    y = nn.Dropout(1.0)(x)
    assert np.all(y.data == 0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout2d_drops_whole_channels():
    minigrad.manual_seed(1)
    y = nn.Dropout2d(0.5)(minigrad.ones(8, 16, 3, 3)).data
    per_channel = y.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0 < (per_channel == 0).all(-1).mean() < 1


@st.composite
def mha_case(draw):
    heads = draw(st.sampled_from([1, 2, 4]))
    embed = heads * draw(st.integers(1, 3))
    opts = dict(
        bias=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        add_bias_kv=draw(st.booleans()),
        add_zero_attn=draw(st.booleans()),
    )
    if draw(st.booleans()):
        opts.update(kdim=draw(st.integers(1, 5)), vdim=draw(st.integers(1, 5)))
    return (
        embed,
        heads,
        opts,
        draw(st.integers(1, 4)),
        draw(st.integers(1, 4)),
        draw(st.integers(1, 3)),
    )


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@given(
    mha_case(),
    st.sampled_from(["none", "bool", "float"]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    directions,
    st.integers(0, 99),
)
def test_multihead_attention(
    case, mask_kind, padding_mask, need_weights, average, batched, direction, seed
):
    embed, heads, opts, L, S, N = case
    m, t = _pair(
        nn.MultiheadAttention, torch.nn.MultiheadAttention, np.float64, embed, heads, **opts
    )
    rng = np.random.default_rng(seed)
    bf = opts["batch_first"]
    kdim, vdim = opts.get("kdim", embed), opts.get("vdim", embed)

    def seq(length, dim):
        if not batched:
            return rng.standard_normal((length, dim))
        return rng.standard_normal((N, length, dim) if bf else (length, N, dim))

    inputs = [seq(L, embed), seq(S, kdim), seq(S, vdim)]
    kwargs = {"need_weights": need_weights, "average_attn_weights": average}
    # Column 0 stays visible so that no row is fully masked (PyTorch gives NaN there).
    if mask_kind == "bool":
        mask = rng.random((L, S)) < 0.4
        mask[:, 0] = False
        kwargs["attn_mask"] = mask
    elif mask_kind == "float":
        kwargs["attn_mask"] = rng.standard_normal((L, S))
    if padding_mask:
        kpm = rng.random((N, S) if batched else (S,)) < 0.4
        kpm[..., 0] = False
        kwargs["key_padding_mask"] = kpm

    def call(module, xs):
        lib = torch if isinstance(module, torch.nn.Module) else minigrad
        masks = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        return module(*xs, **masks)

    compare_module(m, t, inputs, np.float64, direction, seed=seed, call=call)
    m.eval()
    t.eval()
    compare_module(m, t, inputs, np.float64, direction, seed=seed, call=call)


def test_multihead_attention_checks():
    m = nn.MultiheadAttention(4, 2)
    x = minigrad.randn(3, 2, 4)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        m(x, x, x, attn_mask=minigrad.zeros(2, 2))
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        m(x, x, x, is_causal=True)
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(5, 2)
    out, w = m(x, x, x, need_weights=False)
    assert out.shape == (3, 2, 4) and w is None


def test_multihead_attention_dropout_only_in_training():
    minigrad.manual_seed(0)
    m = nn.MultiheadAttention(4, 2, dropout=0.5)
    x = minigrad.randn(5, 1, 4)
    _, w_train = m(x, x, x)
    m.eval()
    _, w_eval = m(x, x, x)
    assert np.allclose(w_eval.data.sum(-1), 1.0)
    assert not np.allclose(w_train.data, w_eval.data)
