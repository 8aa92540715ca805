"""Every registry op under ``minigrad.func.vmap`` against ``torch.func.vmap`` (float64).

For each entry of ``tests/op_registry.py`` a sample's float arrays are batched: three
examples of the same shape (the sample, and two permutations of its values, so every
example stays in the op's domain), stacked along dim 0 (in_dims 0) while the other
arguments (indices, masks, Python values) are shared (in_dims None). Then:

- the outputs of ``vmap(op)`` equal ``torch.func.vmap(torch_op)``'s (rtol 1e-7);
- where torch's vmap cannot batch the op (a data-dependent output shape, an op it has
  no batching rule for and refuses), minigrad's vmap either equals the per-example
  loop of the op or refuses with an error that names vmap;
- where torch's vmap gives what its own per-example loop does not (``TORCH_DIFFERS``),
  minigrad's vmap equals PyTorch's per-example loop;
- only the named ``LOOPED`` entries may run (some of their calls) through the
  per-example loop instead of a batching rule, each with its reason, so a lost rule
  shows.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import Phase, given, settings
from op_registry import REGISTRY, OpInfo, Sample
from test_ops import _build, _convert, _flatten, _np

import minigrad as mg
from minigrad.batching import STATS
from minigrad.func import vmap

FEW = 2  # examples per entry
B = 3  # batch size
RTOL, ATOL = 1e-7, 1e-10

# Entries whose call may run (some op of) the per-example loop, and why.
_ZERO_D = "0-d examples: PyTorch's conventions for dims of scalars, left to the loop"
_WEIGHTS = (
    "batched weights (per-example parameters); the rule covers batched inputs with "
    "shared weights (mode 'first')"
)
_DATA = "data-dependent output shape: torch.func.vmap refuses; the loop stacks equal shapes"
_PY = "returns a Python bool (a value read); the loop gives it when all examples agree"
_NONE = "no batching rule yet"
LOOPED: dict[str, str] = {
    **dict.fromkeys(["flatten", "transpose", "swapaxes", "flip", "roll"], _ZERO_D),
    "masked_fill.tensor_value": "a batched fill value: the op takes one value",
    "nn.functional.one_hot": "num_classes=-1 would take the class count from the whole batch",
    **dict.fromkeys(["allclose", "equal"], _PY),
    **dict.fromkeys(["nonzero", "unique", "bincount", "masked_select", "histc"], _DATA),
    "masked_scatter": "how many source values each example takes depends on its mask",
    "norm": "p='fro' / 'nuc' over an example of 3 or more dims: left to the loop",
    "getitem": "boolean-mask indexes combined with None / int indexes: left to the loop",
    "einsum.sublist": "the einsum rule rewrites subscript strings, not the sublist form",
    **dict.fromkeys(
        ["linalg.lstsq", "linalg.lstsq.all_fields"],
        "a vector right-hand side (B, m) would read as a matrix once batched",
    ),
    **dict.fromkeys(
        ["embedding", "nn.functional.embedding"],
        "per-example tables with a padding_idx (its row's zero gradient is per table)",
    ),
    **dict.fromkeys(
        ["nn.functional.cross_entropy", "nn.functional.nll_loss"],
        "class weights in a mean (a weighted mean per example), or batched weights",
    ),
    **dict.fromkeys(
        [
            *(
                f"nn.functional.{n}"
                for n in (
                    "conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d"
                ).split()
            ),
        ],
        _WEIGHTS,
    ),
    **dict.fromkeys(
        [
            *(
                f"nn.functional.{n}"
                for n in (
                    "bilinear group_norm instance_norm batch_norm unfold fold "
                    "embedding_bag "
                    "interpolate.nearest interpolate.nearest_exact interpolate.linear "
                    "interpolate.bilinear interpolate.trilinear"
                ).split()
            ),
            *"diag kron cross tensordot quantile cdist take_along_dim".split(),
            *"linalg.solve linalg.vector_norm linalg.norm linalg.norm.singular_values".split(),
            *"pdist scatter_reduce scatter_reduce.prod scatter_reduce.prod_zeros".split(),
        ],
        _NONE,
    ),
}


# Entries where torch.func.vmap's result is not the stack of torch's per-example results.
TORCH_DIFFERS = {
    "linalg.lstsq": "a vector right-hand side: torch's vmap reads the batched (B, m) as a matrix",
    "linalg.lstsq.all_fields": "as linalg.lstsq",
}


def _batch(a: np.ndarray, seed: int) -> np.ndarray:
    """Three examples of a's shape: a and two permutations of its values."""
    rng = np.random.default_rng(seed)
    flat = a.reshape(-1)
    return np.stack([a] + [flat[rng.permutation(flat.size)].reshape(a.shape) for _ in range(B - 1)])


def _outs(out: object) -> list:
    return [o for o in _flatten(out)]


@pytest.mark.parametrize("mode", ["all", "first"])
@pytest.mark.parametrize("entry", REGISTRY, ids=lambda e: e.id)
def test_vmap_matches_torch_func_vmap(entry: OpInfo, mode: str) -> None:
    """mode "all": every float argument batched; "first": only the first one (the
    others, weights included, shared by the examples)."""

    @settings(max_examples=FEW, deadline=None, phases=(Phase.generate,))  # no shrinking
    @given(sample=entry.sample(True))
    def check(sample: Sample) -> None:
        mg_args, th_args, mg_in, _ = _build(sample, "float64", False)
        slots = [i for i, a in enumerate(mg_args) if any(a is x for x in mg_in)]
        if not slots:
            slots = [i for i, a in enumerate(mg_args) if isinstance(a, mg.Tensor) and a.ndim]
        if not slots:
            return  # nothing to batch (a factory of Python values)
        slots = slots[:1] if mode == "first" else slots
        stacks = [_batch(np.asarray(mg_args[i].data), 7 + i) for i in slots]
        kw_mg, kw_th = _convert(sample.kwargs, "mg"), _convert(sample.kwargs, "torch")

        def fn(call, args, kw):
            def f(*xs):
                full = list(args)
                for i, x in zip(slots, xs):
                    full[i] = x
                return call(*full, **kw)

            return f

        mg_f = fn(entry.mg_fn, mg_args, kw_mg)
        th_f = fn(entry.torch_fn, th_args, kw_th)
        STATS["loop"].clear()
        try:
            ours = vmap(mg_f)(*[mg.tensor(s) for s in stacks])
            ours_err = None
        except Exception as e:  # compared with torch's behaviour below
            ours, ours_err = None, e
        looped = sorted(STATS["loop"])
        try:
            theirs = torch.func.vmap(th_f)(*[torch.from_numpy(s.copy()) for s in stacks])
            th_err = None
        except Exception as e:
            theirs, th_err = None, e
        if th_err is None and entry.id in TORCH_DIFFERS:
            assert ours_err is None, f"{entry.id}: minigrad raised {ours_err!r}"
            per = [th_f(*[torch.from_numpy(s[b].copy()) for s in stacks]) for b in range(B)]
            expected = [
                np.stack([_np(p[k]) for p in map(_outs, per)]) for k in range(len(_outs(per[0])))
            ]
            _compare(entry, _outs(ours), expected)
        elif th_err is None:
            assert ours_err is None, f"{entry.id}: torch batches it, minigrad raised {ours_err!r}"
            _compare(entry, _outs(ours), _outs(theirs))
        elif ours_err is not None:
            assert "vmap" in str(ours_err), f"{entry.id}: unclear refusal {ours_err!r}"
        else:  # torch cannot batch it: minigrad's result is the per-example loop's
            per = [mg_f(*[mg.tensor(s[b]) for s in stacks]) for b in range(B)]
            expected = [
                np.stack([_np(p[k]) for p in map(_outs, per)]) for k in range(len(_outs(per[0])))
            ]
            _compare(entry, _outs(ours), expected)
        assert not looped or entry.id in LOOPED, (
            f"{entry.id}: ran the per-example loop for {looped} (no batching rule)"
        )

    check()


def _compare(entry: OpInfo, ours: list, theirs: list) -> None:
    assert len(ours) == len(theirs), f"{entry.id}: {len(ours)} outputs, torch {len(theirs)}"
    for k, (a, b) in enumerate(zip(ours, theirs)):
        a, b = _np(a), _np(b)
        assert a.shape == b.shape, f"{entry.id} output {k}: shape {a.shape}, torch {b.shape}"
        np.testing.assert_allclose(
            a, b, RTOL, ATOL, equal_nan=True, err_msg=f"{entry.id} output {k}"
        )


def test_every_looped_entry_exists() -> None:
    ids = {e.id for e in REGISTRY}
    assert set(LOOPED) <= ids, sorted(set(LOOPED) - ids)
