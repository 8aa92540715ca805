"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.ops.helpers import in_pieces
from minigrad.optim.optimizer import (
    Optimizer,
    ParamsT,
    check_adam_options,
    effective_grad,
    ema_sq_,
    init_state,
    lerp_,
)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), as ``torch.optim.Adam``, AMSGrad variant included.

    With gradient :math:`g_t` of parameter :math:`\theta_{t-1}` at step ``t = 1, 2, ...``::

        g = -g_t if maximize else g_t
        theta = theta * (1 - lr * weight_decay)         (decoupled weight decay, AdamW)
        g = g + weight_decay * theta                    (L2 weight decay, Adam)
        m_t = beta1 * m_{t-1} + (1 - beta1) * g         (computed as a lerp)
        v_t = beta2 * v_{t-1} + (1 - beta2) * g * g
        vmax_t = max(vmax_{t-1}, v_t)                   (amsgrad; then v_t := vmax_t below)
        denom = sqrt(v_t) / sqrt(1 - beta2 ** t) + eps
        theta = theta - (lr / (1 - beta1 ** t)) * m_t / denom

    The two ``1 - beta ** t`` terms are the bias corrections: ``m`` and ``v`` start at
    zero, so early on they underestimate the moments by exactly those factors.

    State per parameter: ``step`` (a float), ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with
    ``amsgrad``, ``max_exp_avg_sq``.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        betas = check_adam_options(lr, eps, betas, weight_decay)
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        # Each line mirrors one op of torch.optim.adam._single_tensor_adam, in its order.
        # Options are made Python floats: a NumPy float64 scalar would promote float32.
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        if not state:
            amsgrad_buffer = ("max_exp_avg_sq",) if group["amsgrad"] else ()
            init_state(state, param, "exp_avg", "exp_avg_sq", *amsgrad_buffer)
        state["step"] += 1
        step = state["step"]
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        amsgrad, decoupled = group["amsgrad"], group["decoupled_weight_decay"]
        arrays = [param, grad, state["exp_avg"], state["exp_avg_sq"]]
        if amsgrad:
            arrays.append(state["max_exp_avg_sq"])

        # Piece by piece (see ``in_pieces``): the same operations on each element.
        for param, grad, exp_avg, exp_avg_sq, *vmax, scratch in in_pieces(*arrays):
            grad = effective_grad(param, grad, group, decoupled=decoupled)
            # The scratch piece serves the temporaries below in turn.
            lerp_(exp_avg, grad, 1 - beta1, scratch)
            ema_sq_(exp_avg_sq, grad, beta2, scratch)
            if amsgrad:
                np.maximum(vmax[0], exp_avg_sq, out=vmax[0])
                denom = np.sqrt(vmax[0], out=scratch)
            else:
                denom = np.sqrt(exp_avg_sq, out=scratch)
            denom /= bias_correction2_sqrt
            denom += eps
            update = -step_size * exp_avg
            update /= denom
            param += update


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    Instead of adding ``weight_decay * theta`` to the gradient (which Adam then rescales per
    coordinate), the parameter is shrunk directly before the Adam step::

        theta = theta * (1 - lr * weight_decay)

    so every weight decays at the same rate whatever its gradient history. The rest of the
    update is :class:`Adam`'s. Default ``weight_decay`` is ``1e-2``.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )
