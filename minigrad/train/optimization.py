"""The optimizer and learning-rate schedules of :class:`~minigrad.train.Trainer`, as
``transformers.optimization`` / ``Trainer.create_optimizer`` build them.

Weight decay (Hugging Face's ``get_decay_parameter_names``): every parameter decays
except those inside a LayerNorm and those whose lower-cased name contains "bias",
"layernorm", "rmsnorm", a ``norm`` component or "_norm". AdamW gets two groups,
[decayed (``weight_decay``), the others (0.0)], each in ``named_parameters`` order.

Linear schedule with warmup (``get_linear_schedule_with_warmup``), the factor on the
base rate at update s, with W warmup and T total updates::

    λ(s) = s / max(1, W)                          for s < W
    λ(s) = max(0, (T - s) / max(1, T - W))        otherwise
"""

from __future__ import annotations

import functools
import re

import minigrad.nn as nn
from minigrad.optim import AdamW
from minigrad.optim.lr_scheduler import LambdaLR
from minigrad.optim.optimizer import Optimizer

_NO_DECAY = [re.compile(p) for p in (r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)")]
_NO_DECAY.append(re.compile(r"_norm(?:$|\.)"))


def get_parameter_names(
    model: nn.Module, forbidden_layer_types: tuple[type, ...], forbidden_patterns: list
) -> list[str]:
    """Names of the parameters outside the ``forbidden_layer_types`` modules and
    matching none of ``forbidden_patterns`` (searched in the lower-cased name)."""
    result = []
    for name, child in model.named_children():
        if isinstance(child, forbidden_layer_types):
            continue
        for n in get_parameter_names(child, forbidden_layer_types, forbidden_patterns):
            full = f"{name}.{n}"
            if not any(p.search(full.lower()) for p in forbidden_patterns):
                result.append(full)
    result += [
        k
        for k in model._parameters
        if model._parameters[k] is not None
        and not any(p.search(k.lower()) for p in forbidden_patterns)
    ]
    return result


def get_decay_parameter_names(model: nn.Module) -> list[str]:
    """The parameters that weight decay applies to (see the module docstring)."""
    return get_parameter_names(model, (nn.LayerNorm,), _NO_DECAY)


def create_adamw(
    model: nn.Module,
    lr: float,
    weight_decay: float,
    betas: tuple[float, float],
    eps: float,
) -> AdamW:
    """AdamW over [decayed parameters, the others] (trainable ones only)."""
    decay = set(get_decay_parameter_names(model))
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in named if n in decay], "weight_decay": weight_decay},
        {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0},
    ]
    return AdamW(groups, lr=lr, betas=betas, eps=eps)


def _linear_lambda(step: int, *, num_warmup_steps: int, num_training_steps: int) -> float:
    if step < num_warmup_steps:
        return float(step) / float(max(1, num_warmup_steps))
    return max(
        0.0, float(num_training_steps - step) / float(max(1, num_training_steps - num_warmup_steps))
    )


def _constant_warmup_lambda(step: int, *, num_warmup_steps: int) -> float:
    if step < num_warmup_steps:
        return float(step) / float(max(1, num_warmup_steps))
    return 1.0


def get_linear_schedule_with_warmup(
    optimizer: Optimizer, num_warmup_steps: int, num_training_steps: int, last_epoch: int = -1
) -> LambdaLR:
    """Warmup from 0 to the base rate over ``num_warmup_steps`` updates, then linear
    decay to 0 at ``num_training_steps`` (see the module docstring)."""
    fn = functools.partial(
        _linear_lambda, num_warmup_steps=num_warmup_steps, num_training_steps=num_training_steps
    )
    return LambdaLR(optimizer, fn, last_epoch)


def get_constant_schedule_with_warmup(
    optimizer: Optimizer, num_warmup_steps: int, last_epoch: int = -1
) -> LambdaLR:
    """Warmup from 0 over ``num_warmup_steps`` updates, then the base rate."""
    fn = functools.partial(_constant_warmup_lambda, num_warmup_steps=num_warmup_steps)
    return LambdaLR(optimizer, fn, last_epoch)


def get_scheduler(
    name: str, optimizer: Optimizer, num_warmup_steps: int, num_training_steps: int
) -> LambdaLR:
    """``transformers.get_scheduler`` for "linear", "constant" and "constant_with_warmup"."""
    if name == "linear":
        return get_linear_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps)
    if name == "constant_with_warmup":
        return get_constant_schedule_with_warmup(optimizer, num_warmup_steps)
    if name == "constant":
        return get_constant_schedule_with_warmup(optimizer, 0)
    raise NotImplementedError(f"get_scheduler: {name!r} is not implemented")
