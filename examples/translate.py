"""Train a tiny Marian translation model (English number words -> French) in minigrad,
and, with ``--compare``, the same model in Hugging Face ``transformers`` side by side.

    python examples/translate.py                    # minigrad alone, 150 steps (seconds)
    python examples/translate.py --steps 300        # better translations
    python examples/translate.py --compare --dtype float64 --steps 300   # side by side

The corpus is ``comparison/data/numbers_en_fr.tsv``: the numbers 1-999 written out in
both languages ("two hundred seventy-one" -> "deux cent soixante et onze"), made by the
rule-based script ``comparison/data/make_numbers.py``; 829 pairs to train on and 170
held out. A word-level tokenizer is trained on it with Hugging Face ``tokenizers``.
The model is ``MarianMTModel`` (2+2 layers, d=64, sinusoidal positions), trained with
AdamW on batches of 32 pairs, then asked for greedy translations of the held-out
numbers (``generate``), scored with ``sacrebleu`` (BLEU, chrF).

With ``--compare`` both libraries start from ``transformers``' seeded initialisation,
see the same batches, and the report compares the loss at every step (float64: to
1e-9 relative) and the held-out translations; exit status 1 if they disagree.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from comparison import translation as tr  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--steps", type=int, default=150, help="AdamW steps (batch 32)")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--compare", action="store_true", help="also train transformers' model")
    args = p.parse_args(argv)
    settings = tr.TranslationSettings(steps=args.steps)
    if args.compare:
        from comparison.report import Report

        report = Report()
        result = tr.compare_translation(report, args.dtype, settings)
        for src, ours, ref in result["examples"]:
            print(f"  {src!r:32} minigrad: {ours!r:30} transformers: {ref!r}")
        print(report.table())
        return 0 if report.passed else 1

    import minigrad
    import minigrad.models as mm

    corpus = tr.load_corpus()
    tok = tr.train_tokenizer(corpus["train"])
    minigrad.manual_seed(settings.seed)
    model = mm.MarianMTModel(tr.marian_config(tok.get_vocab_size(), settings))
    model = model.to(minigrad.float64 if args.dtype == "float64" else minigrad.float32)
    batches = tr.make_batches(tok, corpus["train"], settings)

    def show(step: int, loss: float) -> None:
        if step % 25 == 0 or step == settings.steps - 1:
            print(f"step {step:4d}  loss {loss:.4f}")

    t0 = time.perf_counter()
    tr.train_minigrad(model, batches, settings, on_step=show)
    print(f"trained {settings.steps} steps in {time.perf_counter() - t0:.1f} s")
    sources = [en for en, _ in corpus["test"]]
    refs = [fr for _, fr in corpus["test"]]
    hyps = tr.translate(model, tok, sources, settings.max_new_tokens)
    for src, hyp, ref in list(zip(sources, hyps, refs))[::34]:
        print(f"  {src!r:32} -> {hyp!r:34} (reference {ref!r})")
    s = tr.scores(hyps, refs)
    print(f"held-out BLEU {s['bleu']:.2f}  chrF {s['chrf']:.2f}  exact {s['exact']:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
