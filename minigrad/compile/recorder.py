"""Recording one eager call as a flat program (see ``minigrad/compile/__init__.py``).

While the function runs eagerly, a :class:`Recorder` watches four places:

- ``Function.apply`` (outermost calls only): one *forward* instruction per op, with
  where each input array came from (an argument, a live tensor such as a parameter,
  an earlier instruction, or a constant made inside the function);
- the backward task's ``call`` and ``to_leaf``: one *vjp* instruction per node, in the
  order the engine ran them, and each leaf's contributions in their arrival order;
- whole calls replayed as they are (*opaque*): ``Optimizer.step`` / ``zero_grad``,
  ``LRScheduler.step``, ``clip_grad_norm_`` / ``clip_grad_value_``: they already work on
  the parameters' arrays in place, so replay calls them again;
- what makes a recording unusable: a tensor value read into Python (``item()``,
  ``bool(t)``, ``numpy()``, ``float(t)``, ...), an in-place write outside those calls,
  hooks, anomaly mode, ``create_graph``, ``autograd.grad``, a node the recording did not
  see being made.
"""

from __future__ import annotations

import traceback
from typing import Any

import numpy as np

from minigrad.autograd import anomaly, version
from minigrad.core.autograd import Function, Tensor


class Unsupported(Exception):
    """The call did something a flat program cannot replay (the message says what)."""


def _where() -> str:
    """The innermost frame outside minigrad: where the user's code did it."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if "/minigrad/" not in frame.filename.replace("\\", "/"):
            return f"{frame.filename}:{frame.lineno} ({frame.line})"
    return "inside minigrad"


class Recorder:
    """Collects instructions while one eager call runs; ``paused`` > 0 inside calls whose
    insides are not recorded (an op's own forward, a backward pass, an opaque call)."""

    def __init__(self, flat_inputs: list[Any]) -> None:
        self.paused = 0
        self.instrs: list[tuple] = []  # ("fwd", ...), ("bwd", ...), ("opaque", ...)
        self.producer: dict[int, int] = {}  # id(array) -> value number
        self.values: list[Any] = []  # value number -> the array (kept: ids stay unique)
        self.arg_of: dict[int, int] = {}  # id(input array) -> index in flat inputs
        self.leaf_arg: dict[int, int] = {}  # id(input Tensor) -> index
        for i, x in enumerate(flat_inputs):
            arr = x.data if isinstance(x, Tensor) else x
            self.arg_of.setdefault(id(arr), i)
            if isinstance(x, Tensor):
                self.leaf_arg[id(x)] = i
        self.node_value: dict[int, int] = {}  # id(node) -> forward instruction index
        self.broken: str | None = None  # why this call cannot be replayed
        self.modules: dict[int, Any] = {}  # modules called (their ``training`` is guarded)
        self.epoch = version.epoch
        self.keep: list[Any] = []  # objects held so their ids stay unique while recording
        self.called: set[int] = set()  # ids of the nodes a recorded backward ran
        self.needs: dict[int, Any] = {}  # id(node) -> its needs_input_grad at creation

    def release(self) -> None:
        """Drop what the recording held (every array it saw), once the program is built."""
        self.values.clear()
        self.keep.clear()
        self.producer.clear()
        self.instrs.clear()

    # ------------------------------------------------------------------ values
    def new_value(self, arr: Any) -> int:
        self.values.append(arr)
        self.producer[id(arr)] = len(self.values) - 1
        return len(self.values) - 1

    def source(self, x: Any) -> tuple:
        """Where an op's input comes from: ("v", n) an earlier result, ("arg", i) an
        argument's array, ("live", tensor) a tensor from outside read at replay time,
        ("const", obj) anything else (compared between two recordings)."""
        if id(x) in self.producer and not isinstance(x, (Tensor, bool, int, float, str)):
            return ("v", self.producer[id(x)])
        if isinstance(x, Tensor):
            arr = x.data
            if id(arr) in self.producer:
                return ("v", self.producer[id(arr)])
            if id(arr) in self.arg_of:
                return ("arg", self.arg_of[id(arr)])
            if x.grad_fn is not None:
                raise Unsupported(
                    f"a tensor made by {x.grad_fn.name()} outside the recorded ops is used "
                    f"(shape {tuple(arr.shape)})"
                )
            self.keep.append(x)
            return ("live", x)
        if isinstance(x, (np.ndarray, np.generic)):
            if id(x) in self.producer:
                return ("v", self.producer[id(x)])
            if id(x) in self.arg_of:
                return ("arg", self.arg_of[id(x)])
            view = self.view_of(x) if isinstance(x, np.ndarray) else None
            if view is not None:
                return view
            self.keep.append(x)
            return ("const", x)
        if isinstance(x, (tuple, list)) and any(isinstance(e, (Tensor, np.ndarray)) for e in x):
            return ("seq", type(x), tuple(self.source(e) for e in x))
        return ("const", x)

    def view_of(self, x: np.ndarray) -> tuple | None:
        """A NumPy view (``labels.reshape(-1)``) of a recorded array: rebuilt at replay
        on the new array, with the same shape, strides and offset."""
        b = x.base
        while isinstance(b, np.ndarray):
            if (id(b) in self.producer or id(b) in self.arg_of) and b.flags.c_contiguous:
                off = x.__array_interface__["data"][0] - b.__array_interface__["data"][0]
                return ("view", self.source(b), x.shape, x.strides, off, x.dtype)
            b = b.base
        return None

    def check_epoch(self, what: str) -> None:
        if version.epoch != self.epoch and self.broken is None:
            self.broken = (
                f"an in-place write happened {what} (an in-place op or .copy_() in the "
                "function body, e.g. BatchNorm's running statistics): a flat program does "
                "not see it"
            )
        self.epoch = version.epoch

    # ------------------------------------------------------------------ hooks
    def on_apply(self, orig: Any, cls: type, inputs: tuple, params: dict) -> Any:
        self.check_epoch(f"before {cls.__name__}")
        fwd = cls.forward
        srcs = [self.source(x) for x in inputs]
        psrc = {k: self.source(v) for k, v in params.items()}
        self.paused += 1
        try:
            out = orig(cls, *inputs, **params)
        finally:
            self.paused -= 1
        self.check_epoch(f"inside {cls.__name__}")
        if not isinstance(out, (Tensor, np.ndarray, np.generic)):
            self.broken = self.broken or f"{cls.__name__} returned a {type(out).__name__}"
            return out
        arr = out.data if isinstance(out, Tensor) else out
        node = out.grad_fn if isinstance(out, Tensor) else None
        n = self.new_value(arr)
        if node is not None:
            self.node_value[id(node)] = len(self.instrs)
            self.keep.append(node)
            self.needs[id(node)] = node.needs_input_grad  # ``release`` may clear it
        tensor_out = isinstance(out, Tensor)
        self.instrs.append(
            ("fwd", cls, fwd, srcs, psrc, node, n, type(arr) is np.ndarray, tensor_out)
        )
        return out

    def on_opaque(self, fn: Any, args: tuple, kwargs: dict) -> Any:
        self.check_epoch(f"before {getattr(fn, '__qualname__', fn)}")
        args = tuple(list(a) if _is_iterator(a) else a for a in args)
        asrc = [self.source(a) for a in args]
        ksrc = {k: self.source(v) for k, v in kwargs.items()}
        self.paused += 1
        try:
            out = fn(*args, **kwargs)
        finally:
            self.paused -= 1
        self.epoch = version.epoch
        self.keep.append(out)
        self.instrs.append(("opaque", fn, asrc, ksrc, self._results(out, ""), out))
        return out

    def _results(self, out: Any, path: str) -> list[tuple[int, str]]:
        """Name what an opaque call returned (and its items, and a Tensor's array), so
        later ops can take them as inputs: (value number, expression suffix)."""
        if out is None or isinstance(out, (bool, int, float, str)):
            return []
        found = [(self.new_value(out), path)]
        if isinstance(out, Tensor):
            found.append((self.new_value(out.data), path + ".data"))
        elif isinstance(out, tuple):
            for i, e in enumerate(out):
                found += self._results(e, f"{path}[{i}]")
        return found

    def on_break(self, what: str, t: Tensor) -> None:
        if self.broken is None:
            self.broken = (
                f"{what} on a tensor of shape {tuple(t.shape)} at {_where()}: Python read a "
                "tensor value, so later calls could take another branch"
            )

    def on_grad_set(self, t: Tensor, value: Any) -> None:
        """``t.grad = value`` in the body (``x.grad = None``): replayed as it is."""
        try:
            src = None if value is None else self.source(value)
        except Unsupported as e:
            self.broken = self.broken or str(e)
            return
        ref = ("arg", self.leaf_arg[id(t)]) if id(t) in self.leaf_arg else ("live", t)
        self.keep.append(t)
        self.instrs.append(("setgrad", ref, src))

    def on_module(self, module: Any) -> None:
        self.modules[id(module)] = module

    # ------------------------------------------------------------------ backward
    def on_backward(
        self, orig: Any, roots: Any, root_grads: Any, retain: bool, create: bool, inputs: Any = None
    ) -> Any:
        if create or inputs is not None:
            raise Unsupported("create_graph=True or autograd.grad(inputs=...) in the function")
        if anomaly._state.enabled:
            raise Unsupported("anomaly detection is on")
        self.check_epoch("before backward")
        roots_src = []
        for r in roots:
            if r.grad_fn is not None and id(r.grad_fn) not in self.node_value:
                raise Unsupported(f"backward from {r.grad_fn.name()}, made outside the recording")
            roots_src.append(r.grad_fn)
        grads_src = [self.source(g) for g in root_grads]
        bwd = BackwardRecord(self, roots_src, grads_src)
        from minigrad.autograd import engine

        task_cls = engine._TASK[0]
        engine._TASK[0] = _recording_task(task_cls, bwd)
        self.paused += 1
        try:
            out = orig(roots, root_grads, retain, create, inputs)
        finally:
            self.paused -= 1
            engine._TASK[0] = task_cls
        self.check_epoch("inside backward")
        self.instrs.append(("bwd", bwd))
        return out


def _is_iterator(x: Any) -> bool:
    return hasattr(x, "__next__") and not isinstance(x, (Tensor, np.ndarray, str, bytes))


class BackwardRecord:
    """One backward pass: the nodes in the order they ran, the gradients each returned,
    and each leaf's contributions in arrival order."""

    def __init__(self, rec: Recorder, roots: list, root_grads: list) -> None:
        self.rec, self.roots, self.root_grads = rec, roots, root_grads
        self.calls: list[tuple] = []  # (node, n_in_grads, [is None per grad], tuple?)
        self.leaf_order: list[tuple] = []  # (leaf source, [contributions]) per leaf
        self.grad_ids: list[int] = []  # ids of every gradient a node returned
        self.grad_in: dict[int, list[Any]] = {}  # id(node) -> the gradients it was given

    def leaf_ref(self, leaf: Tensor) -> tuple:
        if id(leaf) in self.rec.leaf_arg:
            return ("arg", self.rec.leaf_arg[id(leaf)])
        self.rec.keep.append(leaf)
        return ("live", leaf)


def _recording_task(base: type, bwd: BackwardRecord) -> type:
    rec = bwd.rec

    class RecordingTask(base):  # type: ignore[misc, valid-type]
        """The engine's own task, noting each node it runs (and nothing else)."""

        _tuple = False

        def vjp(self, node: Function, grad: Any) -> Any:
            out = super().vjp(node, grad)
            self._tuple = type(out) is tuple
            return out

        def call(self, node: Function, grad: Any) -> tuple[Any, ...]:
            if rec.broken is None:
                if node._hooks or getattr(node, "_retained", None) is not None:
                    rec.broken = f"a hook or retain_grad on the output of {node.name()}"
                elif id(node) not in rec.node_value:
                    rec.broken = f"node {node.name()} was made outside the recorded ops"
                for nxt in node.next_edges:
                    if isinstance(nxt, Tensor) and nxt._hooks and rec.broken is None:
                        rec.broken = f"a hook on a leaf of shape {tuple(nxt.shape)}"
            in_grads = super().call(node, grad)
            given = grad.data if isinstance(grad, Tensor) else grad
            bwd.grad_in.setdefault(id(node), []).append(given)
            bwd.calls.append((node, self._tuple, tuple(g is None for g in in_grads)))
            bwd.grad_ids += [id(g) for g in in_grads if g is not None]
            rec.keep.append(in_grads)
            rec.called.add(id(node))
            return in_grads

    return RecordingTask
