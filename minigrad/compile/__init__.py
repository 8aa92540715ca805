"""``minigrad.compile``: record a step once, replay it as a flat program.

Eager minigrad is *define-by-run*: every call builds its graph again (a Tensor and a
node per op), and ``backward`` walks it (counting dependencies, summing gradients,
creating ``.grad``). When a function does the same thing on every call -- a training
step on batches of one shape -- that bookkeeping gives the same answer each time.

``compile(fn)`` records what one eager call did and replays it:

- **record**: the first call with a given *signature* (the shapes, dtypes and
  ``requires_grad`` of the tensor arguments, the other arguments' values, grad mode,
  the fast engine's switches) runs eagerly while a recorder notes each op's forward,
  each node's backward in the engine's order, the gradient sums and leaf accumulations,
  and the optimizer/scheduler/clipping calls. The second call records again, and the
  two recordings must agree (same program, same constants): a value that changed
  between them was computed outside minigrad's ops, and the function stays eager.
- **replay**: from the third call, a generated Python function (``explain()`` prints
  it) makes the same NumPy calls as the forward and backward formulas, in the same
  order, on the new arrays -- each op *lowered* to the calls its formulas make
  (``lower.py``), or, where it cannot be, calling its formulas -- then calls
  ``optimizer.step()`` itself: bit-identical to eager, with no Tensor, graph node,
  dependency count or op frame in between.

Guards, checked at every replay: the parameters (live tensors) keep their shapes,
dtypes and ``requires_grad``; every module called keeps its ``training`` flag; every
optimizer keeps its parameter set and options (the learning rate is read live, so a
scheduler needs no new program); the function's closure cells and the globals it reads
still name the same objects. A failed guard records a new program; the cache holds
``cache_size`` signatures. Python that reads a tensor's value (``item()``, ``bool(t)``,
``numpy()``, ``float(t)``...), in-place writes in the body, hooks, anomaly mode,
``create_graph`` or a result that still carries its graph make the signature run
eagerly, with the reason in ``explain()`` and a warning. Randomness inside ops (dropout)
draws afresh from minigrad's generator on every replay, in eager order. Reference mode
(``minigrad.set_reference_mode(True)``) always runs eagerly.

Limits: state outside tensors is not replayed (a Python counter incremented in the
body; a tensor made from ``t.data`` by hand is caught only if its value changes between
the two recordings); one thread records at a time.
"""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad import fast
from minigrad.compile import patches
from minigrad.compile.codegen import Program, build
from minigrad.compile.recorder import Recorder, Unsupported
from minigrad.core.autograd import Function, Tensor
from minigrad.core.grad_mode import _state
from minigrad.fast import array_mode

__all__ = ["compile", "CompiledFunction"]


def _flatten(x: Any, flat: list, key: list) -> None:
    if isinstance(x, Tensor):
        flat.append(x)
        key.append(("T", x.data.shape, x.data.dtype.str, x._requires_grad))
    elif isinstance(x, np.ndarray):
        flat.append(x)
        key.append(("A", x.shape, x.dtype.str))
    elif isinstance(x, (tuple, list)):
        key.append((type(x).__name__, len(x)))
        for e in x:
            _flatten(e, flat, key)
    elif isinstance(x, dict):
        key.append(("dict", tuple(x)))
        for e in x.values():
            _flatten(e, flat, key)
    elif x is None or isinstance(x, (bool, int, float, str, np.generic)):
        key.append((type(x).__name__, x))
    else:
        key.append(("id", id(x)))


_LIVE_OPTIONS = ("params", "lr", "initial_lr")  # read live by step(): not guarded


def _optimizer_print(opt: Any) -> tuple:
    """An optimizer's parameter set and options, the learning rate aside (read live)."""
    return tuple(
        (
            tuple(map(id, g["params"])),
            tuple(k for k in g if k not in _LIVE_OPTIONS),
            tuple(g[k] for k in g if k not in _LIVE_OPTIONS),
        )
        for g in opt.param_groups
    )


def _optimizer_same(opt: Any, want: tuple) -> bool:
    groups = opt.param_groups
    if len(groups) != len(want):
        return False
    for g, (ids, keys, values) in zip(groups, want):
        if tuple(map(id, g["params"])) != ids or tuple(map(g.get, keys)) != values:
            return False
        if len(g) != len(keys) + sum(k in g for k in _LIVE_OPTIONS):
            return False  # an option was added
    return True


def _module_print(m: Any) -> tuple:
    """A module's mode and which tensors are its own parameters and buffers."""
    return (
        m.training,
        tuple(map(id, m._parameters.values())),
        tuple(map(id, m._buffers.values())),
    )


def _same_const(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, (np.ndarray, np.generic)) and isinstance(b, (np.ndarray, np.generic)):
        return (
            np.shape(a) == np.shape(b)
            and np.asarray(a).dtype == np.asarray(b).dtype
            and bool(np.array_equal(a, b, equal_nan=np.asarray(a).dtype.kind in "fc"))
        )
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return not a._requires_grad and not b._requires_grad and _same_const(a.data, b.data)
    if type(a) is type(b) and isinstance(a, (bool, int, float, str, type(None), tuple)):
        return bool(a == b)
    return False


def _same_program(p: Program, q: Program) -> str | None:
    """None when two recordings are the same program; else what differs."""
    if p.source() != q.source():
        return "the two first calls recorded different programs"
    for name, kind in p.kinds.items():
        a, b = p.env[name], q.env[name]
        if kind == "node" and type(a) is not type(b):
            return f"{name}: different ops"
        if kind in ("const", "live") and not _same_const(a, b):
            return (
                f"{name} (a {_what(a)}) differs between the first two calls: it is computed "
                "outside minigrad's ops, so a replay would reuse a stale value"
            )
        if kind == "obj" and a is not b:
            return f"{name}: a different function was called"
    return None


def _what(x: Any) -> str:
    if isinstance(x, Tensor):
        return f"tensor of shape {tuple(x.shape)}"
    if isinstance(x, np.ndarray):
        return f"array of shape {x.shape}"
    return type(x).__name__


_MISSING = object()


def _name_guards(fn: Any) -> list:
    """What the function's own names refer to (closure cells, globals it reads): a name
    bound to another object -- a new batch ``x``, another ``model`` -- is a new program."""
    code, guards = getattr(fn, "__code__", None), []
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            guards.append(("cell", cell, cell.cell_contents))
        except ValueError:  # an empty cell
            continue
    glob = getattr(fn, "__globals__", {})
    for name in code.co_names if code is not None else ():
        if name in glob and not isinstance(glob[name], type(np)):
            guards.append(("global", (glob, name), glob[name]))
    return guards


class _Entry:
    """One signature: its recordings, its compiled program, or why it runs eagerly."""

    def __init__(self) -> None:
        self.first: Program | None = None
        self.program: Program | None = None
        self.run: Callable[[list], Any] | None = None
        self.namespace: dict[str, Any] = {}
        self.eager_reason: str | None = None
        self.guards: list = []
        self.replays = 0
        self.recordings = 0
        self.check: Callable[[], bool] = self.guards_ok

    def compile_guards(self) -> None:
        """The guards as one generated expression (what ``guards_ok`` checks, without its
        loop): ``self.check()`` is True when every guard holds."""
        env: dict[str, Any] = {"_optimizer_same": _optimizer_same, "_M": _MISSING, "_id": id}
        terms = []
        for i, (kind, obj, want) in enumerate(self.guards):
            o, w = f"o{i}", f"w{i}"
            env[o], env[w] = obj, want
            if kind == "live":
                env[w + "s"], env[w + "d"] = want[0], want[1]
                terms.append(
                    f"{o}.data.shape == {w}s and {o}.data.dtype == {w}d "
                    f"and {o}._requires_grad is {want[2]!r}"
                )
            elif kind == "cell":
                terms.append(f"{o}.cell_contents is {w}")
            elif kind == "global":
                env[o] = obj[0]
                terms.append(f"{o}.get({obj[1]!r}, _M) is {w}")
            elif kind == "module":
                env[w + "p"], env[w + "b"] = want[1], want[2]
                terms.append(
                    f"{o}.training is {want[0]!r} "
                    f"and tuple(map(_id, {o}._parameters.values())) == {w}p "
                    f"and tuple(map(_id, {o}._buffers.values())) == {w}b"
                )
            else:
                terms.append(f"_optimizer_same({o}, {w})")
        body = " and ".join(f"({t})" for t in terms) or "True"
        src = f"def check():\n    try:\n        return bool({body})\n"
        src += "    except ValueError:\n        return False\n"  # an emptied closure cell
        exec(src, env)  # noqa: S102 (our own generated code)
        self.check = env["check"]

    def guards_ok(self) -> bool:
        for kind, obj, want in self.guards:
            if kind == "live":
                if (obj.data.shape, obj.data.dtype, obj._requires_grad) != want:
                    return False
            elif kind == "cell":
                if obj.cell_contents is not want:
                    return False
            elif kind == "global":
                if obj[0].get(obj[1], _MISSING) is not want:
                    return False
            elif kind == "module":
                if _module_print(obj) != want:
                    return False
            elif not _optimizer_same(obj, want):
                return False
        return True


class CompiledFunction:
    """``fn`` with a cache of recorded programs, one per signature (see the module)."""

    def __init__(self, fn: Callable[..., Any], cache_size: int = 8, warn: bool = True) -> None:
        self.fn, self.cache_size, self.warn = fn, cache_size, warn
        self.cache: OrderedDict[tuple, _Entry] = OrderedDict()
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if fast.is_reference_mode() or patches.active() is not None:
            return self.fn(*args, **kwargs)
        flat: list = []
        key: list = [_state.enabled, tuple(fast._on.values())]
        if not kwargs and all(type(a) is Tensor for a in args):  # the usual case, quickly
            flat = list(args)
            key += [("T", a.data.shape, a.data.dtype.str, a._requires_grad) for a in args]
        else:
            _flatten(args, flat, key)
            _flatten(kwargs, flat, key)
        sig = tuple(key)
        entry = self.cache.get(sig)
        if entry is None:
            entry = self.cache[sig] = _Entry()
            while len(self.cache) > self.cache_size:
                self.cache.popitem(last=False)
        else:
            self.cache.move_to_end(sig)
        if entry.eager_reason is not None:
            return self.fn(*args, **kwargs)
        if entry.run is not None:
            if entry.check():
                entry.replays += 1
                prev = entry.namespace["_P"] = Function.__dict__["saved_tensors"]
                try:
                    return entry.run(flat)
                finally:
                    array_mode.state.active = False
                    Function.saved_tensors = prev
            entry.first = entry.program = entry.run = None  # a guard failed: record anew
        return self._record(entry, flat, args, kwargs)

    def _record(self, entry: _Entry, flat: list, args: tuple, kwargs: dict) -> Any:
        rec = Recorder(flat)
        with patches.recording(rec):
            out = self.fn(*args, **kwargs)
        entry.recordings += 1
        rec.check_epoch("at the end of the function")
        try:
            if rec.broken:
                raise Unsupported(rec.broken)
            prog = build(rec, flat, out)
            prog.fn = self.fn
        except Unsupported as e:
            rec.release()
            return self._give_up(entry, str(e), out)
        if entry.first is None:
            entry.first = prog
            rec.release()
            return out
        why = _same_program(entry.first, prog)
        entry.first = None  # compared: only the second recording is kept
        if why is not None:
            rec.release()
            return self._give_up(entry, why, out)
        namespace: dict[str, Any] = dict(prog.env)
        exec(prog.source(), namespace)  # noqa: S102 (our own generated code)
        entry.program, entry.run, entry.namespace = prog, namespace["program"], namespace
        entry.guards = [
            ("live", t, (t.data.shape, t.data.dtype, t._requires_grad)) for t in prog.live
        ]
        entry.guards += [("module", m, _module_print(m)) for m in rec.modules.values()]
        for opt in patches.optimizers_in(rec):
            entry.guards.append(("optim", opt, _optimizer_print(opt)))
        entry.guards += _name_guards(self.fn)
        entry.compile_guards()
        rec.release()
        return out

    def _give_up(self, entry: _Entry, why: str, out: Any) -> Any:
        entry.eager_reason = why
        if self.warn:
            warnings.warn(
                f"minigrad.compile: {getattr(self.fn, '__name__', self.fn)} runs eagerly for "
                f"this signature: {why}",
                stacklevel=3,
            )
        return out

    def stats(self) -> dict[str, Any]:
        """The most replayed program's make-up (see ``Program.stats``); {} when none."""
        entries = [e for e in self.cache.values() if e.program is not None]
        if not entries:
            return {}
        best = max(entries, key=lambda e: e.replays)
        return {**best.program.stats(), "replays": best.replays}

    def explain(self, file: Any = None) -> str:
        """The recorded programs, one line per NumPy-level call with its shapes (the
        static graph made visible), and the signatures that run eagerly, with why.
        Printed (to ``file`` if given) and returned."""
        parts = []
        for sig, entry in self.cache.items():
            head = f"signature grad={sig[0]}, inputs={[k for k in sig[2:] if k and k[0] in 'TA']}"
            if entry.eager_reason:
                parts.append(f"{head}\n  runs eagerly: {entry.eager_reason}")
            elif entry.program is None:
                parts.append(
                    f"{head}\n  recorded {entry.recordings} time(s); replays from the third call"
                )
            else:
                prog = entry.program
                lines = [f"{head}  ({entry.replays} replays)"]
                lines.append("def program(X):")
                for ln, note in zip(prog.lines, prog.notes):
                    lines.append(f"    {ln:<60}" + (f"  # {note}" if note else ""))
                parts.append("\n".join(lines))
        text = "\n\n".join(parts) or "nothing recorded yet"
        print(text, file=file)
        return text


def compile(  # noqa: A001 (mirrors torch.compile)
    fn: Callable[..., Any] | None = None, *, cache_size: int = 8, warn: bool = True
) -> Any:
    """Record ``fn`` once per signature and replay it as a flat NumPy program (see
    ``minigrad/compile/__init__.py``). Usable as ``compile(fn)``, ``@compile`` or
    ``@compile(cache_size=4)``."""
    if fn is None:
        return lambda f: CompiledFunction(f, cache_size, warn)
    return CompiledFunction(fn, cache_size, warn)
