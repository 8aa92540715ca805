"""Differential test: every crafted file of ``tests/safetensors_corpus.py`` goes through
minigrad's reader and the ``safetensors`` package (``load_file`` and ``safe_open``).
Both must accept or both refuse (except the divergences the corpus states, where
minigrad refuses what the package accepts, with the stated reason), and accepted files
must give the same names, dtypes, shapes, bytes and metadata."""

from __future__ import annotations

import collections
import time
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
from safetensors_corpus import AGREED_LENIENCIES, AUTO, DIVERGENCE_MESSAGES, DIVERGENCES, corpus

import minigrad
from minigrad.serialization import SafetensorsError, read_file

CASES = corpus()


Read = tuple[dict[str, np.ndarray], dict[str, str]]


def _package(path: Path) -> Read | None:
    try:
        arrays = safetensors.numpy.load_file(str(path))
        with safetensors.safe_open(str(path), framework="np") as f:
            metadata = f.metadata() or {}
    except Exception:  # noqa: BLE001 - any refusal counts (some are bare NumPy errors)
        return None
    return arrays, metadata


def _ours(path: Path) -> Read | None:
    try:
        return read_file(path)
    except SafetensorsError:
        return None  # any other exception type fails the test


def _refusal(path: Path) -> str:
    try:
        read_file(path)
    except SafetensorsError as e:
        return str(e)
    return ""


def test_corpus_differential(tmp_path: Path) -> None:
    assert DIVERGENCE_MESSAGES.keys() == DIVERGENCES.keys()
    start = time.perf_counter()
    tally: collections.Counter[str] = collections.Counter()
    disagreements = []
    for i, case in enumerate(CASES):
        path = tmp_path / f"{i}.safetensors"
        path.write_bytes(case.data)
        theirs, ours = _package(path), _ours(path)
        tally["accepted" if ours is not None else "refused"] += 1
        if case.divergence == AUTO and theirs is not None and ours is None:
            message = _refusal(path)
            if any(m in message for m in DIVERGENCE_MESSAGES.values()):
                tally["divergent"] += 1  # a stated divergence, met by a random mutation
                continue
        if case.divergence not in (None, AUTO):
            tally["divergent"] += 1
            expected = DIVERGENCE_MESSAGES[case.divergence]  # stated: package accepts, we refuse
            if theirs is None or ours is not None or expected not in _refusal(path):
                disagreements.append((case.name, "divergence not as stated", theirs is None))
            continue
        if (theirs is None) != (ours is None):
            disagreements.append(
                (case.name, "package", "refused" if theirs is None else "accepted")
            )
            continue
        if ours is not None:
            (ours_arrays, ours_meta), (their_arrays, their_meta) = ours, theirs
            assert ours_meta == their_meta, case.name
            assert ours_arrays.keys() == their_arrays.keys(), case.name
            for key, a in ours_arrays.items():
                b = their_arrays[key]
                assert (a.dtype, a.shape) == (b.dtype, b.shape), (case.name, key)
                assert a.dtype.isnative and a.tobytes() == b.tobytes(), (case.name, key)
    assert not disagreements, disagreements
    print(f"\n{len(CASES)} crafted files: {dict(tally)} in {time.perf_counter() - start:.2f}s")
    assert len(CASES) >= 900
    assert tally["accepted"] >= 100 and tally["refused"] >= 200  # both sides well covered


@pytest.mark.parametrize("name", sorted(AGREED_LENIENCIES))
def test_stated_leniencies_are_accepted_by_both(tmp_path: Path, name: str) -> None:
    (case,) = [c for c in CASES if c.name == name]
    path = tmp_path / "x.safetensors"
    path.write_bytes(case.data)
    assert _package(path) is not None and _ours(path) is not None, AGREED_LENIENCIES[name]


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
