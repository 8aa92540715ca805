"""minigrad: a from-scratch, NumPy-based, define-by-run autograd engine.

Names mirror PyTorch's: ``minigrad.tensor``, ``Tensor.backward``,
``minigrad.nn.functional.cross_entropy``, ``minigrad.optim.Adam``, ...
"""

from typing import Any

from minigrad import (
    _methods,  # noqa: F401  (attaches the ops to Tensor)
    autograd,
    ops,
)
from minigrad.autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from minigrad.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from minigrad.device import device
from minigrad.dtypes import (
    bool_,
    double,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int32,
    int64,
    long,
    set_default_dtype,
)
from minigrad.ops import *  # noqa: F403  (minigrad.exp, minigrad.matmul, ...)
from minigrad.random import manual_seed, seed
from minigrad.tensor import Tensor

# Subpackages after the core, as ``torch.nn`` / ``torch.optim``: they build on it.
from minigrad import cuda, func, linalg, nn, optim, utils  # noqa: E402  isort: skip
from minigrad import interop  # noqa: E402, F401  isort: skip  (NumPy functions on Tensors)
from minigrad.serialization import load, save  # noqa: E402  isort: skip
from minigrad.fast import is_reference_mode, set_reference_mode  # noqa: E402  isort: skip
from minigrad.compile import compile  # noqa: E402, A004  isort: skip
from minigrad.func import vmap  # noqa: E402  isort: skip  (torch.vmap)

set_reference_mode(is_reference_mode())  # install the fast engine unless MINIGRAD_REFERENCE=1

bool = bool_  # noqa: A001  (minigrad.bool, as torch.bool)
float = float32  # noqa: A001
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``minigrad.viz`` on first use: the graph pictures are imported only when asked for."""
    if name == "viz":
        import importlib

        return importlib.import_module("minigrad.viz")
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
