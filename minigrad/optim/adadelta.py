"""Adadelta: step sizes from the ratio of running RMS of updates and of gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.optim.optimizer import (
    Optimizer,
    ParamsT,
    check_non_negative,
    effective_grad,
    ema_sq_,
    init_state,
)


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), as ``torch.optim.Adadelta``.

    The step is the gradient scaled by ``RMS[update] / RMS[gradient]``, so it carries the
    parameter's own units and needs no global rate (``lr`` defaults to 1 and only
    rescales). With gradient :math:`g_t` at step ``t``::

        g = -g_t if maximize else g_t
        g = g + weight_decay * theta                      (if weight_decay != 0)
        v_t = rho * v_{t-1} + (1 - rho) * g * g           (square_avg)
        delta = sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g
        u_t = rho * u_{t-1} + (1 - rho) * delta * delta   (acc_delta)
        theta = theta - lr * delta

    State per parameter: ``step``, ``square_avg`` (v), ``acc_delta`` (u).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
    ) -> None:
        check_non_negative(lr, "learning rate")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_non_negative(eps, "epsilon value")
        check_non_negative(weight_decay, "weight_decay value")
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        # Each line mirrors one op of torch.optim.adadelta._single_tensor_adadelta, in order.
        lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
        if not state:
            init_state(state, param, "square_avg", "acc_delta")
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        state["step"] += 1
        grad = effective_grad(param, grad, group)

        ema_sq_(square_avg, grad, rho)
        std = np.sqrt(square_avg + eps)
        delta = np.sqrt(acc_delta + eps)
        delta /= std
        delta *= grad
        ema_sq_(acc_delta, delta, rho)
        param += -lr * delta
