"""Utilities: ``minigrad.utils.data`` (datasets and data loaders) and
``minigrad.utils.checkpoint`` (activation checkpointing)."""

from minigrad.utils import checkpoint, data

__all__ = ["checkpoint", "data"]
