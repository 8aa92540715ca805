"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.optim.optimizer import (
    Optimizer,
    ParamsT,
    check_adam_options,
    effective_grad,
    init_state,
    lerp_,
)


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7), as ``torch.optim.Adamax``.

    Adam scales by the root of an average of squared gradients (an L2 norm over time);
    letting the norm's order go to infinity gives a running maximum, which needs no bias
    correction. With gradient :math:`g_t` at step ``t = 1, 2, ...``::

        g = -g_t if maximize else g_t
        g = g + weight_decay * theta                      (if weight_decay != 0)
        m_t = beta1 * m_{t-1} + (1 - beta1) * g
        u_t = max(beta2 * u_{t-1}, |g| + eps)             (exp_inf)
        theta = theta - lr / (1 - beta1 ** t) * m_t / u_t

    ``eps`` sits inside the maximum, so ``u`` is never zero.

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_inf`` (u).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
    ) -> None:
        betas = check_adam_options(lr, eps, betas, weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        # Each line mirrors one op of torch.optim.adamax._single_tensor_adamax, in its order.
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        if not state:
            init_state(state, param, "exp_avg", "exp_inf")
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        state["step"] += 1
        grad = effective_grad(param, grad, group)

        lerp_(exp_avg, grad, 1 - beta1)
        exp_inf *= beta2
        norm = np.abs(grad)
        norm += eps
        np.maximum(exp_inf, norm, out=exp_inf)
        clr = lr / (1 - beta1 ** state["step"])
        update = -clr * exp_avg
        update /= exp_inf
        param += update
