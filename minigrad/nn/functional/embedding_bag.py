"""``embedding_bag``: the sum, mean or max of each bag of embedding rows, without
materialising a padded batch.

Bag b holds the indices input[offsets[b] : offsets[b+1]] (or row b of a 2-D input), less
any equal to ``padding_idx``; with rows e_i = W[input[i]] (times per_sample_weights[i] in
sum mode):

    sum:  y_b = Σ_{i ∈ b} e_i          mean: y_b = (1/|b|) Σ_{i ∈ b} e_i
    max:  y_b = max_{i ∈ b} e_i  (elementwise; the gradient goes to the first maximum)

An empty bag gives zeros. Sum and mean are one product with the (B, n) bag-membership
matrix A (A[b, i] = 1, or 1/|b| for mean, when i ∈ b), so dW gathers Aᵀ·dy back to the
rows; max is a per-bag ``max`` over the gathered rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import ops
from minigrad.nn.functional.misc import embedding
from minigrad.ops.helpers import as_tensor, constant
from minigrad.tensor import Tensor

__all__ = ["embedding_bag"]


def _bags(idx: Tensor, offsets: Any, include_last_offset: bool) -> tuple[np.ndarray, np.ndarray]:
    """The flat indices and the bag boundaries [start_b, end_b)."""
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated "
                "is a mini-batch of fixed length sequences. However, found offsets "
                f"of type {type(offsets).__name__}"
            )
        b, n = idx.shape
        return idx.data.reshape(-1), np.arange(0, b * n + 1, n) if n else np.zeros(b + 1, int)
    if idx.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {idx.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    off = as_tensor(offsets)
    if off.ndim != 1:
        raise ValueError(f"offsets has to be a 1D Tensor, but got Tensor of dimension {off.ndim}")
    if off.dtype.kind not in "iu":
        raise RuntimeError(f"embedding_bag: offsets must be integers, got dtype {off.dtype}")
    o, n = off.data.astype(np.int64), idx.shape[0]
    if len(o) and o[0] != 0:
        raise RuntimeError(
            "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
            f"from position 0. However, got {o[0]}"
        )
    if np.any(np.diff(o) < 0) or (len(o) and o[-1] > n):
        raise RuntimeError(
            f"embedding_bag: offsets {o.tolist()} must be non-decreasing and at most the "
            f"number of indices ({n})"
        )
    bounds = o if include_last_offset else np.append(o, n)
    return idx.data.reshape(-1), bounds


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """(B, embedding_dim): each bag's sum, mean or max of rows of ``weight``."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, but got {mode!r}")
    if scale_grad_by_freq and mode == "max":
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding_bag: scale_grad_by_freq and sparse are not supported")
    idx = as_tensor(input)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"embedding_bag: expected integer indices, got dtype {idx.dtype}")
    flat, bounds = _bags(idx, offsets, include_last_offset)
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                f"supported for mode='sum' (got mode='{mode}')"
            )
        psw = as_tensor(per_sample_weights)
        if psw.shape != idx.shape:
            raise ValueError(
                f"embedding_bag: per_sample_weights of shape {psw.shape} must have the shape of "
                f"input {idx.shape}"
            )
    n_rows = weight.shape[0]
    if padding_idx is not None:
        if not -n_rows <= padding_idx < n_rows:
            raise ValueError(f"padding_idx must be within num_embeddings, got {padding_idx}")
        padding_idx %= n_rows
    rows = embedding(as_tensor(flat), weight, max_norm=max_norm, norm_type=norm_type)
    keep = np.ones(len(flat), bool) if padding_idx is None else flat != padding_idx
    n_bags = len(bounds) - 1
    if mode == "max":
        out = []
        zero = ops.sum(rows[:0], 0)  # an empty bag: zeros, still in the graph (as PyTorch)
        for b in range(n_bags):
            members = np.nonzero(keep[bounds[b] : bounds[b + 1]])[0] + bounds[b]
            if len(members) == 0:
                out.append(zero)
                continue
            out.append(ops.max(ops.index_select(rows, 0, as_tensor(members)), 0)[0])
        return ops.stack(out, 0) if out else ops.reshape(rows[:0], (0, weight.shape[1]))
    if per_sample_weights is not None:
        rows = rows * ops.reshape(psw, (-1, 1))
    member = np.zeros((n_bags, len(flat)))
    for b in range(n_bags):
        member[b, bounds[b] : bounds[b + 1]] = keep[bounds[b] : bounds[b + 1]]
    if mode == "mean":
        member /= np.maximum(member.sum(1, keepdims=True), 1)
    return ops.matmul(constant(member, weight.dtype), rows)
