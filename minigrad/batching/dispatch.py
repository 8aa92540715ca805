"""How an op call reaches its batching rule, and the loop for ops without one.

While a vmap runs (and only then, so ordinary calls pay nothing), every public op is
replaced, in every minigrad module that holds it and on ``Tensor``, by a dispatcher:
``call(name, fn, args, kwargs)``. When no argument is a :class:`BatchedTensor` it calls
``fn`` at once. Otherwise the highest level among the arguments is batched (the
innermost vmap); its rule, ``RULES[name]`` from ``rules.py``, calls ``fn`` on the
unwrapped tensors with the dimensions adjusted. Arguments of lower levels (or plain
Tensors) are constants at this level: they pass through, and when ``fn`` itself meets
them the dispatch repeats one level down.

An op without a rule runs by its definition, :func:`loop`: slice the batch, call the op
per example, stack the results. That is exact whatever the op does, only slower; a rule
may also decline (return ``NotImplemented``) for arguments it does not cover, and the
loop runs then.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import types
from collections.abc import Callable, Iterator
from typing import Any

from minigrad.batching.batched import BatchedTensor
from minigrad.core.autograd import Tensor

__all__ = [
    "LEVELS",
    "call",
    "entry_points",
    "levels_active",
    "loop",
    "method",
    "patched",
    "without_rules",
]

# The vmap levels now running, outermost first: (level, batch size, randomness).
LEVELS: list[tuple[int, int, str]] = []
RULES: dict[str, Callable[..., Any]] = {}  # filled by rules.py
# What ran per op name during the current process (for the registry's accounting).
STATS: dict[str, dict[str, int]] = {"rule": {}, "loop": {}}


@contextlib.contextmanager
def without_rules() -> Iterator[None]:
    """Every op under vmap by the per-example loop (to measure what the rules save)."""
    saved = dict(RULES)
    RULES.clear()
    try:
        yield
    finally:
        RULES.update(saved)


def levels_active() -> bool:
    return bool(LEVELS)


def _level_of(x: Any) -> int:
    if isinstance(x, BatchedTensor):
        return x.level
    if isinstance(x, (list, tuple)):
        return max((_level_of(y) for y in x), default=0)
    return 0


def top_level(args: tuple, kwargs: dict) -> int:
    lv = 0
    for a in args:
        lv = max(lv, _level_of(a))
    for a in kwargs.values():
        lv = max(lv, _level_of(a))
    return lv


def batch_size(level: int) -> int:
    for lv, n, _ in LEVELS:
        if lv == level:
            return n
    raise RuntimeError(f"vmap: level {level} is not active (a batched Tensor escaped its vmap)")


def randomness(level: int) -> str:
    for lv, _, r in LEVELS:
        if lv == level:
            return r
    return "error"


def call(name: str, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """``fn(*args, **kwargs)``, batched at the innermost level among the arguments."""
    level = top_level(args, kwargs)
    if level == 0:
        if name in RANDOM_FACTORIES and LEVELS and LEVELS[-1][2] == "different":
            return _different_draws(fn, args, kwargs)
        return fn(*args, **kwargs)
    rule = RULES.get(name)
    if name in RANDOM_OPS and randomness(level) == "same":
        rule = None  # the loop replays the same draws for every example
    if rule is not None:
        out = rule(_redispatching(name, fn), level, args, kwargs)
        if out is not NotImplemented:
            STATS["rule"][name] = STATS["rule"].get(name, 0) + 1
            return out
    STATS["loop"][name] = STATS["loop"].get(name, 0) + 1
    return loop(fn, level, args, kwargs, name)


RANDOM_FACTORIES = ("rand", "randn", "randint")
RANDOM_OPS = ("dropout", "alpha_dropout", "dropout1d", "dropout2d", "dropout3d")


def _different_draws(fn: Callable[..., Any], args: tuple, kwargs: dict) -> BatchedTensor:
    """``randn(*size)`` inside vmap(randomness="different"): a draw of (B, *size), one
    example each, batched at the innermost level."""
    level, n, _ = LEVELS[-1]
    sig = inspect.signature(fn).bind(*args, **kwargs)
    sizes = sig.arguments.get("size", ())
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    sig.arguments["size"] = (n, *sizes)
    return BatchedTensor(fn(*sig.args, **sig.kwargs), level)


_REDISPATCH: dict[int, tuple[Any, Any]] = {}


def _redispatching(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` dispatching again: what a rule calls, so arguments of lower levels are
    batched by their own rules."""
    got = _REDISPATCH.get(id(fn))
    if got is None or got[0] is not fn:
        got = _REDISPATCH[id(fn)] = (fn, _dispatcher(name, fn))
    return got[1]


# ------------------------------------------------------------------ the loop
def _slice(x: Any, level: int, b: int) -> Any:
    if isinstance(x, BatchedTensor) and x.level == level:
        return x.value[b]
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_slice(y, level, b) for y in x)
    return x


def loop(fn: Callable[..., Any], level: int, args: tuple, kwargs: dict, name: str = "") -> Any:
    """The definition of vmap for one op: call it per example and stack the results."""
    from minigrad import random

    n = batch_size(level)
    again = _redispatching(name, fn) if name else fn
    same = randomness(level) == "same"
    state = random._generator.bit_generator.state if same else None
    results = []
    for b in range(n):
        if same:  # every example draws the same random numbers
            random._generator.bit_generator.state = state
        a = tuple(_slice(x, level, b) for x in args)
        k = {key: _slice(v, level, b) for key, v in kwargs.items()}
        results.append(again(*a, **k))
    return _stack_results(results, level, name or getattr(fn, "__name__", "op"))


def _stack_results(results: list, level: int, name: str) -> Any:
    first = results[0]
    if isinstance(first, (Tensor, BatchedTensor)):
        shapes = {tuple(r.shape) for r in results}
        if len(shapes) > 1:
            raise RuntimeError(
                f"vmap: {name} gives results of different shapes {sorted(shapes)} for "
                f"different examples (a data-dependent output shape); vmap cannot stack them"
            )
        return BatchedTensor(call("stack", _stack_fn(), (list(results),), {}), level)
    if isinstance(first, (list, tuple)):
        cols = [_stack_results([r[i] for r in results], level, name) for i in range(len(first))]
        return type(first)(*cols) if hasattr(first, "_fields") else type(first)(cols)
    if first is None or all(r == first for r in results):
        return first
    raise RuntimeError(
        f"vmap: {name} returns a Python value ({type(first).__name__}) that differs between "
        f"examples; under vmap it must be a Tensor"
    )


@functools.cache
def _stack_fn() -> Callable[..., Any]:
    return entry_points()["stack"]


# ------------------------------------------------------------------ entry points
_UNPATCHED_CREATION = ("tensor", "as_tensor", "from_numpy")


def _copy(fn: types.FunctionType) -> types.FunctionType:
    """A second function object running fn's code: the op itself, kept while fn's own
    code is the dispatcher's."""
    impl = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__)
    impl.__kwdefaults__ = fn.__kwdefaults__
    impl.__doc__, impl.__qualname__, impl.__module__ = fn.__doc__, fn.__qualname__, fn.__module__
    impl.__dict__.update(fn.__dict__)
    return impl


@functools.cache
def _entry_table() -> dict[int, tuple[str, types.FunctionType, types.FunctionType]]:
    """id(public function) -> (rule name, the function, a copy of it): the declared
    ops, the nn.functional and linalg functions and the creation functions
    (``zeros_like``, ``randn``...)."""
    import minigrad
    import minigrad.linalg
    import minigrad.nn.functional as F
    from minigrad import creation
    from minigrad.ops.declare import DECLARED

    table: dict[int, tuple[str, types.FunctionType, types.FunctionType]] = {}
    for d in DECLARED.values():
        table[id(d.fn)] = (d.name, d.fn, _copy(d.fn))
    for mod, prefix in ((F, ""), (minigrad.linalg, "linalg."), (creation, "")):
        for n, v in vars(mod).items():
            if n.startswith("_") or not isinstance(v, types.FunctionType) or id(v) in table:
                continue
            if mod is creation and n in _UNPATCHED_CREATION:
                continue
            if v.__module__.startswith(("minigrad.nn.functional", "minigrad.linalg")) or (
                mod is creation and v.__module__ == "minigrad.creation"
            ):
                table[id(v)] = (prefix + n, v, _copy(v))
    del minigrad
    return table


def entry_points() -> dict[str, Callable[..., Any]]:
    """Rule name -> the op's own code (a copy of the public function)."""
    out: dict[str, Callable[..., Any]] = {}
    for name, _, impl in _entry_table().values():
        out.setdefault(name, impl)
    return out


def impl_of(fn: Callable[..., Any]) -> Callable[..., Any]:
    got = _entry_table().get(id(fn))
    return got[2] if got is not None and got[1] is fn else fn


def _dispatcher(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def dispatch(*args: Any, **kwargs: Any) -> Any:
        return call(name, fn, args, kwargs)

    return dispatch


@functools.cache
def _trampoline(key: str) -> types.CodeType:
    """The code a public function runs during vmap: hand its arguments to the
    dispatcher stored under ``key`` in its module's globals."""
    src = f"def _t(*args, **kwargs):\n    return {key}(args, kwargs)\n"
    scope: dict[str, Any] = {}
    exec(compile(src, "<vmap dispatch>", "exec"), scope)
    return scope["_t"].__code__


def _swaps() -> list[tuple[types.FunctionType, str, Callable[..., Any]]]:
    """(public function, global key, handler) for every entry point and the random
    generator accessor."""
    from minigrad import random

    out = []
    for name, fn, impl in _entry_table().values():
        key = "_vmap_dispatch_" + name.replace(".", "_")

        def handler(args: tuple, kwargs: dict, _n: str = name, _f: Any = impl) -> Any:
            return call(_n, _f, args, kwargs)

        out.append((fn, key, handler))
    gen = _copy(random.generator)
    out.append((random.generator, "_vmap_guarded_generator", lambda a, k: _guarded(gen)))
    return out


_SWAPS: list = []


@contextlib.contextmanager
def patched() -> Iterator[None]:
    """For the outermost vmap's duration, every public op runs the dispatcher's code
    (however it is reached: a module attribute, a Tensor method or operator, a stored
    reference); the op's own code runs from its copy. Nested vmaps find it in place."""
    if LEVELS:
        yield
        return
    if not _SWAPS:
        _SWAPS.extend(_swaps())
    saved = []
    try:
        for fn, key, handler in _SWAPS:
            saved.append((fn, fn.__code__))
            fn.__globals__[key] = handler
            fn.__code__ = _trampoline(key)
        yield
    finally:
        for fn, code in saved:
            fn.__code__ = code
        for fn, key, _ in _SWAPS:
            fn.__globals__.pop(key, None)


def _guarded(gen: Callable[[], Any]) -> Any:
    if any(r == "error" for _, _, r in LEVELS):
        raise RuntimeError(
            "vmap: called random operation while in randomness error mode. Please either "
            "use the 'same' or 'different' randomness flags on vmap or perform the "
            "randomness operation out of vmap"
        )
    return gen()


# ------------------------------------------------------------------ methods
@functools.cache
def _method_table() -> dict[str, tuple[str, Callable[..., Any]]]:
    from minigrad.ops.declare import DECLARED

    out: dict[str, tuple[str, Callable[..., Any]]] = {}
    for d in DECLARED.values():
        for m in d.methods:
            out[m] = (d.name, impl_of(d.fn))
    return out


_INPLACE = {"add_": "add", "sub_": "sub", "mul_": "mul", "div_": "div", "clamp_": "clamp"}


def method(x: BatchedTensor, name: str) -> Any:
    """``x.name`` for a BatchedTensor: a declared op's method, a cast, an in-place
    update of the batched value, or (any other Tensor method) the loop."""
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)
    table = _method_table()
    if name in table:
        op_name, fn = table[name]
        fn = impl_of(fn)
        return lambda *a, **k: call(op_name, fn, (x, *a), k)
    from minigrad._methods import METHODS

    if name in METHODS:  # written with ops, which dispatch on x
        return lambda *a, **k: METHODS[name](x, *a, **k)
    if name in ("detach", "requires_grad_"):
        return lambda *a, **k: _on_value(x, name, a, k)
    if name == "T":
        return call("permute", table["permute"][1], (x, tuple(range(x.ndim))[::-1]), {})
    if name == "mT":
        return call("transpose", table["transpose"][1], (x, -2, -1), {})
    if name in _INPLACE:
        op_name = _INPLACE[name]
        return lambda *a, **k: _inplace(x, call(op_name, table[op_name][1], (x, *a), k), name)
    if name == "copy_":
        return lambda src: _inplace(x, _expand_like(src, x), name)
    if name in ("zero_", "fill_"):
        from minigrad import creation

        def fill(v: Any = 0) -> BatchedTensor:
            return _inplace(x, _expand_like(creation.full_like(x.value[0], v), x), name)

        return fill
    attr = getattr(Tensor, name, None)
    if attr is None or not callable(attr):
        raise AttributeError(f"'BatchedTensor' (a Tensor inside vmap) has no attribute {name!r}")
    return lambda *a, **k: call(
        "Tensor." + name, lambda t, *aa, **kk: attr(t, *aa, **kk), (x, *a), k
    )


def _on_value(x: BatchedTensor, name: str, a: tuple, k: dict) -> Any:
    out = getattr(x.value, name)(*a, **k)
    return x if name == "requires_grad_" else BatchedTensor(out, x.level)


def _expand_like(src: Any, x: BatchedTensor) -> BatchedTensor:
    table = _method_table()
    out = call("expand", table["expand"][1], (src, *x.shape), {})
    if isinstance(out, BatchedTensor) and out.level == x.level:
        return out
    return BatchedTensor(
        call("expand", table["expand"][1], (out, x.value.shape[0], *x.shape), {}), x.level
    )


def _inplace(x: BatchedTensor, result: Any, name: str) -> BatchedTensor:
    """Write ``result`` (the op's out-of-place value) into x's batched value."""
    if not (isinstance(result, BatchedTensor) and result.level == x.level):
        result = _expand_like(result, x)
    if result.level != x.level or tuple(result.shape) != tuple(x.shape):
        raise RuntimeError(
            f"vmap: {name}(self, ...) is not possible: the result has shape "
            f"{tuple(result.shape)} but self has shape {tuple(x.shape)}"
        )
    x.value.copy_(result.value)
    return x


def setitem(x: BatchedTensor, index: Any, value: Any) -> None:
    raise RuntimeError(
        f"vmap: assigning into a batched Tensor (tensor[...] = value, shape {x.shape}) is not "
        "supported by minigrad's vmap; build the result out of place (e.g. with where or cat)"
    )


def _install_operators() -> None:
    """Python operators on BatchedTensor: the declared ops' operators (``x * y``)."""
    from minigrad.ops.declare import DECLARED

    for d in DECLARED.values():
        impl = impl_of(d.fn)
        for o in d.operators:
            if o.startswith("__r") and o != "__rshift__":

                def rop(self: Any, other: Any, _n: str = d.name, _f: Any = impl) -> Any:
                    return call(_n, _f, (other, self), {})

                setattr(BatchedTensor, o, rop)
            else:

                def fop(self: Any, *other: Any, _n: str = d.name, _f: Any = impl) -> Any:
                    return call(_n, _f, (self, *other), {})

                setattr(BatchedTensor, o, fop)
    from minigrad._methods import METHODS

    for o in ("__pow__", "__rpow__", "__pos__"):
        setattr(BatchedTensor, o, METHODS[o])
    BatchedTensor.__hash__ = object.__hash__  # __eq__ is an op, identity stays the hash


_install_operators()
