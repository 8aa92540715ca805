"""Numerical gradient checks: compare the engine's Jacobian with central differences.

For inputs x and a function f, the numerical Jacobian column for element k of x is

    J[:, k] ≈ (f(x + eps·e_k) - f(x - eps·e_k)) / (2·eps)

and the analytical row for output element j is the vector-Jacobian product
``grad(f(x), x, grad_outputs=e_j)``. Both are computed in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad.core.grad_mode import enable_grad, no_grad


def _outputs_tuple(out: Any) -> tuple:
    from minigrad.tensor import Tensor

    return (out,) if isinstance(out, Tensor) else tuple(out)


def _check_inputs(inputs: Sequence[Any]) -> list[int]:
    from minigrad.tensor import Tensor

    diff = []
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad:
            if t.dtype != np.float64:
                raise ValueError(
                    f"gradcheck: input {i} has dtype {t.dtype}; gradcheck needs float64 inputs "
                    "(central differences in float32 are too coarse)"
                )
            diff.append(i)
    if not diff:
        raise ValueError("gradcheck: no input requires grad")
    return diff


def _numerical_jacobian(
    fn: Callable[..., Any], inputs: Sequence[Any], i: int, eps: float
) -> list[np.ndarray]:
    """One matrix per output, of shape (output.numel(), inputs[i].numel())."""
    x = inputs[i].data
    flat = x.reshape(-1)  # a view: perturbing it perturbs the input
    with no_grad():
        outs = _outputs_tuple(fn(*inputs))
        jac = [np.zeros((o.data.size, flat.size)) for o in outs]
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + eps
            plus = [o.data.astype(np.float64).ravel() for o in _outputs_tuple(fn(*inputs))]
            flat[k] = orig - eps
            minus = [o.data.astype(np.float64).ravel() for o in _outputs_tuple(fn(*inputs))]
            flat[k] = orig
            for j, (p, m) in enumerate(zip(plus, minus)):
                jac[j][:, k] = (p - m) / (2 * eps)
    return jac


def _analytical_jacobian(
    fn: Callable[..., Any], inputs: Sequence[Any], diff: list[int]
) -> dict[int, list[np.ndarray]]:
    from minigrad.autograd import grad
    from minigrad.tensor import Tensor

    outs = _outputs_tuple(fn(*inputs))
    result = {i: [np.zeros((o.data.size, inputs[i].data.size)) for o in outs] for i in diff}
    for j, o in enumerate(outs):
        if not o.requires_grad:
            continue
        for r in range(o.data.size):
            e = np.zeros(o.data.size, dtype=o.dtype)
            e[r] = 1.0
            gs = grad(
                o,
                [inputs[i] for i in diff],
                Tensor(e.reshape(o.shape)),
                retain_graph=True,
                allow_unused=True,
            )
            for i, g in zip(diff, gs):
                if g is not None:
                    result[i][j][r, :] = g.data.ravel()
    return result


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """True if the analytical and numerical Jacobians of ``fn`` agree:
    ``|analytical - numerical| <= atol + rtol·|numerical|`` element by element.
    On failure it raises (or returns False) naming the worst element."""
    from minigrad.tensor import Tensor

    inputs = tuple(inputs) if not isinstance(inputs, Tensor) else (inputs,)
    diff = _check_inputs(inputs)
    analytical = _analytical_jacobian(fn, inputs, diff)
    for i in diff:
        numerical = _numerical_jacobian(fn, inputs, i, eps)
        for j, (a, n) in enumerate(zip(analytical[i], numerical)):
            with np.errstate(invalid="ignore"):  # inf - inf: handled by ``same`` below
                err = np.abs(a - n) - (atol + rtol * np.abs(n))
            # NaN in one Jacobian only is a mismatch (err <= 0 is False for NaN)
            same = (a == n) | (np.isnan(a) & np.isnan(n))
            bad = ~((err <= 0) | same)
            if bad.any():
                worst = np.where(bad, np.nan_to_num(err, nan=np.inf), -np.inf)
                r, k = np.unravel_index(np.argmax(worst), err.shape)
                msg = (
                    f"gradcheck: Jacobian mismatch for output {j} with respect to input {i}: "
                    f"worst at output element {r}, input element {k}: analytical {a[r, k]!r}, "
                    f"numerical {n[r, k]!r} (atol={atol}, rtol={rtol})"
                )
                if raise_exception:
                    raise RuntimeError(msg)
                return False
    return True


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    grad_outputs: Sequence[Any] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check second derivatives: gradcheck of ``(x, v) -> grad(fn(x), x, v, create_graph=True)``."""
    from minigrad.autograd import grad
    from minigrad.tensor import Tensor

    inputs = tuple(inputs) if not isinstance(inputs, Tensor) else (inputs,)
    diff = _check_inputs(inputs)
    outs = _outputs_tuple(fn(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [Tensor(rng.standard_normal(o.shape), requires_grad=True) for o in outs]
    n_in = len(inputs)

    def first_derivative(*args: Any) -> tuple:
        xs, vs = args[:n_in], args[n_in:]
        # gradcheck evaluates this under no_grad for the numerical Jacobian, but the
        # first derivative needs a recorded graph of fn to differentiate.
        with enable_grad():
            gs = grad(
                _outputs_tuple(fn(*xs)),
                [xs[i] for i in diff],
                list(vs),
                create_graph=True,
                allow_unused=True,
            )
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivative, (*inputs, *grad_outputs), eps, atol, rtol, raise_exception)
