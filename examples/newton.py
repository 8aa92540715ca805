"""Second derivatives: Hessian-vector products and Newton's method.

With ``create_graph=True`` the backward pass is itself recorded, so the gradient
g(x) = ∇f(x) is a differentiable tensor, and differentiating g·v gives the
Hessian-vector product H v = ∇(∇f(x)·v) without ever forming H.

Newton's method on the Rosenbrock function uses the full Hessian, built one
Hessian-vector product (one column) at a time:

    x ← x - H(x)⁻¹ ∇f(x)

    python examples/newton.py
"""

from __future__ import annotations

import numpy as np

import minigrad
from minigrad.autograd import grad


def rosenbrock(x: minigrad.Tensor) -> minigrad.Tensor:
    """f(x, y) = (1 - x)² + 100 (y - x²)², minimum 0 at (1, 1)."""
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def hessian_vector_product(f, x: minigrad.Tensor, v: minigrad.Tensor) -> minigrad.Tensor:
    (g,) = grad(f(x), x, create_graph=True)  # ∇f(x), still part of a graph
    (hv,) = grad((g * v).sum(), x)  # ∇(∇f·v) = H v
    return hv


def hessian(f, x: minigrad.Tensor) -> np.ndarray:
    n = x.numel()
    cols = [hessian_vector_product(f, x, minigrad.tensor(np.eye(n)[i])).data for i in range(n)]
    return np.stack(cols, axis=1)


def newton(f, x0: list[float], steps: int = 8) -> np.ndarray:
    x = minigrad.tensor(x0, dtype=minigrad.float64, requires_grad=True)
    for i in range(steps):
        (g,) = grad(f(x), x)
        h = hessian(f, x)
        step = np.linalg.solve(h, g.data)
        x = minigrad.tensor(x.data - step, requires_grad=True)
        print(f"step {i + 1}: x = {x.data}, f(x) = {f(x).item():.3e}")
    return x.data


if __name__ == "__main__":
    x_min = newton(rosenbrock, [-1.2, 1.0])
    print("minimum found at", x_min, "(the true minimum is at [1, 1])")
