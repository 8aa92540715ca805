"""Fine-tune the pretrained all-MiniLM-L6-v2 for topic classification, in minigrad and
in PyTorch / Hugging Face ``transformers`` side by side, from the same head
initialisation and the same batches.

    python examples/finetune_minilm.py                     # float32, 20 steps
    python examples/finetune_minilm.py --dtype float64     # agreement to ~1e-10
    python examples/finetune_minilm.py --steps 40 --freeze-layers 0

The model is ``BertForSequenceClassification`` as ``transformers`` builds it: the
pooled [CLS] vector (MiniLM's pooler) -> dropout -> a new linear layer, one output per
topic. The data is ``comparison/data/topics.tsv`` (four topics; 320 training and 100
held-out sentences written from templates by ``comparison/data/make_topics.py``).

To keep the run short on a laptop CPU and the two runs comparable step by step:
* dropout is 0 (the two libraries would draw different random masks);
* the embeddings are always frozen, and by default so are the lowest 4 of the 6
  encoder layers (``--freeze-layers``): only the top 2 layers, the pooler and the head
  are trained (~3.7M of 22.7M parameters).

Prints the training loss of both at every step, the held-out accuracy before and
after, and exits with status 1 if the two disagree beyond the stated tolerances.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from comparison.finetune import FinetuneSettings, compare_finetune  # noqa: E402
from comparison.report import Report  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--steps", type=int, default=20, help="AdamW steps (default 20)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument(
        "--freeze-layers",
        type=int,
        default=4,
        help="lowest encoder layers to freeze, 0-6 (default 4; embeddings always)",
    )
    p.add_argument(
        "--device",
        default="cpu",
        choices=["auto", "cpu", "cuda"],
        help="where the transformers side runs (minigrad: always the CPU)",
    )
    args = p.parse_args(argv)

    settings = FinetuneSettings(
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, freeze_layers=args.freeze_layers
    )
    report = Report()
    compare_finetune(report, args.dtype, args.device, settings)
    print()
    print(report.table())
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
