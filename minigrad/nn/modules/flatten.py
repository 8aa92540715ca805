"""Flatten and Unflatten: reshape a range of dims into one, and back."""

from __future__ import annotations

from typing import Any

from minigrad import ops
from minigrad.nn.modules.module import Module
from minigrad.tensor import Tensor, _normalize_dim


class Flatten(Module):
    """Merge dims ``start_dim``..``end_dim`` into one (default: all but the batch dim)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return ops.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (which may contain one -1)."""

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        d = _normalize_dim(self.dim, input.ndim, "Unflatten")
        sizes = list(self.unflattened_size)
        if sizes.count(-1) == 1:
            known = 1
            for s in sizes:
                known *= s if s != -1 else 1
            sizes[sizes.index(-1)] = input.shape[d] // known if known else 0
        total = 1
        for s in sizes:
            total *= s
        if total != input.shape[d]:
            raise RuntimeError(
                f"unflatten: provided sizes {self.unflattened_size} don't multiply up to the "
                f"size of dim {self.dim} ({input.shape[d]}) in the input tensor {input.shape}"
            )
        return ops.reshape(input, input.shape[:d] + tuple(sizes) + input.shape[d + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
