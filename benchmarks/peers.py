"""The NumPy peers (MyGrad, DeZero, HIPS autograd) and the hand-written NumPy floors of
the small workloads, written once each with the same data and initial weights.

minigrad and PyTorch share one step (:mod:`benchmarks.workloads`, PyTorch's API); the
peers have APIs of their own, so each step here is written in the peer's usual idiom:

* **MyGrad** 2.5: ``mygrad.Tensor`` and its ``nnet`` layers and losses; no optimizers,
  so the update is the hand-written NumPy one below (in place on ``tensor.data``);
* **DeZero** 0.0.13: ``dezero.layers.Linear``, ``dezero.functions``, and DeZero's own
  ``SGD`` / ``Adam`` (its Adam adds ε before the bias correction,
  ``θ ← θ − lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m/(√v + ε)``: the same work, slightly other values);
* **HIPS autograd** 1.9: a loss function of a list of arrays in ``autograd.numpy``,
  differentiated by ``autograd.grad`` at every step (it traces as it runs), and the
  hand-written NumPy update.

Every engine starts from the same arrays: PyTorch's ``Linear`` initialisation drawn
with NumPy (``U(-1/√fan_in, 1/√fan_in)`` for weights and biases), then the inputs and
labels, from one generator seeded with ``SEED``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks import flops
from benchmarks.backends import Backend
from benchmarks.spec import Built

SEED = 0
Layer = tuple[np.ndarray, np.ndarray]  # (weight (out, in), bias (out,)): PyTorch's layout


def mlp_arrays(sizes: tuple[int, ...], batch: int) -> tuple[list[Layer], np.ndarray, np.ndarray]:
    """Initial weights of ``Linear(sizes[i], sizes[i+1])`` layers, inputs and labels."""
    rng = np.random.default_rng(SEED)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)  # PyTorch's Linear default
        w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        layers.append((w, rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int64)
    return layers, x, y


class NumpyOptimizer:
    """In-place SGD or Adam on NumPy arrays (PyTorch's formulas, defaults and order):

    SGD:  θ ← θ − lr·g
    Adam: m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
          θ ← θ − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)
    """

    def __init__(self, params: list[np.ndarray], kind: str, lr: float) -> None:
        self.params, self.kind, self.lr, self.t = params, kind, lr, 0
        self.b1, self.b2, self.eps = 0.9, 0.999, 1e-8
        self.m = [np.zeros_like(p) for p in params] if kind == "adam" else []
        self.v = [np.zeros_like(p) for p in params] if kind == "adam" else []

    def step(self, grads: list[np.ndarray]) -> None:
        if self.kind == "sgd":
            for p, g in zip(self.params, grads):
                p -= self.lr * g
            return
        self.t += 1
        step = self.lr / (1 - self.b1**self.t)
        root_bc2 = np.sqrt(1 - self.b2**self.t)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.b1
            m += (1 - self.b1) * g
            v *= self.b2
            v += (1 - self.b2) * (g * g)
            denom = np.sqrt(v)
            denom /= root_bc2
            denom += self.eps
            p -= step * (m / denom)


def _info(sizes: tuple[int, ...], batch: int, optimizer: str, how: str) -> str:
    return f"{'-'.join(map(str, sizes))}, batch {batch}, {optimizer}, {how}"


# --------------------------------------------------------------------------- MLP
def build_mlp_numpy(sizes: tuple[int, ...], batch: int, optimizer: str, lr: float) -> Built:
    """The MLP written by hand in NumPy: no graph, no autograd, an in-place update.
    The floor an autograd engine's bookkeeping is measured against.

        h₀ = x,  zᵢ = hᵢ Wᵢᵀ + bᵢ,  hᵢ₊₁ = relu(zᵢ) (not after the last),  p = softmax(z)
        L = mean(−log p[y]);  dz = (p − onehot(y)) / B
        dWᵢ = dzᵢᵀ hᵢ,  dbᵢ = Σ dzᵢ,  dhᵢ = dzᵢ Wᵢ,  dzᵢ₋₁ = dhᵢ·[zᵢ₋₁ > 0]
    """
    layers, x, y = mlp_arrays(sizes, batch)
    params = [a for layer in layers for a in layer]
    opt = NumpyOptimizer(params, optimizer, lr)
    rows = np.arange(batch)

    def step() -> None:
        hs, zs = [x], []
        for i, (w, b) in enumerate(layers):
            z = hs[-1] @ w.T + b
            zs.append(z)
            if i < len(layers) - 1:
                hs.append(np.maximum(z, 0))
        z = zs[-1]
        z -= z.max(axis=1, keepdims=True)  # log-sum-exp shift
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        _loss = -np.log(p[rows, y]).mean()
        p[rows, y] -= 1
        p /= batch
        dz = p  # dL/dz
        grads: list[np.ndarray] = []
        for i in range(len(layers) - 1, -1, -1):
            w = layers[i][0]
            grads[:0] = [dz.T @ hs[i], dz.sum(axis=0)]
            if i:
                dz = dz @ w
                dz *= zs[i - 1] > 0
        opt.step(grads)

    return Built(
        step,
        flops=flops.linear_train(batch, sizes),
        info=_info(sizes, batch, optimizer, "hand-written"),
        params=lambda: params,
    )


def build_mlp_peer(
    b: Backend, sizes: tuple[int, ...], batch: int, optimizer: str, lr: float
) -> Built:
    """The MLP step (zero grads, forward, cross-entropy, backward, update) in a peer."""
    layers, x, y = mlp_arrays(sizes, batch)
    last = len(layers) - 1
    if b.key == "mygrad":
        import mygrad as mg
        from mygrad.nnet.activations import relu
        from mygrad.nnet.losses import softmax_crossentropy

        ps = [(mg.tensor(w.T.copy()), mg.tensor(bias.copy())) for w, bias in layers]
        flat = [t for layer in ps for t in layer]
        opt = NumpyOptimizer([t.data for t in flat], optimizer, lr)

        def step() -> None:
            h = x
            for i, (w, bias) in enumerate(ps):
                h = mg.matmul(h, w) + bias
                if i < last:
                    h = relu(h)
            softmax_crossentropy(h, y).backward()
            opt.step([t.grad for t in flat])

        def current() -> list[np.ndarray]:
            return [a for w, bias in ps for a in (w.data.T, bias.data)]

    elif b.key == "dezero":
        import dezero
        import dezero.functions as F
        import dezero.layers as L

        class MLP(dezero.Model):
            def __init__(self) -> None:
                super().__init__()
                self.fcs = []
                for i, (w, bias) in enumerate(layers):
                    fc = L.Linear(w.shape[0], in_size=w.shape[1])
                    fc.W.data, fc.b.data = w.T.copy(), bias.copy()
                    setattr(self, f"l{i}", fc)
                    self.fcs.append(fc)

            def forward(self, h: Any) -> Any:
                for i, fc in enumerate(self.fcs):
                    h = fc(h)
                    if i < last:
                        h = F.relu(h)
                return h

        model = MLP()
        opt = dezero.optimizers.SGD(lr) if optimizer == "sgd" else dezero.optimizers.Adam(lr)
        opt.setup(model)

        def step() -> None:
            model.cleargrads()
            F.softmax_cross_entropy(model(x), y).backward()
            opt.update()

        def current() -> list[np.ndarray]:
            return [a for fc in model.fcs for a in (fc.W.data.T, fc.b.data)]

    else:  # HIPS autograd
        import autograd.numpy as anp
        from autograd import grad

        params = [a.copy() for w, bias in layers for a in (w.T, bias)]
        rows = np.arange(batch)

        def loss(ps: list[Any]) -> Any:
            h = x
            for i in range(len(ps) // 2):
                h = anp.dot(h, ps[2 * i]) + ps[2 * i + 1]
                if i < last:
                    h = anp.maximum(h, 0.0)
            h = h - anp.max(h, axis=1, keepdims=True)
            logp = h - anp.log(anp.sum(anp.exp(h), axis=1, keepdims=True))
            return -anp.mean(logp[rows, y])

        dloss = grad(loss)
        opt = NumpyOptimizer(params, optimizer, lr)

        def step() -> None:
            opt.step(dloss(params))

        def current() -> list[np.ndarray]:
            return [p.T if p.ndim == 2 else p for p in params]

    return Built(
        step,
        flops=flops.linear_train(batch, sizes),
        info=_info(sizes, batch, optimizer, b.key),
        params=current,
    )


# --------------------------------------------------------------------------- short graph
SHORT = 4  # elements


def short_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    return tuple(rng.standard_normal(SHORT, dtype=np.float32) for _ in range(3))  # type: ignore[return-value]


def build_short_graph(b: Backend, quick: bool) -> Built:
    """``(a*b + c).sum().backward()`` on 4 elements, the leaves' gradients cleared first:
    three ops and a backward, so nearly all of it is each engine's fixed cost."""
    a_np, b_np, c_np = short_arrays()
    info = f"{SHORT} elements, 3 ops + backward"
    if b.key == "numpy":
        ones = np.ones(SHORT, dtype=np.float32)

        def step() -> None:
            _loss = (a_np * b_np + c_np).sum()
            _ga, _gb, _gc = ones * b_np, ones * a_np, ones.copy()

        return Built(step, info=info + ", hand-written")
    if b.key == "autograd":
        import autograd.numpy as anp
        from autograd import grad

        dloss = grad(lambda abc: anp.sum(abc[0] * abc[1] + abc[2]))
        abc = (a_np, b_np, c_np)

        def step() -> None:
            dloss(abc)

        return Built(step, info=info)
    if b.key == "dezero":
        import dezero
        import dezero.functions as F

        a, bb, c = (dezero.Variable(v.copy()) for v in (a_np, b_np, c_np))

        def step() -> None:
            a.cleargrad()
            bb.cleargrad()
            c.cleargrad()
            F.sum(a * bb + c).backward()

        return Built(step, info=info)
    if b.key == "mygrad":
        import mygrad as mg

        a, bb, c = (mg.tensor(v.copy()) for v in (a_np, b_np, c_np))

        def step() -> None:  # MyGrad sets fresh gradients in every backward
            (a * bb + c).sum().backward()

        return Built(step, info=info)
    a, bb, c = (b.tensor(v, requires_grad=True) for v in (a_np, b_np, c_np))

    def step() -> None:
        a.grad = bb.grad = c.grad = None
        (a * bb + c).sum().backward()

    return Built(step, info=info)


def build_backward_call(b: Backend, quick: bool) -> Built:
    """The fixed cost of one ``backward()`` call: the 3-op graph ``(a*b + c).sum()`` is
    built once and differentiated again at every step (``retain_graph``), the leaves'
    gradients cleared first; no forward is timed."""
    a_np, b_np, c_np = short_arrays()
    info = f"{SHORT} elements, 3-op graph built once, backward only"
    if b.key == "dezero":
        import dezero
        import dezero.functions as F

        a, bb, c = (dezero.Variable(v.copy()) for v in (a_np, b_np, c_np))
        loss = F.sum(a * bb + c)

        def step() -> None:  # DeZero keeps its graph; it frees intermediate grads
            a.cleargrad()
            bb.cleargrad()
            c.cleargrad()
            loss.cleargrad()
            loss.backward()

        return Built(step, info=info)
    a, bb, c = (b.tensor(v, requires_grad=True) for v in (a_np, b_np, c_np))
    loss = (a * bb + c).sum()

    def step() -> None:
        a.grad = bb.grad = c.grad = None
        loss.backward(retain_graph=True)

    return Built(step, info=info)
