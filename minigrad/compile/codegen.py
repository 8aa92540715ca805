"""Turning a recording into Python source: one line per NumPy-level call.

The program is a plain function ``program(X)`` (``X``: the call's tensors and arrays,
flattened). Values are local variables: ``v`` for forward results, ``g`` for
gradients. Its names refer to an environment: ``F`` an op's forward, ``N`` a graph
node reused as the op's context (its backward reads what the forward saved there),
``B`` a node's backward, ``L`` a live tensor (a parameter, read at each call), ``C`` a
constant, ``O`` a call replayed whole (the optimizer's step). Reading the source is
reading the static graph: ``compiled.explain()`` prints it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from minigrad import fast, random
from minigrad.autograd import version
from minigrad.compile.lower import Lowered, NotLowered, Writer, lower
from minigrad.compile.recorder import BackwardRecord, Recorder, Unsupported
from minigrad.core.autograd import Function, Tensor
from minigrad.fast import array_mode

_LOCAL = re.compile(r"\b(?:v\d+|g\d+_\d+|a\d+|r\d+|t\d+)\b")  # the program's own values


def _T(arr: Any) -> Tensor:
    return Tensor._from_op(arr, None)


def _tvjp(node: Function, grad: Any) -> tuple:
    """A node whose backward is written with Tensor ops: run it as the engine does
    (Tensors in, grad mode off), hand the gradients back as arrays."""
    active, array_mode.state.active = array_mode.state.active, False
    try:
        out = node.backward(node, grad if isinstance(grad, Tensor) else _T(np.asarray(grad)))
    finally:
        array_mode.state.active = active
    out = out if type(out) is tuple else (out,)
    return tuple(g.data if isinstance(g, Tensor) else g for g in out)


def _replay_saved(self: Function) -> tuple:
    """``saved_tensors`` while a program's backward runs: its nodes hold the arrays their
    forward just saved (raw), and nothing was written in place in between (a recording
    with an in-place write is refused), so the version check has nothing to find."""
    saved = self._saved
    if array_mode.state.active:
        return saved
    return tuple(s if isinstance(s, Tensor) else _T(s) for s in saved)


_FAST_SAVED = property(_replay_saved)


def _acc(leaf: Tensor, g: Any, steal: bool) -> None:
    """The engine's accumulation into ``leaf.grad`` (cast to the leaf's dtype; the first
    gradient kept as it is when the eager run kept it, else copied; then added)."""
    g = np.asarray(g.data if isinstance(g, Tensor) else g)
    if g.dtype != leaf.data.dtype:
        g, steal = g.astype(leaf.data.dtype), True
    if leaf.grad is None:
        own = steal and type(g) is np.ndarray and g.base is None and g.flags.writeable
        leaf.grad = _T(g if own else g.astype(leaf.data.dtype, copy=True))
    elif leaf.grad._requires_grad:
        leaf.grad = leaf.grad + _T(g)
    else:
        leaf.grad.data += g


def _view(base: np.ndarray, shape: tuple, strides: tuple, offset: int, dtype: Any) -> Any:
    return np.ndarray(shape, dtype, buffer=base, offset=offset, strides=strides)


def _shape(x: Any) -> str:
    if isinstance(x, Tensor):
        x = x.data
    if isinstance(x, (np.ndarray, np.generic)):
        return f"{tuple(np.shape(x))} {np.asarray(x).dtype}"
    return type(x).__name__


class Program:
    """Generated source, its environment, and what the guards check at each call."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.notes: list[str] = []  # shapes, one per line (for explain)
        self.env: dict[str, Any] = {
            "_T": _T,
            "_tvjp": _tvjp,
            "_view": _view,
            "_acc": _acc,
            "_ver": version,
            "_st": array_mode.state,
            "_asarray": np.asarray,
            "_Fn": Function,
            "_FAST": _FAST_SAVED,
        }
        self.kinds: dict[str, str] = {}  # env name -> "obj" | "node" | "const" | "live"
        self._ids: dict[tuple, str] = {}
        self.live: list[Tensor] = []
        self.opaque: list[Any] = []
        self.fn: Any = None
        self.lowered: dict[int, Lowered] = {}  # id(node or instruction) -> its NumPy lines
        self.not_lowered: dict[str, str] = {}  # op name -> why it keeps its call (explain)
        self.vids = [0]  # value numbers of the lowered lines (t0, t1, ...)

    def stats(self) -> dict[str, Any]:
        """What the program is made of: ops lowered to NumPy lines, ops still called,
        the calls replayed whole, and why each op kind that is called was not lowered."""
        called = sum(1 for ln in self.lines if re.match(r"v\d+ = (_asarray\()?F\d+\(", ln))
        return {
            "ops_lowered": len(self.lowered),
            "ops_called": called,
            "whole_calls": [getattr(f, "__qualname__", str(f)) for f in self.opaque],
            "not_lowered": dict(self.not_lowered),
        }

    def name(self, prefix: str, obj: Any, kind: str) -> str:
        key = (prefix, id(obj))
        if key not in self._ids:
            n = f"{prefix}{len(self._ids)}"
            self._ids[key] = n
            self.env[n], self.kinds[n] = obj, kind
            if kind == "live":
                self.live.append(obj)
        return self._ids[key]

    def emit(self, line: str, note: str = "") -> None:
        self.lines.append(line)
        self.notes.append(note)

    def freeing(self) -> list[str]:
        """The lines with ``del`` after each value's last use: as in eager, an
        intermediate is freed once nothing needs it (the peak memory stays eager's)."""
        last: dict[str, int] = {}
        for i, ln in enumerate(self.lines):
            for name in _LOCAL.findall(ln):
                last[name] = i
        out: list[str] = []
        for i, ln in enumerate(self.lines):
            out.append(ln)
            dead = [n for n, j in last.items() if j == i and not ln.startswith("return")]
            if dead:
                out.append(f"del {', '.join(dead)}")
        return out

    def source(self) -> str:
        body = "\n".join(f"    {ln}" for ln in self.freeing()) or "    pass"
        return f"def program(X):\n{body}\n"


def build(rec: Recorder, flat: list[Any], result: Any) -> Program:
    prog = Program()
    for i, x in enumerate(flat):
        prog.emit(
            f"a{i} = X[{i}].data" if isinstance(x, Tensor) else f"a{i} = X[{i}]",
            f"input {_shape(x)}",
        )

    def expr(src: tuple, tensor: bool = False) -> str:
        kind = src[0]
        if kind == "v":
            return f"_T(v{src[1]})" if tensor else f"v{src[1]}"
        if kind == "arg":
            return f"X[{src[1]}]" if tensor else f"a{src[1]}"
        if kind == "live":
            n = prog.name("L", src[1], "live")
            return n if tensor else f"{n}.data"
        if kind == "view":
            _, base, shape, strides, off, dtype = src
            d = prog.name("D", dtype, "obj")
            return f"_view({expr(base)}, {shape}, {strides}, {off}, {d})"
        if kind == "seq":
            inner = ", ".join(expr(s, tensor) for s in src[2])
            return f"({inner},)" if src[1] is tuple else f"[{inner}]"
        return prog.name("C", src[1], "const")

    if LOWER[0]:
        _lower_all(prog, rec, flat)
    results: dict[int, str] = {}  # id(object returned by an opaque call) -> variable
    for k, ins in enumerate(rec.instrs):
        if ins[0] == "fwd" and (k if ins[5] is None else id(ins[5])) in prog.lowered:
            _emit_lowered_forward(prog, rec, ins, k, expr)
        elif ins[0] == "fwd":
            _, cls, fwd, srcs, psrc, node, n, _nd, _t = ins
            f = prog.name("F", fwd, "obj")
            if node is not None:
                ctx = prog.name("N", node, "node")
                node.needs_input_grad = rec.needs[id(node)]  # reused by every replay
            else:
                k = prog.name("K", cls, "obj")
                ctx = f"{k}.__new__({k})"
            args = [ctx] + [expr(s) for s in srcs] + [f"{k}={expr(s)}" for k, s in psrc.items()]
            call = f"{f}({', '.join(args)})"
            if np.ndim(rec.values[n]) == 0 and _t:
                call = f"_asarray({call})"
            prog.emit(f"v{n} = {call}", f"{cls.__name__}.forward -> {_shape(rec.values[n])}")
        elif ins[0] == "opaque":
            _, fn, asrc, ksrc, res, out = ins
            o = prog.name("O", fn, "obj")
            prog.opaque.append(fn)
            args = [expr(s, True) for s in asrc] + [f"{k}={expr(s, True)}" for k, s in ksrc.items()]
            r = f"r{len(prog.opaque)}"
            if not (out is None or isinstance(out, (bool, int, float, str))):
                results[id(out)] = r
            prog.emit(f"{r} = {o}({', '.join(args)})", f"{getattr(fn, '__qualname__', fn)}")
            for n, path in res:
                prog.emit(f"v{n} = {r}{path}")
        elif ins[0] == "setgrad":
            _, ref, src = ins
            value = "None" if src is None else expr(src, True)
            prog.emit(f"{expr(ref, True)}.grad = {value}", "a .grad set in the body")
        else:
            _emit_backward(prog, rec, ins[1], expr)
    prog.emit(f"return {_out_expr(prog, rec, result, results)}")
    return prog


LOWER = [True]  # lower ops to their NumPy calls (False: every op keeps its call)


def _input_value(rec: Recorder, flat: list[Any], src: tuple) -> Any:
    """The array (or constant) a source stood for in the recording."""
    kind = src[0]
    if kind == "v":
        x = rec.values[src[1]]
    elif kind == "arg":
        x = flat[src[1]]
        x = x.data if isinstance(x, Tensor) else x
    elif kind == "live":
        x = src[1].data
    elif kind == "const":
        return src[1]
    else:
        raise NotLowered(f"a {kind} input")
    if type(x) is not np.ndarray:
        raise NotLowered(f"a {type(x).__name__} input")
    return x


def _lower_all(prog: Program, rec: Recorder, flat: list[Any]) -> None:
    """Each op's forward and backward as NumPy lines, where they can be (see lower.py)."""
    calls: dict[int, list[tuple]] = {}
    for ins in rec.instrs:
        if ins[0] == "bwd":
            for node, is_tuple, nones in ins[1].calls:
                calls.setdefault(id(node), []).append((is_tuple, nones, ins[1]))
    writer = Writer(prog)
    # Formulas that draw (dropout's mask) draw while traced and checked: the draws are
    # given back, so the replays and eager draw the same numbers.
    gen, np_state = random.generator(), np.random.get_state()
    state = gen.bit_generator.state
    try:
        for k, ins in enumerate(rec.instrs):
            if ins[0] == "fwd":
                _lower_one(prog, rec, flat, ins, k, calls, writer)
    finally:
        gen.bit_generator.state = state
        np.random.set_state(np_state)


def _lower_one(
    prog: Program, rec: Recorder, flat: list[Any], ins: tuple, k: int, calls: dict, writer: Writer
) -> None:
    """One op's lowering, into ``prog.lowered`` (or why not, into ``prog.not_lowered``)."""
    _, cls, fwd, srcs, psrc, node, n, _nd, _t = ins
    key = k if node is None else id(node)
    names = (dict(prog._ids), dict(prog.env), dict(prog.kinds), list(prog.live))
    try:
        grad = expect = None
        if node is not None and id(node) in calls:
            (is_tuple, nones, bwd), *more = calls[id(node)]
            if more:
                raise NotLowered("its backward runs more than once")
            if not (fast.enabled("array_mode") and node.array_backward):
                raise NotLowered("its backward is written with Tensor ops")
            (grad,) = bwd.grad_in[id(node)]
            grad, expect = np.asarray(grad), (is_tuple, nones)
        inputs = [_input_value(rec, flat, s) for s in srcs]
        params = {name: _input_value(rec, flat, s) for name, s in psrc.items()}
        needs = rec.needs.get(id(node)) if node is not None else None
        prog.lowered[key] = lower(
            cls, fwd, inputs, params, needs, grad, expect, prog.vids, writer, _FAST_SAVED
        )
    except Exception as e:  # noqa: BLE001 (any failure: the op keeps its call)
        for now, before in zip((prog._ids, prog.env, prog.kinds, prog.live), names):
            now.clear()  # the names it made go too
            now.update(before) if isinstance(now, dict) else now.extend(before)
        prog.not_lowered.setdefault(cls.__name__, f"{type(e).__name__}: {e}")


_SIMPLE = re.compile(r"[vat]\d+|g\d+_\d+")
_TVAR = re.compile(r"\bt(\d+)\b")


def _renamed(lines: list[str], names: dict[int, str]) -> list[str]:
    """The lowered lines with their values renamed to the program's own variables."""
    return [_TVAR.sub(lambda m: names.get(int(m.group(1)), m.group(0)), ln) for ln in lines]


def _emit_lowered_forward(prog: Program, rec: Recorder, ins: tuple, k: int, expr: Any) -> None:
    _, cls, fwd, srcs, psrc, node, n, _nd, _t = ins
    low = prog.lowered[k if node is None else id(node)]
    names = low.names
    for vid, src in zip(low.in_vids, [*srcs, *psrc.values()]):
        if vid is not None:
            e = expr(src)
            if _SIMPLE.fullmatch(e):
                names[vid] = e
            else:
                prog.emit(f"t{vid} = {e}", f"{cls.__name__} input")
    wrap = np.ndim(rec.values[n]) == 0 and _t
    if not wrap and low.out_vid not in names:
        names[low.out_vid] = f"v{n}"
    for ln in _renamed(low.fwd, names):
        prog.emit(ln, "lowered")
    note = f"{cls.__name__}.forward -> {_shape(rec.values[n])}"
    if wrap:
        prog.emit(f"v{n} = _asarray({_renamed([f't{low.out_vid}'], names)[0]})", note)
    elif names[low.out_vid] != f"v{n}":
        prog.emit(f"v{n} = {names[low.out_vid]}", note)
    elif prog.notes[-1] == "lowered":
        prog.notes[-1] = note
    else:
        prog.emit(f"v{n} = v{n}", note)


def _emit_lowered_backward(prog: Program, node: Function, total: str, outs: list) -> None:
    low = prog.lowered[id(node)]
    names = low.names
    if _SIMPLE.fullmatch(total):
        names[low.grad_vid] = total
    else:
        prog.emit(f"t{low.grad_vid} = {total}")
    after = []
    for o, vid in zip(outs, low.grad_vids):
        if o is None or vid is None:
            continue
        if vid > low.grad_vid and low.grad_vids.count(vid) == 1 and vid not in names:
            names[vid] = o
        else:
            after.append((o, vid))
    for ln in _renamed(low.bwd or [], names):
        prog.emit(ln, "lowered")
    for o, vid in after:
        prog.emit(f"{o} = {_renamed([f't{vid}'], names)[0]}")
    prog.notes[-1] = f"{node.name()}, lowered"


def _emit_backward(prog: Program, rec: Recorder, bwd: BackwardRecord, expr: Any) -> None:
    counter = [0]

    def fresh() -> str:
        counter[0] += 1
        return f"g{len(prog.lines)}_{counter[0]}"

    contrib: dict[int, list[str]] = {}
    leaves: dict[int, tuple[Tensor, list[str]]] = {}
    for node, g in zip(bwd.roots, bwd.root_grads):
        if node is None:
            raise Unsupported("backward from a leaf tensor")
        contrib.setdefault(id(node), []).append(expr(g))
    ids = bwd.grad_ids
    counts: dict[int, int] = {}
    roots = [g[1].data if isinstance(g[1], Tensor) else g[1] for g in bwd.root_grads]
    for gid in ids + [id(r) for r in roots] * 2:  # a root gradient is never kept
        counts[gid] = counts.get(gid, 0) + 1
    unique: dict[str, bool] = {}  # gradient variable -> no other value is the same array
    pos = 0
    prog.emit("_st.active = True", "backward: nodes in the engine's order")
    prog.emit("_Fn.saved_tensors = _FAST", "saved arrays handed back as they are")
    for node, is_tuple, nones in bwd.calls:
        parts = contrib.pop(id(node), [])
        if not parts:
            raise Unsupported(f"{node.name()} ran without a recorded gradient")
        total = parts[0]
        for p in parts[1:]:
            v = fresh()
            prog.emit(f"{v} = {total} + {p}", "gradient sum")
            total = v
        outs = [None if none else fresh() for none in nones]
        k = sum(1 for none in nones if not none)
        for o, gid in zip([o for o in outs if o], ids[pos : pos + k]):
            unique[o] = counts[gid] == 1 and gid not in rec.producer
        pos += k
        low = prog.lowered.get(id(node))
        if low is not None and low.bwd is not None:
            _emit_lowered_backward(prog, node, total, outs)
        else:
            _emit_node_call(prog, node, total, outs, is_tuple)
        for nxt, o in zip(node.next_edges, outs):
            if o is None or nxt is None:
                continue
            if isinstance(nxt, Function):
                contrib.setdefault(id(nxt), []).append(o)
            else:
                leaves.setdefault(id(nxt), (nxt, []))[1].append(o)
    prog.emit("_st.active = False")
    prog.emit("_Fn.saved_tensors = _P")
    for leaf, parts in leaves.values():
        total = parts[0]
        for p in parts[1:]:
            v = fresh()
            prog.emit(f"{v} = {total} + {p}", "leaf gradient sum")
            total = v
        ref = bwd.leaf_ref(leaf)
        lx = f"X[{ref[1]}]" if ref[0] == "arg" else prog.name("L", leaf, "live")
        # A sum is a fresh array; a node's gradient is kept as .grad when no other
        # value was the same array in the recording (``_acc`` also wants it unviewed).
        steal = len(parts) > 1 or unique.get(total, False)
        prog.emit(f"_acc({lx}, {total}, {steal})", f"into .grad of {_shape(leaf)}")


def _emit_node_call(prog: Program, node: Function, total: str, outs: list, is_tuple: bool) -> None:
    """The node's own backward, called with the node as its context."""
    n = prog.name("N", node, "node")
    if fast.enabled("array_mode") and node.array_backward:
        b = prog.name("B", type(node).backward, "obj")
        call = f"{b}({n}, {total})"
    else:
        call = f"_tvjp({n}, {total})"
    lhs = ", ".join(o or "_" for o in outs)
    if is_tuple or not call.startswith("B"):
        lhs += ","
    prog.emit(f"{lhs} = {call}", f"{node.name()}")
    prog.emit(f"{n}._saved = None")


def _out_expr(prog: Program, rec: Recorder, x: Any, results: dict[int, str]) -> str:
    if id(x) in results:
        return results[id(x)]
    if isinstance(x, Tensor):
        if x.grad_fn is not None and id(x.grad_fn) not in rec.called:
            raise Unsupported(
                f"the result (shape {tuple(x.shape)}) still carries its graph: call backward "
                "inside the compiled function, or run it under no_grad"
            )
        src = rec.source(x) if x.grad_fn is None else ("v", rec.producer[id(x.data)])
        return expr_tensor(prog, src)
    if isinstance(x, (tuple, list)):
        inner = ", ".join(_out_expr(prog, rec, e, results) for e in x)
        return f"({inner},)" if isinstance(x, tuple) else f"[{inner}]"
    if isinstance(x, dict):
        return (
            "{"
            + ", ".join(f"{k!r}: {_out_expr(prog, rec, v, results)}" for k, v in x.items())
            + "}"
        )
    if x is None or isinstance(x, (bool, int, float, str)):
        return repr(x)
    raise Unsupported(f"the function returns a {type(x).__name__}")


def expr_tensor(prog: Program, src: tuple) -> str:
    if src[0] == "v":
        return f"_T(v{src[1]})"
    if src[0] == "arg":
        return f"X[{src[1]}]"
    if src[0] == "live":
        return prog.name("L", src[1], "live")
    return f"_T({prog.name('C', src[1], 'const')})"
