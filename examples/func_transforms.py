"""Function transforms: per-sample gradients, Jacobians both ways, Newton with a Hessian.

    python examples/func_transforms.py

1. Per-sample gradients: ``vmap(grad(loss), in_dims=(None, 0, 0))`` gives one gradient
   per example of a batch (what differential privacy and influence functions need),
   checked against a loop of ordinary backward passes.
2. A Jacobian of f: ℝⁿ → ℝᵐ by reverse mode (``jacrev``: m backward passes, a row each)
   and by forward mode (``jacfwd``: n forward passes, a column each). Timed on a wide
   Jacobian (n ≫ m: reverse mode wins) and a tall one (m ≫ n: forward mode wins).
3. Newton's method, x ← x - H⁻¹∇f, with ``hessian`` (forward-over-reverse) on the
   Rosenbrock function.
4. What the batching rules save: per-sample gradients of a small MLP by vmap with its
   rules, by vmap with every op looped per example (no rules), and by
   ``torch.func.vmap`` when torch is installed.
"""

from __future__ import annotations

import time

import numpy as np

import minigrad as mg
from minigrad.func import grad, hessian, jacfwd, jacrev, vmap


def per_sample_gradients() -> None:
    rng = np.random.default_rng(0)
    params = {
        "w1": mg.tensor(rng.standard_normal((3, 8)) * 0.5),
        "b1": mg.zeros(8, dtype=mg.float64),
        "w2": mg.tensor(rng.standard_normal((8, 1)) * 0.5),
    }
    x, y = mg.tensor(rng.standard_normal((16, 3))), mg.tensor(rng.standard_normal((16, 1)))

    def loss(p: dict, xi: mg.Tensor, yi: mg.Tensor) -> mg.Tensor:
        pred = mg.tanh(xi @ p["w1"] + p["b1"]) @ p["w2"]
        return ((pred - yi) ** 2).sum()

    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    # the same by a loop of backward passes, one example at a time
    worst = 0.0
    for i in range(x.shape[0]):
        leaves = {k: mg.tensor(v.data, requires_grad=True) for k, v in params.items()}
        loss(leaves, x[i], y[i]).backward()
        for k in leaves:
            worst = max(worst, float(np.abs(leaves[k].grad.data - per_sample[k].data[i]).max()))
    shapes = {k: tuple(v.shape) for k, v in per_sample.items()}
    print(f"per-sample gradients: {shapes}; largest difference from a loop: {worst:.1e}")


def _best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def batching_rules_speed(n: int = 64, d_in: int = 32, hidden: int = 64, d_out: int = 10) -> None:
    from minigrad.batching import without_rules

    rng = np.random.default_rng(2)
    arrs = {
        "w1": rng.standard_normal((d_in, hidden)) / np.sqrt(d_in),
        "b1": np.zeros(hidden),
        "w2": rng.standard_normal((hidden, d_out)) / np.sqrt(hidden),
    }
    xs, ys = rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))

    def loss(lib):  # noqa: ANN202  (one loss for both libraries)
        return lambda p, x, y: ((lib.tanh(x @ p["w1"] + p["b1"]) @ p["w2"] - y) ** 2).mean()

    params = {k: mg.tensor(v) for k, v in arrs.items()}
    x, y = mg.tensor(xs), mg.tensor(ys)
    per_sample = vmap(grad(loss(mg)), in_dims=(None, 0, 0))
    rules = _best(lambda: per_sample(params, x, y))
    with without_rules():
        looped = _best(lambda: per_sample(params, x, y))
    line = (
        f"per-sample gradients, MLP {d_in}-{hidden}-{d_out}, {n} examples: vmap with rules "
        f"{rules * 1e3:.2f} ms, every op looped {looped * 1e3:.2f} ms "
        f"({looped / rules:.1f}x slower)"
    )
    try:
        import torch
    except ImportError:
        print(line)
        return
    torch.set_num_threads(1)  # a thread pool on a shared machine times its waits
    tp = {k: torch.tensor(v) for k, v in arrs.items()}
    tx, ty = torch.tensor(xs), torch.tensor(ys)
    t_fn = torch.func.vmap(torch.func.grad(loss(torch)), in_dims=(None, 0, 0))
    theirs = _best(lambda: t_fn(tp, tx, ty))
    ratio = rules / theirs
    print(f"{line}; torch.func.vmap (1 thread) {theirs * 1e3:.2f} ms (minigrad/torch {ratio:.2f}x)")


def _timed(fn, *args) -> tuple[float, mg.Tensor]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def jacobians_both_ways() -> None:
    rng = np.random.default_rng(1)
    for label, n, m in (("wide", 200, 4), ("tall", 4, 200)):
        a = mg.tensor(rng.standard_normal((m, n)) / np.sqrt(n))

        def f(x: mg.Tensor, a: mg.Tensor = a) -> mg.Tensor:
            return mg.tanh(a @ x) * 2.0

        x = mg.tensor(rng.standard_normal(n))
        t_rev, j_rev = _timed(jacrev(f), x)
        t_fwd, j_fwd = _timed(jacfwd(f), x)
        assert np.allclose(j_rev.data, j_fwd.data, rtol=1e-10, atol=1e-12)
        cheaper = "jacrev" if t_rev < t_fwd else "jacfwd"
        print(
            f"{label} Jacobian {m}x{n}: jacrev {t_rev * 1e3:7.1f} ms ({m} backward passes), "
            f"jacfwd {t_fwd * 1e3:7.1f} ms ({n} forward passes): {cheaper} is cheaper"
        )


def newton() -> None:
    def rosenbrock(x: mg.Tensor) -> mg.Tensor:
        return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2

    x = mg.tensor([-1.2, 1.0], dtype=mg.float64)
    steps = 0
    while steps < 30:
        g, h = grad(rosenbrock)(x), hessian(rosenbrock)(x)
        x = mg.tensor(x.data - np.linalg.solve(h.data, g.data))
        steps += 1
        if np.linalg.norm(g.data) < 1e-12:
            break
    print(f"Newton with hessian: minimum found at {np.round(x.data, 6)} after {steps} steps")


if __name__ == "__main__":
    per_sample_gradients()
    jacobians_both_ways()
    newton()
    batching_rules_speed()
