"""Variable-length batches for the recurrent layers: PyTorch's packed sequences.

A batch of B sequences of lengths l₁ ≥ l₂ ≥ ... ≥ l_B (after sorting) is *packed* into
the rows of its time steps one after another:

    data = [x₁[0], x₂[0], ..., x_B[0],  x₁[1], ..., ]   (only the sequences still running)
    batch_sizes[t] = #{b : l_b > t}

so a recurrent layer at step t works on the first ``batch_sizes[t]`` rows and never sees
padding. ``sorted_indices`` maps packed (sorted) order to the caller's batch order and
``unsorted_indices`` back (None when the batch came sorted, ``enforce_sorted=True``).

Packing and unpacking are row gathers (``index_select``), so gradients flow through them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from minigrad import ops
from minigrad.creation import full
from minigrad.ops.helpers import as_tensor
from minigrad.tensor import Tensor

__all__ = [
    "PackedSequence",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
]


def _long(a: Any) -> Tensor:
    return as_tensor(np.asarray(a, dtype=np.int64))


class PackedSequence(NamedTuple):
    """(data, batch_sizes, sorted_indices, unsorted_indices), as ``torch.nn.utils.rnn``'s:
    ``data`` (Σ batch_sizes, *), ``batch_sizes`` an int64 tensor of one count per step."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def _replace_data(self, data: Tensor) -> PackedSequence:
        return PackedSequence(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)


def _lengths_array(lengths: Any) -> np.ndarray:
    arr = lengths.data if isinstance(lengths, Tensor) else np.asarray(lengths)
    arr = np.asarray(arr).reshape(-1)
    if arr.size and arr.dtype.kind not in "iu":
        if not np.all(arr == np.round(arr)):
            raise RuntimeError(f"pack_padded_sequence: lengths must be integers, got {arr}")
    return arr.astype(np.int64)


def pack_padded_sequence(
    input: Tensor, lengths: Any, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) whose b-th
    sequence has ``lengths[b]`` valid steps. With ``enforce_sorted`` the lengths must be
    decreasing; otherwise the batch is sorted (stably) by decreasing length first."""
    x = as_tensor(input)
    lens = _lengths_array(lengths)
    bdim = 0 if batch_first else 1
    if x.ndim < 2 or len(lens) != x.shape[bdim]:
        raise ValueError(
            f"pack_padded_sequence: expected {x.shape[bdim] if x.ndim >= 2 else '?'} lengths "
            f"(one per sequence of the input of shape {x.shape}), got {len(lens)}"
        )
    if len(lens) and lens.min() <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in "
            f"'lengths' that is <= 0 (lengths {lens.tolist()})"
        )
    if len(lens) and lens.max() > x.shape[1 - bdim]:
        raise RuntimeError(
            f"pack_padded_sequence: a length of {lens.max()} exceeds the input's "
            f"{x.shape[1 - bdim]} time steps"
        )
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
        order, sorted_idx, unsorted_idx = np.arange(len(lens)), None, None
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_idx, unsorted_idx = _long(order), _long(np.argsort(order))
    sorted_lens = lens[order]
    steps = int(sorted_lens[0])
    batch_sizes = np.array([(sorted_lens > t).sum() for t in range(steps)], dtype=np.int64)
    # Row (t, b) of the time-major batch is flat row t·B + b.
    b_total = len(lens)
    rows = np.concatenate([t * b_total + order[: batch_sizes[t]] for t in range(steps)])
    tm = ops.transpose(x, 0, 1) if batch_first else x
    flat = ops.reshape(tm, (tm.shape[0] * b_total, *tm.shape[2:]))
    data = ops.index_select(flat, 0, _long(rows))
    return PackedSequence(data, _long(batch_sizes), sorted_idx, unsorted_idx)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """The inverse of :func:`pack_padded_sequence`: (padded (T, B, *) or (B, T, *),
    lengths (B,) int64), in the caller's original batch order. ``total_length`` pads to
    that many steps (at least the longest sequence)."""
    data, bs = sequence.data, sequence.batch_sizes.data.astype(np.int64)
    steps, b_total = len(bs), int(bs[0])
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence "
                f"in input, but got total_length={total_length} and max sequence length "
                f"being {steps}"
            )
        steps = total_length
    # Each (t, b) of the padded batch reads its packed row, or the padding row at the end.
    index = np.full((steps, b_total), data.shape[0], dtype=np.int64)
    start = 0
    for t, n in enumerate(bs):
        index[t, :n] = np.arange(start, start + n)
        start += n
    unsorted = sequence.unsorted_indices
    if unsorted is not None:
        index = index[:, unsorted.data]
    pad_row = full((1, *data.shape[1:]), padding_value, dtype=data.dtype)
    rows = ops.index_select(ops.cat([data, pad_row], 0), 0, _long(index.reshape(-1)))
    out = ops.reshape(rows, (steps, b_total, *data.shape[1:]))
    lengths = (bs[None, :] > np.arange(b_total)[:, None]).sum(1)
    if unsorted is not None:
        lengths = lengths[unsorted.data]
    return (ops.transpose(out, 0, 1) if batch_first else out), _long(lengths)


def pad_sequence(
    sequences: Sequence[Tensor] | Tensor,
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack tensors of shapes (L_i, *) into (max L, B, *) (or (B, max L, *)), padding
    each with ``padding_value`` on ``padding_side`` ('right' or 'left')."""
    if padding_side not in ("left", "right"):
        raise ValueError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    seqs = [as_tensor(s) for s in sequences]
    if not seqs:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        extra = longest - s.shape[0]
        spec = [0, 0] * (s.ndim - 1) + ([0, extra] if padding_side == "right" else [extra, 0])
        padded.append(ops.pad(s, spec, value=padding_value) if extra else s)
    return ops.stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) tensors (``pad_sequence`` then ``pack_padded_sequence``)."""
    lengths = [as_tensor(s).shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
