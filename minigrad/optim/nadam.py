"""NAdam: Adam with Nesterov momentum (Dozat, 2016), with PyTorch's momentum decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.optim.optimizer import (
    Optimizer,
    ParamsT,
    check_adam_options,
    check_non_negative,
    effective_grad,
    ema_sq_,
    init_state,
    lerp_,
)


class NAdam(Optimizer):
    r"""NAdam, as ``torch.optim.NAdam``.

    Adam's first moment is a heavy-ball momentum; NAdam applies it the Nesterov way, by
    looking one step ahead. The momentum coefficient itself ramps up over the first steps
    (``momentum_decay`` ψ sets how fast). With gradient :math:`g_t` at step
    ``t = 1, 2, ...``::

        g = -g_t if maximize else g_t
        theta = theta * (1 - lr * weight_decay)    (decoupled_weight_decay)
        g = g + weight_decay * theta               (otherwise, L2 decay)
        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_{t+1} = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        P_t = P_{t-1} * mu_t                       (mu_product, P_0 = 1)
        m_t = beta1 * m_{t-1} + (1 - beta1) * g
        v_t = beta2 * v_{t-1} + (1 - beta2) * g * g
        denom = sqrt(v_t / (1 - beta2 ** t)) + eps
        theta = theta - lr * (1 - mu_t) / (1 - P_t) * g / denom
                      - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m_t / denom

    The first term is the current gradient's share, the second the momentum's one step
    ahead; both are bias-corrected by the running product of the coefficients.

    State per parameter: ``step``, ``mu_product``, ``exp_avg`` (m), ``exp_avg_sq`` (v).
    PyTorch keeps ``mu_product`` as a float32 0-d tensor whatever the parameter's dtype;
    minigrad keeps a Python float rounded to float32 after every product, so the two
    carry the same number.
    """

    _scalar_state = ("step", "mu_product")

    def __init__(
        self,
        params: ParamsT,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        betas = check_adam_options(lr, eps, betas, weight_decay)
        check_non_negative(momentum_decay, "momentum_decay value")
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum_decay": momentum_decay,
            "decoupled_weight_decay": decoupled_weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        # Each line mirrors one op of torch.optim.nadam._single_tensor_nadam, in its order.
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        momentum_decay = float(group["momentum_decay"])
        if not state:
            init_state(state, param, "exp_avg", "exp_avg_sq")
            state["mu_product"] = 1.0
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        step = state["step"]
        bias_correction2 = 1 - beta2**step
        grad = effective_grad(param, grad, group, decoupled=group["decoupled_weight_decay"])

        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        # float32 arithmetic, as PyTorch's float32 mu_product tensor times a scalar
        mu_product = float(np.float32(state["mu_product"]) * np.float32(mu))
        state["mu_product"] = mu_product

        lerp_(exp_avg, grad, 1 - beta1)
        ema_sq_(exp_avg_sq, grad, beta2)
        denom = np.sqrt(exp_avg_sq / bias_correction2)
        mu_product_next = mu_product * mu_next
        denom += eps
        update = (-lr * (1.0 - mu) / (1.0 - mu_product)) * grad
        update /= denom
        param += update
        update = (-lr * mu_next / (1.0 - mu_product_next)) * exp_avg
        update /= denom
        param += update
