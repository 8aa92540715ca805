"""``DistributedDataParallel``: one model, one copy per process, gradients averaged.

Every process (a *rank*) holds the whole model and runs forward and backward on its own
share of the batch. If rank ``r`` of ``W`` computes ``g_r = ∂L_r/∂θ`` on its ``b``
samples, then with a mean loss the gradient of the whole batch of ``W·b`` samples is

    g = (1/W) · Σ_r g_r

so averaging the gradients (an all-reduce) and stepping the same optimizer on every rank
keeps the copies equal, step after step: the result is that of one process on the full
batch, up to the summation order of floating point.

How the averaging is scheduled (after PyTorch's reducer, ``torch/csrc/distributed/c10d``):

* **Buckets.** Parameters are grouped into buckets of at most ``bucket_cap_mb``
  megabytes, one dtype per bucket: at first in reverse registration order, and after the
  first synchronised backward in the order the engine actually handed the gradients over
  (rank 0's order, broadcast), as PyTorch's reducer rebuilds its buckets. Each bucket
  is one contiguous NumPy array; every parameter's ``.grad`` is a view into it
  (PyTorch's ``gradient_as_bucket_view=True``), so the engine accumulates gradients
  straight into the buffer, and one all-reduce per bucket, in place and zero-copy
  (``torch.from_numpy``), averages them all.
* **When.** A hook on each parameter (``Tensor.register_hook``) runs when the engine
  hands over that parameter's gradient, *before* it is added into ``.grad``. So the hook
  of parameter ``k`` knows that the parameter handed over before it is now complete: a
  bucket whose parameters are all complete is scaled by ``1/W`` and its all-reduce
  launched asynchronously (``async_op=True``) while the engine goes on. The hook of the
  last expected parameter adds that parameter's gradient into the bucket itself, waits
  for every bucket and returns a zero gradient in its place (so the engine adds
  nothing): when ``backward()`` returns, every ``.grad`` holds the average.
  minigrad's engine hands leaf gradients over after the whole graph has been traversed
  (a leaf used many times gets one summed gradient, as PyTorch's ``AccumulateGrad``), so
  the all-reduces overlap the rest of that hand-over, not the backward computation.
* **Unused parameters.** Without ``find_unused_parameters`` every parameter that
  requires a gradient must receive one in each synchronised backward; if one does not,
  the next forward raises and names it (as PyTorch does). With it, the forward walks
  the graph from the outputs and counts only the parameters it reaches; a parameter no
  rank used keeps its ``.grad`` untouched (``None`` stays ``None``), one used by some
  ranks only gets the average with zeros from the others, the same on every rank.
* ``no_sync()``: the backward passes inside it only accumulate locally; the first
  backward outside it averages the accumulated gradients.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.autograd.version import bump
from minigrad.core.grad_mode import is_grad_enabled
from minigrad.creation import from_numpy
from minigrad.nn.modules.module import Module
from minigrad.tensor import Tensor

from . import _torch


class _Bucket:
    """One flat buffer and the parameters whose ``.grad`` are views into it."""

    def __init__(self, params: list[Tensor], dtype: np.dtype) -> None:
        self.params = params
        sizes = [p.data.size for p in params]
        self.flat = np.zeros(sum(sizes), dtype=dtype)
        offsets = np.cumsum([0, *sizes])
        self.views = [
            self.flat[a:b].reshape(p.data.shape) for p, a, b in zip(params, offsets, offsets[1:])
        ]
        self.pending = 0  # parameters of this bucket not complete yet in this backward
        self.work: Any = None  # the all-reduce in flight


def _tensors_in(obj: Any) -> Iterator[Tensor]:
    """Every Tensor in a (nested) output: a tensor, tuple, list, dict or dataclass-like."""
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for x in obj:
            yield from _tensors_in(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from _tensors_in(x)
    elif hasattr(obj, "__dict__") and not isinstance(obj, Module):
        for x in vars(obj).values():
            yield from _tensors_in(x)


def _reachable_leaves(outputs: Any) -> set[int]:
    """ids of the leaf tensors that a backward from ``outputs`` can reach."""
    leaves: set[int] = set()
    seen: set[int] = set()
    stack: list[Any] = []
    for t in _tensors_in(outputs):
        if t.grad_fn is None:
            leaves.add(id(t))
        else:
            stack.append(t.grad_fn)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for nxt in node.next_edges:
            if isinstance(nxt, Function):
                stack.append(nxt)
            elif nxt is not None:
                leaves.add(id(nxt))
    return leaves


class DistributedDataParallel(Module):
    """Data parallelism over a ``torch.distributed`` process group (as
    ``torch.nn.parallel.DistributedDataParallel``).

    ``torch.distributed.init_process_group`` (``backend="gloo"`` on CPUs) must have run in
    every process first; ``torchrun`` sets the environment it reads. At wrap time the
    parameters and buffers of rank 0 are broadcast to every rank; after each backward
    every ``.grad`` holds the average over the ranks (see the module docstring for how).

    Args:
        module: the model; ``ddp.module`` is it, unchanged apart from its values.
        process_group: the group to average over (default: the default group).
        broadcast_buffers: broadcast rank 0's buffers (BatchNorm statistics) at every
            forward, so every rank normalises alike.
        bucket_cap_mb: the largest bucket, in megabytes (PyTorch's default, 25).
        find_unused_parameters: walk the graph after each forward to learn which
            parameters will receive a gradient (costs a traversal per forward).
    """

    def __init__(
        self,
        module: Module,
        process_group: Any = None,
        broadcast_buffers: bool = True,
        bucket_cap_mb: float = 25.0,
        find_unused_parameters: bool = False,
    ) -> None:
        super().__init__()
        dist = _torch.distributed()
        if not dist.is_initialized():
            raise RuntimeError(
                "DistributedDataParallel: the default process group is not initialised; "
                "call torch.distributed.init_process_group (or "
                "minigrad.distributed.init_process_group) first"
            )
        if bucket_cap_mb <= 0:
            raise ValueError(f"bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self.module = module
        object.__setattr__(self, "_dist", dist)
        object.__setattr__(self, "process_group", process_group)
        object.__setattr__(self, "world_size", dist.get_world_size(process_group))
        object.__setattr__(self, "broadcast_buffers", broadcast_buffers)
        object.__setattr__(self, "find_unused_parameters", find_unused_parameters)
        object.__setattr__(self, "require_backward_grad_sync", True)
        object.__setattr__(self, "bucket_bytes_cap", int(bucket_cap_mb * 1024 * 1024))
        params = [p for p in module.parameters() if p.requires_grad]
        object.__setattr__(self, "_params", params)
        object.__setattr__(self, "_index", {id(p): i for i, p in enumerate(params)})
        self._broadcast([p.data for p in module.parameters()] + self._buffer_arrays())
        self._set_buckets(list(reversed(params)))
        object.__setattr__(self, "_handed", [])  # parameter indices in hand-over order
        object.__setattr__(self, "_rebuilt", False)
        object.__setattr__(self, "_expected", set())  # ids still to receive a gradient
        object.__setattr__(self, "_used", set())  # ids that received one locally
        object.__setattr__(self, "_previous", None)  # handed over at the previous hook
        object.__setattr__(self, "_syncing", False)
        object.__setattr__(self, "bytes_per_sync", sum(b.flat.nbytes for b in self._buckets))
        for p in params:
            p.register_hook(self._make_hook(p))

    # ------------------------------------------------------------ setup
    def _set_buckets(self, order: list[Tensor]) -> None:
        """Buckets of the parameters in ``order``: one dtype per bucket, at most
        ``bucket_cap_mb``; a ``.grad`` already there is moved into its new view."""
        buckets: list[_Bucket] = []
        open_: dict[np.dtype, list[Tensor]] = {}
        size: dict[np.dtype, int] = {}
        for p in order:
            dt = p.data.dtype
            if dt in open_ and size[dt] + p.data.nbytes > self.bucket_bytes_cap:
                buckets.append(_Bucket(open_.pop(dt), dt))
            if dt not in open_:
                open_[dt], size[dt] = [], 0
            open_[dt].append(p)
            size[dt] += p.data.nbytes
        buckets += [_Bucket(ps, dt) for dt, ps in open_.items()]
        where = {}
        for bucket in buckets:
            for p, view in zip(bucket.params, bucket.views):
                where[id(p)] = (bucket, view)
                if p.grad is not None:
                    view[...] = p.grad.data
                    p.grad = from_numpy(view)
        object.__setattr__(self, "_buckets", buckets)
        object.__setattr__(self, "_where", where)

    def _rebuild_buckets(self) -> None:
        """After the first synchronised backward: buckets in the order the engine handed
        the gradients over (rank 0's, broadcast, so every rank agrees), so that a bucket
        is complete, and its all-reduce starts, as early as it can (PyTorch's reducer
        rebuilds its buckets the same way). Parameters not handed over go last."""
        object.__setattr__(self, "_rebuilt", True)
        n = len(self._params)
        seen = dict.fromkeys(self._handed)
        order = np.array(list(seen) + [i for i in reversed(range(n)) if i not in seen])
        order = order.astype(np.int64)
        self._dist.broadcast(_torch.torch().from_numpy(order), src=0, group=self.process_group)
        new = [self._params[i] for i in order.tolist()]
        current = [p for b in self._buckets for p in b.params]
        if any(a is not b for a, b in zip(new, current)):
            self._set_buckets(new)

    def _buffer_arrays(self) -> list[np.ndarray]:
        return [b.data for b in self.module.buffers() if b is not None]

    def _broadcast(self, arrays: list[np.ndarray]) -> None:
        """Rank 0's values into ``arrays`` on every rank: one broadcast per dtype."""
        by_dtype: dict[np.dtype, list[np.ndarray]] = {}
        for a in arrays:
            by_dtype.setdefault(a.dtype, []).append(a)
        torch = _torch.torch()
        for group in by_dtype.values():
            flat = np.concatenate([a.reshape(-1) for a in group])
            self._dist.broadcast(torch.from_numpy(flat), src=0, group=self.process_group)
            start = 0
            for a in group:
                a[...] = flat[start : start + a.size].reshape(a.shape)
                bump(a)
                start += a.size

    # ------------------------------------------------------------ forward
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self._syncing and self._used:
            missing = [n for n, p in self.module.named_parameters() if id(p) in self._expected]
            self._reset()
            raise RuntimeError(
                "DistributedDataParallel: the previous backward did not produce a gradient "
                f"for parameters {missing}, which every rank waits for. Pass "
                "find_unused_parameters=True if the forward does not use every parameter, "
                "and make sure the loss depends on the module's output"
            )
        if self.broadcast_buffers and self.world_size > 1:
            buffers = self._buffer_arrays()
            if buffers:
                self._broadcast(buffers)
        out = self.module(*args, **kwargs)
        self._reset()
        if self.require_backward_grad_sync and is_grad_enabled():
            if self.find_unused_parameters:
                reached = _reachable_leaves(out)
                expected = {id(p) for p in self._params if id(p) in reached}
            else:
                expected = {id(p) for p in self._params}
            object.__setattr__(self, "_expected", expected)
            object.__setattr__(self, "_syncing", True)
            if not expected:  # no hook will run here: take part in the reduction now
                self._finish()
        return out

    def _reset(self) -> None:
        object.__setattr__(self, "_syncing", False)
        object.__setattr__(self, "_expected", set())
        object.__setattr__(self, "_used", set())
        object.__setattr__(self, "_previous", None)
        object.__setattr__(self, "_next", 0)  # the next bucket to launch, in index order
        for b in self._buckets:
            b.pending = len(b.params)
            b.work = None

    # ------------------------------------------------------------ backward
    def _make_hook(self, p: Tensor) -> Any:
        def hook(grad: Tensor) -> Tensor | None:
            if not self._syncing or id(p) not in self._expected:
                return None
            return self._on_grad(p, grad)

        return hook

    def _as_view(self, p: Tensor) -> np.ndarray:
        """Make ``p.grad`` the bucket view (zeros when there was none); the view."""
        view = self._where[id(p)][1]
        g = p.grad
        if g is None:
            view[...] = 0
        elif g.data is not view:
            view[...] = g.data
        else:
            return view
        p.grad = from_numpy(view)
        return view

    def _on_grad(self, p: Tensor, grad: Tensor) -> Tensor | None:
        """The hook of an expected parameter, before the engine adds ``grad`` to ``.grad``."""
        self._complete_previous()
        view = self._as_view(p)
        self._expected.discard(id(p))
        self._used.add(id(p))
        if not self._rebuilt:
            self._handed.append(self._index[id(p)])
        if self._expected:
            object.__setattr__(self, "_previous", p)
            return None  # the engine adds ``grad`` into the view
        view += grad.data  # the last one: added here, then everything is averaged
        self._finish()
        return from_numpy(np.broadcast_to(np.zeros((), view.dtype), view.shape))

    def _complete_previous(self) -> None:
        """The parameter handed over at the previous hook now holds its gradient."""
        prev = self._previous
        if prev is None:
            return
        object.__setattr__(self, "_previous", None)
        self._where[id(prev)][0].pending -= 1
        # Every rank must issue its all-reduces in the same order: bucket index order.
        while self._next < len(self._buckets) and self._buckets[self._next].pending == 0:
            self._launch(self._buckets[self._next])

    def _launch(self, bucket: _Bucket) -> None:
        bucket.flat *= 1.0 / self.world_size
        t = _torch.torch().from_numpy(bucket.flat)
        bucket.work = self._dist.all_reduce(t, group=self.process_group, async_op=True)
        object.__setattr__(self, "_next", self._next + 1)

    def _finish(self) -> None:
        """Every expected gradient is in its bucket: launch the rest, wait for all."""
        before: dict[int, np.ndarray | None] = {}  # .grad of those that got none here
        for b in self._buckets[self._next :]:
            for q in b.params:
                if id(q) not in self._used:  # no gradient here: zeros (or its .grad)
                    before[id(q)] = None if q.grad is None else q.grad.data.copy()
                    self._as_view(q)
            self._launch(b)
        for b in self._buckets:
            b.work.wait()
        if self.find_unused_parameters:
            for q, used in zip(self._params, self._globally_used()):
                if not used:  # no rank gave it a gradient: left as it was, as PyTorch
                    old = before.get(id(q))
                    q.grad = None if old is None else from_numpy(old)
        object.__setattr__(self, "_syncing", False)
        if not self._rebuilt:
            self._rebuild_buckets()

    def _globally_used(self) -> np.ndarray:
        """For each parameter, whether any rank gave it a gradient (one small all-reduce,
        after the buckets', so that every rank issues them in the same order)."""
        flags = np.array([id(p) in self._used for p in self._params], dtype=np.int32)
        self._dist.all_reduce(_torch.torch().from_numpy(flags), group=self.process_group)
        return flags > 0

    # ------------------------------------------------------------ accumulation
    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes of forwards run inside only accumulate ``.grad`` locally; the
        first synchronised backward after it averages the accumulated sums."""
        old = self.require_backward_grad_sync
        object.__setattr__(self, "require_backward_grad_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "require_backward_grad_sync", old)
