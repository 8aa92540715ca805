"""``TrainingArguments``: the settings of a :class:`~minigrad.train.Trainer` run, under
Hugging Face's names and with Hugging Face's defaults (``transformers`` 5) for every
setting implemented here.

Schedule lengths, as ``transformers`` computes them::

    batches_per_epoch   = ceil(len(train_dataset) / per_device_train_batch_size)
    updates_per_epoch   = max(ceil(batches_per_epoch / gradient_accumulation_steps), 1)
    max_steps           = ceil(num_train_epochs · updates_per_epoch)   (unless max_steps > 0)
    warmup              = int(warmup_steps) if warmup_steps >= 1
                          else ceil(max_steps · warmup_steps)          (a fraction: a ratio)

``warmup_ratio`` (``transformers`` 4's name for a fractional ``warmup_steps``) is read
too, when ``warmup_steps`` is 0.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

STRATEGIES = ("no", "steps", "epoch")
OPTIMIZERS = ("adamw_torch", "adamw_torch_fused")  # the same algorithm: AdamW
SCHEDULERS = ("linear", "constant", "constant_with_warmup")


@dataclass
class TrainingArguments:
    """The run's settings (see the module docstring for the schedule lengths).

    Optimisation: AdamW(``learning_rate``, (``adam_beta1``, ``adam_beta2``),
    ``adam_epsilon``) with ``weight_decay`` on every parameter but biases and
    normalisation weights; the rate follows ``lr_scheduler_type`` ("linear": warmup
    from 0, then linear decay to 0 at ``max_steps``); gradients are clipped to a total
    L2 norm of ``max_grad_norm`` (0 or less: no clipping) and accumulated over
    ``gradient_accumulation_steps`` batches (the loss of each is divided by the number
    of batches in its update).

    Bookkeeping: a log entry every ``logging_steps`` updates (``logging_strategy``),
    evaluation every ``eval_steps`` updates (default: ``logging_steps``) or per epoch
    (``eval_strategy``), a checkpoint every ``save_steps`` updates or per epoch
    (``save_strategy``) into ``output_dir/checkpoint-<step>``. A fractional
    ``logging_steps``/``eval_steps``/``save_steps`` (< 1) is a fraction of ``max_steps``,
    as in ``transformers``.

    Randomness: ``seed`` seeds minigrad's generator (dropout, fresh heads) when the
    Trainer is built; ``data_seed`` (default ``seed``) fixes the order of the training
    samples in each epoch.
    """

    output_dir: str | None = None
    num_train_epochs: float = 3.0
    max_steps: int = -1
    per_device_train_batch_size: int = 8
    per_device_eval_batch_size: int = 8
    learning_rate: float = 5e-5
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    optim: str = "adamw_torch_fused"
    lr_scheduler_type: str = "linear"
    warmup_steps: float = 0
    warmup_ratio: float | None = None
    max_grad_norm: float = 1.0
    gradient_accumulation_steps: int = 1
    logging_strategy: str = "steps"
    logging_steps: float = 500
    logging_first_step: bool = False
    eval_strategy: str = "no"
    eval_steps: float | None = None
    save_strategy: str = "steps"
    save_steps: float = 500
    seed: int = 42
    data_seed: int | None = None
    dataloader_drop_last: bool = False
    remove_unused_columns: bool = True
    disable_tqdm: bool = False

    def __post_init__(self) -> None:
        for name in ("logging_strategy", "eval_strategy", "save_strategy"):
            if getattr(self, name) not in STRATEGIES:
                raise ValueError(
                    f"TrainingArguments: {name}={getattr(self, name)!r}; one of {STRATEGIES}"
                )
        if self.optim not in OPTIMIZERS:
            raise NotImplementedError(
                f"TrainingArguments: optim={self.optim!r} is not implemented (only AdamW: "
                f"{OPTIMIZERS})"
            )
        if self.lr_scheduler_type not in SCHEDULERS:
            raise NotImplementedError(
                f"TrainingArguments: lr_scheduler_type={self.lr_scheduler_type!r} is not "
                f"implemented; one of {SCHEDULERS}"
            )
        if self.gradient_accumulation_steps < 1:
            raise ValueError("TrainingArguments: gradient_accumulation_steps must be >= 1")
        if self.eval_strategy == "steps" and self.eval_steps is None:
            self.eval_steps = self.logging_steps
        if self.warmup_steps < 0:
            raise ValueError(f"TrainingArguments: warmup_steps={self.warmup_steps} < 0")

    def get_warmup_steps(self, num_training_steps: int) -> int:
        """Warmup length in updates: ``warmup_steps`` (≥ 1), or a fraction of the run."""
        w = self.warmup_steps
        if w == 0 and self.warmup_ratio:
            w = self.warmup_ratio
        return int(w) if w >= 1 else math.ceil(num_training_steps * w)

    def interval(self, value: float | None, max_steps: int) -> int:
        """``logging_steps``-style value in updates (a fraction < 1 of ``max_steps``)."""
        if value is None or value <= 0:
            return 0
        return math.ceil(max_steps * value) if value < 1 else int(value)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
