"""Registry entries for ``minigrad.nn.functional``, named as PyTorch's OpInfo names them
(``nn.functional.conv2d``): the same property tests as every op (values, gradients,
second order, gradcheck) run over them. ``tests/op_registry.py`` appends ``ENTRIES``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import strategies as st
from op_samples import (
    REAL,
    Const,
    Sample,
    _side,
    distinct,
    embedding_sample,
    linear_sample,
    real,
    shapes,
    softmax_sample,
    softplus_sample,
    unary,
)

import minigrad.nn.functional as F

NONDIFF = {"differentiable": False, "twice_differentiable": False}
FIRST_ORDER = {"twice_differentiable": False}
PROB = real(0.05, 0.95)


def _f(name: str, sample: Any, variant: str = "", **kw: Any) -> Any:
    """``minigrad.nn.functional.name`` against ``torch.nn.functional.name``."""
    from op_registry import OpInfo

    return OpInfo(
        f"nn.functional.{name}", getattr(F, name), getattr(TF, name), sample, variant, **kw
    )


def _wrapped(name: str, call: Any, sample: Any, variant: str = "", **kw: Any) -> Any:
    """Both libraries through ``call(lib, *args, **kwargs)`` (argument orders differ)."""
    from op_registry import OpInfo

    return OpInfo(
        f"nn.functional.{name}",
        lambda *a, **k: call(F, *a, **k),
        lambda *a, **k: call(TF, *a, **k),
        sample,
        variant,
        **kw,
    )


def _u(dom: Any = REAL, kwargs: Any = None, min_dims: int = 0) -> Any:
    return partial(unary, dom=dom, kwargs=kwargs, min_dims=min_dims)


def _kwargs(**options: list) -> Any:
    return st.fixed_dictionaries({k: st.sampled_from(v) for k, v in options.items()})


# ------------------------------------------------------------------ samples
@st.composite
def glu_sample(draw, small):
    s = list(draw(shapes(small, min_dims=1)))
    d = draw(st.integers(-len(s), len(s) - 1))
    s[d] = 2 * draw(_side(small))
    return Sample((draw(REAL(tuple(s))),), {"dim": d})


@st.composite
def conv_sample(draw, small, nd):
    groups = draw(st.sampled_from([1, 2]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 2 if small else 3)) for _ in range(nd))
    kw = {
        "stride": draw(st.integers(1, 2)),
        "padding": draw(st.integers(0, 1)),
        "dilation": draw(st.integers(1, 2)),
        "groups": groups,
    }
    size = tuple(draw(st.integers(k_ * kw["dilation"], k_ * kw["dilation"] + 2)) for k_ in k)
    args = [
        draw(REAL((draw(st.integers(1, 2)), cin, *size))),
        draw(REAL((cout, cin // groups, *k))),
    ]
    if draw(st.booleans()):
        args.append(draw(REAL((cout,))))
    return Sample(tuple(args), kw)


@st.composite
def pool_sample(draw, small, nd, kind):
    k = draw(st.integers(1, 2 if small else 3))
    kw: dict[str, Any] = {"kernel_size": k, "stride": draw(st.integers(1, 2))}
    kw["padding"] = draw(st.integers(0, k // 2))
    kw["ceil_mode"] = draw(st.booleans())
    if kind == "max":
        kw["dilation"] = draw(st.integers(1, 2))
    else:
        kw["count_include_pad"] = draw(st.booleans())
    reach = (k - 1) * kw.get("dilation", 1) + 1
    size = tuple(draw(st.integers(reach, reach + 3)) for _ in range(nd))
    return Sample((draw(distinct()((draw(st.integers(1, 2)), 2, *size))),), kw)


@st.composite
def adaptive_sample(draw, small, nd):
    size = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    out = tuple(draw(st.integers(1, n)) for n in size)
    return Sample((draw(REAL((2, 2, *size))),), {"output_size": out})


@st.composite
def unfold_sample(draw, small):
    k = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    kw = {"kernel_size": k, "dilation": draw(st.integers(1, 2)), "padding": draw(st.integers(0, 1))}
    kw["stride"] = draw(st.integers(1, 2))
    size = tuple(draw(st.integers(kk * kw["dilation"], kk * kw["dilation"] + 2)) for kk in k)
    return Sample((draw(REAL((draw(st.integers(1, 2)), 2, *size))),), kw)


@st.composite
def fold_sample(draw, small):
    k, out = (2, 2), (draw(st.integers(2, 4)), draw(st.integers(2, 4)))
    stride = draw(st.integers(1, 2))
    blocks = ((out[0] - 2) // stride + 1) * ((out[1] - 2) // stride + 1)
    cols = draw(REAL((draw(st.integers(1, 2)), 2 * 4, blocks)))
    return Sample((cols,), {"output_size": out, "kernel_size": k, "stride": stride})


@st.composite
def norm_layer_sample(draw, small, kind):
    n, c = draw(st.integers(2, 3)), 2 * draw(st.integers(1, 2))
    x = draw(distinct()((n, c, draw(st.integers(2, 4)))))
    args = [x]
    if kind == "group":
        kw = {"num_groups": draw(st.sampled_from([1, 2])), "eps": 1e-5}
        args = [x, kw.pop("num_groups")]
        if draw(st.booleans()):
            args += [draw(REAL((c,))), draw(REAL((c,)))]
        return Sample(tuple(args), kw)
    if kind == "batch":  # training batch statistics, no running buffers
        return Sample((x, None, None, draw(REAL((c,))), draw(REAL((c,)))), {"training": True})
    return Sample((x,), {})  # instance


@st.composite
def rms_sample(draw, small):
    x = draw(REAL(draw(shapes(small, min_dims=1))))
    shape = x.shape[-1:]
    return Sample((x, shape, draw(REAL(shape))), {"eps": 1e-6})


@st.composite
def layer_norm_nn_sample(draw, small):
    x = draw(distinct()(draw(shapes(small, min_dims=1))))
    shape = x.shape[-1:]
    if shape == (1,):
        return Sample((x, shape))
    return Sample((x, shape, draw(REAL(shape)), draw(REAL(shape))), {"eps": 1e-5})


@st.composite
def bilinear_sample(draw, small):
    n, i, j, o = (draw(_side(small)) for _ in range(4))
    return Sample((draw(REAL((n, i))), draw(REAL((n, j))), draw(REAL((o, i, j))), draw(REAL((o,)))))


@st.composite
def pair_sample(draw, small, dom_a=REAL, dom_b=REAL, kwargs=None):
    s = draw(shapes(small, min_dims=1))
    kw = draw(kwargs) if kwargs is not None else {}
    return Sample((draw(dom_a(s)), draw(dom_b(s))), kw)


@st.composite
def cosine_sample(draw, small):
    s = draw(shapes(small, min_dims=1))
    return Sample((draw(REAL(s)), draw(REAL(s))), {"dim": draw(st.integers(-len(s), len(s) - 1))})


@st.composite
def normalize_sample(draw, small):
    s = draw(shapes(small, min_dims=1))
    return Sample(
        (draw(REAL(s)),),
        {
            "p": draw(st.sampled_from([1.0, 2.0, 3.0])),
            "dim": draw(st.integers(-len(s), len(s) - 1)),
        },
    )


@st.composite
def cross_entropy_sample(draw, small, log_probs=False):
    n, c = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    x = draw(REAL((n, c)))
    if log_probs:  # nll_loss takes log-probabilities
        x = x - np.log(np.exp(x).sum(1, keepdims=True))
    target = draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n))
    kw: dict[str, Any] = {"reduction": draw(st.sampled_from(["mean", "sum", "none"]))}
    if not log_probs:
        kw["label_smoothing"] = draw(st.sampled_from([0.0, 0.1]))
    if draw(st.booleans()) and kw["reduction"] != "mean":
        kw["ignore_index"] = target[0]
    return Sample((x, Const(np.asarray(target, np.int64))), kw)


@st.composite
def probs_target_sample(draw, small):
    n, c = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    p = draw(PROB((n, c)))
    return Sample((draw(REAL((n, c))), p / p.sum(1, keepdims=True)), {"reduction": "sum"})


@st.composite
def kl_sample(draw, small):
    n, c = draw(st.integers(1, 3)), draw(st.integers(2, 4))
    x = draw(REAL((n, c)))
    p = draw(PROB((n, c)))
    p = p / p.sum(1, keepdims=True)
    log_target = draw(st.booleans())
    return Sample(
        (x - np.log(np.exp(x).sum(1, keepdims=True)), np.log(p) if log_target else p),
        {
            "reduction": draw(st.sampled_from(["batchmean", "sum", "mean"])),
            "log_target": log_target,
        },
    )


@st.composite
def sdpa_sample(draw, small):
    b, h, lq, lk, e = (draw(st.integers(1, 3)) for _ in range(5))
    q, k, v = draw(REAL((b, h, lq, e))), draw(REAL((b, h, lk, e))), draw(REAL((b, h, lk, e)))
    kw: dict[str, Any] = {}
    choice = draw(st.sampled_from(["none", "causal", "bool", "float"]))
    if choice == "causal":
        kw["is_causal"] = True
    elif choice == "bool":
        mask = np.random.default_rng(draw(st.integers(0, 99))).random((lq, lk)) < 0.7
        mask[:, 0] = True  # every query sees one key
        kw["attn_mask"] = Const(mask)
    elif choice == "float":  # an additive mask of the query's dtype, differentiated too
        return Sample((q, k, v, draw(REAL((lq, lk)))))
    return Sample((q, k, v), kw)


def _loss_kwargs(*extra: str) -> Any:
    return _kwargs(reduction=["mean", "sum", "none"], **{e: [0.5, 1.0, 2.0] for e in extra})


# ------------------------------------------------------------------ the entries
ENTRIES: list = [
    # activations
    _f("relu", _u(real(avoid=(0.0,)))),
    _f("relu6", _u(real(-8.0, 8.0, avoid=(0.0, 6.0)))),
    _f("hardtanh", _u(real(avoid=(-1.0, 1.0)))),
    _f("threshold", _u(real(avoid=(0.5,)), _kwargs(threshold=[0.5], value=[-1.0, 2.0]))),
    _f("leaky_relu", _u(real(avoid=(0.0,)), _kwargs(negative_slope=[0.01, 0.2]))),
    _f("elu", _u(real(avoid=(0.0,)), _kwargs(alpha=[1.0, 0.5]))),
    _f("selu", _u(real(avoid=(0.0,)))),
    # PyTorch's celu with alpha != 1 is float32-accurate only (even in float64), so the
    # entry tests alpha = 1, where both are exact; see tests/test_nn_functional.py.
    _f("celu", _u(real(avoid=(0.0,)))),
    _f("gelu", _u(kwargs=_kwargs(approximate=["none", "tanh"]))),
    _f("silu", _u()),
    _f("mish", _u()),
    _f("hardsigmoid", _u(real(-5.0, 5.0, avoid=(-3.0, 3.0))), **FIRST_ORDER),
    _f("hardswish", _u(real(-5.0, 5.0, avoid=(-3.0, 3.0)))),
    _f("tanh", _u()),
    _f("sigmoid", _u()),
    _f("logsigmoid", _u()),
    _f("softplus", softplus_sample),
    _f("softsign", _u()),
    _f("tanhshrink", _u()),
    _f("glu", glu_sample),
    _f("softmax", softmax_sample),
    _f("softmin", softmax_sample),
    _f("log_softmax", softmax_sample),
    _f("normalize", normalize_sample),
    _f("cosine_similarity", cosine_sample),
    # linear maps and lookups
    _f("linear", linear_sample),
    _f("bilinear", bilinear_sample),
    _f("embedding", embedding_sample),
    _f(
        "one_hot",
        lambda small: st.integers(1, 5).map(lambda n: Sample((Const(np.arange(n) % 3),), {})),
        **NONDIFF,
    ),
    _f(
        "pad",
        lambda small: unary(small, min_dims=2).map(
            lambda s: Sample(s.args, {"pad": (1, 0, 0, 2), "value": 0.5})
        ),
    ),
    # normalisation
    _f("layer_norm", layer_norm_nn_sample),
    _f("rms_norm", rms_sample),
    _f("group_norm", partial(norm_layer_sample, kind="group")),
    _f("instance_norm", partial(norm_layer_sample, kind="instance")),
    _f("batch_norm", partial(norm_layer_sample, kind="batch")),
    # convolution and pooling
    *[_f(f"conv{nd}d", partial(conv_sample, nd=nd)) for nd in (1, 2, 3)],
    *[_f(f"max_pool{nd}d", partial(pool_sample, nd=nd, kind="max")) for nd in (1, 2, 3)],
    *[_f(f"avg_pool{nd}d", partial(pool_sample, nd=nd, kind="avg")) for nd in (1, 2, 3)],
    *[_f(f"adaptive_avg_pool{nd}d", partial(adaptive_sample, nd=nd)) for nd in (1, 2, 3)],
    _f("unfold", unfold_sample),
    _f("fold", fold_sample),
    # attention. First order only: PyTorch's CPU attention kernel has no double backward
    # (minigrad's second derivatives of attention: gradgradcheck in test_nn_functional.py).
    _f(
        "scaled_dot_product_attention",
        sdpa_sample,
        tol={"float64": (1e-7, 1e-10), "float32": (1e-4, 1e-4)},
        **FIRST_ORDER,
    ),
    # losses
    _f("cross_entropy", cross_entropy_sample),
    _f("cross_entropy", probs_target_sample, variant="probabilities"),
    _f("nll_loss", partial(cross_entropy_sample, log_probs=True), **FIRST_ORDER),
    _f("mse_loss", partial(pair_sample, kwargs=_loss_kwargs())),
    _f(
        "l1_loss", partial(pair_sample, dom_b=real(-3.0, 3.0), kwargs=_loss_kwargs()), **FIRST_ORDER
    ),
    _f("smooth_l1_loss", partial(pair_sample, kwargs=_loss_kwargs("beta")), **FIRST_ORDER),
    _f("huber_loss", partial(pair_sample, kwargs=_loss_kwargs("delta")), **FIRST_ORDER),
    _f("binary_cross_entropy", partial(pair_sample, dom_a=PROB, dom_b=PROB, kwargs=_loss_kwargs())),
    _f("binary_cross_entropy_with_logits", partial(pair_sample, dom_b=PROB, kwargs=_loss_kwargs())),
    _f("kl_div", kl_sample),
]

# Public functions without an entry, each with the reason and where it is tested.
NOT_IN_REGISTRY = {
    "nn.functional.upsample": "the deprecated alias of interpolate (as in PyTorch)",
    "nn.functional.dropout": "random: tested against its own mask in tests/test_ops.py",
    "nn.functional.dropout1d": "random (channel masks): tests/test_nn_functional.py",
    "nn.functional.dropout2d": "random (channel masks): tests/test_nn_functional.py",
    "nn.functional.dropout3d": "random (channel masks): tests/test_nn_functional.py",
    "nn.functional.alpha_dropout": "random: tests/test_nn_functional.py",
    "nn.functional.multi_head_attention_forward": (
        "the functional form of nn.MultiheadAttention, tested against torch's module with "
        "copied weights in tests/test_nn_layers.py"
    ),
}

__all__ = ["ENTRIES", "NOT_IN_REGISTRY", "torch"]
