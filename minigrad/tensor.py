"""``Tensor``: an n-dimensional array that remembers how it was computed.

A Tensor wraps a ``numpy.ndarray`` (``.data``). When it is the result of an op
recorded in the graph it carries ``grad_fn``, the :class:`Function` node that
made it; a tensor the user created is a *leaf* (``grad_fn is None``) and, when
``requires_grad`` is set, receives its gradient in ``.grad`` after ``backward``.

The ops themselves live in ``minigrad.ops`` and are attached as methods by
``minigrad/_methods.py``; this file holds what every tensor is, whatever op made it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad import dtypes
from minigrad.autograd import version, views
from minigrad.autograd.function import Function
from minigrad.core.autograd import Tensor
from minigrad.core.grad_mode import _state
from minigrad.device import CPU, cuda_error, device, refuse_torch_tensor


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert Python data / NumPy arrays to an array with PyTorch's dtype inference."""
    refuse_torch_tensor(data)
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=np.dtype(dtype))
    if isinstance(data, np.ndarray):
        arr = np.array(data)
    elif isinstance(data, np.generic):
        arr = np.array(data)
    else:
        arr = np.array(data)
        if _maybe_big_int(arr) and _has_big_int(data):
            if not _has_float(data):
                raise ValueError(
                    "tensor(): overflow: a Python int does not fit in int64 (PyTorch's "
                    "integer dtype for Python ints)"
                )
            arr = np.array(data, dtype=np.float64)
        if arr.dtype.kind == "f":  # Python floats: the default float dtype, as PyTorch
            arr = arr.astype(dtypes.get_default_dtype())
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
        elif arr.dtype == object:
            raise TypeError(f"tensor(): could not infer a numeric dtype from {data!r}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"tensor(): unsupported dtype {arr.dtype}")
    return arr


def _maybe_big_int(arr: np.ndarray) -> bool:
    """Could NumPy's array of Python data hide an int outside int64's range? (NumPy
    makes such data uint64, float64 or object.) A cheap test before the exact one."""
    if arr.dtype == object or arr.dtype == np.uint64:
        return True
    return arr.dtype == np.float64 and arr.size > 0 and float(np.nanmax(np.abs(arr))) >= 2**63


def _has_big_int(data: Any) -> bool:
    """True when nested Python data holds an int outside int64's range."""
    if isinstance(data, (list, tuple)):
        return any(_has_big_int(d) for d in data)
    return type(data) is int and not -(2**63) <= data < 2**63


def _has_float(data: Any) -> bool:
    if isinstance(data, (list, tuple)):
        return any(_has_float(d) for d in data)
    return isinstance(data, float)


def _constructor_array(args: tuple, dtype: Any) -> np.ndarray:
    """What ``Tensor(*args)`` holds: PyTorch's legacy constructor rules (see __init__)."""
    if all(type(a) is int for a in args):  # Tensor(), Tensor(3), Tensor(2, 3): sizes
        if any(n < 0 for n in args):
            raise RuntimeError(f"Tensor{args}: sizes must be non-negative integers")
        return np.empty(args or (0,), dtypes.get_default_dtype() if dtype is None else dtype)
    if len(args) != 1:
        raise TypeError(
            f"Tensor(): expected one data argument or integer sizes, got {len(args)} "
            f"arguments of types {', '.join(type(a).__name__ for a in args)}"
        )
    data = args[0]
    if dtype is None and not isinstance(data, (np.ndarray, np.generic, Tensor)):
        return _to_array(data).astype(dtypes.get_default_dtype(), copy=False)
    return _to_array(data, dtype)


class _TensorAPI:
    """PyTorch's Tensor API beyond the core. Its members are attached to
    ``minigrad.core.Tensor`` (below), so there is one Tensor class: the core's."""

    def __init__(self, *data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        """``Tensor(data)`` as ``torch.Tensor(data)``: Python numbers and lists take the
        default float dtype (``minigrad.tensor`` infers int64 / bool from them instead);
        a NumPy array or a tensor keeps its dtype. ``Tensor(2, 3)``: an uninitialised
        tensor of shape (2, 3), as ``torch.Tensor(2, 3)``."""
        self.data: np.ndarray = _constructor_array(data, dtype)
        self.grad: Tensor | None = None
        self.grad_fn: Function | None = None
        self._hooks: list[Callable[[Tensor], Tensor | None]] | None = None
        self._fw: Tensor | None = None  # the tangent, in forward mode
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    # ------------------------------------------------------------ autograd
    @property
    def requires_grad(self) -> bool:
        """Whether a gradient flows to this tensor. A view of a tensor that has since
        gained a history (``x.copy_(w)``) requires grad too, as in PyTorch (views.py)."""
        if not self._requires_grad and views.UNRECORDED and views.is_stale(self):
            views.rebase(self)
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        _core_requires_grad.fset(self, value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on a non-leaf tensor after backward."""
        if self.grad_fn is None:
            if not self.requires_grad:
                raise RuntimeError("can't retain_grad on a Tensor that has requires_grad=False")
            return
        self.grad_fn._retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        ref = getattr(self.grad_fn, "_retained", None) if self.grad_fn is not None else None
        return ref is not None and ref() is self

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned
        tensor replaces the gradient. Returns a handle whose ``remove()`` removes the hook."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            if self.grad_fn._hooks is None:
                self.grad_fn._hooks = []
            hooks = self.grad_fn._hooks
        else:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def backward(
        self,
        gradient: Tensor | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
    ) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad, into ``leaf.grad``.

        ``gradient`` is d(loss)/d(self); it may be left out only for a scalar.
        """
        from minigrad.autograd import backward

        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    # ------------------------------------------------------------ array facts
    def dim(self) -> int:
        return self.data.ndim

    @property
    def device(self) -> device:
        """Always ``minigrad.device("cpu")``: minigrad computes on the CPU with NumPy."""
        return CPU

    def cpu(self) -> Tensor:
        """This tensor itself: it is on the CPU already (as PyTorch's ``cpu()`` then)."""
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Tensor:
        """Refused in one sentence: minigrad has no CUDA backend."""
        raise cuda_error(device)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.data.shape
        return self.data.shape[_normalize_dim(dim, self.data.ndim, "size")]

    def numel(self) -> int:
        return int(self.data.size)

    def element_size(self) -> int:
        return self.data.itemsize

    def is_floating_point(self) -> bool:
        return self.data.dtype.kind == "f"

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy()"
            )
        return self.data

    def item(self) -> Any:
        if self.data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.data.size} elements cannot be converted to Scalar"
            )
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Any:
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self.data.size} elements is ambiguous"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.data.item())

    __hash__ = object.__hash__  # (the operators define __eq__ elementwise, as PyTorch)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self) -> str:
        arr = self.data
        is_float = arr.dtype.kind == "f"
        if is_float and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            body = np.array2string(arr, separator=", ", prefix="tensor(", floatmode="unique")
        else:
            body = np.array2string(
                arr,
                separator=", ",
                prefix="tensor(",
                precision=4,
                floatmode="fixed" if is_float else "maxprec",  # 1.5000, as PyTorch
            )
        extras = []
        if arr.size == 0:
            extras.append(f"size={tuple(arr.shape)}")
        if arr.dtype not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool_):
            extras.append(f"dtype=minigrad.{arr.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    # ------------------------------------------------------------ in-place ops
    @property
    def _version(self) -> int:
        """How many times the memory of this tensor (or of a view sharing it) was
        changed in place; see ``minigrad/autograd/version.py``."""
        return version.version_of(self.data)

    def _inplace(
        self, op: str, compute: Callable[[Tensor], Tensor], *others: Any, overwrite: bool = False
    ) -> Tensor:
        """Apply ``compute`` (an out-of-place op) and write its result into this
        tensor's memory, as PyTorch's in-place ops do.

        When the write must be recorded (grad mode on, and this tensor or an operand
        requires grad), the graph is rebased: the new value is ``compute(old)`` with
        ``old`` a snapshot of the current value, and this tensor takes the new node as
        its ``grad_fn``. Ops that saved this tensor earlier see its version change and
        refuse to backpropagate (their saved value is gone), instead of a wrong gradient.
        A write into a view also gives the view's base a new history, and views made
        before a write are rebased when next used (``minigrad/autograd/views.py``).
        """
        for o in others:
            refuse_torch_tensor(o, op)
        if not self.data.flags.writeable:
            raise RuntimeError(
                f"{op}: unsupported operation: the written-to tensor (shape {self.shape}) is "
                "read-only memory: a broadcast view (expand), where more than one element "
                "refers to a single memory location, or a read-only array; .clone() it first"
            )
        if self.grad_fn is not None and self.grad_fn.output_saved:
            self.grad_fn._output_written = True  # its backward will refuse (PyTorch's rule)
        prepared = None
        if _state.enabled:
            views.refuse_write_into_an_outdated_view(op, self)
        record = _state.enabled and (
            self._requires_grad or any(isinstance(o, Tensor) and o._requires_grad for o in others)
        )
        if record:
            if self.grad_fn is None and self._requires_grad:
                raise RuntimeError(
                    f"{op}: a leaf Variable that requires grad is being used in an in-place "
                    "operation (wrap it in minigrad.no_grad() or use an out-of-place op)"
                )
            if views.is_view(self):
                prepared = views.prepare_write(op, self)  # a view: its base changes too
            old = Tensor._from_op(self.data.copy(), self.grad_fn)
            old._requires_grad = self._requires_grad
            new = compute(old)
            if self._requires_grad and overwrite:
                # fill_ / zero_ / copy_: the old value still gets a (zero) gradient, and
                # the result requires grad even when the value written is a constant
                # (PyTorch's Fill/CopyBackward pass 0 to the old value): selected, not 0·x.
                from minigrad.ops.binary import where

                keep = Tensor._from_op(np.ones(new.shape, dtype=bool), None)
                new = where(keep, new, old)
        else:
            prev, _state.enabled = _state.enabled, False
            try:
                new = compute(Tensor._from_op(self.data, None))
            finally:
                _state.enabled = prev
        if new.shape != self.data.shape:
            raise RuntimeError(
                f"{op}: result of shape {new.shape} cannot be written in place into a tensor "
                f"of shape {self.data.shape}"
            )
        np.copyto(self.data, _same_kind(self, new.data))
        version.bump(self.data)
        if prepared is not None:  # the base's history changes too (views.py, rule 2)
            views.write_through_view(self, new, prepared)
        elif record:
            retained = self.retains_grad
            if retained:
                self.grad_fn._retained = None
            self.grad_fn, self._requires_grad = new.grad_fn, new._requires_grad
            if retained:  # .grad follows the new value, as PyTorch's retain_grad
                self.grad_fn._retained = weakref.ref(self)
        return self

    def zero_(self) -> Tensor:
        return self._inplace("zero_", lambda x: _filled(x, 0), overwrite=True)

    def fill_(self, value: Any) -> Tensor:
        return self._inplace("fill_", lambda x: _filled(x, value), value, overwrite=True)

    def copy_(self, src: Any) -> Tensor:
        return self._inplace("copy_", lambda x: _filled(x, src), src, overwrite=True)

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        return self._inplace("add_", lambda x: x + (other if alpha == 1 else other * alpha), other)

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        return self._inplace("sub_", lambda x: x - (other if alpha == 1 else other * alpha), other)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace("mul_", lambda x: x * other, other)

    def div_(self, other: Any) -> Tensor:
        return self._inplace("div_", lambda x: x / other, other)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace("clamp_", lambda x: x.clamp(min, max), min, max)

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        from minigrad import random

        new = random.generator().uniform(a, b, self.data.shape).astype(self.data.dtype)
        return self._inplace("uniform_", lambda x: _filled(x, new), overwrite=True)

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        from minigrad import random

        new = random.generator().normal(mean, std, self.data.shape).astype(self.data.dtype)
        return self._inplace("normal_", lambda x: _filled(x, new), overwrite=True)

    def __setitem__(self, index: Any, value: Any) -> None:
        from minigrad.ops.indexing import index_put

        self._inplace("__setitem__", lambda x: index_put(x, index, value), value)


class RemovableHandle:
    """Returned by ``register_hook``: ``handle.remove()`` unregisters the hook (as PyTorch)."""

    def __init__(self, hooks: list, hook: Callable) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    __call__ = remove  # calling the handle also removes (earlier minigrad API)


def _filled(x: Tensor, value: Any) -> Tensor:
    """A tensor of x's shape and dtype holding ``value`` (broadcast): what ``fill_`` /
    ``copy_`` write. The old values of x do not flow into it; a tensor ``value`` does."""
    from minigrad.ops.helpers import as_tensor, broadcast_to

    v = (
        as_tensor(value, x.dtype)
        if isinstance(value, Tensor)
        else Tensor._from_op(np.asarray(value, dtype=x.dtype), None)
    )
    return broadcast_to(v, x.shape)


def _same_kind(t: Tensor, arr: np.ndarray) -> np.ndarray:
    if arr.dtype != t.data.dtype:
        if np.can_cast(arr.dtype, t.data.dtype, casting="same_kind"):
            return arr.astype(t.data.dtype)
        raise RuntimeError(
            f"result type {arr.dtype} can't be cast to the desired output type {t.data.dtype}"
        )
    return arr


def _normalize_dim(dim: int, ndim: int, op: str) -> int:
    lo, hi = (-ndim, ndim - 1) if ndim > 0 else (-1, 0)
    if not isinstance(dim, (int, np.integer)) or not lo <= dim <= hi:
        raise IndexError(
            f"{op}: dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
        )
    return int(dim) % max(ndim, 1)


def normalize_dims(dim: int | Sequence[int] | None, ndim: int, op: str) -> tuple[int, ...]:
    """``dim`` (None, an int, or a sequence) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if type(dim) is int and 0 <= dim < ndim:  # the common case, no checks left to do
        return (dim,)
    if isinstance(dim, (int, np.integer)):
        dim = (dim,)
    elif not isinstance(dim, (tuple, list)) or not all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dim
    ):
        raise TypeError(
            f"{op}: dim must be an int or a tuple of ints, got {type(dim).__name__} {dim!r}"
        )
    axes = tuple(sorted(_normalize_dim(d, ndim, op) for d in dim)) if ndim else ()
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
    return axes


_core_requires_grad = Tensor.requires_grad


def _attach() -> None:
    for name, member in vars(_TensorAPI).items():
        if not name.startswith("__") or name in _DUNDERS:
            setattr(Tensor, name, member)


_DUNDERS = {
    "__init__",
    "__len__",
    "__iter__",
    "__bool__",
    "__float__",
    "__int__",
    "__index__",
    "__hash__",
    "__array__",
    "__repr__",
    "__setitem__",
}
_attach()
