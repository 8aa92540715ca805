"""RAdam: Adam with the variance of its adaptive rate rectified (Liu et al., 2020)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.optim.optimizer import (
    Optimizer,
    ParamsT,
    check_adam_options,
    effective_grad,
    ema_sq_,
    init_state,
    lerp_,
)


class RAdam(Optimizer):
    r"""Rectified Adam, as ``torch.optim.RAdam``.

    In its first steps Adam divides by a second-moment estimate built from very few
    gradients, whose variance is large (so the step is erratic: the reason for warm-up
    schedules). RAdam measures that variance through the length of the approximated
    simple moving average, rho, and takes plain momentum steps until rho > 5, then Adam
    steps scaled by a rectification term r. With gradient :math:`g_t` at step ``t``::

        g = -g_t if maximize else g_t
        theta = theta * (1 - lr * weight_decay)    (decoupled_weight_decay)
        g = g + weight_decay * theta               (otherwise, L2 decay)
        m_t = beta1 * m_{t-1} + (1 - beta1) * g
        v_t = beta2 * v_{t-1} + (1 - beta2) * g * g
        m_hat = m_t / (1 - beta1 ** t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2 ** t / (1 - beta2 ** t)
        if rho_t > 5:
            r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            theta = theta - lr * m_hat * sqrt(1 - beta2 ** t) / (sqrt(v_t) + eps) * r
        else:
            theta = theta - lr * m_hat

    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
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
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        # Each line mirrors one op of torch.optim.radam._single_tensor_radam, in its order.
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        if not state:
            init_state(state, param, "exp_avg", "exp_avg_sq")
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        step = state["step"]
        grad = effective_grad(param, grad, group, decoupled=group["decoupled_weight_decay"])

        lerp_(exp_avg, grad, 1 - beta1)
        ema_sq_(exp_avg_sq, grad, beta2)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        bias_corrected_exp_avg = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2

        update = bias_corrected_exp_avg * lr
        if rho_t > 5.0:
            denom = np.sqrt(exp_avg_sq)
            denom += eps
            adaptive_lr = (bias_correction2**0.5) / denom
            rect = math.sqrt(
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            )
            update *= adaptive_lr
            update *= rect
        param -= update
