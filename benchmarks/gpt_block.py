"""A tiny GPT block written once with generic tensor ops, for every engine that has them.

The block (pre-norm, as GPT-2), on ``x`` of shape (B, T, C) with H heads of size D:

    a = LN₁(x);  q, k, v = split(a W_qkv + b_qkv)            (each (B, H, T, D))
    att = softmax(q kᵀ / √D + mask)                          (mask: −10⁴ above the diagonal)
    h = x + merge(att v) W_o + b_o
    y = h + gelu(LN₂(h) W₁ + b₁) W₂ + b₂                      (gelu: the tanh form)
    L = mean((y − target)²)

with ``LN(z) = (z − μ) / √(σ² + 10⁻⁵) · γ + β`` and ``softmax(s) = eˢ / Σ eˢ`` (no
shift: the scores of this small, freshly initialised block stay far from overflow).
Only ``@``, ``+ − × /``, ``exp``, ``tanh``, ``sqrt``, ``mean``/``sum`` over the last
axis, ``reshape`` and a swap of two axes are used, so the same code runs on minigrad,
PyTorch, MyGrad and HIPS autograd through :class:`Ops` (DeZero has no batched matmul);
no fused attention, layer norm or GELU kernel helps any engine. One training step is
forward, loss, backward and an Adam update (each engine's own Adam where it has one,
else the hand-written NumPy Adam of :mod:`benchmarks.peers`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.backends import Backend
from benchmarks.peers import SEED, NumpyOptimizer
from benchmarks.spec import Built

B, T, C, H = 4, 64, 128, 4  # the suite's GPT-2 tiny sizes: batch 4 x 64 tokens, d=128


class Ops:
    """The few operations the block needs, in one engine's spelling."""

    def __init__(self, b: Backend) -> None:
        self.key = b.key
        if b.key in ("minigrad", "torch-cpu"):
            self.const: Callable[[np.ndarray], Any] = b.tensor
            self.mean = lambda x: x.mean(dim=-1, keepdim=True)
            self.sum = lambda x: x.sum(dim=-1, keepdim=True)
            self.mean_all = lambda x: x.mean()
            self.exp = lambda x: x.exp()
            self.tanh = lambda x: x.tanh()
            self.sqrt = lambda x: x.sqrt()
            self.swap = lambda x, i, j: x.transpose(i, j)
            return
        lib: Any
        if b.key == "mygrad":
            import mygrad as lib
        else:
            import autograd.numpy as lib
        self.const = lambda a: a
        self.mean = lambda x: lib.mean(x, axis=-1, keepdims=True)
        self.sum = lambda x: lib.sum(x, axis=-1, keepdims=True)
        self.mean_all = lib.mean
        self.exp, self.tanh, self.sqrt = lib.exp, lib.tanh, lib.sqrt

        def swap(x: Any, i: int, j: int) -> Any:
            axes = list(range(x.ndim))
            axes[i], axes[j] = axes[j], axes[i]
            return lib.transpose(x, axes)

        self.swap = swap


def init() -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """The parameters (GPT-2's N(0, 0.02) weights, zero biases, unit LN gains), the
    input, the target and the causal mask, from one seeded generator."""
    rng = np.random.default_rng(SEED)

    def w(*shape: int) -> np.ndarray:
        return (0.02 * rng.standard_normal(shape)).astype(np.float32)

    p = {
        "ln1_g": np.ones(C, np.float32),
        "ln1_b": np.zeros(C, np.float32),
        "w_qkv": w(C, 3 * C),
        "b_qkv": np.zeros(3 * C, np.float32),
        "w_o": w(C, C),
        "b_o": np.zeros(C, np.float32),
        "ln2_g": np.ones(C, np.float32),
        "ln2_b": np.zeros(C, np.float32),
        "w_1": w(C, 4 * C),
        "b_1": np.zeros(4 * C, np.float32),
        "w_2": w(4 * C, C),
        "b_2": np.zeros(C, np.float32),
    }
    x = rng.standard_normal((B, T, C), dtype=np.float32)
    target = rng.standard_normal((B, T, C), dtype=np.float32)
    mask = np.triu(np.full((T, T), -1e4, np.float32), k=1)
    return p, x, target, mask


def loss(o: Ops, p: dict[str, Any], x: Any, target: Any, mask: Any) -> Any:
    """The block's mean squared error to ``target`` (see the module docstring)."""
    d = C // H

    def ln(z: Any, g: Any, b: Any) -> Any:
        c = z - o.mean(z)
        return c / o.sqrt(o.mean(c * c) + 1e-5) * g + b

    def heads(z: Any) -> Any:  # (B, T, C) -> (B, H, T, D)
        return o.swap(z.reshape((B, T, H, d)), 1, 2)

    qkv = ln(x, p["ln1_g"], p["ln1_b"]) @ p["w_qkv"] + p["b_qkv"]
    q, k, v = (heads(qkv[:, :, i * C : (i + 1) * C]) for i in range(3))
    e = o.exp(q @ o.swap(k, 2, 3) * (1.0 / float(np.sqrt(d))) + mask)
    att = e / o.sum(e)
    h = x + o.swap(att @ v, 1, 2).reshape((B, T, C)) @ p["w_o"] + p["b_o"]
    u = ln(h, p["ln2_g"], p["ln2_b"]) @ p["w_1"] + p["b_1"]
    gelu = 0.5 * u * (1.0 + o.tanh(0.7978845608028654 * (u + 0.044715 * (u * u * u))))
    r = h + gelu @ p["w_2"] + p["b_2"] - target
    return o.mean_all(r * r)


def build_gpt_block(b: Backend, quick: bool) -> Built:
    """One Adam step of the block on ``b`` (lr 1e-3, PyTorch's defaults otherwise)."""
    arrays, x_np, t_np, m_np = init()
    o = Ops(b)
    info = f"1 block, batch {B} x {T} tokens, d={C}, {H} heads, generic ops, adam"
    tokens = float(B * T)
    if b.key in ("minigrad", "torch-cpu"):
        p = {k: b.tensor(v, requires_grad=True) for k, v in arrays.items()}
        x, target, mask = b.tensor(x_np), b.tensor(t_np), b.tensor(m_np)
        opt = b.optim.Adam(list(p.values()), lr=1e-3)

        def step() -> None:
            opt.zero_grad()
            loss(o, p, x, target, mask).backward()
            opt.step()

        def current() -> list[np.ndarray]:
            return [t.detach().numpy() if b.is_torch else t.data for t in p.values()]

    elif b.key == "mygrad":
        import mygrad as mg

        p = {k: mg.tensor(v.copy()) for k, v in arrays.items()}
        adam = NumpyOptimizer([t.data for t in p.values()], "adam", 1e-3)

        def step() -> None:
            loss(o, p, x_np, t_np, m_np).backward()
            adam.step([t.grad for t in p.values()])

        def current() -> list[np.ndarray]:
            return [t.data for t in p.values()]

    else:  # HIPS autograd
        from autograd import grad

        names = list(arrays)
        params = [arrays[k].copy() for k in names]
        dloss = grad(lambda ps: loss(o, dict(zip(names, ps)), x_np, t_np, m_np))
        adam = NumpyOptimizer(params, "adam", 1e-3)

        def step() -> None:
            adam.step(dloss(params))

        def current() -> list[np.ndarray]:
            return params

    return Built(step, work=tokens, info=info, params=current)
