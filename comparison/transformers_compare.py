"""GPT-2 and BERT (with MLM + NSP heads) in minigrad against Hugging Face ``transformers``.

For each model both sides start from the same weights (the reference's seeded
initialisation, copied into minigrad with ``load_state_dict(strict=True)``) and see the
same token ids (seeded random ids, padded rows with an attention mask, BERT segments
A/B). Reported, each as max abs / rel difference against a tolerance:

* the outputs (last hidden state, logits / MLM and NSP scores) and the loss;
* every parameter's gradient (one row with the worst parameter named, or one row per
  parameter with ``per_param``);
* the loss at every AdamW step and every parameter after ``steps`` AdamW steps.

Dropout is off on both sides (``eval()``): the two libraries draw different random
masks, so only the deterministic computation can agree element by element. (The
train/eval behaviour of dropout is tested in ``tests/test_models_*.py``.)

GPT-2's loss: Hugging Face computes the causal-LM loss on ``logits.float()``, i.e. in
float32 even for a float64 model. The reference loss here is the same formula (mean
cross entropy of ``logits[:, :-1]`` against ``labels[:, 1:]``, -100 ignored) in the
model's dtype; Hugging Face's own ``loss`` output gets a row of its own at float32
tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import minigrad
import minigrad.models as mm
import minigrad.optim
from comparison.hf_models import (
    bert_config,
    gpt2_config,
    hf_model,
    minigrad_twin,
    resolve_device,
    to_numpy,
)
from comparison.report import Report

# (rtol, atol) per dtype and quantity. float64: rounding error only (both sides compute
# the same formulas in a different summation order). float32: the same at float32's
# 6e-8 unit roundoff, amplified through the layers. Parameters after AdamW get an
# absolute tolerance of lr/eps = 1e5 times the gradients' noise level: where a gradient
# is near zero, AdamW's update lr·m/(√v + eps) is ≈ lr·g/eps, so a rounding difference
# δg there becomes a parameter difference of lr·δg/eps (float64: δg ~ 1e-17 -> ~1e-12;
# float32: δg ~ 1e-9 -> ~1e-4, and a tiny share of elements further, see
# ``compare_params_float32``).
TOLERANCES: dict[str, dict[str, tuple[float, float]]] = {
    "float64": {"forward": (1e-10, 1e-12), "grad": (1e-9, 1e-12), "params": (1e-10, 1e-11)},
    "float32": {"forward": (1e-4, 1e-5), "grad": (1e-3, 1e-6), "params": (1e-4, 1e-4)},
}
HF_OWN_LOSS_TOL = (1e-5, 1e-6)
# float32 parameters after AdamW: at most this fraction of elements may differ by more
# than the "params" tolerance (see ``compare_params_float32``).
FLOAT32_OUTLIER_FRACTION = 1e-5


@dataclass
class Case:
    """One model compared side by side."""

    label: str  # e.g. "gpt2-tiny/float64"
    ref: Any  # transformers model
    ours: Any  # minigrad model
    batches: list[dict[str, np.ndarray]]
    outputs: list[tuple[str, str]]  # (attribute of ours' output, attribute of ref's)
    ref_loss: Callable[[Any, dict[str, torch.Tensor]], torch.Tensor]
    loss_name: str = "loss"
    extras: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ inputs
def padded_lengths(batch: int, seq: int) -> list[int]:
    """Row lengths: the first row full, the others shorter (so masks matter)."""
    return [seq] + [max(2, seq - 3 * (i + 1)) for i in range(batch - 1)]


def gpt2_batch(rng: np.random.Generator, vocab: int, batch: int, seq: int) -> dict[str, Any]:
    ids = rng.integers(0, vocab, (batch, seq))
    mask = np.zeros((batch, seq), dtype=np.int64)
    for i, n in enumerate(padded_lengths(batch, seq)):
        mask[i, :n] = 1
    ids = np.where(mask == 1, ids, 0)
    labels = np.where(mask == 1, ids, -100)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def bert_batch(rng: np.random.Generator, vocab: int, batch: int, seq: int) -> dict[str, Any]:
    ids = rng.integers(1, vocab, (batch, seq))
    mask = np.zeros((batch, seq), dtype=np.int64)
    types = np.zeros((batch, seq), dtype=np.int64)
    for i, n in enumerate(padded_lengths(batch, seq)):
        mask[i, :n] = 1
        types[i, n // 2 : n] = 1  # segment B is the second half of the real tokens
    ids = np.where(mask == 1, ids, 0)  # 0 = [PAD]
    chosen = (rng.random((batch, seq)) < 0.3) & (mask == 1)
    chosen[:, 1] = True  # at least one masked-LM target per row
    labels = np.where(chosen, ids, -100)
    nsp = rng.integers(0, 2, batch)
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": types,
        "labels": labels,
        "next_sentence_label": nsp,
    }


def _torch_inputs(batch: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.asarray(v)).to(device) for k, v in batch.items()}


# ------------------------------------------------------------------ reporting helpers
def compare_named(
    report: Report,
    model: str,
    quantity: str,
    ours: dict[str, np.ndarray],
    ref: dict[str, np.ndarray],
    tol: tuple[float, float],
    per_param: bool = False,
) -> None:
    """One row for a whole set of named arrays (worst one named in the note), or one
    row per name with ``per_param``."""
    rtol, atol = tol
    if set(ours) != set(ref):
        report.compare(
            model,
            quantity,
            [np.inf],
            [0.0],
            rtol,
            atol,
            note=f"names differ: only ours {sorted(set(ours) - set(ref))}, "
            f"only reference {sorted(set(ref) - set(ours))}",
        )
        return
    names = list(ref)
    if per_param:
        for n in names:
            report.compare(model, f"{quantity}: {n}", ours[n], ref[n], rtol, atol)
        return

    def score(n: str) -> float:
        a, b = np.asarray(ours[n], np.float64), np.asarray(ref[n], np.float64)
        return float(np.max(np.abs(a - b) / (atol + rtol * np.abs(b)))) if b.size else 0.0

    worst = max(names, key=score)
    report.compare(
        model,
        f"{quantity} ({len(names)} tensors)",
        np.concatenate([np.ravel(ours[n]) for n in names]),
        np.concatenate([np.ravel(ref[n]) for n in names]),
        rtol,
        atol,
        note=f"worst: {worst} ({score(worst):.2g} of tolerance)",
    )


def _named_grads_ours(model: Any) -> dict[str, np.ndarray]:
    return {
        n: p.grad.data if p.grad is not None else np.zeros_like(p.data)
        for n, p in model.named_parameters()
    }


def _named_grads_ref(model: Any) -> dict[str, np.ndarray]:
    return {
        n: to_numpy(p.grad) if p.grad is not None else to_numpy(torch.zeros_like(p))
        for n, p in model.named_parameters()
    }


# ------------------------------------------------------------------ the side-by-side run
def _compare_first_step(
    report: Report,
    case: Case,
    tol: dict[str, tuple[float, float]],
    batch: dict[str, Any],
    tb: dict[str, torch.Tensor],
    out_ours: Any,
    out_ref: Any,
    loss_ref: torch.Tensor,
    per_param: bool,
) -> None:
    """Outputs, loss and gradients of the first batch (called after both backwards)."""
    name, fwd = case.label, tol["forward"]
    keep = ("input_ids", "attention_mask", "token_type_ids")
    hidden_ref = getattr(case.ref, case.ref.base_model_prefix)(
        **{k: v for k, v in tb.items() if k in keep}
    )
    hidden_ours = getattr(case.ours, case.ours.base_model_prefix)(
        **{k: v for k, v in batch.items() if k in keep}
    )
    report.compare(
        name,
        "last_hidden_state",
        hidden_ours.last_hidden_state.data,
        to_numpy(hidden_ref.last_hidden_state),
        *fwd,
    )
    for ours_attr, ref_attr in case.outputs:
        report.compare(
            name,
            ours_attr,
            getattr(out_ours, ours_attr).data,
            to_numpy(getattr(out_ref, ref_attr)),
            *fwd,
        )
    report.compare(name, case.loss_name, out_ours.loss.item(), loss_ref.item(), *fwd)
    if out_ref.loss is not None and out_ref.loss is not loss_ref:
        report.compare(
            name,
            "loss vs HF's own (float32-computed) loss",
            out_ours.loss.item(),
            out_ref.loss.item(),
            *HF_OWN_LOSS_TOL,
        )
    compare_named(
        report,
        name,
        "gradients",
        _named_grads_ours(case.ours),
        _named_grads_ref(case.ref),
        tol["grad"],
        per_param,
    )


def compare_params_float32(
    report: Report,
    model: str,
    quantity: str,
    ours: dict[str, np.ndarray],
    ref: dict[str, np.ndarray],
    tol: tuple[float, float],
) -> None:
    """float32 parameters after AdamW (``quantity``: "3 AdamW steps"): the fraction of
    elements outside ``tol`` must be at most ``FLOAT32_OUTLIER_FRACTION``; the note
    names the largest difference.

    Why not every element: AdamW moves each element by lr·m/(√v + eps), i.e. by about
    lr whatever the gradient's size. Where a gradient is at float32 rounding-noise
    level (e.g. 2e-9 in a tensor whose largest gradient is 0.05), the two libraries'
    values differ by a large fraction, sometimes in sign, and AdamW turns that into
    moves of up to ±lr. At GPT-2-small size ~1 element in 10⁶ does this. float64
    compares every element.
    """
    rtol, atol = tol
    outside, total, worst, worst_diff = 0, 0, "", 0.0
    for n, r in ref.items():
        diff = np.abs(ours[n].astype(np.float64) - r)
        outside += int((diff > atol + rtol * np.abs(r)).sum())
        total += r.size
        if diff.size and diff.max() > worst_diff:
            worst, worst_diff = n, float(diff.max())
    frac = outside / max(total, 1)
    report.compare(
        model,
        f"share of params within {atol:.0e}, {quantity}".replace("e-0", "e-"),
        1.0 - frac,
        1.0,
        0.0,
        FLOAT32_OUTLIER_FRACTION,
        note=f"{outside} of {total} outside (a share <= {FLOAT32_OUTLIER_FRACTION:.0e} allowed); "
        f"largest difference {worst_diff:.1e} in {worst}",
    )


def run_case(
    report: Report,
    case: Case,
    dtype: str,
    steps: int,
    lr: float = 1e-3,
    weight_decay: float = 0.01,
    per_param: bool = False,
    echo: Callable[[str], None] = print,
) -> None:
    """Forward, loss and gradients on the first batch, then ``steps`` AdamW steps
    (float32 parameters: see :func:`compare_params_float32`)."""
    tol = TOLERANCES[dtype]
    ref, ours, name = case.ref, case.ours, case.label
    device = next(ref.parameters()).device
    ref.eval()
    ours.eval()
    # foreach=False: the single-tensor update minigrad reproduces operation by operation
    # (PyTorch's default on the CPU; on CUDA it would default to the multi-tensor one).
    opt_ref = torch.optim.AdamW(ref.parameters(), lr=lr, weight_decay=weight_decay, foreach=False)
    opt_ours = minigrad.optim.AdamW(ours.parameters(), lr=lr, weight_decay=weight_decay)
    losses_ours, losses_ref = [], []
    for step in range(max(steps, 1)):
        batch = case.batches[step]
        tb = _torch_inputs(batch, device)
        out_ref = ref(**tb)
        loss_ref = case.ref_loss(out_ref, tb)
        out_ours = ours(**batch)
        opt_ref.zero_grad()
        opt_ours.zero_grad()
        loss_ref.backward()
        out_ours.loss.backward()
        losses_ref.append(loss_ref.item())
        losses_ours.append(out_ours.loss.item())
        if step == 0:
            _compare_first_step(
                report, case, tol, batch, tb, out_ours, out_ref, loss_ref, per_param
            )
        if steps:
            opt_ref.step()
            opt_ours.step()
    if steps:
        report.compare(
            name, f"loss at each of {steps} AdamW steps", losses_ours, losses_ref, *tol["forward"]
        )
        ref_params = {n: to_numpy(p) for n, p in ref.named_parameters()}
        ours_params = {n: p.data for n, p in ours.named_parameters()}
        if dtype == "float32":
            compare_params_float32(
                report, name, f"{steps} AdamW steps", ours_params, ref_params, tol["params"]
            )
        else:
            compare_named(
                report,
                name,
                f"parameters after {steps} AdamW steps",
                ours_params,
                ref_params,
                tol["params"],
                per_param,
            )
    echo(
        f"{name}: losses minigrad {np.round(losses_ours, 8).tolist()} | "
        f"transformers {np.round(losses_ref, 8).tolist()}"
    )
    report.extras[name] = {
        "losses_minigrad": losses_ours,
        "losses_transformers": losses_ref,
        **case.extras,
    }


def _gpt2_ref_loss(out: Any, tb: dict[str, torch.Tensor]) -> torch.Tensor:
    """Hugging Face's causal-LM loss formula, in the logits' own dtype."""
    logits, labels = out.logits, tb["labels"]
    return torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]),
        labels[:, 1:].reshape(-1),
        ignore_index=-100,
    )


def gpt2_case(
    dtype: str,
    device: str = "cpu",
    size: str = "tiny",
    steps: int = 3,
    seed: int = 0,
    batch: int = 3,
    seq: int = 12,
) -> Case:
    config = gpt2_config(size)
    ref = hf_model(transformers_cls("GPT2LMHeadModel"), config, seed, dtype, resolve_device(device))
    ours = minigrad_twin(mm.GPT2LMHeadModel, config, ref, dtype)
    rng = np.random.default_rng(seed)
    batches = [gpt2_batch(rng, config.vocab_size, batch, seq) for _ in range(max(steps, 1))]
    return Case(
        f"gpt2-{size}/{dtype}",
        ref,
        ours,
        batches,
        [("logits", "logits")],
        _gpt2_ref_loss,
        "loss (shifted causal LM)",
        {"device": str(resolve_device(device))},
    )


def bert_case(
    dtype: str,
    device: str = "cpu",
    size: str = "tiny",
    steps: int = 3,
    seed: int = 0,
    batch: int = 3,
    seq: int = 12,
) -> Case:
    config = bert_config(size)
    ref = hf_model(
        transformers_cls("BertForPreTraining"), config, seed, dtype, resolve_device(device)
    )
    ours = minigrad_twin(mm.BertForPreTraining, config, ref, dtype)
    rng = np.random.default_rng(seed)
    batches = [bert_batch(rng, config.vocab_size, batch, seq) for _ in range(max(steps, 1))]
    outputs = [
        ("prediction_logits", "prediction_logits"),
        ("seq_relationship_logits", "seq_relationship_logits"),
    ]
    return Case(
        f"bert-{size}/{dtype}",
        ref,
        ours,
        batches,
        outputs,
        lambda out, tb: out.loss,
        "loss (MLM + NSP)",
        {"device": str(resolve_device(device))},
    )


def transformers_cls(name: str) -> Any:
    import transformers

    return getattr(transformers, name)


def compare_model(
    name: str,
    report: Report,
    dtype: str,
    device: str = "auto",
    size: str = "tiny",
    steps: int = 3,
    per_param: bool = False,
    echo: Callable[[str], None] = print,
) -> None:
    """``name`` = "gpt2" (GPT2LMHeadModel), "bert" (BertForPreTraining, MLM + NSP) or one
    of ``encoders_compare.CASES`` (RoBERTa MLM, token classification) against
    transformers: outputs, loss, every gradient, ``steps`` AdamW steps."""
    from comparison.encoders_compare import CASES

    make_case = {"gpt2": gpt2_case, "bert": bert_case, **CASES}[name]
    seq = 12 if size == "tiny" else 32
    case = make_case(dtype, device, size, steps, seq=seq)
    run_case(report, case, dtype, steps, per_param=per_param, echo=echo)
