"""Utilities: ``minigrad.utils.data`` (datasets and data loaders)."""

from minigrad.utils import data

__all__ = ["data"]
