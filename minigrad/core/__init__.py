"""minigrad's reference core: the whole of reverse-mode autodiff, complete and slow.

Read it in this order; each file opens with the idea it implements:

1. ``grad_mode.py``  -- whether operations are being recorded;
2. ``autograd.py``   -- the Tensor, the Function node, and the backward pass;
3. ``broadcast.py``  -- broadcasting and its adjoint, ``sum_to``;
4. ``primitives.py`` -- about twenty operations, each forward beside its derivative.

The core imports only NumPy and itself. Everything a user calls (``minigrad.*``) is
built on it: the same Tensor and Function classes, with PyTorch's API and checks
added (``minigrad/tensor.py``, ``minigrad/autograd/``) and, unless the process runs in
reference mode (``MINIGRAD_REFERENCE=1``), declared optimisations (``minigrad/fast/``).
"""

from .autograd import Function, GraphTask, Tensor  # noqa: I001
from .broadcast import broadcast_to, sum_to
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .primitives import (
    add, amax, cast, div, exp, getitem, index_add, log, matmul, mul, neg, permute, pow,
    reshape, sub, sum, tanh, where,
)  # fmt: skip
