"""``Parameter``: a Tensor that a :class:`~minigrad.nn.Module` registers as learnable.

Assigning a Parameter as a module attribute (``self.weight = Parameter(...)``) adds it
to the module's ``parameters()`` and ``state_dict()``; a plain Tensor attribute is not.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import dtypes
from minigrad.tensor import Tensor, _to_array


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default.

    ``Parameter(t)`` shares ``t``'s array (no copy), as PyTorch's does.
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            arr = np.empty((0,), dtype=dtypes.get_default_dtype())
        elif isinstance(data, Tensor):
            arr = data.data
        else:
            arr = _to_array(data)
        self.data = arr
        self.grad = None
        self.grad_fn = None
        self._hooks = None
        self._fw = None  # no tangent (forward mode)
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True  # validates the dtype (floating point only)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
