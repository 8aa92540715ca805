"""Module mechanics against torch.nn.Module: registration, traversal, state_dict keys
and loading (with PyTorch's error messages), modes, dtype conversion, repr, containers."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch
from nn_helpers import assert_close, to_torch_state

import minigrad
from minigrad import nn


def _twin_models(lib):
    """The same architecture built from either library's nn."""
    return {
        "mlp": lib.Sequential(lib.Linear(4, 8), lib.BatchNorm1d(8), lib.ReLU(), lib.Linear(8, 3)),
        "cnn": lib.Sequential(
            lib.Conv2d(3, 4, 3, padding=1),
            lib.BatchNorm2d(4),
            lib.ReLU(),
            lib.MaxPool2d(2),
            lib.Conv2d(4, 2, 3, groups=2, bias=False),
            lib.AdaptiveAvgPool2d(1),
            lib.Flatten(),
            lib.Linear(2, 5),
        ),
        "nested": lib.ModuleDict(
            {
                "embed": lib.Embedding(10, 4, padding_idx=0),
                "blocks": lib.ModuleList(
                    [
                        lib.Sequential(lib.LayerNorm(4), lib.Linear(4, 4), lib.GELU())
                        for _ in range(2)
                    ]
                ),
                "attn": lib.MultiheadAttention(4, 2),
                "norm": lib.RMSNorm(4),
                "bn": lib.BatchNorm1d(4, affine=False),
            }
        ),
    }


@pytest.mark.parametrize("name", ["mlp", "cnn", "nested"])
def test_state_dict_keys_shapes_and_repr_match_torch(name):
    m, t = _twin_models(nn)[name], _twin_models(torch.nn)[name]
    sd, tsd = m.state_dict(), t.state_dict()
    assert list(sd) == list(tsd)
    for k in sd:
        assert sd[k].shape == tuple(tsd[k].shape), k
        assert isinstance(sd[k], minigrad.Tensor) and not sd[k].requires_grad
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in m.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in m.named_children()] == [n for n, _ in t.named_children()]
    assert repr(m) == repr(t)
    # Round trip through torch: values survive both ways.
    t.load_state_dict(to_torch_state(m))
    fresh = _twin_models(nn)[name]
    fresh.load_state_dict(t.state_dict())
    for k, v in fresh.state_dict().items():
        assert_close(v, sd[k], np.float32, k)


def test_state_dict_shares_memory_and_keep_vars():
    lin = nn.Linear(2, 3)
    sd = lin.state_dict()
    assert sd["weight"].data is lin.weight.data  # a detached view, as torch
    assert lin.state_dict(keep_vars=True)["weight"] is lin.weight
    assert list(lin.state_dict(prefix="fc.")) == ["fc.weight", "fc.bias"]


def test_named_parameters_dedups_shared_parameters():
    shared = nn.Linear(3, 3)
    m = nn.Sequential(shared, nn.ReLU(), shared)
    t_shared = torch.nn.Linear(3, 3)
    t = torch.nn.Sequential(t_shared, torch.nn.ReLU(), t_shared)
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert len(list(m.parameters())) == 2
    assert list(m.state_dict()) == list(t.state_dict())  # state_dict keeps both names
    assert len(list(m.named_parameters(remove_duplicate=False))) == 4
    # A parameter tied between two different modules.
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.weight = a.weight
    model = nn.Sequential(a, b)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


class _Custom(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.scale = nn.Parameter(minigrad.ones(4))
        self.register_buffer("steps", minigrad.zeros(1))
        self.register_buffer("cache", minigrad.zeros(2), persistent=False)
        self.plain = minigrad.zeros(5)  # a plain tensor attribute is not registered
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Tanh()])

    def forward(self, x):
        x = self.fc1(x) * self.scale
        for b in self.blocks:
            x = b(x)
        return x


class _TorchCustom(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(3, 4)
        self.scale = torch.nn.Parameter(torch.ones(4))
        self.register_buffer("steps", torch.zeros(1))
        self.register_buffer("cache", torch.zeros(2), persistent=False)
        self.plain = torch.zeros(5)
        self.blocks = torch.nn.ModuleList([torch.nn.Linear(4, 4), torch.nn.Tanh()])


def test_registration_matches_torch():
    m, t = _Custom(), _TorchCustom()
    assert list(m.state_dict()) == list(t.state_dict())
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in m.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in m.fc1.named_parameters(prefix="x")] == ["x.weight", "x.bias"]
    assert [n for n, _ in m.named_parameters(recurse=False)] == ["scale"]
    assert m.get_submodule("blocks.0") is m.blocks[0]
    assert m.get_parameter("blocks.0.bias") is m.blocks[0].bias
    assert m.get_buffer("steps") is m.steps
    assert "fc1" in dir(m) and "scale" in dir(m)
    # Reassigning: a parameter slot only takes Parameters or None.
    with pytest.raises(TypeError, match="cannot assign"):
        m.scale = minigrad.ones(4)
    m.scale = None
    assert "scale" not in dict(m.named_parameters())
    del m.fc1
    assert "fc1.weight" not in m.state_dict()
    with pytest.raises(AttributeError, match="has no attribute 'fc1'"):
        _ = m.fc1


def test_registration_errors():
    class NoInit(nn.Module):
        def __init__(self) -> None:
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call"):
        NoInit()
    m = nn.Module()
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", minigrad.zeros(1))
    with pytest.raises(TypeError, match="cannot assign"):
        m.register_parameter("w", minigrad.zeros(1))
    m.x = 3
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("x", minigrad.zeros(1))
    with pytest.raises(NotImplementedError, match="forward"):
        m(1)


def test_load_state_dict_errors_name_keys_and_shapes():
    m = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    good = {k: v.data.copy() for k, v in m.state_dict().items()}
    bad = dict(good)
    del bad["1.bias"]
    bad["0.extra"] = np.zeros(1)
    bad["5.weight"] = np.zeros(1)
    bad["0.weight"] = np.zeros((3, 3))
    with pytest.raises(RuntimeError) as err:
        m.load_state_dict(bad)
    msg = str(err.value)
    assert msg.startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "1.bias".' in msg
    assert 'Unexpected key(s) in state_dict: "5.weight", "0.extra".' in msg
    assert (
        "size mismatch for 0.weight: copying a param with shape (3, 3) from checkpoint, "
        "the shape in current model is (4, 3)." in msg
    )
    # torch's message is the same, but for how it writes shapes
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    with pytest.raises(RuntimeError) as terr:
        t.load_state_dict({k: torch.tensor(v) for k, v in bad.items()})
    t_msg = str(terr.value).replace("torch.Size([3, 3])", "(3, 3)")
    assert t_msg.replace("torch.Size([4, 3])", "(4, 3)") == msg
    # strict=False: only size mismatches are errors; the key lists come back.
    del bad["0.weight"]
    before = m[0].weight.data.copy()
    result = m.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["0.weight", "1.bias"]
    assert result.unexpected_keys == ["5.weight", "0.extra"]
    assert np.array_equal(m[0].weight.data, before)
    assert repr(m.load_state_dict(good)) == "<All keys matched successfully>"


def test_load_state_dict_copies_in_place_and_casts():
    m = nn.Linear(3, 2)
    w = m.weight
    opt_ref = w.data
    new = {"weight": np.arange(6.0).reshape(2, 3), "bias": minigrad.tensor([1.0, 2.0])}
    m.load_state_dict(new)
    assert m.weight is w and m.weight.data is opt_ref  # same Parameter, same array
    assert m.weight.dtype == np.float32
    assert np.array_equal(m.weight.data, new["weight"])
    # torch tensors (even ones requiring grad) load too
    t = torch.nn.Linear(3, 2)
    m.load_state_dict(dict(t.named_parameters()))
    assert_close(m.weight, t.weight, np.float32)
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([("weight", 1)])


def test_batchnorm_num_batches_tracked_may_be_missing():
    bn, tbn = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    sd = {k: v for k, v in bn.state_dict().items() if k != "num_batches_tracked"}
    assert bn.load_state_dict(sd).missing_keys == []
    tsd = {k: v for k, v in tbn.state_dict().items() if k != "num_batches_tracked"}
    assert tbn.load_state_dict(tsd).missing_keys == []


def test_train_eval_zero_grad_apply_requires_grad():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(), nn.Sequential(nn.BatchNorm1d(2)))
    assert all(x.training for x in m.modules())
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")  # type: ignore[arg-type]
    m(minigrad.randn(4, 2)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.data == 0) for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Linear", "Dropout", "BatchNorm1d", "Sequential", "Sequential"]
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_to_dtype_keeps_parameter_identity():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    params = list(m.parameters())
    m(minigrad.randn(4, 2)).sum().backward()
    assert m.double() is m
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in m.parameters())
    assert m[1].running_mean.dtype == np.float64
    assert m[1].num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype
    assert m(minigrad.randn(4, 2, dtype=minigrad.float64)).dtype == np.float64
    m.to(minigrad.float32)
    assert m[0].weight.dtype == np.float32
    m.to("cpu")
    with pytest.raises(RuntimeError, match="CPU only"):
        m.to("cuda")
    with pytest.raises(TypeError, match="floating point"):
        m.to(minigrad.int64)


def test_parameter():
    p = nn.Parameter(minigrad.tensor([1.0, 2.0]))
    assert p.requires_grad and p.is_leaf and isinstance(p, minigrad.Tensor)
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert repr(p) == repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    assert not nn.Parameter(minigrad.ones(2), requires_grad=False).requires_grad
    t = minigrad.ones(3)
    assert nn.Parameter(t).data is t.data  # shares the array, as torch
    assert type(p * 2) is minigrad.Tensor
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(minigrad.tensor([1, 2]))


def test_deepcopy_is_independent():
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    c = copy.deepcopy(m)
    assert isinstance(c[0].weight, nn.Parameter)
    c[0].weight.data[...] = 0
    assert not np.all(m[0].weight.data == 0)
    assert list(c.state_dict()) == list(m.state_dict())


def test_sequential_container_ops():
    layers = [nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 3)]
    s = nn.Sequential(*layers)
    ts = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 3))
    assert len(s) == 3 and s[0] is layers[0] and s[-1] is layers[2]
    assert list(s) == layers
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == layers[1:]
    assert list(sub.state_dict()) == list(ts[1:].state_dict())  # keys keep their names: "2.*"
    s.append(nn.Tanh())
    ts.append(torch.nn.Tanh())
    assert repr(s) == repr(ts)
    del s[1]
    del ts[1]
    assert list(s.state_dict()) == list(ts.state_dict())
    s.insert(-1, nn.Identity())
    ts.insert(-1, torch.nn.Identity())
    assert repr(s) == repr(ts)
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(1, 1)), ("act", nn.ReLU())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.act is named[1]
    x = minigrad.randn(3, 2)
    assert np.allclose(s(x).data, s[3](s[2](s[1](s[0](x)))).data)
    with pytest.raises(IndexError, match="out of range"):
        s[10]


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.ReLU())
    ml += [nn.ReLU()]
    tml = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)])
    tml.append(torch.nn.ReLU())
    tml += [torch.nn.ReLU()]
    assert repr(ml) == repr(tml)  # folds repeats: "(0-2): 3 x Linear(...)"
    assert len(ml) == 5 and isinstance(ml[1:3], nn.ModuleList)
    assert list(ml.state_dict()) == list(tml.state_dict())
    ml.insert(0, nn.Tanh())
    assert isinstance(ml[0], nn.Tanh) and len(ml) == 6
    del ml[0]
    assert list(ml.state_dict()) == list(tml.state_dict())
    md = nn.ModuleDict({"a": nn.Linear(1, 2), "b": nn.ReLU()})
    tmd = torch.nn.ModuleDict({"a": torch.nn.Linear(1, 2), "b": torch.nn.ReLU()})
    assert repr(md) == repr(tmd) and list(md.keys()) == ["a", "b"] and "a" in md
    md["c"] = nn.Tanh()
    assert list(md) == ["a", "b", "c"] and md.pop("c").__class__ is nn.Tanh
    assert list(md.state_dict()) == list(tmd.state_dict())
    pl = nn.ParameterList([minigrad.ones(2), nn.Parameter(minigrad.zeros(3))])
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"] and all(
        isinstance(p, nn.Parameter) for p in pl
    )
    pd = nn.ParameterDict({"w": minigrad.ones(2)})
    assert list(pd.state_dict()) == ["w"] and pd["w"].requires_grad


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda mod, args, out: calls.append(out.shape) or out + 1)
    y = lin(minigrad.randn(3, 2))
    assert calls == [(3, 2)]
    assert np.allclose(y.data, lin.bias.data + 1)
    h1.remove()
    h2.remove()
    x = minigrad.randn(3, 2)
    assert np.allclose(lin(x).data, (x @ lin.weight.T + lin.bias).data)


REPRS = [
    ("Linear", (100, 50), {}),
    ("Linear", (3, 4), {"bias": False}),
    ("Bilinear", (2, 3, 4), {}),
    ("Embedding", (10, 3), {"padding_idx": 0}),
    ("Embedding", (10, 3), {"max_norm": 1.0, "norm_type": 1.0}),
    ("LayerNorm", ((5, 6),), {"elementwise_affine": False}),
    ("LayerNorm", (5,), {"bias": False}),
    ("RMSNorm", (4,), {}),
    ("RMSNorm", (4,), {"eps": 1e-6}),
    ("GroupNorm", (2, 4), {}),
    ("BatchNorm1d", (3,), {}),
    ("BatchNorm2d", (3,), {"momentum": None, "affine": False, "track_running_stats": False}),
    ("Dropout", (), {}),
    ("Dropout2d", (0.2,), {"inplace": True}),
    ("Conv1d", (2, 4, 3), {}),
    ("Conv2d", (2, 4, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2, "bias": False}),
    ("Conv2d", (2, 4, (3, 5)), {"padding": "same"}),
    ("Conv2d", (2, 4, 3), {"padding_mode": "reflect"}),
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}),
    ("AvgPool2d", (3, 2, 1), {}),
    ("AvgPool1d", (3,), {}),
    ("AdaptiveAvgPool2d", ((2, 3),), {}),
    ("Flatten", (), {}),
    ("Unflatten", (1, (2, 3)), {}),
    ("Identity", (), {}),
    ("MultiheadAttention", (8, 2), {}),
    ("MultiheadAttention", (8, 2), {"kdim": 3, "vdim": 5, "add_bias_kv": True}),
    ("ReLU", (), {"inplace": True}),
    ("Softmax", (), {}),
    ("Softplus", (2.0, 10.0), {}),
    ("LeakyReLU", (0.2, True), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), REPRS)
def test_repr_matches_torch(name, args, kwargs):
    m, t = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(m) == repr(t)
    assert list(m.state_dict()) == list(t.state_dict())
    for k, v in m.state_dict().items():
        assert v.shape == tuple(t.state_dict()[k].shape)
