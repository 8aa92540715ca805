"""Checkpoints of a :class:`~minigrad.train.Trainer` run, without pickle, and its loss
curve as a picture.

A checkpoint folder holds::

    model.safetensors       the model's state dict            (minigrad.save)
    optimizer.safetensors   the optimizer's state dict        (minigrad.save: tensors +
                                                              a JSON skeleton)
    scheduler.json          the learning-rate scheduler's state
    trainer_state.json      global step, epoch, log history, intervals
    rng_state.json          minigrad's random generator (PCG64 state)
    training_args.json      the TrainingArguments
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import minigrad
import minigrad.random
from minigrad.train.trainer import Trainer, TrainerState

FILES = (
    "model.safetensors",
    "optimizer.safetensors",
    "scheduler.json",
    "trainer_state.json",
    "rng_state.json",
)


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=1, allow_nan=True))


def save_checkpoint(trainer: Trainer, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    minigrad.save(trainer.model.state_dict(), folder / "model.safetensors")
    minigrad.save(trainer.optimizer.state_dict(), folder / "optimizer.safetensors")
    _write_json(folder / "scheduler.json", trainer.lr_scheduler.state_dict())
    _write_json(folder / "trainer_state.json", dataclasses.asdict(trainer.state))
    _write_json(folder / "rng_state.json", minigrad.random.generator().bit_generator.state)
    _write_json(folder / "training_args.json", trainer.args.to_dict())


def load_checkpoint(trainer: Trainer, folder: Path) -> None:
    """Restore a run saved by :func:`save_checkpoint` into ``trainer`` (whose optimizer
    and scheduler already exist)."""
    missing = [f for f in FILES if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(f"Trainer: checkpoint {folder} lacks {missing}")
    trainer.model.load_state_dict(minigrad.load(folder / "model.safetensors"), strict=True)
    trainer.optimizer.load_state_dict(minigrad.load(folder / "optimizer.safetensors"))
    scheduler = json.loads((folder / "scheduler.json").read_text())
    trainer.lr_scheduler.load_state_dict(scheduler)
    state = json.loads((folder / "trainer_state.json").read_text())
    trainer.state = TrainerState(**state)
    rng = json.loads((folder / "rng_state.json").read_text())
    minigrad.random.generator().bit_generator.state = rng


def plot_loss_curve(log_history: list[dict[str, float]], path: Path) -> Path:
    """Training loss (and ``eval_loss`` where evaluated) against the step, as a PNG.
    matplotlib is imported here only (a development extra, not a dependency)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - part of the bench extra
        raise ImportError("Trainer.save_loss_curve needs matplotlib: pip install matplotlib") from e
    train = [(e["step"], e["loss"]) for e in log_history if "loss" in e]
    evals = [(e["step"], e["eval_loss"]) for e in log_history if "eval_loss" in e]
    fig, ax = plt.subplots(figsize=(6, 4))
    for points, label in ((train, "training loss"), (evals, "eval loss")):
        if points:
            ax.plot(*zip(*points), marker="." if len(points) < 50 else None, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
