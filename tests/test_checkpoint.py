"""Activation checkpointing: the gradients through ``checkpoint`` and
``checkpoint_sequential`` equal the plain backward's (an MLP with dropout, a stack of
GPT-2 blocks, closures, ``autograd.grad``), PyTorch's checkpoint gives the same
numbers, and the recomputation really lowers the peak memory of a GPT-2 step."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as tcp
from nn_helpers import sync

import minigrad
from minigrad import nn
from minigrad.models import GPT2Config, GPT2LMHeadModel
from minigrad.utils.checkpoint import checkpoint, checkpoint_sequential


def _mlp() -> nn.Sequential:
    minigrad.manual_seed(0)
    return nn.Sequential(
        nn.Linear(5, 16, dtype=np.float64),
        nn.Tanh(),
        nn.Dropout(0.3),
        nn.Linear(16, 3, dtype=np.float64),
        nn.GELU(),
    )


def _grads(model: nn.Module, *extra: minigrad.Tensor) -> list[np.ndarray]:
    return [p.grad.data.copy() for p in model.parameters()] + [t.grad.data.copy() for t in extra]


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reentrant", [False, True])
def test_mlp_with_dropout_matches_plain_backward(reentrant):
    """Same seed, same dropout masks: the recomputation restores the random state."""
    x_np = np.random.default_rng(0).standard_normal((4, 5))
    results = []
    for use_ckpt in (False, True):
        model = _mlp()
        x = minigrad.tensor(x_np, requires_grad=True)
        minigrad.manual_seed(7)
        y = checkpoint(model, x, use_reentrant=reentrant) if use_ckpt else model(x)
        (y * y).sum().backward()
        results.append((y.data.copy(), _grads(model, x)))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    _same(results[0][1], results[1][1])


def test_without_preserved_rng_state_the_masks_differ():
    model = _mlp()
    x = minigrad.tensor(np.ones((4, 5)), requires_grad=True)
    minigrad.manual_seed(7)
    plain = model(x)
    (plain * plain).sum().backward()
    expected = _grads(model, x)
    model.zero_grad()
    x.grad = None
    minigrad.manual_seed(7)
    y = checkpoint(model, x, preserve_rng_state=False)
    (y * y).sum().backward()
    assert not all(np.allclose(a, b) for a, b in zip(expected, _grads(model, x)))


def test_mlp_matches_torch_checkpoint():
    """With weights copied, minigrad's and PyTorch's checkpointed gradients agree."""
    model = _mlp()
    model[2].p = 0.0
    tmodel = torch.nn.Sequential(
        torch.nn.Linear(5, 16),
        torch.nn.Tanh(),
        torch.nn.Dropout(0.0),
        torch.nn.Linear(16, 3),
        torch.nn.GELU(),
    ).double()
    sync(model, tmodel, "mg->torch")
    x_np = np.random.default_rng(1).standard_normal((4, 5))
    x, tx = minigrad.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    (checkpoint(model, x) ** 2).sum().backward()
    (tcp.checkpoint(tmodel, tx, use_reentrant=False) ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for p, tp in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.grad.data, tp.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_captured_leaf_and_autograd_grad():
    """A tensor captured by a closure gets its gradient in .grad; the arguments' gradients
    are also available to autograd.grad; a module's parameters to both."""
    rng = np.random.default_rng(2)
    w = minigrad.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    x = minigrad.tensor(rng.standard_normal((2, 3)), requires_grad=True)

    def fn(a):
        return (a @ w).tanh()

    ((fn(x) ** 2).sum()).backward()
    gw, gx = w.grad.data.copy(), x.grad.data.copy()
    w.grad = x.grad = None
    (checkpoint(fn, x) ** 2).sum().backward()
    _same([gw, gx], [w.grad.data, x.grad.data])
    (dx,) = minigrad.autograd.grad((checkpoint(fn, x) ** 2).sum(), [x])
    _same([gx], [dx.data])
    lin = nn.Linear(3, 2, dtype=np.float64)
    dw = minigrad.autograd.grad(checkpoint(lin, x).sum(), [lin.weight])[0]
    np.testing.assert_allclose(dw.data, np.broadcast_to(x.data.sum(0), (2, 3)), rtol=1e-12)


def test_checkpoint_sequential_matches_plain():
    model = nn.Sequential(*[nn.Linear(4, 4, dtype=np.float64) for _ in range(5)], nn.Tanh())
    x = minigrad.tensor(np.random.default_rng(3).standard_normal((3, 4)), requires_grad=True)
    (model(x) ** 2).sum().backward()
    expected = _grads(model, x)
    model.zero_grad()
    x.grad = None
    (checkpoint_sequential(model, 3, x) ** 2).sum().backward()
    _same(expected, _grads(model, x))


def _tiny_gpt2() -> GPT2LMHeadModel:
    minigrad.manual_seed(0)
    cfg = GPT2Config(vocab_size=50, n_positions=16, n_embd=16, n_layer=3, n_head=2)
    return GPT2LMHeadModel(cfg).to(np.float64)


def test_gpt2_block_stack_matches_plain_backward():
    """A GPT-2 (dropout on) whose blocks are checkpointed: the loss and every parameter
    gradient equal the plain backward's."""
    from benchmarks.layers import gpt2_loss

    ids = np.random.default_rng(4).integers(0, 50, (2, 8))
    results = []
    for ckpt in (False, True):
        model = _tiny_gpt2()
        model.train()
        minigrad.manual_seed(11)
        loss = gpt2_loss(model, ids, checkpointed=ckpt)
        loss.backward()
        results.append((float(loss.item()), _grads(model)))
    assert results[0][0] == results[1][0]
    _same(results[0][1], results[1][1])


def test_gpt2_checkpointing_lowers_peak_memory():
    from benchmarks.layers import peak_memory

    plain, ckpt = peak_memory(layers=4, seq=32, batch=2, n_embd=32)
    assert ckpt < 0.8 * plain, f"checkpointed peak {ckpt} vs plain {plain}"


def test_checkpoint_requires_tensor_outputs():
    x = minigrad.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match="must return one Tensor"):
        checkpoint(lambda a: 3.0, x)
    with pytest.raises(TypeError, match="must return one Tensor"):
        checkpoint(lambda a: (a, "label"), x)


def test_tuple_outputs_match_plain_backward():
    """A function returning (Tensor, None, Tensor): both outputs, and the gradients of a
    loss that uses them, equal the plain run's."""
    rng = np.random.default_rng(5)
    lin = nn.Linear(3, 4, dtype=np.float64)
    x = minigrad.tensor(rng.standard_normal((2, 3)), requires_grad=True)

    def fn(a):
        h = lin(a).tanh()
        return h, None, (h * a.sum(1, keepdim=True)).sum(0)

    results = []
    for ckpt in (False, True):
        lin.zero_grad()
        x.grad = None
        h, none, s = checkpoint(fn, x) if ckpt else fn(x)
        assert none is None and h.shape == (2, 4) and s.shape == (4,)
        ((h**2).sum() + (s * s).sum()).backward()
        results.append([h.data.copy(), s.data.copy(), *_grads(lin, x)])
    _same(results[0], results[1])


def test_warns_when_nothing_requires_grad():
    """As PyTorch's reentrant checkpoint: no input requiring grad means no gradients."""
    w = minigrad.tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.warns(UserWarning, match="none of the inputs have requires_grad"):
        y = checkpoint(lambda a: a @ w, minigrad.tensor(np.ones((1, 2))))
    assert not y.requires_grad
