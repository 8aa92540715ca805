"""minigrad's ``Trainer`` against Hugging Face's own ``transformers.Trainer``.

Both train the same tiny ``BertForSequenceClassification`` (dropout off, so the runs
are deterministic) from the same seeded weights, with the same arguments and the same
data order, and are compared on the loss curve (``log_history``: loss, learning rate,
gradient norm at every logged step, and the evaluation losses and metrics), and on
every parameter at the end.

**Data order.** minigrad's Trainer shuffles epoch e with a NumPy permutation seeded by
(``data_seed``, e) (``Trainer.train_order``); torch's ``RandomSampler`` draws from
torch's generator, a different stream. The reference therefore gets a sampler that
yields minigrad's permutation of each epoch (``EpochOrderSampler``, installed by
overriding ``Trainer._get_train_sampler``); everything else in the reference loop is
Hugging Face's own (accumulation, clipping, AdamW, the scheduler, logging, evaluation).

**Which losses.** Hugging Face sums the logged losses in a float32 tensor
(``Trainer._tr_loss``) whatever the model's dtype, so its logged ``loss`` and
``train_loss`` carry float32 rounding (~1e-8 relative) even for a float64 model;
minigrad's sums in float64. The float64 loss curve compared at 1e-9 is therefore the
loss of every batch as each ``training_step`` returns it (recorded on both sides);
the logged values get a row of their own at float32 tolerance.

**Loss scaling under accumulation.** ``transformers`` divides each batch's loss by the
number of accumulated batches unless the model accepts loss keyword arguments
(``num_items_in_batch``). Its ``BertForSequenceClassification.forward`` takes
``**kwargs`` (so the Trainer would skip the division) but ignores them; the reference
is told ``model_accepts_loss_kwargs = False``, which is the rule minigrad's Trainer
applies to its models (they take no loss keyword arguments).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import minigrad.models as mm
from comparison.hf_models import bert_config, hf_model, minigrad_twin, to_numpy
from comparison.report import Report
from minigrad.train import Trainer, TrainingArguments

TOLERANCES = {"float64": (1e-9, 1e-12), "float32": (1e-4, 1e-5)}
PARAM_TOL = {"float64": (1e-9, 1e-12), "float32": (1e-3, 1e-5)}
LOGGED = ("loss", "learning_rate", "grad_norm", "epoch", "eval_loss", "eval_accuracy")
HF_FLOAT32_SUMS = ("loss", "train_loss")  # summed in float32 by transformers
FLOAT32_SUM_TOL = (1e-6, 1e-9)


def classification_data(n: int, seq: int, vocab: int, seed: int) -> list[dict[str, Any]]:
    """Seeded token rows (padded, with attention masks and segments) labelled by a rule
    a model can learn: the label is the first real token's id mod 3."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        length = int(rng.integers(3, seq + 1))
        ids = np.zeros(seq, dtype=np.int64)
        ids[:length] = rng.integers(1, vocab, length)
        mask = (np.arange(seq) < length).astype(np.int64)
        types = ((np.arange(seq) >= length // 2) & (mask == 1)).astype(np.int64)
        label = int(ids[1] % 3)
        rows.append(
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": types, "label": label}
        )
    return rows


def accuracy(pred: Any) -> dict[str, float]:
    logits, labels = pred
    return {"accuracy": float((np.argmax(logits, -1) == labels).mean())}


def default_arguments(output_dir: str, **overrides: Any) -> dict[str, Any]:
    """The run compared: warmup, decay, clipping that bites, accumulation with a
    shorter last group per epoch, evaluation and logging every 2 updates."""
    return {
        "output_dir": output_dir,
        "num_train_epochs": 3,
        "per_device_train_batch_size": 4,
        "per_device_eval_batch_size": 5,
        "gradient_accumulation_steps": 2,
        "learning_rate": 1e-3,
        "weight_decay": 0.01,
        "warmup_steps": 0.2,
        "max_grad_norm": 0.5,
        "logging_steps": 2,
        "eval_strategy": "steps",
        "eval_steps": 2,
        "save_strategy": "no",
        "seed": 7,
        "data_seed": 11,
        "disable_tqdm": True,
        **overrides,
    }


class EpochOrderSampler(torch.utils.data.Sampler):
    """Yields ``order(epoch)`` (minigrad's permutation) for each epoch in turn."""

    def __init__(self, order: Any, n: int) -> None:
        self.order, self.n, self.epoch = order, n, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        order = self.order(self.epoch)
        self.epoch += 1
        return iter(int(i) for i in order)


@dataclass
class TrainerRun:
    ours: Any
    ref: Any
    ours_trainer: Trainer
    ref_trainer: Any
    ours_losses: list[float]  # every training_step's (scaled) loss
    ref_losses: list[float]


class RecordingTrainer(Trainer):
    """minigrad's Trainer, recording the loss each ``training_step`` returns."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.step_losses: list[float] = []

    def training_step(self, model: Any, inputs: dict[str, Any], num_batches: int) -> float:
        loss = super().training_step(model, inputs, num_batches)
        self.step_losses.append(loss)
        return loss


def run_both(dtype: str, n_train: int = 30, n_eval: int = 10, **overrides: Any) -> TrainerRun:
    import transformers

    config = bert_config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=3)
    ref = hf_model(
        transformers.BertForSequenceClassification, config, 0, dtype, torch.device("cpu")
    )
    ours = minigrad_twin(mm.BertForSequenceClassification, config, ref, dtype)
    train = classification_data(n_train, 8, config.vocab_size, 0)
    evals = classification_data(n_eval, 8, config.vocab_size, 1)
    with tempfile.TemporaryDirectory() as tmp:
        kwargs = default_arguments(tmp, **overrides)
        mine = RecordingTrainer(
            ours,
            TrainingArguments(**kwargs),
            train_dataset=train,
            eval_dataset=evals,
            compute_metrics=accuracy,
        )
        ref_losses: list[float] = []

        class OrderedTrainer(transformers.Trainer):
            def _get_train_sampler(self, train_dataset=None):
                return EpochOrderSampler(mine.train_order, len(train))

            def training_step(self, *args: Any, **kw: Any) -> torch.Tensor:
                loss = super().training_step(*args, **kw)
                ref_losses.append(loss.item())
                return loss

        theirs = OrderedTrainer(
            model=ref,
            args=transformers.TrainingArguments(
                **kwargs, optim="adamw_torch", report_to="none", use_cpu=True
            ),
            train_dataset=train,
            eval_dataset=evals,
            compute_metrics=accuracy,
        )
        theirs.model_accepts_loss_kwargs = False
        theirs.remove_callback(transformers.trainer_callback.PrinterCallback)
        theirs.train()
        mine.train()
    return TrainerRun(ours, ref, mine, theirs, mine.step_losses, ref_losses)


def curves(log_history: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Each logged quantity as an array over its log entries, with their steps."""
    out = {}
    for key in LOGGED:
        entries = [e for e in log_history if key in e]
        out[key] = np.array([e[key] for e in entries], dtype=np.float64)
        out[f"{key} steps"] = np.array([e["step"] for e in entries], dtype=np.float64)
    return out


def compare_trainer(report: Report, dtype: str, **overrides: Any) -> TrainerRun:
    """Rows: the loss of every batch, each logged quantity (and its steps), the final
    parameters and ``train_loss``."""
    run = run_both(dtype, **overrides)
    label = f"trainer-bert-cls/{dtype}"
    tol = TOLERANCES[dtype]
    n = len(run.ref_losses)
    report.compare(label, f"loss of each of {n} batches", run.ours_losses, run.ref_losses, *tol)
    ours = curves(run.ours_trainer.state.log_history)
    ref = curves(run.ref_trainer.state.log_history)
    for key in LOGGED:
        steps = f"{key} steps"
        report.compare(label, f"log_history {steps}", ours[steps], ref[steps], 0.0, 0.0)
        key_tol = FLOAT32_SUM_TOL if key in HF_FLOAT32_SUMS and dtype == "float64" else tol
        quantity = f"log_history {key} ({len(ref[key])} entries)"
        report.compare(label, quantity, ours[key], ref[key], *key_tol)
    ours_p = {n: p.data for n, p in run.ours.named_parameters()}
    ref_p = {n: to_numpy(p) for n, p in run.ref.named_parameters()}
    report.compare(
        label,
        f"final parameters ({len(ref_p)} tensors)",
        np.concatenate([np.ravel(ours_p[n]) for n in ref_p]),
        np.concatenate([np.ravel(ref_p[n]) for n in ref_p]),
        *PARAM_TOL[dtype],
    )
    last_ours = run.ours_trainer.state.log_history[-1]["train_loss"]
    last_ref = run.ref_trainer.state.log_history[-1]["train_loss"]
    train_tol = FLOAT32_SUM_TOL if dtype == "float64" else tol
    report.compare(label, "train_loss", last_ours, last_ref, *train_tol)
    return run
