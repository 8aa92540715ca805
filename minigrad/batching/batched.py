"""``BatchedTensor``: what a function sees of a mapped argument inside ``vmap``.

A BatchedTensor holds ``value``, an ordinary value whose dimension 0 is the batch
dimension of one vmap *level*, and ``level`` (1 for the outermost vmap, 2 for a vmap
inside it, ...). Its *logical* shape, the one the function sees, is ``value.shape[1:]``:
one example. ``value`` is a minigrad Tensor, or a BatchedTensor of a lower level when
vmaps nest (``vmap(vmap(f))``: the inner level wraps the outer one's examples), so the
physical tensor at the bottom of the chain holds every level's batch dimension at its
front, outermost first.

Ops, operators and Tensor methods called on a BatchedTensor go to its level's batching
rule (``minigrad/batching/rules.py``), which calls the ordinary op on ``value`` with its
arguments adjusted for the batch dimension; autograd records the ordinary op, so
gradients and tangents flow through the physical tensors. Reading a value into Python
(``.item()``, ``bool(t)``, ``.tolist()``, ``.numpy()``) is refused: each example has its
own value, and a function under vmap cannot branch on it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BatchedTensor", "VALUE_READ_ERROR"]

VALUE_READ_ERROR = (
    "vmap: It looks like you're calling {what} on a Tensor inside vmap. Under vmap each "
    "example has its own value, so Python cannot read one (nor branch on it, as "
    "data-dependent control flow); rewrite the computation with Tensor ops (e.g. where) "
    "or move the read outside vmap"
)


class BatchedTensor:
    """A Tensor of one example's shape standing for a batch of them (see the module)."""

    __slots__ = ("level", "value")
    __array_priority__ = 1000  # NumPy defers ``array * bt`` to bt.__rmul__

    def __init__(self, value: Any, level: int) -> None:
        self.value = value
        self.level = level

    # ------------------------------------------------------------ the logical array
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape[1:])

    @property
    def ndim(self) -> int:
        return self.value.ndim - 1

    def dim(self) -> int:
        return self.ndim

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.shape
        nd = self.ndim
        if not -max(nd, 1) <= dim < max(nd, 1):
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], "
                f"but got {dim})"
            )
        return self.shape[dim]

    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))

    @property
    def dtype(self) -> Any:
        return self.value.dtype

    @property
    def device(self) -> Any:
        return self.value.device

    def is_floating_point(self) -> bool:
        return self.value.dtype.kind == "f"

    def element_size(self) -> int:
        return self.value.element_size()

    @property
    def requires_grad(self) -> bool:
        return self.value.requires_grad

    @property
    def grad_fn(self) -> Any:
        return self.value.grad_fn

    @property
    def is_leaf(self) -> bool:
        return self.value.is_leaf

    @property
    def _fw(self) -> Any:  # forward-mode tangents live on the physical tensor
        return None

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"BatchedTensor(level={self.level}, bdim=0, value={self.value!r})"

    # ------------------------------------------------------------ refused reads
    def _read(self, what: str) -> Any:
        raise RuntimeError(VALUE_READ_ERROR.format(what=what))

    def item(self) -> Any:
        return self._read(".item()")

    def tolist(self) -> Any:
        return self._read(".tolist()")

    def numpy(self) -> Any:
        return self._read(".numpy()")

    def __bool__(self) -> bool:
        return self._read("bool() (data-dependent control flow)")

    def __float__(self) -> float:
        return self._read("float()")

    def __int__(self) -> int:
        return self._read("int()")

    def __index__(self) -> int:
        return self._read("__index__ (a Tensor used as a Python index)")

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        return self._read("numpy.asarray()")

    @property
    def data(self) -> Any:
        return self._read(".data")

    def backward(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(
            "vmap: backward() on a batched Tensor is not supported; use minigrad.func.grad "
            "or vjp inside vmap (vmap(grad(f)))"
        )

    # ------------------------------------------------------------ ops
    def __getattr__(self, name: str) -> Any:
        from minigrad.batching.dispatch import method

        return method(self, name)

    def __setitem__(self, index: Any, value: Any) -> None:
        from minigrad.batching.dispatch import setitem

        setitem(self, index, value)
