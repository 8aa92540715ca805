"""Batching rules for ``minigrad.func.vmap``: the batched value (``batched.py``), the
dispatch of op calls to rules and the per-example loop for ops without one
(``dispatch.py``), the rules (``rules.py``, ``shape_rules.py``), and the transforms
of ``minigrad.func`` lifted to batched arguments (``transforms.py``)."""

from minigrad.batching import rules  # noqa: F401  (registers the rules)
from minigrad.batching.batched import BatchedTensor
from minigrad.batching.dispatch import LEVELS, RULES, STATS, patched, without_rules

__all__ = ["LEVELS", "RULES", "STATS", "BatchedTensor", "patched", "without_rules"]
