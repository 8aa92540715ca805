"""minigrad.train.Trainer: against Hugging Face's own ``transformers.Trainer`` (the
same tiny model, data order and arguments; see ``comparison/trainer_compare.py`` for
how the data order is shared), and its own guarantees (exact resume from a
checkpoint, Hugging Face's decay groups and schedule, the collator, the loss curve)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import minigrad.models as mm
from comparison.hf_models import bert_config
from comparison.report import Report
from comparison.trainer_compare import accuracy, classification_data, compare_trainer
from minigrad.train import (
    Trainer,
    TrainingArguments,
    default_data_collator,
    get_decay_parameter_names,
    get_linear_schedule_with_warmup,
)
from minigrad.train.optimization import create_adamw
from minigrad.train.trainer import _concat_padded
from minigrad.utils.data import Dataset


class _AsDataset(Dataset):
    def __init__(self, rows: list) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        return self.rows[i]


transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")  # transformers.Trainer needs it (the compare extra)


@pytest.mark.parametrize("dtype, n_train", [("float64", 30), ("float32", 14)])
def test_curve_and_weights_equal_transformers_trainer(dtype: str, n_train: int) -> None:
    """Every batch's loss and every log_history entry (loss, learning rate, gradient
    norm, eval loss, eval accuracy, at the same steps), the final parameters and
    train_loss; float64 at 1e-9 relative (the logged sums at float32's, as
    transformers sums them in float32), float32 at float32 tolerance."""
    report = Report()
    run = compare_trainer(report, dtype, n_train=n_train)
    assert report.passed, report.table()
    history = run.ours_trainer.state.log_history
    assert sum("loss" in e for e in history) >= 3 and sum("eval_loss" in e for e in history) >= 3
    lrs = [e["learning_rate"] for e in history if "learning_rate" in e]
    assert lrs[0] < max(lrs) and lrs[-1] < max(lrs)  # warmup, then decay


def test_per_epoch_logging_and_evaluation_equal_transformers_trainer() -> None:
    """logging_strategy / eval_strategy "epoch", no clipping, no warmup, accumulation
    over 3 batches (2 updates per epoch, the second of 2 batches)."""
    report = Report()
    overrides = {
        "eval_strategy": "epoch",
        "logging_strategy": "epoch",
        "num_train_epochs": 2,
        "max_grad_norm": 0.0,
        "warmup_steps": 0,
        "gradient_accumulation_steps": 3,
    }
    run = compare_trainer(report, "float64", n_train=14, **overrides)
    assert report.passed, report.table()
    epochs = [e["epoch"] for e in run.ours_trainer.state.log_history if "eval_loss" in e]
    assert epochs == [1.0, 2.0]


def _tiny_run(tmp_path, **overrides):
    config = bert_config(num_labels=3, hidden_dropout_prob=0.1)  # dropout on: RNG matters
    model = mm.BertForSequenceClassification(config).double()
    model.load_state_dict(_tiny_run.weights, strict=True)
    args = {
        "output_dir": str(tmp_path),
        "num_train_epochs": 2,
        "per_device_train_batch_size": 4,
        "gradient_accumulation_steps": 2,
        "learning_rate": 1e-3,
        "weight_decay": 0.01,
        "warmup_steps": 2,
        "logging_steps": 1,
        "save_steps": 3,
        "disable_tqdm": True,
        **overrides,
    }
    data = classification_data(18, 8, 100, 0)
    return Trainer(model, TrainingArguments(**args), train_dataset=data)


_tiny_run.weights = (
    mm.BertForSequenceClassification(bert_config(num_labels=3)).double().state_dict()
)


def test_resume_from_a_checkpoint_continues_exactly(tmp_path) -> None:
    """Model, optimizer, scheduler, step, log history and the dropout generator come
    back: the resumed run ends with the uninterrupted run's weights, bit for bit."""
    full = _tiny_run(tmp_path / "full")
    full.train()
    # 18 samples, batches of 4, accumulation 2: 5 batches -> 3 updates per epoch
    assert full.state.max_steps == 6
    ckpt = tmp_path / "full" / "checkpoint-3"
    assert sorted(p.name for p in ckpt.iterdir()) == [
        "model.safetensors",
        "optimizer.safetensors",
        "rng_state.json",
        "scheduler.json",
        "trainer_state.json",
        "training_args.json",
    ]
    assert json.loads((ckpt / "trainer_state.json").read_text())["global_step"] == 3
    resumed = _tiny_run(tmp_path / "resumed")
    resumed.train(resume_from_checkpoint=ckpt)
    for name, p in full.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[name].data, p.data, err_msg=name)
    steps = [e for e in full.state.log_history if "loss" in e]
    assert [e for e in resumed.state.log_history if "loss" in e] == steps
    # a different data seed gives another order and other weights
    other = _tiny_run(tmp_path / "other", data_seed=1, save_strategy="no")
    other.train()
    assert not np.array_equal(other.model.classifier.weight.data, full.model.classifier.weight.data)
    # resume=True takes the latest checkpoint (the last step: nothing left to do)
    again = _tiny_run(tmp_path / "full")
    again.train(resume_from_checkpoint=True)
    assert again.state.global_step == 6


def test_decay_groups_are_transformers_own() -> None:
    for hf_name, ours_cls, config in [
        ("BertForSequenceClassification", mm.BertForSequenceClassification, bert_config()),
        ("RobertaForMaskedLM", mm.RobertaForMaskedLM, mm.RobertaConfig(**_roberta_tiny())),
    ]:
        ref = getattr(transformers, hf_name)(
            getattr(transformers, type(config).__name__)(**config.to_dict())
        )
        ours = ours_cls(config)
        hf_trainer = transformers.Trainer(
            model=ref,
            args=transformers.TrainingArguments(output_dir="/tmp/unused", report_to="none"),
        )
        expected = hf_trainer.get_decay_parameter_names(ref)
        assert get_decay_parameter_names(ours) == expected
        opt = create_adamw(ours, 1e-3, 0.1, (0.9, 0.999), 1e-8)
        names = {id(p): n for n, p in ours.named_parameters()}
        decayed = [names[id(p)] for p in opt.param_groups[0]["params"]]
        assert decayed == [n for n, _ in ours.named_parameters() if n in expected]
        assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]
        assert all(
            "bias" in names[id(p)] or "LayerNorm" in names[id(p)] or "layer_norm" in names[id(p)]
            for p in opt.param_groups[1]["params"]
        )


def _roberta_tiny() -> dict:
    return {
        "vocab_size": 50,
        "hidden_size": 16,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 32,
        "max_position_embeddings": 20,
    }


@pytest.mark.parametrize("warmup, total", [(0, 10), (3, 10), (10, 10), (4, 5)])
def test_linear_schedule_matches_transformers(warmup: int, total: int) -> None:
    model = mm.BertModel(bert_config())
    ours = get_linear_schedule_with_warmup(
        create_adamw(model, 2e-3, 0, (0.9, 0.999), 1e-8), warmup, total
    )
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=2e-3)
    ref = transformers.get_linear_schedule_with_warmup(opt, warmup, total)
    for _ in range(total + 2):
        assert ours.get_last_lr()[0] == pytest.approx(ref.get_last_lr()[0], rel=1e-15, abs=1e-18)
        ours.step()
        opt.step()
        ref.step()


def test_warmup_fraction_and_lengths_as_transformers() -> None:
    args = TrainingArguments(warmup_steps=0.25)
    ref = transformers.TrainingArguments(output_dir="/tmp/unused", warmup_steps=0.25)
    assert args.get_warmup_steps(10) == ref.get_warmup_steps(10) == 3
    assert TrainingArguments(warmup_ratio=0.1).get_warmup_steps(25) == 3  # transformers 4's name
    assert TrainingArguments(warmup_steps=4).get_warmup_steps(25) == 4
    defaults = TrainingArguments()
    hf = transformers.TrainingArguments(output_dir="/tmp/unused")
    for name in (
        "learning_rate",
        "weight_decay",
        "adam_beta1",
        "adam_beta2",
        "adam_epsilon",
        "max_grad_norm",
        "num_train_epochs",
        "per_device_train_batch_size",
        "logging_steps",
        "save_steps",
        "seed",
        "gradient_accumulation_steps",
    ):
        assert getattr(defaults, name) == getattr(hf, name), name
    with pytest.raises(NotImplementedError, match="optim='sgd'"):
        TrainingArguments(optim="sgd")
    with pytest.raises(ValueError, match="eval_strategy='sometimes'"):
        TrainingArguments(eval_strategy="sometimes")


def test_collator_evaluation_and_loss_curve(tmp_path) -> None:
    rows = classification_data(7, 6, 100, 3)
    batch = default_data_collator(rows[:3])
    ref = transformers.default_data_collator(rows[:3], return_tensors="np")
    assert set(batch) == set(ref) == {"input_ids", "attention_mask", "token_type_ids", "labels"}
    for k in batch:
        np.testing.assert_array_equal(batch[k], ref[k])
    model = mm.BertForSequenceClassification(bert_config(num_labels=3)).double()
    extra = [{**r, "text": "ignored", "unused_feature": np.zeros(2)} for r in rows]
    trainer = Trainer(
        model,
        TrainingArguments(
            output_dir=str(tmp_path),
            per_device_eval_batch_size=3,
            logging_steps=1,
            save_strategy="no",
            disable_tqdm=True,
        ),
        train_dataset=extra,
        eval_dataset=extra,
        compute_metrics=accuracy,
    )
    metrics = trainer.evaluate()
    # a minigrad Dataset of dicts works as the list does
    on_dataset = Trainer(
        model, trainer.args, eval_dataset=_AsDataset(extra), compute_metrics=accuracy
    ).evaluate()
    for key in ("eval_loss", "eval_accuracy"):
        assert on_dataset[key] == metrics[key]
    logits = model(**{k: v for k, v in default_data_collator(rows).items()}).logits.data
    labels = default_data_collator(rows)["labels"]
    assert metrics["eval_accuracy"] == accuracy((logits, labels))["accuracy"]
    losses = [model(**default_data_collator(rows[i : i + 3])).loss.item() for i in (0, 3, 6)]
    assert metrics["eval_loss"] == pytest.approx(np.average(losses, weights=[3, 3, 1]), rel=1e-12)
    trainer.train()
    png = trainer.save_loss_curve()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    no_labels = Trainer(
        model,
        TrainingArguments(disable_tqdm=True),
        train_dataset=[{k: v for k, v in r.items() if k != "label"} for r in rows],
    )
    with pytest.raises(ValueError, match="returned no loss"):
        no_labels.train()


def test_predictions_of_different_lengths_are_padded_with_ignore_index() -> None:
    """Token-level predictions of batches padded to their own longest row are joined
    as Hugging Face's evaluation loop joins them (padding value -100)."""
    config = bert_config(num_labels=2)
    model = mm.BertForTokenClassification(config).double()

    def pad_collator(features):
        t = max(len(f["input_ids"]) for f in features)
        ids = np.zeros((len(features), t), dtype=np.int64)
        labels = np.full((len(features), t), -100)
        for i, f in enumerate(features):
            ids[i, : len(f["input_ids"])] = f["input_ids"]
            labels[i, : len(f["labels"])] = f["labels"]
        return {"input_ids": ids, "attention_mask": (ids != 0).astype(np.int64), "labels": labels}

    rows = [{"input_ids": np.arange(1, n + 1), "labels": np.arange(n) % 2} for n in (3, 5, 2, 2)]
    out = Trainer(
        model,
        TrainingArguments(per_device_eval_batch_size=2, disable_tqdm=True),
        data_collator=pad_collator,
    ).predict(rows)
    assert out.predictions.shape == (4, 5, 2) and out.label_ids.shape == (4, 5)
    np.testing.assert_array_equal(out.label_ids[2:, 2:], -100)
    np.testing.assert_array_equal(out.predictions[2:, 2:], -100)
    assert _concat_padded([np.zeros((1, 2)), np.ones((2, 2))]).shape == (3, 2)
