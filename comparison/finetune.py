"""Fine-tuning the pretrained all-MiniLM-L6-v2 for topic classification, side by side
in minigrad and in PyTorch / Hugging Face ``transformers``.

The model is ``BertForSequenceClassification``: the pooled [CLS] representation
(``tanh(W_p h_[CLS])``, MiniLM's own pooler weights) -> dropout -> a new linear layer
with one output per topic, exactly as ``transformers`` builds it. The head is
initialised once, by ``transformers`` after ``torch.manual_seed(seed)``, and copied
into minigrad, so both start from identical weights.

Data: ``comparison/data/topics.tsv`` (four topics, 320 training and 100 held-out
sentences, made by ``comparison/data/make_topics.py``; see the README there).

Training, identical on both sides: AdamW (lr 1e-4, weight decay 0.01), batches of 16
drawn in the same seeded order, each padded to its longest sentence. Two deliberate
departures from a stock fine-tuning recipe, both so that the run is short on a CPU and
the two libraries can agree step by step:

* **dropout is 0** (hidden, attention and classifier): the libraries draw different
  random masks, so with dropout on they would train on different computations;
* **the lower layers are frozen**: the embeddings always (the word-embedding table is
  12M of the model's 22.7M parameters) and, by default, the lowest 4 of the 6 encoder
  layers (``freeze_layers``), so the top 2 layers, the pooler and the head are trained
  (3.7M parameters); the forward pass still runs through all six layers.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import minigrad
import minigrad.models as mm
import minigrad.optim
from comparison.hf_models import hf_minilm, minilm_tokenizer, resolve_device, to_numpy
from comparison.report import Report

DATA = Path(__file__).with_name("data") / "topics.tsv"

# float64: rounding only, compounded over the steps (measured ~1e-15 relative over 20
# steps). float32: the same at float32's unit roundoff (measured ~2e-7 relative on the
# losses and ~1e-6 absolute on the held-out logits over 20 steps).
TOLERANCES = {"float64": (1e-10, 1e-12), "float32": (1e-4, 1e-5)}


@dataclass
class FinetuneSettings:
    steps: int = 30
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 0.01
    freeze_layers: int = 4  # lowest encoder layers frozen (the embeddings always are)
    max_length: int = 32
    seed: int = 0
    n_test: int | None = None  # evaluate on the first n held-out sentences of each topic


@dataclass
class FinetuneRun:
    labels: list[str]
    losses_ours: list[float] = field(default_factory=list)
    losses_ref: list[float] = field(default_factory=list)
    logits_ours: np.ndarray | None = None  # held-out logits after training
    logits_ref: np.ndarray | None = None
    acc_before: tuple[float, float] = (0.0, 0.0)  # (minigrad, transformers)
    acc_after: tuple[float, float] = (0.0, 0.0)
    y_test: np.ndarray | None = None
    trainable: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def load_topics(path: Path = DATA) -> tuple[dict[str, tuple[list[str], np.ndarray]], list[str]]:
    """{"train": (texts, label ids), "test": (...)} and the label names."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    names = sorted({r["label"] for r in rows})
    split: dict[str, tuple[list[str], np.ndarray]] = {}
    for s in ("train", "test"):
        sel = [r for r in rows if r["split"] == s]
        split[s] = ([r["text"] for r in sel], np.array([names.index(r["label"]) for r in sel]))
    return split, names


def _freeze(named: Any, freeze_layers: int) -> None:
    """requires_grad = False on the embeddings and the lowest ``freeze_layers`` layers."""
    frozen = ("bert.embeddings.",) + tuple(f"bert.encoder.layer.{i}." for i in range(freeze_layers))
    for n, p in named:
        if n.startswith(frozen):
            p.requires_grad_(False)


def _predict(
    model: Any, enc: dict[str, np.ndarray], ours: bool, device: torch.device
) -> np.ndarray:
    if ours:
        with minigrad.no_grad():
            return model(**enc).logits.data
    with torch.no_grad():
        tb = {k: torch.from_numpy(v).to(device) for k, v in enc.items()}
        return to_numpy(model(**tb).logits)


def finetune_side_by_side(
    dtype: str = "float64",
    device: str = "auto",
    settings: FinetuneSettings | None = None,
    on_step: Callable[[int], None] | None = None,
) -> FinetuneRun:
    import time

    import transformers

    s = settings or FinetuneSettings()
    dev = resolve_device(device)
    data, names = load_topics()
    tok = minilm_tokenizer()

    def encode(texts: list[str]) -> dict[str, np.ndarray]:
        enc = tok(
            texts, padding=True, truncation=True, max_length=s.max_length, return_tensors="np"
        )
        return {k: np.asarray(v, dtype=np.int64) for k, v in enc.items()}

    no_dropout = {
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "classifier_dropout": 0.0,
    }
    ref = hf_minilm(
        transformers.BertForSequenceClassification,
        dtype,
        dev,
        seed=s.seed,
        num_labels=len(names),
        **no_dropout,
    )
    config = mm.BertConfig.from_dict(ref.config.to_dict())
    with mm.no_init_weights():  # every weight is copied from the reference below
        ours = mm.BertForSequenceClassification(config)
    ours.load_state_dict({k: to_numpy(v) for k, v in ref.state_dict().items()}, strict=True)
    ours.to(np.dtype(dtype))
    _freeze(ref.named_parameters(), s.freeze_layers)
    _freeze(ours.named_parameters(), s.freeze_layers)
    if s.n_test is not None:  # the first n_test sentences of every topic
        texts_t, y_t = data["test"]
        keep = [i for i in range(len(y_t)) if (y_t[:i] == y_t[i]).sum() < s.n_test]
        data["test"] = ([texts_t[i] for i in keep], y_t[keep])
    run = FinetuneRun(labels=names, y_test=data["test"][1])
    run.trainable = sum(p.numel() for p in ours.parameters() if p.requires_grad)

    test_enc = encode(data["test"][0])
    ref.eval()
    ours.eval()
    run.acc_before = tuple(  # type: ignore[assignment]
        float((_predict(m, test_enc, o, dev).argmax(1) == run.y_test).mean())
        for m, o in ((ours, True), (ref, False))
    )

    opt_ref = torch.optim.AdamW(  # foreach=False: the update minigrad reproduces (CUDA too)
        [p for p in ref.parameters() if p.requires_grad],
        lr=s.lr,
        weight_decay=s.weight_decay,
        foreach=False,
    )
    opt_ours = minigrad.optim.AdamW(
        [p for p in ours.parameters() if p.requires_grad], lr=s.lr, weight_decay=s.weight_decay
    )
    ref.train()
    ours.train()
    texts, y = data["train"]
    rng = np.random.default_rng(s.seed)
    order: list[int] = []
    t_ours = t_ref = 0.0
    for step in range(s.steps):
        if len(order) < s.batch_size:
            order += rng.permutation(len(texts)).tolist()
        idx, order = order[: s.batch_size], order[s.batch_size :]
        enc = encode([texts[i] for i in idx])
        labels = y[idx]

        t0 = time.perf_counter()
        tb = {k: torch.from_numpy(v).to(dev) for k, v in enc.items()}
        out_ref = ref(**tb, labels=torch.from_numpy(labels).to(dev))
        opt_ref.zero_grad()
        out_ref.loss.backward()
        opt_ref.step()
        run.losses_ref.append(out_ref.loss.item())
        t1 = time.perf_counter()
        out = ours(**enc, labels=labels)
        opt_ours.zero_grad()
        out.loss.backward()
        opt_ours.step()
        run.losses_ours.append(out.loss.item())
        t_ref, t_ours = t_ref + t1 - t0, t_ours + time.perf_counter() - t1
        if on_step is not None:
            on_step(step + 1)
    run.seconds = {"minigrad_train": t_ours, "transformers_train": t_ref}

    ref.eval()
    ours.eval()
    run.logits_ours = _predict(ours, test_enc, True, dev)
    run.logits_ref = _predict(ref, test_enc, False, dev)
    run.acc_after = (
        float((run.logits_ours.argmax(1) == run.y_test).mean()),
        float((run.logits_ref.argmax(1) == run.y_test).mean()),
    )
    return run


def compare_finetune(
    report: Report,
    dtype: str,
    device: str = "auto",
    settings: FinetuneSettings | None = None,
    on_step: Callable[[int], None] | None = None,
    echo: Callable[[str], None] = print,
) -> FinetuneRun:
    s = settings or FinetuneSettings()
    run = finetune_side_by_side(dtype, device, s, on_step)
    rtol, atol = TOLERANCES[dtype]
    model = f"finetune/{dtype}"
    echo(
        f"\n{model}: {s.steps} AdamW steps, batch {s.batch_size}, lr {s.lr}, "
        f"{run.trainable:,} trainable parameters (embeddings"
        f"{f' + {s.freeze_layers} layers' if s.freeze_layers else ''} frozen, dropout 0)"
    )
    echo(f"{'step':>5} {'minigrad loss':>16} {'transformers loss':>18} {'rel diff':>10}")
    for i, (a, b) in enumerate(zip(run.losses_ours, run.losses_ref)):
        echo(f"{i + 1:>5} {a:>16.10f} {b:>18.10f} {abs(a - b) / abs(b):>10.2e}")
    (b_o, b_r), (a_o, a_r) = run.acc_before, run.acc_after
    echo(
        f"held-out accuracy ({len(run.y_test)} sentences): before {b_o:.2%} / {b_r:.2%}, "
        f"after {a_o:.2%} (minigrad) / {a_r:.2%} (transformers)"
    )
    echo(
        f"training time: minigrad {run.seconds['minigrad_train']:.1f} s, transformers "
        f"{run.seconds['transformers_train']:.1f} s"
    )
    report.compare(
        model,
        f"training loss at each of {s.steps} steps",
        run.losses_ours,
        run.losses_ref,
        rtol,
        atol,
    )
    report.compare(
        model, "held-out logits after training", run.logits_ours, run.logits_ref, rtol, atol
    )
    agree = float((run.logits_ours.argmax(1) == run.logits_ref.argmax(1)).mean())
    report.compare(
        model,
        "held-out accuracy after training",
        a_o,
        a_r,
        0.0,
        0.0,
        note=f"{a_o:.2%} vs {a_r:.2%} (from {b_o:.2%}); predictions agree on {agree:.0%}",
    )
    report.extras[model] = {
        "losses_minigrad": run.losses_ours,
        "losses_transformers": run.losses_ref,
        "accuracy_before": run.acc_before,
        "accuracy_after": run.acc_after,
        "seconds": run.seconds,
        "labels": run.labels,
    }
    return run
