"""Where the recorder listens, installed only while one call is recorded and removed
after it: ``Function.apply``, the backward entry point, the calls replayed whole
(optimizer, scheduler, gradient clipping), the reads of tensor values into Python,
and ``Module.__call__`` (whose ``training`` flags become guards)."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Iterator
from typing import Any

import minigrad.autograd as autograd_pkg
from minigrad.compile.recorder import Recorder, Unsupported, _where
from minigrad.core.autograd import Function, Tensor

_active: list[Recorder | None] = [None]

# Reading a tensor's value into Python: a later call could branch differently.
# Helpers that compute an op's parameters from its arguments in plain Python / NumPy:
# replayed whole, so a new argument gives new parameters.
REPLAYED_HELPERS = (
    ("minigrad.nn.functional.loss_cross_entropy", "index_target"),
    ("minigrad.models._layers", "attention_blocked"),
    ("minigrad.models._layers", "additive_attention_mask"),
    ("minigrad.models.cache", "build_mask"),
    ("minigrad.models.gpt2", "shifted_labels"),
    ("minigrad.tensor", "_constructor_array"),  # ``Tensor(array)`` copies its argument
    # random tensors made in the body: drawn afresh at every replay, in eager order
    *(("minigrad.creation", f) for f in ("rand", "randn", "randint", "randperm")),
    *(("minigrad.creation", f) for f in ("rand_like", "randn_like")),
)
VALUE_READS = ("item", "numpy", "tolist", "__bool__", "__int__", "__float__", "__index__")


def active() -> Recorder | None:
    return _active[0]


def _subclasses(cls: type) -> list[type]:
    out, stack = [], [cls]
    while stack:
        c = stack.pop()
        out.append(c)
        stack.extend(c.__subclasses__())
    return out


def _opaque_targets() -> list[tuple[Any, str]]:
    from minigrad.nn import utils as nn_utils
    from minigrad.optim.lr_scheduler import LRScheduler
    from minigrad.optim.optimizer import Optimizer

    targets: list[tuple[Any, str]] = []
    for c in _subclasses(Optimizer):
        targets += [(c, m) for m in ("step", "zero_grad") if m in c.__dict__]
    for c in _subclasses(LRScheduler):
        targets += [(c, "step")] if "step" in c.__dict__ else []
    targets += [(nn_utils, "clip_grad_norm_"), (nn_utils, "clip_grad_value_")]
    # Python that turns an argument into an op's parameters (checks, index grids, masks),
    # patched in every minigrad module that imported it.
    for module_name, name in REPLAYED_HELPERS:
        f = getattr(sys.modules.get(module_name), name, None)
        if f is None:
            continue  # not imported (nothing can call it), or not in this version
        for mod in list(sys.modules.values()):
            if _ours(mod) and mod.__dict__.get(name) is f:
                targets.append((mod, name))
    return targets


def _ours(mod: Any) -> bool:
    name = getattr(mod, "__name__", None)
    return isinstance(name, str) and (name == "minigrad" or name.startswith("minigrad."))


def optimizers_in(rec: Recorder) -> list[Any]:
    from minigrad.optim.optimizer import Optimizer

    seen: dict[int, Any] = {}
    for ins in rec.instrs:
        if ins[0] == "opaque" and ins[2] and ins[2][0][0] == "const":
            obj = ins[2][0][1]
            if isinstance(obj, Optimizer):
                seen[id(obj)] = obj
    return list(seen.values())


def _fail(rec: Recorder, e: Unsupported) -> None:
    if rec.broken is None:
        rec.broken = str(e)


@contextlib.contextmanager
def recording(rec: Recorder) -> Iterator[None]:
    from minigrad.nn.modules.module import Module

    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, new: Any) -> None:
        saved.append(
            (owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name))
        )
        setattr(owner, name, new)

    orig_apply = Function.__dict__["apply"].__func__

    def apply(cls: type, *inputs: Any, **params: Any) -> Any:
        if rec.paused or rec.broken:
            return orig_apply(cls, *inputs, **params)
        try:
            return rec.on_apply(orig_apply, cls, inputs, params)
        except Unsupported as e:
            _fail(rec, e)
            return orig_apply(cls, *inputs, **params)

    patch(Function, "apply", classmethod(apply))

    orig_bwd = autograd_pkg.run_backward

    def run_backward(roots: Any, grads: Any, retain: bool, create: bool, inputs: Any = None) -> Any:
        if rec.paused or rec.broken:
            return orig_bwd(roots, grads, retain, create, inputs)
        try:
            return rec.on_backward(orig_bwd, roots, grads, retain, create, inputs)
        except Unsupported as e:
            _fail(rec, e)
            return orig_bwd(roots, grads, retain, create, inputs)

    patch(autograd_pkg, "run_backward", run_backward)

    for owner, name in _opaque_targets():
        patch(
            owner,
            name,
            _opaque(rec, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)),
        )

    for name in VALUE_READS:
        patch(Tensor, name, _value_read(rec, Tensor.__dict__[name], name))

    slot = Tensor.__dict__["grad"]  # the slot's descriptor

    def get_grad(self: Tensor) -> Any:
        if not rec.paused and rec.broken is None:
            rec.broken = (
                f"the body reads .grad of a tensor of shape {tuple(self.data.shape)} at "
                f"{_where()}: gradients are read by the optimizer's step, not replayed ops"
            )
        return slot.__get__(self, Tensor)

    def set_grad(self: Tensor, value: Any) -> None:
        # Only a leaf that requires grad has a gradient to reset (a new Tensor's
        # ``__init__`` sets its ``grad`` before its flags).
        if not rec.paused and rec.broken is None and getattr(self, "_requires_grad", False):
            rec.on_grad_set(self, value)
        slot.__set__(self, value)

    patch(Tensor, "grad", property(get_grad, set_grad))

    orig_call = Module.__dict__["__call__"]

    def module_call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not rec.paused:
            rec.on_module(self)
        return orig_call(self, *args, **kwargs)

    patch(Module, "__call__", module_call)
    _active[0] = rec
    try:
        yield
    finally:
        _active[0] = None
        for owner, name, old in reversed(saved):
            setattr(owner, name, old)


def _opaque(rec: Recorder, fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if rec.paused or rec.broken:
            return fn(*args, **kwargs)
        try:
            return rec.on_opaque(fn, args, kwargs)
        except Unsupported as e:
            _fail(rec, e)
            return fn(*args, **kwargs)

    return wrapper


def _value_read(rec: Recorder, fn: Any, name: str) -> Any:
    @functools.wraps(fn)
    def wrapper(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        if not rec.paused:
            rec.on_break(f"Tensor.{name}()", self)
        return fn(self, *args, **kwargs)

    return wrapper
