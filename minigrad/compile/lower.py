"""Lowering an op to the NumPy calls its formulas make (see ``minigrad/compile/__init__.py``).

A replayed program that calls ``Op.forward(ctx, ...)`` and ``Op.backward(ctx, g)`` still
pays, per op, for the formula's Python: its frames, ``ctx`` attributes, ``saved_tensors``,
the array-or-Tensor dispatch of the helpers it calls. Those decisions depend only on
shapes, dtypes and the op's constant parameters, which a signature fixes. So, once per
recording, each op's forward and backward run on :class:`Traced` arrays: an ndarray
subclass whose every NumPy call (ufuncs and their methods, NumPy functions, the array
methods formulas use, indexing, the array constructors) is executed on the plain arrays
and noted. The notes become straight-line code: ``t7 = U3(t5, 0.9)`` in place of the
op's call, the backward's reading the forward's saved arrays as the program's own
locals (no ``ctx`` left).

Draws from minigrad's generator (dropout's mask) are noted too, and made afresh at every
replay, in eager's order. A formula that reads a value into Python (``bool``,
``float``, ``item()``...), makes an
array NumPy does not report (a method not listed, iteration), writes into an array that
is not traced, or returns anything but a traced array, is not lowered: the op keeps its
call. A lowered op is then checked: its generated code and the op's own formulas run
on other inputs of the same shapes (floats redrawn, integers and booleans reversed) and
must give bit-identical results, with the same memory sharing between outputs and
inputs; else the op keeps its call.
"""

from __future__ import annotations

import math
import re
import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad import random
from minigrad.core.autograd import Function
from minigrad.fast import array_mode


class NotLowered(Exception):
    """A formula did something the lowering does not replay (the op keeps its call)."""


_TRACER: list[Tracer | None] = [None]
_OWNER = [0]  # the thread tracing: NumPy's patched constructors serve others as they are


def _mine() -> Tracer | None:
    return _TRACER[0] if threading.get_ident() == _OWNER[0] else None


def _tracer() -> Tracer:
    t = _TRACER[0]
    if t is None:
        raise NotLowered("a traced array outlived its trace")
    return t


class Traced(np.ndarray):
    """An array whose NumPy calls are noted by the current :class:`Tracer`; ``_vid``
    is its value number (None when NumPy made it by a path not noted)."""

    def __array_finalize__(self, obj: Any) -> None:
        self._vid = None

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _tracer().call(("ufunc", ufunc, method), inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func in _STATIC:
            return func(*_tracer().plain(args), **_tracer().plain(kwargs))
        return _tracer().call(("func", func), args, kwargs)

    def __getitem__(self, index: Any) -> Any:
        return _tracer().call(("getitem",), (self, index), {})

    def __setitem__(self, index: Any, value: Any) -> None:
        _tracer().call(("setitem",), (self, index, value), {})

    @property
    def T(self) -> Any:  # noqa: N802 (ndarray's name)
        return _tracer().call(("method", "transpose"), (self,), {})

    def _value_read(self, *args: Any, **kwargs: Any) -> Any:
        raise NotLowered("the formula reads an array value into Python")

    __bool__ = __float__ = __int__ = __index__ = __complex__ = _value_read
    item = tolist = tobytes = __iter__ = __array__ = _value_read


# Array methods formulas call, noted as ``x.name(...)``: NumPy's own method runs.
METHODS = (
    "reshape", "transpose", "swapaxes", "astype", "copy", "ravel", "flatten", "squeeze",
    "sum", "mean", "max", "min", "prod", "any", "all", "cumsum", "clip", "dot", "take",
    "repeat", "fill", "var", "std", "argmax", "argmin", "round", "conj", "view",
)  # fmt: skip


def _method(name: str) -> Callable[..., Any]:
    def method(self: Traced, *args: Any, **kwargs: Any) -> Any:
        to = args[0] if args else kwargs.get("type", kwargs.get("dtype"))
        if name == "view" and (
            len(args) > 1 or (isinstance(to, type) and issubclass(to, np.ndarray))
        ):
            raise NotLowered("a view as another array type")
        return _tracer().call(("method", name), (self, *args), kwargs)

    method.__name__ = name
    return method


for _name in METHODS:
    setattr(Traced, _name, _method(_name))

# NumPy functions whose answer depends on shapes only: answered, not noted.
_STATIC = {np.shape, np.ndim, np.size, np.result_type}

# Array constructors (no array argument, so nothing dispatches): noted while tracing,
# so an array a formula makes is made afresh at every replay (never one baked array).
_MAKERS = ("array", "asarray", "asanyarray", "ascontiguousarray", "zeros", "ones", "empty")
_MAKERS += ("full", "arange", "eye")


class Tracer:
    """Notes the NumPy calls made on traced arrays, as ``(op, args, kwargs, results)``."""

    def __init__(self, counter: list[int]) -> None:
        self.counter = counter  # the program's value numbers, shared by its ops
        self.calls: list[tuple] = []
        self.traced: dict[int, Traced] = {}  # vid -> the traced array (kept alive)

    def new(self, arr: Any) -> Traced:
        """A traced array (a new value) over ``arr``'s memory."""
        if isinstance(arr, np.generic):
            arr = _REAL["asarray"](arr)  # a 0-d array stands in for NumPy's scalar
        t = np.ndarray.view(arr, Traced)
        t._vid = self.counter[0]
        self.counter[0] += 1
        self.traced[t._vid] = t
        return t

    def plain(self, x: Any) -> Any:
        """``x`` with every traced array as the plain array over the same memory."""
        if isinstance(x, Traced):
            if x._vid is None:
                raise NotLowered("an array NumPy made by a path the trace does not note")
            return np.ndarray.view(x, np.ndarray)
        if isinstance(x, tuple):
            return tuple(self.plain(e) for e in x)
        if isinstance(x, list):
            return [self.plain(e) for e in x]
        if isinstance(x, dict):
            return {k: self.plain(v) for k, v in x.items()}
        if isinstance(x, np.ndarray) and _derived(x):
            raise NotLowered("a plain array over a traced array's memory")
        return x

    def call(self, op: tuple, args: Any, kwargs: dict) -> Any:
        out = kwargs.get("out")
        for o in out if isinstance(out, tuple) else (out,):
            if o is not None and not isinstance(o, Traced):
                raise NotLowered("a write into an array that is not traced")
        if op[0] == "setitem" and not isinstance(args[0], Traced):
            raise NotLowered("a write into an array that is not traced")
        p_args, p_kwargs = self.plain(args), self.plain(kwargs)
        given = {id(p): a for p, a in zip(_flat(p_args, p_kwargs), _flat(args, kwargs))}
        res = _run(op, p_args, p_kwargs)
        wrapped = self.wrap(res, given)
        self.calls.append((op, args, kwargs, wrapped))
        return wrapped

    def wrap(self, res: Any, given: dict[int, Any]) -> Any:
        if res is None:
            return None
        if id(res) in given and isinstance(given[id(res)], Traced):
            return given[id(res)]  # the call handed back one of its arguments (out=...)
        if isinstance(res, (np.ndarray, np.generic)):
            return self.new(res)
        if isinstance(res, tuple) and all(isinstance(e, np.ndarray) for e in res):
            return tuple(self.wrap(e, given) for e in res)
        raise NotLowered(f"a NumPy call returned a {type(res).__name__} into Python")


def _flat(args: Any, kwargs: dict) -> list[Any]:
    out: list[Any] = []

    def walk(x: Any) -> None:
        out.append(x)
        if isinstance(x, (tuple, list)):
            for e in x:
                walk(e)
        elif isinstance(x, dict):
            for e in x.values():
                walk(e)

    walk(args)
    walk(kwargs)
    return out


def _derived(x: np.ndarray) -> bool:
    b = x.base
    while b is not None:
        if isinstance(b, Traced):
            return True
        b = getattr(b, "base", None)
    return False


def _run(op: tuple, args: Any, kwargs: dict) -> Any:
    kind = op[0]
    if kind == "ufunc":
        f = op[1] if op[2] == "__call__" else getattr(op[1], op[2])
        return f(*args, **kwargs)
    if kind == "func":
        return op[1](*args, **kwargs)
    if kind == "make":
        return _REAL[op[1]](*args, **kwargs)
    if kind == "draw":
        return _drawn(op[1])(*args, **kwargs)
    if kind == "getitem":
        return args[0][args[1]]
    if kind == "setitem":
        args[0][args[1]] = args[2]
        return None
    return getattr(args[0], op[1])(*args[1:], **kwargs)


_REAL = {name: getattr(np, name) for name in _MAKERS}


def _maker(name: str) -> Callable[..., Any]:
    real = _REAL[name]

    def make(*args: Any, **kwargs: Any) -> Any:
        t = _mine()
        if t is None:
            return real(*args, **kwargs)
        return t.call(("make", name), args, kwargs)

    return make


_MAKER_PATCHES = {name: _maker(name) for name in _MAKERS}


class _Draws:
    """minigrad's generator while tracing: each draw is noted, so a replay draws afresh
    from the generator, in eager's order (``random.generator().bit_generator...``)."""

    def __init__(self, obj: Any, path: tuple[str, ...] = ()) -> None:
        self._obj, self._path = obj, path

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._obj, name)
        if isinstance(attr, np.random.BitGenerator):
            return _Draws(attr, (*self._path, name))
        if callable(attr):
            path = (*self._path, name)
            return lambda *a, **k: (
                attr(*a, **k) if _mine() is None else _tracer().call(("draw", path), a, k)
            )
        raise NotLowered(f"the generator's {name} is read")


def _drawn(path: tuple[str, ...]) -> Any:
    obj = random.generator()
    obj = obj._obj if isinstance(obj, _Draws) else obj
    for p in path:
        obj = getattr(obj, p)
    return obj


# ---------------------------------------------------------------------------- source
class Writer:
    """Renders noted calls as lines of the program; names what is not a literal in the
    program's environment (``name(prefix, obj, kind)`` of :class:`~.codegen.Program`)."""

    def __init__(self, prog: Any) -> None:
        self.name, self.env = prog.name, prog.env

    def arg(self, x: Any) -> str:
        if isinstance(x, Traced):
            if x._vid is None:
                raise NotLowered("an array NumPy made by a path the trace does not note")
            return f"t{x._vid}"
        if x is None or x is Ellipsis or type(x) in (bool, int, str):
            return "..." if x is Ellipsis else repr(x)
        if type(x) is float:
            return repr(x) if math.isfinite(x) else self.name("Q", x, "const")
        if isinstance(x, tuple):
            return "(" + "".join(f"{self.arg(e)}, " for e in x) + ")"
        if isinstance(x, list):
            return "[" + ", ".join(self.arg(e) for e in x) + "]"
        if isinstance(x, slice):
            return f"slice({self.arg(x.start)}, {self.arg(x.stop)}, {self.arg(x.step)})"
        if isinstance(x, np.ndarray):
            if _derived(x):
                raise NotLowered("a plain array over a traced array's memory")
            return self.name("Q", x, "const")
        if isinstance(x, np.generic):
            return self.name("Q", x, "const")
        if isinstance(x, (np.dtype, type)):
            return self.name("Q", x, "obj")
        raise NotLowered(f"a {type(x).__name__} argument")

    def fn(self, f: Any) -> str:
        """A NumPy function's name in the program: its own, numbered (``matmul_3``)."""
        name = getattr(f, "__name__", "")
        return self.name(f"{name}_" if name.isidentifier() else "U", f, "obj")

    def line(self, call: tuple) -> str:
        op, args, kwargs, res = call
        kind = op[0]
        a = [self.arg(x) for x in args]
        a += [f"{k}={self.arg(v)}" for k, v in kwargs.items()]
        if kind == "ufunc":
            u = self.fn(op[1])
            expr = f"{u}({', '.join(a)})" if op[2] == "__call__" else f"{u}.{op[2]}({', '.join(a)})"
        elif kind == "func":
            expr = f"{self.fn(op[1])}({', '.join(a)})"
        elif kind == "make":
            expr = f"{self.fn(_REAL[op[1]])}({', '.join(a)})"
        elif kind == "draw":
            gen = self.fn(random.generator)
            expr = f"{gen}().{'.'.join(op[1])}({', '.join(a)})"
        elif kind == "getitem":
            expr = f"{a[0]}[{a[1]}]"
        elif kind == "setitem":
            return f"{a[0]}[{a[1]}] = {a[2]}"
        else:
            expr = f"{a[0]}.{op[1]}({', '.join(a[1:])})"
        known = {id(x) for x in _flat(args, kwargs) if isinstance(x, Traced)}
        if res is None or (isinstance(res, Traced) and id(res) in known):
            return expr
        if isinstance(res, tuple):
            return f"({''.join(self.arg(e) + ', ' for e in res)}) = {expr}"
        return f"{self.arg(res)} = {expr}"


# ---------------------------------------------------------------------------- one op
class Lowered:
    """One op as lines: the forward (inputs ``in_vids`` -> ``out_vid``) and, when traced,
    the backward (``grad_vid`` -> ``grad_vids``, None where no gradient)."""

    def __init__(self) -> None:
        self.in_vids: list[int | None] = []  # per array input (None: a constant)
        self.fwd: list[str] = []
        self.out_vid = -1
        self.bwd: list[str] | None = None
        self.grad_vid = -1
        self.grad_vids: list[int | None] = []
        self.names: dict[int, str] = {}  # value number -> the program's variable for it


def _replica(x: np.ndarray, values: Any) -> np.ndarray:
    """An array of ``x``'s shape, dtype, strides and writeability, in memory of its own,
    filled from ``values`` (a broadcast view's shared elements take one of them)."""
    if x.flags.c_contiguous or x.flags.f_contiguous:
        out = np.empty_like(x, order="K")
    else:
        if any(s < 0 for s in x.strides):
            raise NotLowered("an input with negative strides")
        span = sum((n - 1) * s for n, s in zip(x.shape, x.strides)) + x.itemsize
        buf = np.empty(span if x.size else x.itemsize, np.uint8)
        out = np.ndarray(x.shape, x.dtype, buffer=buf, strides=x.strides)
    np.copyto(out, values, casting="unsafe")
    out.flags.writeable = x.flags.writeable
    return out


def _stand_in(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another array of ``x``'s shape, dtype and layout, with other values."""
    if x.dtype.kind in "fc":
        return _replica(x, rng.standard_normal(x.shape))
    return _replica(x, x.reshape(-1)[::-1].reshape(x.shape))


def _layout_ok(x: Any) -> bool:
    return type(x) is np.ndarray and all(s >= 0 for s in x.strides)


class _Tracing:
    """While tracing: the tracer current, NumPy's constructors noted, warnings muted,
    and backward formulas given raw saved arrays (as a replay runs them)."""

    def __init__(self, tracer: Tracer | None, fast_saved: Any) -> None:
        self.tracer, self.fast_saved = tracer, fast_saved

    def __enter__(self) -> None:
        self.prev = (_TRACER[0], Function.__dict__["saved_tensors"], array_mode.state.active)
        self.warn = warnings.catch_warnings()
        self.warn.__enter__()
        warnings.simplefilter("ignore")
        self.err = np.seterr(all="ignore")
        _TRACER[0], _OWNER[0] = self.tracer, threading.get_ident()
        Function.saved_tensors = self.fast_saved
        self.gen = random._generator
        if self.tracer is not None:
            for name, f in _MAKER_PATCHES.items():
                setattr(np, name, f)
            random._generator = _Draws(self.gen)

    def __exit__(self, *exc: Any) -> None:
        random._generator = self.gen
        for name, f in _REAL.items():
            setattr(np, name, f)
        _TRACER[0], Function.saved_tensors, array_mode.state.active = self.prev
        np.seterr(**self.err)
        self.warn.__exit__(*exc)


def lower(
    cls: type,
    fwd: Any,
    inputs: list[Any],
    params: dict[str, Any],
    needs: Any,
    grad: Any,
    expect: tuple | None,
    counter: list[int],
    writer: Writer,
    fast_saved: Any,
) -> Lowered:
    """``cls``'s forward (and backward, when ``grad`` -- an array of the incoming
    gradient's shape and dtype -- is given) as lines; raises :class:`NotLowered`.
    ``inputs``/``params``: the recorded arrays and constants; ``expect``: the
    backward's recorded shape (a tuple result?, which gradients were None)."""
    arrays = [x for x in [*inputs, *params.values()] if isinstance(x, np.ndarray)]
    if any(np.shares_memory(a, b) for i, a in enumerate(arrays) for b in arrays[:i]):
        raise NotLowered("inputs that share memory")
    for x in [*inputs, *params.values(), grad]:
        if isinstance(x, np.ndarray) and not _layout_ok(x):
            raise NotLowered("an input with negative strides")
        if not isinstance(x, np.ndarray) and not _literal(x):
            raise NotLowered(f"a {type(x).__name__} input")
    rng = np.random.default_rng(0)
    tracer = Tracer(counter)
    low = Lowered()

    def traced(x: Any) -> Any:
        return tracer.new(_replica(x, x)) if isinstance(x, np.ndarray) else x

    t_in = [traced(x) for x in inputs]
    t_par = {k: traced(v) for k, v in params.items()}
    low.in_vids = [t._vid if isinstance(t, Traced) else None for t in t_in]
    low.in_vids += [t._vid if isinstance(t, Traced) else None for t in t_par.values()]
    ctx = cls.__new__(cls)
    if needs is not None:
        ctx.needs_input_grad = needs
    g_in = None if grad is None else _stand_in(grad, rng)
    with _Tracing(tracer, fast_saved):
        out = fwd(ctx, *t_in, **t_par)
        n_fwd = len(tracer.calls)
        if g_in is not None:
            t_g = tracer.new(g_in)
            array_mode.state.active = True
            grads = cls.backward(ctx, t_g)
    if not isinstance(out, Traced) or out._vid is None:
        raise NotLowered(f"the forward returned a {type(out).__name__}")
    low.out_vid = out._vid
    low.fwd = [writer.line(c) for c in tracer.calls[:n_fwd]]
    keep = {low.out_vid}
    if grad is not None:
        is_tuple = type(grads) is tuple
        gs = grads if is_tuple else (grads,)
        if expect is not None and (is_tuple, tuple(g is None for g in gs)) != expect:
            raise NotLowered("the backward's gradients differ from the recorded ones")
        if any(g is not None and (not isinstance(g, Traced) or g._vid is None) for g in gs):
            raise NotLowered("the backward returned an array the trace does not know")
        low.grad_vid = t_g._vid
        low.grad_vids = [None if g is None else g._vid for g in gs]
        low.bwd = _live_lines([writer.line(c) for c in tracer.calls[n_fwd:]], set(low.grad_vids))
        keep |= {int(v) for ln in low.bwd for v in _TVAR.findall(ln)}
    low.fwd = _live_lines(low.fwd, keep)
    _check(low, cls, fwd, inputs, params, needs, grad, writer, rng, fast_saved)
    return low


_TVAR = re.compile(r"\bt(\d+)\b")
_DEF = re.compile(r"t(\d+) = ")


def _live_lines(lines: list[str], used: set[Any]) -> list[str]:
    """``lines`` without the assignments whose value nothing after them reads (a
    NumPy call that only makes a new array has no other effect)."""
    used = set(used)
    out: list[str] = []
    for ln in reversed(lines):
        m = _DEF.match(ln)
        if m and int(m.group(1)) not in used and "out=" not in ln:
            continue
        used |= {int(v) for v in _TVAR.findall(ln)}
        out.append(ln)
    return out[::-1]


def _literal(x: Any) -> bool:
    if isinstance(x, (tuple, list)):
        return all(_literal(e) for e in x)
    if isinstance(x, slice):
        return _literal((x.start, x.stop, x.step))
    return (
        x is None
        or x is Ellipsis
        or isinstance(x, (bool, int, float, str, np.generic, np.dtype, type))
    )


def _check(
    low: Lowered,
    cls: type,
    fwd: Any,
    inputs: list[Any],
    params: dict[str, Any],
    needs: Any,
    grad: Any,
    writer: Writer,
    rng: np.random.Generator,
    fast_saved: Any,
) -> None:
    """The lines against the op's own formulas on other inputs: bit-identical results,
    the same memory shared between results and inputs."""
    arrays = [x for x in [*inputs, *params.values()] if isinstance(x, np.ndarray)]
    others = [_stand_in(x, rng) for x in arrays]
    g_other = None if grad is None else _stand_in(grad, rng)
    names = [f"t{v}" for v in low.in_vids if v is not None]
    body = list(low.fwd)
    outs = f"t{low.out_vid}"
    if low.bwd is not None:
        names.append(f"t{low.grad_vid}")
        body += low.bwd
        outs += ", " + ", ".join("None" if v is None else f"t{v}" for v in low.grad_vids)
    src = f"def _lowered({', '.join(names)}):\n"
    src += "".join(f"    {ln}\n" for ln in body) + f"    return ({outs},)\n"
    env = dict(writer.env)
    exec(src, env)  # noqa: S102 (our own generated code)
    mine_in = [_replica(x, x) for x in others]
    state = random.generator().bit_generator.state  # both sides draw the same numbers
    mine = env["_lowered"](*mine_in, *([] if g_other is None else [_replica(g_other, g_other)]))
    it = iter([_replica(x, x) for x in others])
    real_in = [next(it) if isinstance(x, np.ndarray) else x for x in inputs]
    real_par = {k: next(it) if isinstance(v, np.ndarray) else v for k, v in params.items()}
    ctx = cls.__new__(cls)
    if needs is not None:
        ctx.needs_input_grad = needs
    random.generator().bit_generator.state = state
    with _Tracing(None, fast_saved):
        theirs: list[Any] = [fwd(ctx, *real_in, **real_par)]
        if grad is not None:
            array_mode.state.active = True
            g = cls.backward(ctx, _replica(g_other, g_other))
            theirs += list(g if type(g) is tuple else (g,))
    their_in = [x for x in [*real_in, *real_par.values()] if isinstance(x, np.ndarray)]
    if len(mine) != len(theirs):
        raise NotLowered("a different number of results")
    for a, b in zip(mine, theirs):
        if (a is None) != (b is None):
            raise NotLowered("a gradient is None on one side only")
        if a is None:
            continue
        if type(a) is not type(b) or np.shape(a) != np.shape(b) or a.dtype != b.dtype:
            raise NotLowered("a result of another type, shape or dtype")
        if not np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
            raise NotLowered("results that differ from the formulas'")
        for x, y in zip(mine_in, their_in):
            if np.shares_memory(a, x) != np.shares_memory(b, y):
                raise NotLowered("a result that shares memory differently")
