"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.optim.optimizer import Optimizer, ParamsT, check_non_negative, ema_sq_, lerp_


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, Coursera lecture 6e), as ``torch.optim.RMSprop``.

    With gradient :math:`g_t` of parameter :math:`\theta_{t-1}`::

        g = -g_t if maximize else g_t
        g = g + weight_decay * theta                   (if weight_decay != 0)
        v_t = alpha * v_{t-1} + (1 - alpha) * g * g    (square_avg)
        a_t = alpha * a_{t-1} + (1 - alpha) * g        (grad_avg, centered only; a lerp)
        avg = sqrt(v_t - a_t * a_t) if centered else sqrt(v_t)
        avg = avg + eps
        b_t = momentum * b_{t-1} + g / avg             (if momentum > 0)
        theta = theta - lr * b_t   if momentum > 0   else   theta - lr * g / avg

    ``centered`` normalises by an estimate of the gradient's variance instead of its
    raw second moment. Unlike Adam there is no bias correction: ``v`` starts at zero, so
    the first steps are large (``g / sqrt(1 - alpha)``).

    State per parameter: ``step``, ``square_avg`` and, when enabled, ``momentum_buffer``
    and ``grad_avg``.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_non_negative(lr, "learning rate")
        check_non_negative(eps, "epsilon value")
        check_non_negative(momentum, "momentum value")
        check_non_negative(weight_decay, "weight_decay value")
        check_non_negative(alpha, "alpha value")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        # Each line mirrors one op of torch.optim.rmsprop._single_tensor_rmsprop, in order.
        # Options are made Python floats: a NumPy float64 scalar would promote float32.
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        momentum, weight_decay = float(group["momentum"]), float(group["weight_decay"])
        if not state:
            state["step"] = 0.0
            state["square_avg"] = np.zeros_like(param)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param)
        square_avg = state["square_avg"]

        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        if weight_decay != 0:
            grad = grad + weight_decay * param

        ema_sq_(square_avg, grad, alpha)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, grad, 1 - alpha)
            avg = np.sqrt(square_avg + -grad_avg * grad_avg)  # torch: addcmul(value=-1)
        else:
            avg = np.sqrt(square_avg)
        avg += eps

        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += grad / avg
            param += -lr * buf
        else:
            update = -lr * grad
            update /= avg
            param += update
