"""The fast engine: declared optimisations of the reference core.

minigrad's results are defined by the reference path: the core
(``minigrad/core/``) with PyTorch's API and checks (``minigrad/tensor.py``,
``minigrad/autograd/``). The optimisations below change how fast a result comes, not
what it is; each lives in its own module, which explains it:

- ``array_mode.py``   -- backward formulas run on bare arrays when nothing is recorded;
- ``ownership.py``    -- a gradient array nobody else holds becomes ``.grad`` uncopied;
- ``version_clock.py``-- the in-place check costs one comparison when nothing was written;
- ``pieces.py``       -- long elementwise kernels (Adam, erf) run piece by piece in cache;
- ``scalar_ops.py``   -- ``x * 2.0`` and friends without a constant tensor or second edge;
- ``strided.py``      -- broadcast views built directly;
- fused kernels       -- softmax, layer norm, attention, cross-entropy, conv, pooling,
  ... are single Functions whose docstrings derive their backward, each beside the
  few-line composition of primitives that defines it (the reference path uses that).

``MINIGRAD_REFERENCE=1`` in the environment, or ``minigrad.set_reference_mode(True)``,
turns every one of them off, so any result can be reproduced on the reference path.
"""

from __future__ import annotations

import os

OPTIMISATIONS = (
    "array_mode",
    "ownership",
    "version_clock",
    "pieces",
    "scalar_ops",
    "strided",
    "fused",
)
_reference = os.environ.get("MINIGRAD_REFERENCE", "0").lower() not in ("", "0", "false", "no")
_on: dict[str, bool] = {name: not _reference for name in OPTIMISATIONS}


def enabled(name: str = "fused") -> bool:
    """True when optimisation ``name`` is on (all are, unless in reference mode)."""
    return _on[name]


def is_reference_mode() -> bool:
    """True when every optimisation of ``minigrad.fast`` is off."""
    return not any(_on.values())


def set_reference_mode(on: bool = True) -> None:
    """Run on the reference path (``on=True``) or the fast engine (``on=False``)."""
    for name in OPTIMISATIONS:
        _on[name] = not on
    _install()


def set_enabled(name: str, on: bool) -> None:
    """Switch one optimisation (to measure what it gains: ``python -m benchmarks.fast``)."""
    if name not in _on:
        raise ValueError(f"unknown optimisation {name!r}; one of {', '.join(OPTIMISATIONS)}")
    _on[name] = bool(on)
    _install()


def _install() -> None:
    from minigrad.autograd import engine
    from minigrad.autograd import function as parity
    from minigrad.core.autograd import Function
    from minigrad.core.broadcast import BroadcastTo
    from minigrad.fast import array_mode, strided
    from minigrad.fast.ownership import OwnershipTask

    mixins = [array_mode.ArrayModeTask] if _on["array_mode"] else []
    mixins += [OwnershipTask] if _on["ownership"] else []
    task = type("FastGraphTask", (*mixins, engine.GraphTask), {}) if mixins else engine.GraphTask
    fast_apply = _on["array_mode"] or _on["version_clock"]
    _CORE.setdefault("broadcast", BroadcastTo.__dict__["forward"])
    Function.apply = classmethod(array_mode.apply if fast_apply else parity.apply)
    Function.saved_tensors = property(
        array_mode.saved_tensors if fast_apply else parity.saved_tensors
    )
    BroadcastTo.forward = (
        staticmethod(strided.broadcast_forward) if _on["strided"] else _CORE["broadcast"]
    )
    engine._TASK[0] = task
    array_mode._clock[0] = _on["version_clock"]


_CORE: dict[str, object] = {}  # the core's own members that an optimisation replaces
