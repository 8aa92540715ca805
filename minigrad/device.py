"""Where minigrad computes: on the CPU, with NumPy, always.

PyTorch code names devices everywhere (``torch.zeros(3, device="cpu")``,
``x.to("cuda")``, ``x.device``); minigrad takes the same arguments so such code runs
unchanged on the CPU, and refuses any other device with one clear sentence instead of
computing somewhere the caller did not ask for.

It also refuses PyTorch tensors handed to its ops: their dtype and memory are not
minigrad's, and a silent conversion would drop their autograd history.
"""

from __future__ import annotations

import builtins
from typing import Any

# The device types ``torch.device`` knows (any of them may be named; only "cpu" computes).
DEVICE_TYPES = (
    "cpu",
    "cuda",
    "ipu",
    "xpu",
    "mkldnn",
    "opengl",
    "opencl",
    "ideep",
    "hip",
    "ve",
    "fpga",
    "maia",
    "xla",
    "lazy",
    "vulkan",
    "mps",
    "meta",
    "hpu",
    "mtia",
    "privateuseone",
)


class device:  # noqa: N801  (the name mirrors torch.device)
    """A device name, as ``torch.device``: ``device("cpu")``, ``device("cuda:1")``,
    ``device("cuda", 1)``. Every type PyTorch names can be described; only ``"cpu"``
    can hold minigrad tensors.

    ``type`` is the kind (``"cpu"``), ``index`` the ordinal or None; ``str()`` gives
    ``"cpu"`` / ``"cuda:1"``, ``repr()`` ``device(type='cpu')``. Two devices are equal
    when type and index are. Unlike ``torch.device``, a device also equals its string
    (``x.device == "cpu"`` is True), as minigrad's ``Tensor.device`` was a string before.
    """

    __slots__ = ("type", "index")

    def __init__(self, type: Any, index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): an index cannot be given with a device object")
            self.type, self.index = type.type, type.index
            return
        if builtins.type(type).__name__ == "device" and builtins.type(type).__module__ == "torch":
            type = str(type)  # a torch.device names a device as well
        if not isinstance(type, str):
            raise TypeError(
                f"device(): expected a device string such as 'cpu', got {type!r} "
                f"of type {builtins.type(type).__name__}"
            )
        if not type:
            raise RuntimeError("Device string must not be empty")
        name, sep, ordinal = type.partition(":")
        if name not in DEVICE_TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of device "
                f"string: {type}"
            )
        if sep:
            if not ordinal.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            if index is not None:
                raise RuntimeError(
                    "type (string) must not include an index because index was passed "
                    f"explicitly: {type}"
                )
            index = int(ordinal)
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
            raise TypeError(f"device(): the index must be an integer, got {index!r}")
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self.type, self.index = name, index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def check_device(dev: Any, op: str) -> None:
    """Accept ``None``, ``"cpu"``, ``"cpu:0"`` or ``device("cpu")``; refuse every other
    device in one sentence naming ``op``."""
    if dev is None:
        return
    d = dev if isinstance(dev, device) else device(dev)
    if d.type != "cpu":
        raise device_error(d, op)


def device_error(dev: Any, op: str) -> RuntimeError:
    """The one-sentence refusal of a device other than the CPU."""
    return RuntimeError(
        f"{op}: minigrad computes on the CPU only, with NumPy, so device '{dev}' is not "
        "available (use device='cpu' or leave it out)"
    )


_IS_TORCH_TENSOR: dict[type, bool] = {}  # the answer by type: the check runs in every op


def is_torch_tensor(x: Any) -> bool:
    """True for a ``torch.Tensor`` (or subclass such as ``nn.Parameter``), found
    without importing torch."""
    cls = type(x)
    known = _IS_TORCH_TENSOR.get(cls)
    if known is None:
        known = any(c.__name__ == "Tensor" and c.__module__ == "torch" for c in cls.__mro__)
        _IS_TORCH_TENSOR[cls] = known
    return known


def refuse_torch_tensor(x: Any, op: str | None = None) -> None:
    """Raise a TypeError that says how to convert, when ``x`` is a PyTorch tensor."""
    if is_torch_tensor(x):
        raise TypeError(
            f"{op + ': ' if op else ''}minigrad ops take minigrad tensors, not a PyTorch "
            f"tensor (torch.Tensor of shape {tuple(x.shape)}, {x.dtype}); convert it with "
            "minigrad.from_numpy(t.detach().cpu().numpy()) (sharing memory) or "
            "minigrad.tensor(t.tolist())"
        )


def cuda_error(index: Any = None) -> RuntimeError:
    """What ``.cuda()`` raises, on a tensor or a module."""
    return device_error(f"cuda:{index}" if isinstance(index, int) else "cuda", "cuda")


def to_arguments(op: str, args: tuple, kwargs: dict[str, Any]) -> tuple[Any, bool]:
    """``(dtype or None, copy)`` from the arguments of ``Tensor.to`` / ``Module.to``:
    ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)`` (its
    dtype), ``to(dtype=..., device=..., non_blocking=..., copy=...)``, as PyTorch's.
    A device other than the CPU is refused."""
    from minigrad.tensor import Tensor

    kwargs = dict(kwargs)
    dtype = kwargs.pop("dtype", None)
    devices = [kwargs.pop("device", None)]
    copy = bool(kwargs.pop("copy", False))
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"{op}() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, (str, device)):  # a string is a device, as in PyTorch
            devices.append(a)
        elif a is not None:
            dtype = a
    for d in devices:
        check_device(d, op)
    return dtype, copy
