"""Fine-tuning for translation, side by side: a tiny Marian trained in minigrad and in
``transformers`` from the same initialisation on the same batches.

* Corpus: ``comparison/data/numbers_en_fr.tsv``, the numbers 1-999 written out in
  English and French (rule-based, made by ``make_numbers.py`` there; 829 training
  pairs, 170 held out).
* Tokenizer: a word-level ``tokenizers`` model trained here on both sides of the
  training pairs (``<pad>``, ``</s>``, ``<unk>`` first), one shared vocabulary, used
  by both libraries; sources and targets end with ``</s>``.
* Model: ``MarianMTModel`` (2+2 layers, d=64, sinusoidal positions, scaled
  embeddings, shared embeddings), initialised by ``transformers`` after
  ``torch.manual_seed(seed)`` and copied into minigrad (``load_state_dict``,
  strict); dropout 0 so both sides compute the same function.
* Training: AdamW (lr 3e-3, weight decay 0.01) with the learning rate decayed
  linearly to 0 (``LambdaLR``), batches of 32 pairs drawn by one seeded NumPy
  generator and fed to both sides; the loss curves are compared step by step. (At a
  constant rate, AdamW's normalised steps near convergence amplify rounding
  differences ~10x every 20 steps; the decay keeps the late steps small.)
* Evaluation: greedy translations of the held-out sources by each side's own trained
  model, scored against the references with ``sacrebleu`` (BLEU and chrF).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import minigrad
import minigrad.models as mm
import minigrad.optim

CORPUS = Path(__file__).resolve().parent / "data" / "numbers_en_fr.tsv"
SPECIALS = ["<pad>", "</s>", "<unk>"]  # ids 0, 1, 2
PAD, EOS = 0, 1


@dataclass
class TranslationSettings:
    steps: int = 300
    batch: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.01
    seed: int = 0
    d_model: int = 64
    layers: int = 2
    heads: int = 4
    ffn: int = 128
    max_new_tokens: int = 16


def load_corpus(path: Path = CORPUS) -> dict[str, list[tuple[str, str]]]:
    """{"train": [(en, fr), ...], "test": [...]}."""
    out: dict[str, list[tuple[str, str]]] = {"train": [], "test": []}
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            out[row["split"]].append((row["en"], row["fr"]))
    return out


def train_tokenizer(pairs: list[tuple[str, str]]) -> Any:
    """A word-level tokenizer over both languages (``tokenizers``), ``</s>`` appended
    to every encoding."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()  # words, and "-" on its own
    trainer = trainers.WordLevelTrainer(special_tokens=SPECIALS)
    tok.train_from_iterator([s for pair in pairs for s in pair], trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", EOS)]
    )
    return tok


def encode(tok: Any, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Token ids padded on the right with ``<pad>``, and the attention mask."""
    ids = [e.ids for e in tok.encode_batch(texts)]
    width = max(len(x) for x in ids)
    out = np.full((len(ids), width), PAD, dtype=np.int64)
    for i, x in enumerate(ids):
        out[i, : len(x)] = x
    return out, (out != PAD).astype(np.int64)


def decode(tok: Any, ids: np.ndarray) -> list[str]:
    """Text of generated ids (specials dropped, "vingt - deux" -> "vingt-deux")."""
    return [tok.decode([int(i) for i in row]).replace(" - ", "-") for row in ids]


def make_batches(
    tok: Any, pairs: list[tuple[str, str]], settings: TranslationSettings
) -> list[dict[str, np.ndarray]]:
    """``steps`` batches drawn by a generator seeded with ``settings.seed``; labels are
    the target ids with -100 on padding."""
    rng = np.random.default_rng(settings.seed)
    batches = []
    for _ in range(settings.steps):
        chosen = rng.choice(len(pairs), settings.batch, replace=False)
        src, mask = encode(tok, [pairs[i][0] for i in chosen])
        tgt, tmask = encode(tok, [pairs[i][1] for i in chosen])
        labels = np.where(tmask == 1, tgt, -100)
        batches.append({"input_ids": src, "attention_mask": mask, "labels": labels})
    return batches


def marian_config(vocab: int, settings: TranslationSettings) -> mm.MarianConfig:
    s = settings
    return mm.MarianConfig(
        vocab_size=vocab,
        d_model=s.d_model,
        encoder_layers=s.layers,
        decoder_layers=s.layers,
        encoder_attention_heads=s.heads,
        decoder_attention_heads=s.heads,
        encoder_ffn_dim=s.ffn,
        decoder_ffn_dim=s.ffn,
        max_position_embeddings=64,
        dropout=0.0,
        pad_token_id=PAD,
        eos_token_id=EOS,
        decoder_start_token_id=PAD,
        forced_eos_token_id=EOS,
        scale_embedding=True,
    )


def hf_marian(config: mm.MarianConfig, dtype: str, seed: int) -> Any:
    """``transformers.MarianMTModel`` with the seeded initialisation, in ``dtype``."""
    import torch
    import transformers

    torch.manual_seed(seed)
    ref = transformers.MarianMTModel(
        transformers.MarianConfig(**config.to_dict(), attn_implementation="eager")
    )
    return ref.to(getattr(torch, dtype))


def minigrad_copy(ref: Any, config: mm.MarianConfig, dtype: str) -> mm.MarianMTModel:
    with mm.no_init_weights():
        ours = mm.MarianMTModel(config)
    ours.load_state_dict({k: v.detach().cpu().numpy() for k, v in ref.state_dict().items()})
    return ours.to(np.dtype(dtype))


def _decay(steps: int) -> Callable[[int], float]:
    """The learning-rate factor at step s: 1 - s/steps (linear decay to 0)."""
    return lambda s: 1.0 - s / steps


def train_minigrad(
    model: mm.MarianMTModel,
    batches: list[dict[str, np.ndarray]],
    settings: TranslationSettings,
    on_step: Callable[[int, float], None] | None = None,
) -> list[float]:
    model.train()
    opt = minigrad.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    sched = minigrad.optim.lr_scheduler.LambdaLR(opt, _decay(len(batches)))
    losses = []
    for step, batch in enumerate(batches):
        opt.zero_grad()
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if on_step is not None:
            on_step(step, losses[-1])
    return losses


def train_transformers(
    model: Any, batches: list[dict[str, np.ndarray]], settings: TranslationSettings
) -> list[float]:
    import torch

    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _decay(len(batches)))
    losses = []
    for batch in batches:
        opt.zero_grad()
        loss = model(**{k: torch.from_numpy(v) for k, v in batch.items()}).loss
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


def translate(model: Any, tok: Any, sources: list[str], max_new_tokens: int) -> list[str]:
    """Greedy translations (minigrad or ``transformers`` model)."""
    ids, mask = encode(tok, sources)
    model.eval()
    if isinstance(model, minigrad.nn.Module):
        out = model.generate(ids, attention_mask=mask, max_new_tokens=max_new_tokens).data
    else:
        import torch

        with torch.no_grad():
            out = model.generate(
                torch.from_numpy(ids),
                attention_mask=torch.from_numpy(mask),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                num_beams=1,
            ).numpy()
    return decode(tok, out)


def scores(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Corpus BLEU and chrF (sacrebleu, default settings)."""
    import sacrebleu

    return {
        "bleu": sacrebleu.corpus_bleu(hypotheses, [references]).score,
        "chrf": sacrebleu.corpus_chrf(hypotheses, [references]).score,
        "exact": float(np.mean([h == r for h, r in zip(hypotheses, references)])),
    }


def compare_translation(
    report: Any,
    dtype: str,
    settings: TranslationSettings | None = None,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train both sides, compare the loss curves and the held-out translations; add
    the rows to ``report`` and return the numbers."""
    settings = settings or TranslationSettings()
    corpus = load_corpus()
    tok = train_tokenizer(corpus["train"])
    config = marian_config(tok.get_vocab_size(), settings)
    ref = hf_marian(config, dtype, settings.seed)
    ours = minigrad_copy(ref, config, dtype)
    batches = make_batches(tok, corpus["train"], settings)
    t0 = time.perf_counter()
    losses_ours = train_minigrad(ours, batches, settings)
    t1 = time.perf_counter()
    losses_ref = train_transformers(ref, batches, settings)
    t2 = time.perf_counter()
    label = f"translation-marian/{dtype}"
    tol = (1e-10, 1e-12) if dtype == "float64" else (1e-4, 1e-6)
    report.compare(
        label, f"loss at each of {settings.steps} AdamW steps", losses_ours, losses_ref, *tol
    )
    sources = [en for en, _ in corpus["test"]]
    refs = [fr for _, fr in corpus["test"]]
    hyp_ours = translate(ours, tok, sources, settings.max_new_tokens)
    hyp_ref = translate(ref, tok, sources, settings.max_new_tokens)
    s_ours, s_ref = scores(hyp_ours, refs), scores(hyp_ref, refs)
    same = float(np.mean([a == b for a, b in zip(hyp_ours, hyp_ref)]))
    report.compare(
        label,
        "share of held-out translations identical",
        same,
        1.0,
        0.0,
        0.0 if dtype == "float64" else 0.05,
        note=f"{len(sources)} sentences",
    )
    for key in ("bleu", "chrf"):
        report.compare(
            label,
            f"held-out {key.upper()} (sacrebleu)",
            s_ours[key],
            s_ref[key],
            0.0,
            0.0 if dtype == "float64" else 2.0,
            note=f"minigrad {s_ours[key]:.2f}, transformers {s_ref[key]:.2f}",
        )
    result = {
        "losses_minigrad": losses_ours,
        "losses_transformers": losses_ref,
        "scores_minigrad": s_ours,
        "scores_transformers": s_ref,
        "seconds_minigrad": t1 - t0,
        "seconds_transformers": t2 - t1,
        "examples": list(zip(sources[:5], hyp_ours[:5], hyp_ref[:5])),
    }
    report.extras[label] = result
    echo(
        f"{label}: loss {losses_ours[0]:.4f} -> {losses_ours[-1]:.4f} (minigrad), "
        f"{losses_ref[0]:.4f} -> {losses_ref[-1]:.4f} (transformers); BLEU {s_ours['bleu']:.2f} "
        f"/ {s_ref['bleu']:.2f}, chrF {s_ours['chrf']:.2f} / {s_ref['chrf']:.2f}; training "
        f"{t1 - t0:.1f} s / {t2 - t1:.1f} s"
    )
    return result
