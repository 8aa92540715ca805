"""Adagrad: per-coordinate learning rates from the sum of all past squared gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.optim.optimizer import Optimizer, ParamsT, check_non_negative


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), as ``torch.optim.Adagrad``.

    With gradient :math:`g_t` of parameter :math:`\theta_{t-1}` at step ``t = 1, 2, ...``::

        g = -g_t if maximize else g_t
        g = g + weight_decay * theta                  (if weight_decay != 0)
        clr = lr / (1 + (t - 1) * lr_decay)
        s_t = s_{t-1} + g * g                         (s_0 = initial_accumulator_value)
        theta = theta - clr * g / (sqrt(s_t) + eps)

    Coordinates with a history of large gradients take small steps. As ``s`` only
    grows, the effective rate decays towards zero, which suits sparse features but can
    stall long runs.

    State per parameter: ``step`` and ``sum`` (created at construction, as in PyTorch).
    ``sum`` starts at the parameter's group's ``initial_accumulator_value``; PyTorch uses
    the constructor's value for every group, which differs only if a group overrides it.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        check_non_negative(lr, "learning rate")
        check_non_negative(lr_decay, "lr_decay value")
        check_non_negative(weight_decay, "weight_decay value")
        check_non_negative(initial_accumulator_value, "initial_accumulator_value value")
        check_non_negative(eps, "epsilon value")
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "maximize": maximize,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(self.state[p], p.data, group)

    @staticmethod
    def _init_state(state: dict[str, Any], param: np.ndarray, group: dict[str, Any]) -> None:
        state["step"] = 0.0
        state["sum"] = np.full_like(param, group["initial_accumulator_value"])

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        # Each line mirrors one op of torch.optim.adagrad._single_tensor_adagrad, in order.
        # Options are made Python floats: a NumPy float64 scalar would promote float32.
        lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
        weight_decay = float(group["weight_decay"])
        if not state:  # a parameter added later with add_param_group
            self._init_state(state, param, group)
        state_sum = state["sum"]

        state["step"] += 1
        step = state["step"]
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param
        clr = lr / (1 + (step - 1) * lr_decay)

        state_sum += grad * grad
        std = np.sqrt(state_sum)
        std += eps
        update = -clr * grad
        update /= std
        param += update
