"""``Trainer``: Hugging Face's training loop (``transformers.Trainer``) for minigrad models.

One update (``global_step`` += 1), from ``gradient_accumulation_steps`` = A batches
b₁ … b_k of the epoch's shuffled order (k = A, or fewer at the end of an epoch)::

    for each bᵢ:  L(bᵢ) = model(**bᵢ).loss;   backward of L(bᵢ)/k     (gradients add up)
    g ← g · min(1, max_grad_norm / (‖g‖₂ + 1e-6))                       (clipping)
    AdamW step at the scheduled rate η(s);   scheduler step;   zero gradients

The logged ``loss`` is the mean over the updates since the last log of Σᵢ L(bᵢ)/k;
``learning_rate`` is the rate the last update used, ``grad_norm`` its norm before
clipping, ``epoch`` the fraction of epochs done. Evaluation gives ``eval_loss``, the
mean over samples of each batch's mean loss, and the ``compute_metrics`` results on
the concatenated logits and labels, each prefixed ``eval_``. All of it is appended to
``state.log_history`` as ``transformers``' ``trainer.state.log_history``.

A checkpoint (``output_dir/checkpoint-<step>``) holds, without pickle: the model
(``model.safetensors``), the optimizer (``optimizer.safetensors``, written by
``minigrad.save``), the scheduler and the trainer state (``scheduler.json``,
``trainer_state.json``), minigrad's random generator (``rng_state.json``) and the
arguments (``training_args.json``). ``train(resume_from_checkpoint=...)`` continues
from one exactly: the data order of an epoch depends on (``data_seed``, epoch) only,
so the batches already seen are skipped.

**Model outputs.** The model is called on the collated batch (keys its ``forward``
does not take are dropped, as ``remove_unused_columns``) and must return an object
with a ``loss`` (and ``logits`` for predictions). Hugging Face divides the loss by
the number of accumulated batches unless the model accepts loss keyword arguments
(``num_items_in_batch``); minigrad's models take none, so it always divides.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
import minigrad.nn as nn
from minigrad.nn.utils import clip_grad_norm_
from minigrad.train.args import TrainingArguments
from minigrad.train.optimization import create_adamw, get_scheduler

CHECKPOINT_PREFIX = "checkpoint"


@dataclass
class EvalPrediction:
    """What ``compute_metrics`` receives: predictions (logits) and labels, NumPy arrays."""

    predictions: np.ndarray
    label_ids: np.ndarray | None

    def __iter__(self):  # ``preds, labels = eval_pred``, as Hugging Face's
        return iter((self.predictions, self.label_ids))


@dataclass
class TrainOutput:
    global_step: int
    training_loss: float
    metrics: dict[str, float]


@dataclass
class PredictionOutput:
    predictions: np.ndarray
    label_ids: np.ndarray | None
    metrics: dict[str, float]


@dataclass
class TrainerState:
    """Progress of a run (saved as ``trainer_state.json`` in checkpoints)."""

    global_step: int = 0
    epoch: float = 0.0
    max_steps: int = 0
    num_train_epochs: int = 0
    logging_steps: int = 0
    eval_steps: int = 0
    save_steps: int = 0
    train_batch_size: int = 0
    total_loss: float = 0.0  # Σ of the logged losses' sums, for train_loss
    log_history: list[dict[str, float]] = field(default_factory=list)


def default_data_collator(features: Sequence[Any]) -> dict[str, np.ndarray]:
    """Stack the samples' fields into batch arrays (``transformers.default_data_collator``):
    ``label`` / ``label_ids`` become ``labels``; ``None`` and string fields are left out."""
    if not features:
        raise ValueError("default_data_collator: empty batch")
    if not isinstance(features[0], dict):
        features = [vars(f) for f in features]
    first = features[0]
    batch: dict[str, np.ndarray] = {}
    for key in ("label", "label_ids"):
        if first.get(key) is not None:
            batch["labels"] = np.stack([np.asarray(f[key]) for f in features])
            break
    for k, v in first.items():
        if k in ("label", "label_ids") or v is None or isinstance(v, str):
            continue
        batch[k] = np.stack(
            [np.asarray(f[k].data if hasattr(f[k], "data") else f[k]) for f in features]
        )
    return batch


def _forward_keys(model: nn.Module) -> set[str] | None:
    params = inspect.signature(model.forward).parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params}


class Trainer:
    """Train and evaluate a minigrad model as ``transformers.Trainer`` does (see the
    module docstring). ``train_dataset`` / ``eval_dataset``: a list of dicts (one per
    sample) or a ``minigrad.utils.data.Dataset`` of dicts; ``data_collator`` turns a
    list of samples into the model's keyword arguments (default:
    :func:`default_data_collator`); ``compute_metrics(EvalPrediction) -> dict``;
    ``optimizers``: (optimizer, scheduler) to use instead of AdamW + the schedule."""

    def __init__(
        self,
        model: nn.Module,
        args: TrainingArguments | None = None,
        data_collator: Callable[[list[Any]], dict[str, Any]] | None = None,
        train_dataset: Any = None,
        eval_dataset: Any = None,
        compute_metrics: Callable[[EvalPrediction], dict[str, float]] | None = None,
        optimizers: tuple[Any, Any] = (None, None),
    ) -> None:
        self.args = args if args is not None else TrainingArguments(output_dir="trainer_output")
        minigrad.manual_seed(self.args.seed)
        self.model = model
        self.data_collator = data_collator or default_data_collator
        self.train_dataset, self.eval_dataset = train_dataset, eval_dataset
        self.compute_metrics = compute_metrics
        self.optimizer, self.lr_scheduler = optimizers
        self.state = TrainerState()
        self._keys = _forward_keys(model)

    # ------------------------------------------------------------------ data
    def train_order(self, epoch: int) -> np.ndarray:
        """The order of the training samples in ``epoch``: a permutation drawn from
        NumPy's generator seeded with (``data_seed`` or ``seed``, ``epoch``)."""
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        return np.random.default_rng([seed, epoch]).permutation(len(self.train_dataset))

    @staticmethod
    def _batches(order: np.ndarray, size: int, drop_last: bool) -> list[np.ndarray]:
        n = len(order) - len(order) % size if drop_last else len(order)
        return [order[i : min(i + size, n)] for i in range(0, n, size)]

    def _collate(self, dataset: Any, indices: np.ndarray) -> dict[str, Any]:
        batch = self.data_collator([dataset[int(i)] for i in indices])
        if self.args.remove_unused_columns and self._keys is not None:
            batch = {k: v for k, v in batch.items() if k in self._keys}
        return batch

    # ------------------------------------------------------------------ pieces
    def create_optimizer_and_scheduler(self, num_training_steps: int) -> None:
        a = self.args
        if self.optimizer is None:
            betas = (a.adam_beta1, a.adam_beta2)
            self.optimizer = create_adamw(
                self.model, a.learning_rate, a.weight_decay, betas, a.adam_epsilon
            )
        if self.lr_scheduler is None:
            warmup = a.get_warmup_steps(num_training_steps)
            self.lr_scheduler = get_scheduler(
                a.lr_scheduler_type, self.optimizer, warmup, num_training_steps
            )

    def compute_loss(self, model: nn.Module, inputs: dict[str, Any]) -> Any:
        outputs = model(**inputs)
        loss = getattr(outputs, "loss", None)
        if loss is None:
            raise ValueError(
                f"Trainer: {type(model).__name__} returned no loss for inputs "
                f"{sorted(inputs)} (pass labels, or override compute_loss)"
            )
        return loss

    def training_step(self, model: nn.Module, inputs: dict[str, Any], num_batches: int) -> float:
        """Forward, loss / ``num_batches``, backward; returns that scaled loss."""
        model.train()
        loss = self.compute_loss(model, inputs) / num_batches
        loss.backward()
        return loss.item()

    def log(self, logs: dict[str, float]) -> None:
        entry = {**logs, "epoch": self.state.epoch, "step": self.state.global_step}
        self.state.log_history.append(entry)

    # ------------------------------------------------------------------ training
    def _plan(self) -> tuple[int, int, int]:
        """(batches per epoch, updates per epoch, epochs) and the state's intervals."""
        a = self.args
        n = len(self.train_dataset)
        bs = a.per_device_train_batch_size
        n_batches = n // bs if a.dataloader_drop_last else math.ceil(n / bs)
        if n_batches == 0:
            raise ValueError(f"Trainer: no training batch ({n} samples, batch size {bs})")
        ga = a.gradient_accumulation_steps
        per_epoch = max(n_batches // ga + int(n_batches % ga > 0), 1)
        if a.max_steps > 0:
            max_steps = a.max_steps
            epochs = max_steps // per_epoch + int(max_steps % per_epoch > 0)
        else:
            max_steps = math.ceil(a.num_train_epochs * per_epoch)
            epochs = math.ceil(a.num_train_epochs)
        s = self.state
        s.max_steps, s.num_train_epochs, s.train_batch_size = max_steps, epochs, bs
        s.logging_steps = a.interval(a.logging_steps, max_steps)
        s.eval_steps = a.interval(a.eval_steps, max_steps)
        s.save_steps = a.interval(a.save_steps, max_steps)
        return n_batches, per_epoch, epochs

    def train(self, resume_from_checkpoint: str | Path | bool | None = None) -> TrainOutput:
        """Run the training (see the module docstring); ``resume_from_checkpoint``: a
        checkpoint folder, or True for the latest one in ``output_dir``."""
        if self.train_dataset is None:
            raise ValueError("Trainer.train: no train_dataset")
        a = self.args
        n_batches, per_epoch, epochs = self._plan()
        self.create_optimizer_and_scheduler(self.state.max_steps)
        if resume_from_checkpoint:
            if resume_from_checkpoint is True:
                resume_from_checkpoint = self._latest_checkpoint()
            self._load_checkpoint(Path(resume_from_checkpoint))
        s, ga = self.state, a.gradient_accumulation_steps
        first_epoch, skip = divmod(s.global_step, per_epoch)
        self.model.zero_grad()
        self._tr_loss, self._last_logged, start = 0.0, s.global_step, time.time()
        last_update: dict[str, float] = {}  # the last update's grad_norm and learning_rate
        self._progress = _progress_bar(s.max_steps, s.global_step, a.disable_tqdm)
        stop = s.global_step >= s.max_steps
        for epoch in range(first_epoch, epochs):
            if stop:
                break
            order = self.train_order(epoch)
            batches = self._batches(order, a.per_device_train_batch_size, a.dataloader_drop_last)
            for update in range(skip if epoch == first_epoch else 0, per_epoch):
                group = batches[update * ga : (update + 1) * ga]
                for idx in group:
                    step_loss = self.training_step(
                        self.model, self._collate(self.train_dataset, idx), len(group)
                    )
                    if math.isfinite(step_loss):
                        self._tr_loss += step_loss
                    else:  # as logging_nan_inf_filter: count the window's mean instead
                        self._tr_loss += self._tr_loss / (1 + s.global_step - self._last_logged)
                grad_norm = self._clip()
                self.optimizer.step()
                lr = self.lr_scheduler.get_last_lr()[0]
                self.lr_scheduler.step()
                self.model.zero_grad()
                s.global_step += 1
                s.epoch = epoch + min((update + 1) * ga, n_batches) / n_batches
                self._progress.update(1)
                stop = s.global_step >= s.max_steps
                step_events = self._step_events(stop)
                last_update = {"grad_norm": grad_norm, "learning_rate": lr}
                if step_events["log"]:
                    self._log_window(last_update)
                self._evaluate_and_save(step_events)
                if stop:
                    break
            epoch_events = {
                "log": a.logging_strategy == "epoch",
                "eval": a.eval_strategy == "epoch",
                "save": a.save_strategy == "epoch",
            }
            if epoch_events["log"]:
                self._log_window(last_update)
            self._evaluate_and_save(epoch_events)
        self._progress.close()
        s.total_loss += self._tr_loss
        runtime = time.time() - start
        train_loss = s.total_loss / max(s.global_step, 1)
        metrics = {
            "train_runtime": runtime,
            "train_samples_per_second": len(self.train_dataset) * a.num_train_epochs / runtime,
            "train_steps_per_second": s.max_steps / runtime,
            "train_loss": train_loss,
        }
        self.log(metrics)
        return TrainOutput(s.global_step, train_loss, metrics)

    def _log_window(self, last_update: dict[str, float]) -> None:
        """Log the mean loss of the updates since the last log, with the last update's
        gradient norm and learning rate (nothing when no update was made since)."""
        s = self.state
        if s.global_step <= self._last_logged:
            return
        logs = {"loss": self._tr_loss / (s.global_step - self._last_logged), **last_update}
        s.total_loss += self._tr_loss
        self._tr_loss, self._last_logged = 0.0, s.global_step
        self.log(logs)
        self._progress.set_postfix(loss=f"{logs['loss']:.4g}")

    def _clip(self) -> float:
        params = list(self.model.parameters())
        max_norm = self.args.max_grad_norm if self.args.max_grad_norm > 0 else math.inf
        return float(clip_grad_norm_(params, max_norm).item())

    def _step_events(self, last: bool) -> dict[str, bool]:
        a, s = self.args, self.state
        step = s.global_step
        log = (step == 1 and a.logging_first_step) or (
            a.logging_strategy == "steps" and s.logging_steps > 0 and step % s.logging_steps == 0
        )
        steps_eval = a.eval_strategy == "steps" and s.eval_steps > 0
        ev = steps_eval and (step % s.eval_steps == 0 or last)
        save = (
            a.save_strategy == "steps" and s.save_steps > 0 and (step % s.save_steps == 0 or last)
        )
        return {"log": log, "eval": ev, "save": save}

    def _evaluate_and_save(self, events: dict[str, bool]) -> None:
        if events["eval"]:
            self.evaluate()
        if events["save"] and self.args.output_dir is not None:
            self._save_checkpoint()

    # ------------------------------------------------------------------ evaluation
    def _predict_loop(self, dataset: Any) -> tuple[np.ndarray, np.ndarray | None, float | None]:
        size = self.args.per_device_eval_batch_size
        order = np.arange(len(dataset))
        losses, preds, labels = [], [], []
        self.model.eval()
        with minigrad.no_grad():
            for idx in self._batches(order, size, drop_last=False):
                inputs = self._collate(dataset, idx)
                out = self.model(**inputs)
                if getattr(out, "loss", None) is not None:
                    losses.append(np.full(len(idx), out.loss.item()))
                preds.append(out.logits.data)
                if "labels" in inputs:
                    labels.append(np.asarray(inputs["labels"]))
        loss = float(np.concatenate(losses).mean()) if losses else None
        return _concat_padded(preds), (_concat_padded(labels) if labels else None), loss

    def _metrics(
        self, preds: np.ndarray, labels: np.ndarray | None, loss: float | None
    ) -> dict[str, float]:
        metrics: dict[str, float] = {}
        if self.compute_metrics is not None and labels is not None:
            metrics.update(self.compute_metrics(EvalPrediction(preds, labels)))
        if loss is not None:
            metrics["loss"] = loss
        return metrics

    def evaluate(self, eval_dataset: Any = None, metric_key_prefix: str = "eval") -> dict:
        """Loss and ``compute_metrics`` on ``eval_dataset`` (default: the Trainer's),
        logged and returned with keys prefixed ``eval_``."""
        dataset = eval_dataset if eval_dataset is not None else self.eval_dataset
        if dataset is None:
            raise ValueError("Trainer.evaluate: no eval_dataset")
        start = time.time()
        preds, labels, loss = self._predict_loop(dataset)
        metrics = self._metrics(preds, labels, loss)
        runtime = max(time.time() - start, 1e-9)
        n_batches = math.ceil(len(dataset) / self.args.per_device_eval_batch_size)
        metrics.update(
            runtime=runtime,
            samples_per_second=len(dataset) / runtime,
            steps_per_second=n_batches / runtime,
        )
        metrics = {f"{metric_key_prefix}_{k}": float(v) for k, v in metrics.items()}
        self.log(metrics)
        return metrics

    def predict(self, test_dataset: Any, metric_key_prefix: str = "test") -> PredictionOutput:
        """Logits (and labels, loss, metrics when the samples carry labels)."""
        preds, labels, loss = self._predict_loop(test_dataset)
        metrics = self._metrics(preds, labels, loss)
        return PredictionOutput(
            preds, labels, {f"{metric_key_prefix}_{k}": float(v) for k, v in metrics.items()}
        )

    # ------------------------------------------------------------------ checkpoints
    def save_model(self, output_dir: str | Path | None = None) -> Path:
        """The model's weights as ``model.safetensors`` in ``output_dir``."""
        folder = Path(output_dir or self.args.output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "model.safetensors"
        minigrad.save(self.model.state_dict(), path)
        return path

    def _save_checkpoint(self) -> Path:
        from minigrad.train.checkpoint import save_checkpoint

        folder = Path(self.args.output_dir) / f"{CHECKPOINT_PREFIX}-{self.state.global_step}"
        save_checkpoint(self, folder)
        return folder

    def _load_checkpoint(self, folder: Path) -> None:
        from minigrad.train.checkpoint import load_checkpoint

        load_checkpoint(self, folder)

    def _latest_checkpoint(self) -> Path:
        folder = Path(self.args.output_dir or ".")
        found = sorted(
            folder.glob(f"{CHECKPOINT_PREFIX}-*"), key=lambda p: int(p.name.rsplit("-", 1)[1])
        )
        if not found:
            raise FileNotFoundError(f"Trainer: no {CHECKPOINT_PREFIX}-* folder in {folder}")
        return found[-1]

    # ------------------------------------------------------------------ pictures
    def save_loss_curve(self, path: str | Path | None = None) -> Path:
        """Training (and evaluation) loss against the step, as a PNG (matplotlib)."""
        from minigrad.train.checkpoint import plot_loss_curve

        path = Path(path or Path(self.args.output_dir or ".") / "loss_curve.png")
        return plot_loss_curve(self.state.log_history, path)


def _concat_padded(arrays: list[np.ndarray], pad: int = -100) -> np.ndarray:
    """Batches joined along the samples; batches of different lengths (a collator
    that pads to the longest in the batch) are padded with -100 first, as Hugging
    Face's evaluation loop does."""
    if len({a.shape[1:] for a in arrays}) <= 1:
        return np.concatenate(arrays)
    shape = tuple(max(s) for s in zip(*(a.shape[1:] for a in arrays)))
    out = []
    for a in arrays:
        widths = [(0, 0)] + [(0, m - n) for m, n in zip(shape, a.shape[1:])]
        out.append(np.pad(a, widths, constant_values=pad))
    return np.concatenate(out)


class _NoBar:
    def update(self, n: int) -> None: ...
    def set_postfix(self, **kw: Any) -> None: ...
    def close(self) -> None: ...


def _progress_bar(total: int, initial: int, disable: bool) -> Any:
    """A tqdm bar over the updates (tqdm is an optional extra: none without it)."""
    if disable:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, initial=initial, desc="train", leave=False)
