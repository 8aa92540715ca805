"""One interface over the frameworks being compared, so each workload is written once.

minigrad mirrors PyTorch's API (``nn.Linear``, ``optim.Adam``, ``Tensor.backward``...),
so a workload builds its model from ``backend.nn`` / ``backend.optim`` and runs the
very same Python code on either library. The differences left are collected here:
making a tensor from a NumPy array, seeding, synchronising a device, bf16 autocast and
``torch.compile``.

A backend is named by its *row key*:

=================  ===================================================
``minigrad``       minigrad (NumPy) on the CPU
``numpy``          plain NumPy, no autograd (the hand-written floor, the GEMM ceiling)
``torch-cpu``      PyTorch eager on the CPU, float32
``mygrad``         MyGrad (NumPy autograd) on the CPU: a peer
``dezero``         DeZero (NumPy autograd) on the CPU: a peer
``autograd``       HIPS autograd (functional NumPy autograd) on the CPU: a peer
``cuda-fp32``      PyTorch eager on CUDA, float32, TF32 off (matmuls *and* cuDNN convs)
``cuda-bf16``      PyTorch eager on CUDA under ``torch.autocast(dtype=torch.bfloat16)``
``cuda-compile``   ``torch.compile``-d model on CUDA, under bf16 autocast
=================  ===================================================

The peers have APIs of their own, so their steps are written in
:mod:`benchmarks.peers`, with the same data and initial weights as the NumPy floor.
A peer that is not installed gives rows that say so (``pip install -e '.[bench]'``).

On CUDA, PyTorch's optimizers default to their multi-tensor (``foreach``)
implementation; the CUDA rows keep that default (the fast, usual PyTorch), so there
PyTorch's optimizer does not run the element-by-element operations minigrad
reproduces (minigrad and the CPU rows use the single-tensor ``foreach=False`` path,
PyTorch's CPU default).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np

PEER_KEYS = ("mygrad", "dezero", "autograd")
CPU_KEYS = ("minigrad", "minigrad-compiled", "numpy", "torch-cpu", *PEER_KEYS)
CUDA_KEYS = ("cuda-fp32", "cuda-bf16", "cuda-compile")
# The peers' PyPI names and the versions the suite pins (the ``bench`` extra).
PEER_PINS = {"mygrad": "mygrad==2.5.0", "dezero": "dezero==0.0.13", "autograd": "autograd==1.9.1"}
LABELS = {
    "minigrad": "minigrad (NumPy, CPU)",
    "minigrad-compiled": "minigrad.compile (NumPy, CPU)",
    "numpy": "NumPy by hand (CPU)",
    "torch-cpu": "PyTorch eager CPU",
    "mygrad": "MyGrad (CPU)",
    "dezero": "DeZero (CPU)",
    "autograd": "HIPS autograd (CPU)",
    "cuda-fp32": "PyTorch CUDA fp32",
    "cuda-bf16": "PyTorch CUDA bf16 autocast",
    "cuda-compile": "PyTorch CUDA torch.compile+bf16",
}


class Backend:
    """The framework a job runs on. ``lib`` is the module (``minigrad`` or ``torch``)."""

    def __init__(self, key: str) -> None:
        if key not in LABELS:
            raise ValueError(f"unknown backend {key!r}; known: {sorted(LABELS)}")
        self.key = key
        self.label = LABELS[key]
        self.is_torch = key == "torch-cpu" or key in CUDA_KEYS
        self.is_peer = key in PEER_KEYS
        self.device = "cuda" if key.startswith("cuda") else "cpu"
        self.missing: str | None = None  # why a peer cannot run
        if self.is_peer:
            self.lib = _import_peer(key)
            if self.lib is None:
                self.missing = f"skipped ({key} not installed: pip install {PEER_PINS[key]})"
        elif key in ("minigrad", "minigrad-compiled"):
            import minigrad
            import minigrad.nn
            import minigrad.optim

            self.lib: Any = minigrad
        elif self.is_torch:
            import torch

            self.lib = torch
        else:
            self.lib = None

    def prepare(self) -> str:
        """Set the process-wide precision flags for a job of this backend (the CUDA
        worker runs every CUDA row in one process); returns what they are."""
        if self.device != "cuda":
            return ""
        fp32 = self.key == "cuda-fp32"
        # PyTorch's defaults: matmul TF32 off, cuDNN TF32 *on*; the fp32 row turns both off.
        self.lib.backends.cuda.matmul.allow_tf32 = False
        self.lib.backends.cudnn.allow_tf32 = not fp32
        if fp32:
            return "float32, TF32 off (matmul and cuDNN)"
        return "bf16 autocast"

    # ------------------------------------------------------------ namespaces
    @property
    def nn(self) -> Any:
        return self.lib.nn

    @property
    def optim(self) -> Any:
        return self.lib.optim

    # ------------------------------------------------------------ data and state
    def seed(self, n: int) -> None:
        np.random.seed(n)
        if self.lib is not None and not self.is_peer:
            self.lib.manual_seed(n)

    def tensor(self, arr: np.ndarray, requires_grad: bool = False) -> Any:
        """``arr`` as this framework's tensor, on its device (a copy, owned by the tensor)."""
        arr = np.ascontiguousarray(arr).copy()
        if self.lib is None:
            return arr
        if self.is_torch:
            return self.lib.from_numpy(arr).to(self.device).requires_grad_(requires_grad)
        t = self.lib.from_numpy(arr)
        t.requires_grad = requires_grad
        return t

    def to_device(self, module: Any) -> Any:
        return module.to(self.device) if self.is_torch else module

    def sync(self) -> None:
        """Wait for queued device work (CUDA launches are asynchronous)."""
        if self.device == "cuda":
            self.lib.cuda.synchronize()

    def no_grad(self) -> contextlib.AbstractContextManager[Any]:
        return self.lib.no_grad() if self.lib is not None else contextlib.nullcontext()

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """bf16 autocast for the ``*-bf16`` and ``*-compile`` rows, else nothing."""
        if self.key in ("cuda-bf16", "cuda-compile"):
            return self.lib.autocast(device_type=self.device, dtype=self.lib.bfloat16)
        return contextlib.nullcontext()

    def compile(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``torch.compile(fn)`` for the compile row; everything else runs eagerly."""
        return self.lib.compile(fn) if self.key == "cuda-compile" else fn

    def compile_step(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        """``minigrad.compile`` of the whole step (forward, backward, optimizer) for the
        compiled row; the step itself everywhere else."""
        return self.lib.compile(fn) if self.key == "minigrad-compiled" else fn

    def gemm_dtype(self) -> Any:
        return self.lib.bfloat16 if self.key in ("cuda-bf16", "cuda-compile") else None


def uses_torch(keys: list[str]) -> bool:
    """Whether any of these backends is PyTorch (its worker imports torch)."""
    return any(k == "torch-cpu" or k in CUDA_KEYS for k in keys)


def _import_peer(key: str) -> Any:
    """The peer's module, or None when it is not installed."""
    try:
        if key == "mygrad":
            import mygrad

            return mygrad
        if key == "dezero":
            if not hasattr(np, "int"):
                # DeZero 0.0.13 predates NumPy 1.24 and uses the removed alias ``np.int``
                # (as a default argument, at import): restore it, nothing else.
                np.int = int  # type: ignore[attr-defined]
            import dezero

            return dezero
        import autograd

        return autograd
    except ImportError:
        return None


def train_step(
    backend: Backend, model: Any, loss_fn: Callable[..., Any], opt: Any, *inputs: Any
) -> Callable[[], None]:
    """The canonical training step, identical for every framework:
    ``zero_grad -> forward (+loss) -> backward -> optimizer step``.

    ``loss_fn(model, *inputs)`` returns the scalar loss; the forward runs under the
    backend's autocast (bf16 rows) and the model is ``torch.compile``-d on the compile
    row (backward and the optimizer stay eager, as in ordinary use)."""
    fwd = backend.compile(model)

    def step() -> None:
        opt.zero_grad()
        with backend.autocast():
            loss = loss_fn(fwd, *inputs)
        loss.backward()
        opt.step()

    return backend.compile_step(step)


def inference_step(
    backend: Backend, model: Any, fn: Callable[..., Any], *inputs: Any
) -> Callable[[], None]:
    """A no-grad forward: ``fn(model, *inputs)`` under ``no_grad`` and autocast."""
    fwd = backend.compile(model)

    def step() -> None:
        with backend.no_grad(), backend.autocast():
            fn(fwd, *inputs)

    return step
