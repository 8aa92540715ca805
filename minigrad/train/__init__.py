"""``minigrad.train``: Hugging Face's ``Trainer`` / ``TrainingArguments`` for minigrad
models (AdamW with Hugging Face's weight-decay groups, linear warmup/decay, gradient
clipping and accumulation, evaluation with ``compute_metrics``, logging, pickle-free
checkpoints and resume, seeded shuffling).

The package is named for what it does, as ``minigrad.optim`` and ``minigrad.nn`` are:
``transformers`` keeps the same classes in ``transformers.trainer`` and
``transformers.training_args``, names that here would stand for one class each; the
package holds the loop (:mod:`~minigrad.train.trainer`), its arguments
(:mod:`~minigrad.train.args`), the optimizer/schedule recipes
(:mod:`~minigrad.train.optimization`) and the checkpoint format
(:mod:`~minigrad.train.checkpoint`). Nothing here is needed to train with a plain
loop: it is a convenience layer over ``minigrad.optim`` and ``minigrad.nn.utils``.
"""

from minigrad.train.args import TrainingArguments
from minigrad.train.optimization import (
    get_constant_schedule_with_warmup,
    get_decay_parameter_names,
    get_linear_schedule_with_warmup,
    get_scheduler,
)
from minigrad.train.trainer import (
    EvalPrediction,
    PredictionOutput,
    Trainer,
    TrainerState,
    TrainOutput,
    default_data_collator,
)

__all__ = [
    "EvalPrediction",
    "PredictionOutput",
    "TrainOutput",
    "Trainer",
    "TrainerState",
    "TrainingArguments",
    "default_data_collator",
    "get_constant_schedule_with_warmup",
    "get_decay_parameter_names",
    "get_linear_schedule_with_warmup",
    "get_scheduler",
]
