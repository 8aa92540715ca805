"""Differential test: every crafted file of ``tests/safetensors_corpus.py`` goes through
minigrad's reader and the ``safetensors`` package. Both must accept or both refuse
(except the divergences the corpus states, where minigrad refuses what the package
accepts), and accepted files must give the same arrays, bit for bit."""

from __future__ import annotations

import collections
import time
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
from safetensors_corpus import DIVERGENCES, corpus

import minigrad
from minigrad.serialization import SafetensorsError, load_file

CASES = corpus()


def _package(path: Path) -> dict[str, np.ndarray] | None:
    try:
        return safetensors.numpy.load_file(str(path))
    except Exception:  # noqa: BLE001 - any refusal counts (some are bare NumPy errors)
        return None


def _ours(path: Path) -> dict[str, np.ndarray] | None:
    try:
        arrays, _ = load_file(path)
    except SafetensorsError:
        return None  # any other exception type fails the test
    return arrays


def test_corpus_differential(tmp_path: Path) -> None:
    start = time.perf_counter()
    tally: collections.Counter[str] = collections.Counter()
    disagreements = []
    for i, case in enumerate(CASES):
        path = tmp_path / f"{i}.safetensors"
        path.write_bytes(case.data)
        theirs, ours = _package(path), _ours(path)
        tally["accepted" if ours is not None else "refused"] += 1
        if case.divergence is not None:
            assert case.divergence in DIVERGENCES
            tally["divergent"] += 1
            if theirs is None or ours is not None:  # stated: package accepts, we refuse
                disagreements.append((case.name, "divergence not observed", theirs is None))
            continue
        if (theirs is None) != (ours is None):
            disagreements.append(
                (case.name, "package", "refused" if theirs is None else "accepted")
            )
            continue
        if ours is not None:
            assert ours.keys() == theirs.keys(), case.name
            for key, a in ours.items():
                b = theirs[key]
                assert (a.dtype, a.shape) == (b.dtype, b.shape), (case.name, key)
                assert a.dtype.isnative and a.tobytes() == b.tobytes(), (case.name, key)
    assert not disagreements, disagreements
    print(f"\n{len(CASES)} crafted files: {dict(tally)} in {time.perf_counter() - start:.2f}s")
    assert len(CASES) >= 400
    assert tally["accepted"] >= 100 and tally["refused"] >= 200  # both sides well covered


@pytest.mark.parametrize("kind", sorted({c.name.split("/")[0] for c in CASES}))
def test_minigrad_load_gives_one_error_type(tmp_path: Path, kind: str) -> None:
    """Through the public ``minigrad.load`` too: a refusal is always SafetensorsError
    (a ValueError) naming the file, never another exception."""
    for i, case in enumerate(c for c in CASES if c.name.split("/")[0] == kind):
        path = tmp_path / f"{kind.replace('-', '_')}{i}.safetensors"
        path.write_bytes(case.data)
        try:
            minigrad.load(path)
        except SafetensorsError as e:
            assert isinstance(e, ValueError) and path.name in str(e), case.name
