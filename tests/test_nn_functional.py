"""minigrad.nn.functional (all but the losses) against torch.nn.functional: outputs and
gradients, second derivatives through the conv/pool kernels, and the error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st
from nn_helpers import assert_close

import minigrad
import minigrad.nn.functional as F
from minigrad.autograd import gradcheck, gradgradcheck


def _data(seed, shape, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def compare_fn(mg_fn, t_fn, arrays, dtype=np.float64, seed=0, **kwargs):
    """Call both functions on the same data, compare outputs and input gradients.
    Float arrays require grad; other keyword arguments that are arrays become tensors."""
    mg_in = [minigrad.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    t_in = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    mg_kw = {k: minigrad.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    t_kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    out, t_out = mg_fn(*mg_in, **mg_kw), t_fn(*t_in, **t_kw)
    assert_close(out, t_out, dtype, "output")
    if not t_out.requires_grad:
        return out
    g = np.random.default_rng(seed).standard_normal(t_out.shape).astype(dtype)
    (out * minigrad.tensor(g)).sum().backward()
    (t_out * torch.tensor(g)).sum().backward()
    for i, (x, tx) in enumerate(zip(mg_in, t_in)):
        if tx.requires_grad:
            assert_close(x.grad, tx.grad, dtype, f"grad of input {i}")
    return out


# ------------------------------------------------------------------ convolution
@given(
    st.sampled_from([1, 2]),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(0, 2),
    st.integers(1, 2),
    st.booleans(),
    st.sampled_from([np.float64, np.float32]),
)
def test_conv2d_functional(groups, k, stride, dilation, padding, cg, bias, dtype):
    x = _data(0, (2, groups * cg, 6, 7), dtype)
    w = _data(1, (2 * groups, cg, k, k + 1), dtype)
    arrays = [x, w] + ([_data(2, (2 * groups,), dtype)] if bias else [])
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    compare_fn(lambda *a: F.conv2d(*a, **kw), lambda *a: TF.conv2d(*a, **kw), arrays, dtype)


def test_conv1d_unbatched_and_conv3d_functional():
    compare_fn(
        lambda x, w: F.conv1d(x, w, padding="same"),
        lambda x, w: TF.conv1d(x, w, padding="same"),
        [_data(0, (3, 8)), _data(1, (4, 3, 4))],
    )
    compare_fn(
        lambda x, w: F.conv3d(x, w, stride=2, dilation=(1, 2, 1)),
        lambda x, w: TF.conv3d(x, w, stride=2, dilation=(1, 2, 1)),
        [_data(0, (1, 2, 5, 6, 5)), _data(1, (3, 2, 2, 2, 3))],
    )


def test_conv_second_derivatives_match_torch():
    """Gradient of a function of the gradient: checks that the conv backward is itself
    differentiable (Unfold and Fold are each other's backward)."""
    x, w = _data(0, (2, 2, 5, 5)), _data(1, (3, 2, 3, 3))
    mx, mw = minigrad.tensor(x, requires_grad=True), minigrad.tensor(w, requires_grad=True)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    gx, gw = minigrad.autograd.grad(
        F.conv2d(mx, mw, stride=2, padding=1).tanh().sum(), [mx, mw], create_graph=True
    )
    tgx, tgw = torch.autograd.grad(
        TF.conv2d(tx, tw, stride=2, padding=1).tanh().sum(), [tx, tw], create_graph=True
    )
    ((gx * gx).sum() + (gw * gw).sum()).backward()
    ((tgx * tgx).sum() + (tgw * tgw).sum()).backward()
    assert_close(mx.grad, tx.grad)
    assert_close(mw.grad, tw.grad)


def test_gradcheck_conv_and_pool():
    x = minigrad.tensor(_data(0, (1, 2, 5, 4)), requires_grad=True)
    w = minigrad.tensor(_data(1, (2, 1, 2, 3)), requires_grad=True)
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding=1, dilation=(2, 1), groups=2), [x, w])
    assert gradgradcheck(lambda x, w: F.conv2d(x, w, stride=(2, 1), groups=2), [x, w])
    assert gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), [x])
    assert gradgradcheck(lambda x: F.max_pool2d(x, 2, 1, 1) ** 2, [x])
    assert gradgradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 3)) ** 2, [x])


@given(
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(0, 1),
    st.integers(1, 3),
    st.integers(0, 2),
)
def test_unfold_fold_match_torch(k, dilation, padding, stride, extra):
    size = dilation * k + 2 + extra  # the (k, k + 1) kernel fits in (size, size - 1)
    x = _data(0, (2, 3, size, size - 1))
    kw = dict(kernel_size=(k, k + 1), dilation=dilation, padding=padding, stride=stride)
    cols = compare_fn(lambda a: F.unfold(a, **kw), lambda a: TF.unfold(a, **kw), [x])
    folded = np.random.default_rng(1).standard_normal(cols.shape)
    compare_fn(
        lambda c: F.fold(c, (size, size - 1), **kw),
        lambda c: TF.fold(c, (size, size - 1), **kw),
        [folded],
    )
    compare_fn(lambda a: F.unfold(a, **kw), lambda a: TF.unfold(a, **kw), [x[0]])  # unbatched


def test_conv_errors():
    x = minigrad.randn(1, 3, 5, 5)
    with pytest.raises(RuntimeError, match="expected input .* to have 4 channels, but got 3"):
        F.conv2d(x, minigrad.randn(2, 4, 3, 3))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input"):
        F.conv2d(x, minigrad.randn(2, 3, 7, 7))
    with pytest.raises(ValueError, match="not supported for strided"):
        F.conv2d(x, minigrad.randn(2, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="expected a 3D .* or 4D"):
        F.conv2d(minigrad.randn(5, 5), minigrad.randn(2, 3, 3, 3))
    with pytest.raises(RuntimeError, match="same dtype"):
        F.conv2d(x, minigrad.randn(2, 3, 3, 3, dtype=minigrad.float64))
    with pytest.raises(ValueError, match="divisible by groups"):
        minigrad.nn.Conv2d(3, 4, 3, groups=2)


# ------------------------------------------------------------------ pooling
def test_max_pool_ties_and_indices():
    """Every window is a tie: torch (CPU) sends the gradient to the first maximum."""
    x = np.zeros((1, 2, 4, 6))
    x[0, 1, ::2, ::3] = 1.0
    for kw in (
        dict(kernel_size=2),
        dict(kernel_size=3, stride=1, padding=1),
        dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1), ceil_mode=True),
    ):
        compare_fn(
            lambda a, kw=kw: F.max_pool2d(a, **kw), lambda a, kw=kw: TF.max_pool2d(a, **kw), [x]
        )
        y, idx = F.max_pool2d(minigrad.tensor(x), return_indices=True, **kw)
        ty, tidx = TF.max_pool2d(torch.tensor(x), return_indices=True, **kw)
        assert np.array_equal(idx.data, tidx.numpy())
        assert_close(y, ty)
    _, idx = F.max_pool1d(minigrad.tensor(x[0, :, 0]), 2, return_indices=True)
    assert np.array_equal(
        idx.data, TF.max_pool1d(torch.tensor(x[0, :, 0]), 2, return_indices=True)[1]
    )


def test_pool_errors():
    x = minigrad.randn(1, 1, 4, 4)
    with pytest.raises(RuntimeError, match="pad should be smaller than or equal to half"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.avg_pool2d(minigrad.randn(1, 1, 2, 2), 3)
    with pytest.raises(RuntimeError, match="divisor must be not zero"):
        F.avg_pool2d(x, 2, divisor_override=0)


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6))
def test_adaptive_avg_pool1d(length, out, seed):
    compare_fn(
        lambda a: F.adaptive_avg_pool1d(a, out),
        lambda a: TF.adaptive_avg_pool1d(a, out),
        [_data(seed, (2, 3, length))],
    )


# ------------------------------------------------------------------ padding
@given(
    st.sampled_from(["constant", "reflect", "replicate", "circular"]),
    st.sampled_from([1, 2, 3]).flatmap(
        lambda n: st.lists(st.integers(0, 3), min_size=2 * n, max_size=2 * n)
    ),
    st.sampled_from([(2,), (2, 3)]),
    st.integers(0, 9),
)
def test_pad_modes(mode, pad, batch, seed):
    # torch pads the last 1-3 dims after 1 or 2 batch dims (reflect: pad < size)
    x = _data(seed, batch + (4, 5, 4)[: len(pad) // 2])
    if mode == "constant" and seed % 2:
        pad = [-p if i % 3 == 0 else p for i, p in enumerate(pad)]  # negative pads crop
    kw = dict(mode=mode, value=1.5) if mode == "constant" else dict(mode=mode)
    compare_fn(lambda a: F.pad(a, pad, **kw), lambda a: TF.pad(a, pad, **kw), [x])


def test_pad_errors():
    with pytest.raises(RuntimeError, match="reflect padding"):
        F.pad(minigrad.randn(1, 2, 3), (3, 0), mode="reflect")
    with pytest.raises(NotImplementedError, match="mode must be"):
        F.pad(minigrad.randn(1, 2, 3), (1, 1), mode="symmetric")
    with pytest.raises(RuntimeError, match="must be even"):
        F.pad(minigrad.randn(2, 3), (1,))


# ------------------------------------------------------------------ normalisation
@given(
    st.sampled_from([(4, 3), (3, 2, 5), (2, 3, 2, 2)]), st.booleans(), st.sampled_from([0.1, 0.7])
)
def test_batch_norm_functional(shape, training, momentum):
    c = shape[1]
    rm, rv = _data(1, (c,)), np.abs(_data(2, (c,))) + 0.5
    mrm, mrv = minigrad.tensor(rm.copy()), minigrad.tensor(rv.copy())
    trm, trv = torch.tensor(rm.copy()), torch.tensor(rv.copy())
    compare_fn(
        lambda x, w, b: F.batch_norm(x, mrm, mrv, w, b, training, momentum),
        lambda x, w, b: TF.batch_norm(x, trm, trv, w, b, training, momentum),
        [_data(0, shape) * 2, _data(3, (c,)), _data(4, (c,))],
    )
    assert_close(mrm, trm)
    assert_close(mrv, trv)


def test_norm_functionals():
    x = _data(0, (3, 4, 5))
    compare_fn(
        lambda a, w, b: F.layer_norm(a, (4, 5), w, b),
        lambda a, w, b: TF.layer_norm(a, (4, 5), w, b),
        [x, _data(1, (4, 5)), _data(2, (4, 5))],
    )
    compare_fn(
        lambda a, w: F.rms_norm(a, (5,), w),
        lambda a, w: TF.rms_norm(a, (5,), w),
        [x, _data(1, (5,))],
    )
    compare_fn(lambda a: F.group_norm(a, 2), lambda a: TF.group_norm(a, 2), [x])
    compare_fn(lambda a: F.instance_norm(a), lambda a: TF.instance_norm(a), [x])
    x[0] = 0  # a zero vector: normalize divides by eps instead
    for p, dim in ((2.0, 1), (1.0, -1), (3.0, 0)):
        compare_fn(
            lambda a, p=p, dim=dim: F.normalize(a, p, dim),
            lambda a, p=p, dim=dim: TF.normalize(a, p, dim),
            [x],
        )


# ------------------------------------------------------------------ attention
@st.composite
def sdpa_case(draw):
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    L, S, E, Ev = (draw(st.integers(1, 5)) for _ in range(4))
    kind = draw(st.sampled_from(["none", "bool", "float", "causal"]))
    return batch, L, S, E, Ev, kind, draw(st.none() | st.floats(0.1, 2.0))


@given(sdpa_case(), st.sampled_from([np.float64, np.float32]), st.integers(0, 99))
def test_scaled_dot_product_attention(case, dtype, seed):
    batch, L, S, E, Ev, kind, scale = case
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal(batch + s).astype(dtype) for s in ((L, E), (S, E), (S, Ev)))
    kw = {"scale": scale}
    if kind == "bool":
        mask = rng.random((L, S)) < 0.6
        mask[:, 0] = True  # no fully masked row (torch returns NaN or 0 there)
        kw["attn_mask"] = mask
    elif kind == "float":
        kw["attn_mask"] = rng.standard_normal(batch + (L, S)).astype(dtype)
    elif kind == "causal":
        kw["is_causal"] = True
    compare_fn(
        F.scaled_dot_product_attention, TF.scaled_dot_product_attention, [q, k, v], dtype, **kw
    )


def test_sdpa_grouped_query_attention_and_dropout():
    q, k, v = _data(0, (2, 4, 3, 5)), _data(1, (2, 2, 6, 5)), _data(2, (2, 2, 6, 3))
    compare_fn(
        lambda *a: F.scaled_dot_product_attention(*a, enable_gqa=True),
        lambda *a: TF.scaled_dot_product_attention(*a, enable_gqa=True),
        [q, k, v],
    )
    minigrad.manual_seed(0)
    out = F.scaled_dot_product_attention(
        *(minigrad.tensor(a) for a in (q[:, :2], k, v)), dropout_p=0.5
    )
    ref = F.scaled_dot_product_attention(*(minigrad.tensor(a) for a in (q[:, :2], k, v)))
    assert out.shape == ref.shape and not np.allclose(out.data, ref.data)
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(
            *(minigrad.tensor(a) for a in (q[:, :2], k, v)),
            attn_mask=minigrad.ones(3, 6),
            is_causal=True,
        )


@pytest.mark.parametrize("kind", ["none", "causal", "bool", "float"])
def test_sdpa_second_derivatives_match_torch(kind):
    """The fused attention node's backward is differentiable again: the gradient of a
    function of its gradients (w.r.t. q, k, v and a float mask) agrees with torch."""
    q, k, v = _data(0, (2, 2, 4, 3)), _data(1, (2, 2, 5, 3)), _data(2, (2, 2, 5, 4))
    arrays = [q, k, v] + ([_data(3, (4, 5))] if kind == "float" else [])
    kw = {"scale": 0.7, "is_causal": kind == "causal"}
    bool_mask = np.random.default_rng(4).random((4, 5)) < 0.6
    bool_mask[:, 0] = True

    def grads(lib, fn):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        extra = {}
        if kind == "float":
            extra["attn_mask"] = xs[3]
        elif kind == "bool":
            extra["attn_mask"] = lib.tensor(bool_mask)
        out = fn(*xs[:3], **kw, **extra)
        gs = lib.autograd.grad((out.tanh() ** 2).sum(), xs, create_graph=True)
        sum(((g * g).sum() for g in gs), lib.tensor(0.0, dtype=lib.float64)).backward()
        return list(gs), [x.grad for x in xs]

    ref = grads(torch, TF.scaled_dot_product_attention)
    got = grads(minigrad, F.scaled_dot_product_attention)
    for mg, th in zip(got[0] + got[1], ref[0] + ref[1]):
        assert_close(mg, th)


def test_packed_attention_matches_attention_on_split_heads():
    """[Q | K | V] packed (B, T, 3·H·D) in, heads merged (B, T, H·D) out: the same values
    and gradients as attention on the split heads; exact second derivatives too."""
    from minigrad.nn.functional.attention import causal_blocked, packed_attention

    b, t, h, d = 2, 5, 3, 4
    x = _data(0, (b, t, 3 * h * d))
    blocked = causal_blocked(t, t)
    mx = minigrad.tensor(x, requires_grad=True)
    out = packed_attention(mx, h, blocked, -1e30, 0.4)
    g = _data(1, out.shape)
    (out * minigrad.tensor(g)).sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    q, k, v = (a.reshape(b, t, h, d).transpose(1, 2) for a in tx.split(h * d, -1))
    ref = TF.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.4)
    ref = ref.transpose(1, 2).reshape(b, t, h * d)
    (ref * torch.tensor(g)).sum().backward()
    assert_close(out, ref)
    assert_close(mx.grad, tx.grad)
    x2 = minigrad.tensor(_data(2, (1, 3, 3 * 2 * 2)), requires_grad=True)
    assert gradgradcheck(lambda a: packed_attention(a, 2, causal_blocked(3, 3), -1e30, 0.5), [x2])


def test_attention_dropout_gradient_uses_the_same_mask():
    """With dropout, dV = P̃ᵀ dO uses the very weights the forward dropped: check it
    against the output's own linearity in V (O = P̃ V, so O(V + δ) - O(V) = P̃ δ)."""
    q, k, v = (minigrad.tensor(_data(i, (2, 4, 3))) for i in range(3))
    v.requires_grad = True
    minigrad.manual_seed(5)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    minigrad.manual_seed(5)
    delta = _data(9, v.shape)
    shifted = F.scaled_dot_product_attention(q, k, minigrad.tensor(v.data + delta), dropout_p=0.5)
    g = _data(8, out.shape)
    (out * minigrad.tensor(g)).sum().backward()
    # Σ g·(O(V+δ) - O(V)) = Σ g·P̃δ = Σ dV·δ
    lhs = float((g * (shifted.data - out.data)).sum())
    np.testing.assert_allclose(lhs, float((v.grad.data * delta).sum()), rtol=1e-10)
    v.grad = None
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)  # everything dropped
    out.sum().backward()
    assert not out.data.any() and not v.grad.data.any()
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)


# ------------------------------------------------------------------ activations and misc
ACTIVATIONS = [
    ("relu", {}),
    ("relu6", {}),
    ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("threshold", {"threshold": 0.2, "value": -1.0}),
    ("leaky_relu", {"negative_slope": 0.1}),
    ("elu", {"alpha": 0.3}),
    ("selu", {}),
    ("celu", {"alpha": 2.0}),
    ("gelu", {}),
    ("gelu", {"approximate": "tanh"}),
    ("silu", {}),
    ("mish", {}),
    ("hardsigmoid", {}),
    ("hardswish", {}),
    ("tanh", {}),
    ("sigmoid", {}),
    ("logsigmoid", {}),
    ("softplus", {"beta": 0.5, "threshold": 3.0}),
    ("softsign", {}),
    ("tanhshrink", {}),
    ("glu", {"dim": 1}),
    ("softmax", {"dim": 0}),
    ("softmin", {"dim": -1}),
    ("log_softmax", {"dim": 1}),
    ("softmax", {"dim": 1, "dtype": torch.float64}),
]


@pytest.mark.parametrize(("name", "kwargs"), ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_activation_functions(name, kwargs, dtype):
    x = _data(0, (3, 4, 2), dtype) * 4
    mg_kwargs = {k: (np.float64 if v is torch.float64 else v) for k, v in kwargs.items()}
    compare_fn(
        lambda a: getattr(F, name)(a, **mg_kwargs),
        lambda a: getattr(TF, name)(a, **kwargs),
        [x],
        dtype,
    )


def test_softmax_implicit_dim_warns_like_torch():
    x = _data(0, (2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        y = F.softmax(minigrad.tensor(x))
    with pytest.warns(UserWarning):
        ty = TF.softmax(torch.tensor(x))
    assert_close(y, ty)


def test_linear_bilinear_embedding_one_hot_dropout():
    x, w, b = _data(0, (2, 3, 4)), _data(1, (5, 4)), _data(2, (5,))
    compare_fn(F.linear, TF.linear, [x, w, b])
    compare_fn(F.bilinear, TF.bilinear, [x, _data(3, (2, 3, 2)), _data(4, (5, 4, 2)), b])
    idx = np.array([[0, 3, 4], [4, 4, 1]])
    compare_fn(
        lambda i, w: F.embedding(i, w, padding_idx=-1),
        lambda i, w: TF.embedding(i, w, padding_idx=-1),
        [idx, _data(5, (5, 3))],
    )
    assert np.array_equal(
        F.one_hot(minigrad.tensor(idx), 6).data, TF.one_hot(torch.tensor(idx), 6).numpy()
    )
    t = minigrad.tensor(x)
    assert F.dropout(t, 0.5, training=False) is t
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(t, -0.1)
    with pytest.raises(IndexError, match="out of range"):
        F.embedding(minigrad.tensor([5]), minigrad.randn(5, 2))
