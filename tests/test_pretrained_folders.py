"""Hugging Face model folders: ``from_pretrained`` reads single-file and sharded
safetensors folders with minigrad's own reader, ``save_pretrained`` writes folders that
``transformers`` loads, and pickles, hub ids and hostile configs are refused clearly.

Round trips use tiny seeded ``transformers`` models: weights must come back bit for bit
and outputs agree with ``transformers``' own (float32 tolerances: rtol 1e-5, atol 1e-6).
"""

from __future__ import annotations

import json
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch

import minigrad
import minigrad.models as mm
from comparison.transformers_compare import bert_batch, gpt2_batch

transformers = pytest.importorskip("transformers")

GPT2 = {"vocab_size": 60, "n_positions": 16, "n_embd": 16, "n_layer": 2, "n_head": 2,
        "bos_token_id": 0, "eos_token_id": 0}  # fmt: skip
BERT = {"vocab_size": 60, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
        "intermediate_size": 32, "max_position_embeddings": 16}  # fmt: skip
FAMILIES = {
    "gpt2": (transformers.GPT2LMHeadModel, transformers.GPT2Config, mm.GPT2LMHeadModel, GPT2),
    "bert": (transformers.BertForMaskedLM, transformers.BertConfig, mm.BertForMaskedLM, BERT),
}


def _hf(family: str, seed: int = 0) -> torch.nn.Module:
    hf_cls, cfg_cls, _, sizes = FAMILIES[family]
    torch.manual_seed(seed)
    return hf_cls(cfg_cls(**sizes, attn_implementation="eager")).eval()


def _batch(family: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    if family == "gpt2":
        batch = gpt2_batch(rng, 60, 3, 9)
        return {k: batch[k] for k in ("input_ids", "attention_mask")}
    batch = bert_batch(rng, 60, 3, 9)
    return {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids")}


def _assert_same_model(ours: minigrad.nn.Module, ref: torch.nn.Module, family: str) -> None:
    theirs = {k: v.detach().numpy() for k, v in ref.state_dict().items()}
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value.data, theirs[key], err_msg=key)  # bit for bit
    batch = _batch(family)
    with torch.no_grad():
        expected = ref(**{k: torch.from_numpy(v) for k, v in batch.items()}).logits.numpy()
    got = ours.eval()(**batch).logits.data
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.fixture
def no_safetensors_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """minigrad's loading must not import the optional ``safetensors`` package."""
    for name in [m for m in sys.modules if m == "safetensors" or m.startswith("safetensors.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "safetensors", None)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("shard", [None, "4KB"])
def test_transformers_folder_loads_in_minigrad(
    tmp_path: Path, family: str, shard: str | None, request: pytest.FixtureRequest
) -> None:
    ref = _hf(family)
    ref.save_pretrained(tmp_path, **({"max_shard_size": shard} if shard else {}))
    shards = sorted(p.name for p in tmp_path.glob("*.safetensors"))
    assert (len(shards) > 2) if shard else shards == ["model.safetensors"]
    request.getfixturevalue("no_safetensors_package")
    ours = FAMILIES[family][2].from_pretrained(tmp_path)
    _assert_same_model(ours, ref, family)


@pytest.mark.parametrize("family", FAMILIES)
def test_minigrad_folder_loads_in_transformers(tmp_path: Path, family: str) -> None:
    hf_cls, _, ours_cls, _ = FAMILIES[family]
    source = _hf(family, seed=1)
    source.save_pretrained(tmp_path / "hf")
    ours = ours_cls.from_pretrained(tmp_path / "hf")
    ours.save_pretrained(tmp_path / "ours")
    assert sorted(p.name for p in (tmp_path / "ours").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    ref, info = hf_cls.from_pretrained(tmp_path / "ours", output_loading_info=True)
    assert not any(info.values()), info  # no missing, unexpected or mismatched keys
    assert json.loads((tmp_path / "ours" / "config.json").read_text())["architectures"] == [
        ours_cls.__name__
    ]
    _assert_same_model(ours, ref.eval(), family)
    again = ours_cls.from_pretrained(tmp_path / "ours")  # and back into minigrad
    _assert_same_model(again, ref, family)


@pytest.mark.parametrize("family", FAMILIES)
def test_minigrad_sharded_folder_loads_in_transformers(tmp_path: Path, family: str) -> None:
    hf_cls, _, ours_cls, _ = FAMILIES[family]
    ours = ours_cls.from_pretrained(_save(tmp_path / "hf", _hf(family, seed=2)))
    ours.save_pretrained(tmp_path / "ours")  # first unsharded: the next save replaces it
    ours.save_pretrained(tmp_path / "ours", max_shard_size="3KB")
    files = sorted(p.name for p in (tmp_path / "ours").iterdir())
    shards = [f for f in files if f.startswith("model-")]
    assert "model.safetensors" not in files and "model.safetensors.index.json" in files
    assert len(shards) > 2 and all(f.endswith(f"-of-{len(shards):05d}.safetensors") for f in shards)
    for shard in shards:  # each shard within the limit unless it holds one big tensor
        sizes = [t.data.nbytes for t in minigrad.load(tmp_path / "ours" / shard).values()]
        assert sum(sizes) <= 3000 or len(sizes) == 1
    ref, info = hf_cls.from_pretrained(tmp_path / "ours", output_loading_info=True)
    assert not any(info.values()), info
    _assert_same_model(ours, ref.eval(), family)
    _assert_same_model(ours_cls.from_pretrained(tmp_path / "ours"), ref, family)


def test_max_shard_size_strings() -> None:
    from minigrad.models.checkpoint import shard_bytes

    assert [shard_bytes(s) for s in ["5GB", "500MiB", "4KB", " 1.5 kib", 123]] == [
        5 * 10**9,
        500 * 2**20,
        4000,
        1536,
        123,
    ]
    for bad in ["5 parsecs", "0GB", -1, 0, True]:
        with pytest.raises(ValueError, match="max_shard_size"):
            shard_bytes(bad)


def test_tied_weights_written_once(tmp_path: Path) -> None:
    ours = mm.GPT2LMHeadModel.from_pretrained(_save(tmp_path / "hf", _hf("gpt2")))
    ours.save_pretrained(tmp_path / "ours")
    names = minigrad.load(tmp_path / "ours" / "model.safetensors").keys()
    reference = minigrad.load(tmp_path / "hf" / "model.safetensors").keys()
    assert "lm_head.weight" not in names and set(names) == set(reference)


def _save(folder: Path, model: torch.nn.Module, **kwargs: object) -> Path:
    model.save_pretrained(folder, **kwargs)
    return folder


# ----------------------------------------------------------------- refusals
@pytest.mark.parametrize("pickle_name", ["pytorch_model.bin", "model.pt", "weights.ckpt"])
def test_pickled_checkpoints_are_refused_with_the_reason(tmp_path: Path, pickle_name: str) -> None:
    (tmp_path / "config.json").write_text(json.dumps(GPT2))
    (tmp_path / pickle_name).write_bytes(b"\x80\x04K\x01.")  # a pickle, never opened
    with pytest.raises(ValueError, match=f"{pickle_name}.*arbitrary code.*save_pretrained"):
        mm.GPT2LMHeadModel.from_pretrained(tmp_path)


@pytest.mark.parametrize("hub_id", ["gpt2", "bert-base-uncased", "openai-community/gpt2"])
def test_hub_ids_say_only_local_folders_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub_id: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no folder of that name here
    with pytest.raises(FileNotFoundError, match="local model folders only.*never downloads"):
        mm.BertModel.from_pretrained(hub_id)
    with pytest.raises(FileNotFoundError, match="no such model folder"):
        mm.BertModel.from_pretrained(tmp_path / "missing" / "deeper")


def test_folder_without_weights(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(BERT))
    with pytest.raises(FileNotFoundError, match="neither model.safetensors nor"):
        mm.BertModel.from_pretrained(tmp_path)


@pytest.fixture
def sharded(tmp_path: Path) -> Path:
    return _save(tmp_path / "s", _hf("gpt2"), max_shard_size="4KB")


def _edit_index(folder: Path, edit) -> None:  # noqa: ANN001
    path = folder / "model.safetensors.index.json"
    index = json.loads(path.read_text())
    edit(index["weight_map"])
    path.write_text(json.dumps(index))


def test_index_pointing_outside_the_folder(sharded: Path) -> None:
    _edit_index(sharded, lambda m: m.update({next(iter(m)): "../model.safetensors"}))
    with pytest.raises(ValueError, match=r"'\.\./model\.safetensors'.*plain \.safetensors file"):
        mm.GPT2LMHeadModel.from_pretrained(sharded)


def test_index_and_shards_must_agree(sharded: Path) -> None:
    first, second = sorted(p.name for p in sharded.glob("model-*.safetensors"))[:2]

    def move(m: dict) -> None:  # claim that a tensor of the first shard is in the second
        key = next(k for k, v in m.items() if v == first)
        m[key] = second

    _edit_index(sharded, move)
    with pytest.raises(ValueError, match="does not match model.safetensors.index.json"):
        mm.GPT2LMHeadModel.from_pretrained(sharded)


def test_index_naming_a_missing_shard(sharded: Path) -> None:
    next(sharded.glob("model-*.safetensors")).unlink()
    with pytest.raises(FileNotFoundError, match="which is missing"):
        mm.GPT2LMHeadModel.from_pretrained(sharded)


def test_index_with_duplicate_keys(sharded: Path) -> None:
    path = sharded / "model.safetensors.index.json"
    text = path.read_text()
    twice = '"lm_head.weight": "x.safetensors", "lm_head.weight": "y.safetensors", '
    path.write_text(text.replace('"weight_map": {', '"weight_map": {' + twice, 1))
    with pytest.raises(ValueError, match="duplicate key 'lm_head.weight'"):
        mm.GPT2LMHeadModel.from_pretrained(sharded)


def test_config_with_a_huge_vocabulary_is_refused_before_allocating(tmp_path: Path) -> None:
    folder = _save(tmp_path / "m", _hf("bert"))
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "vocab_size": 2**40}))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="vocab_size=1099511627776 is out of range"):
            mm.BertForMaskedLM.from_pretrained(folder)
        assert tracemalloc.get_traced_memory()[1] < 4 * 2**20
    finally:
        tracemalloc.stop()


def test_config_sizes_that_exceed_memory_are_refused(tmp_path: Path) -> None:
    folder = _save(tmp_path / "m", _hf("bert"))
    config = json.loads((folder / "config.json").read_text())
    huge = {**config, "vocab_size": 2**31 - 1, "hidden_size": 2**16, "num_attention_heads": 2}
    (folder / "config.json").write_text(json.dumps(huge))
    with pytest.raises(ValueError, match=r"GiB\), more than this machine's"):
        mm.BertForMaskedLM.from_pretrained(folder)


def test_config_json_with_duplicate_keys(tmp_path: Path) -> None:
    folder = _save(tmp_path / "m", _hf("gpt2"))
    text = (folder / "config.json").read_text()
    (folder / "config.json").write_text(text.replace("{", '{"n_layer": 1, "n_layer": 7,', 1))
    with pytest.raises(ValueError, match="config.json.*duplicate key 'n_layer'"):
        mm.GPT2LMHeadModel.from_pretrained(folder)


def test_estimated_parameters_match_transformers() -> None:
    for sizes, hf_cls, cfg in [
        (BERT, transformers.BertForPreTraining, mm.BertConfig),
        (GPT2, transformers.GPT2LMHeadModel, mm.GPT2Config),
    ]:
        ref = hf_cls(getattr(transformers, cfg.__name__)(**sizes))
        assert cfg(**sizes).estimated_parameters() == ref.num_parameters()


def test_no_init_weights_draws_nothing() -> None:
    """Inside ``no_init_weights`` (used by ``from_pretrained``) layers skip their default
    initialisation, as ``transformers``' context of the same name skips ``torch.nn.init``:
    no random number is drawn and every parameter stays zero until the checkpoint fills it."""
    minigrad.manual_seed(0)
    expected = minigrad.randn(3).data
    minigrad.manual_seed(0)
    with mm.no_init_weights():
        model = mm.GPT2LMHeadModel(mm.GPT2Config(**GPT2))
        bert = mm.BertForMaskedLM(mm.BertConfig(**BERT))
    np.testing.assert_array_equal(minigrad.randn(3).data, expected)  # the stream is untouched
    for p in [*model.parameters(), *bert.parameters()]:
        assert not p.data.any()
    conv = mm.Conv1D(nf=400, nx=300)  # outside: N(0, 0.02²) as transformers' Conv1D
    ref = transformers.pytorch_utils.Conv1D(400, 300)
    assert abs(float(conv.weight.data.std()) - float(ref.weight.std())) < 1e-3
    assert minigrad.nn.init.normal_ is not None and minigrad.nn.init.normal_.__name__ == "normal_"


def test_oversized_config_json_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from minigrad.models import checkpoint

    folder = _save(tmp_path / "m", _hf("gpt2"))
    monkeypatch.setattr(checkpoint, "MAX_JSON_BYTES", 64)  # stands for a 64 MiB config
    with pytest.raises(ValueError, match=r"config.json: config of \d+ bytes is larger than 64"):
        mm.GPT2LMHeadModel.from_pretrained(folder)
