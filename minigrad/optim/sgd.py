"""Stochastic gradient descent, with optional momentum, Nesterov momentum and L2 decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.optim.optimizer import Optimizer, ParamsT, check_non_negative


class SGD(Optimizer):
    r"""Stochastic gradient descent, as ``torch.optim.SGD``.

    With gradient :math:`g_t` of parameter :math:`\theta_{t-1}`, each step computes::

        g = -g_t if maximize else g_t
        g = g + weight_decay * theta                     (if weight_decay != 0)
        b_t = g                                          (first step)
        b_t = momentum * b_{t-1} + (1 - dampening) * g   (later steps)
        g = g + momentum * b_t   if nesterov   else   b_t   (if momentum != 0)
        theta = theta - lr * g

    The momentum buffer ``b`` is stored in ``state[p]["momentum_buffer"]``. Note that,
    as in PyTorch, ``lr`` multiplies the buffer, not the gradient inside it (unlike the
    Sutskever et al. formulation ``b = mu * b + lr * g``).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        check_non_negative(lr, "learning rate")
        check_non_negative(momentum, "momentum value")
        check_non_negative(weight_decay, "weight_decay value")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        # Each line mirrors one op of torch.optim.sgd._single_tensor_sgd, in its order,
        # so float64 results agree with PyTorch to rounding. Options are made Python
        # floats: a NumPy float64 scalar would promote a float32 update to float64.
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        weight_decay = float(group["weight_decay"])
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # A copy (grad may be p.grad's own array), and an array even for 0-d
                # parameters, whose arithmetic returns NumPy scalars that += cannot update.
                buf = state["momentum_buffer"] = np.array(grad, copy=True)
            else:
                buf *= momentum
                buf += (1 - float(group["dampening"])) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param += -lr * grad
