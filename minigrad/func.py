"""Composable function transforms, as ``torch.func``.

Each transform takes a function of Tensors and returns a function:

- ``grad(f)(x)`` = ∇f(x) for a scalar f (reverse mode); ``grad_and_value`` also gives f(x);
- ``vjp(f, x)`` = (f(x), u ↦ uᵀJ) and ``jvp(f, (x,), (v,))`` = (f(x), J v) (forward mode);
- ``jacrev(f)`` builds the Jacobian a row per backward pass, ``jacfwd(f)`` a column per
  forward pass: for f: ℝⁿ → ℝᵐ, reverse mode costs m passes, forward mode n, so jacrev
  suits wide Jacobians (few outputs) and jacfwd tall ones (few inputs);
- ``hessian(f)`` = jacfwd(jacrev(f)): forward-over-reverse, the tangents flowing through
  the backward pass;
- ``vmap(f)`` maps f over a batch dimension; ``functional_call`` runs a module with
  given parameters, so a model is a function of its weights.

Transforms compose (``vmap(grad(loss), in_dims=(None, 0, 0))`` gives per-sample
gradients) because every derivative here is computed with recorded Tensor ops
(``create_graph``), so it can be differentiated again. Arguments and results may be
Tensors or (nested) tuples, lists and dicts of Tensors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from minigrad import autograd
from minigrad.autograd import forward_ad
from minigrad.batching.dispatch import LEVELS
from minigrad.batching.transforms import lifted_grad_and_value, lifted_jvp, lifted_vjp
from minigrad.core import primitives as P
from minigrad.core.grad_mode import _state, enable_grad
from minigrad.tensor import Tensor

__all__ = [
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "vjp",
    "vmap",
]


# ------------------------------------------------------------------ trees of tensors
def tree_flatten(tree: Any) -> tuple[list[Any], Any]:
    """The leaves of a nest of tuples, lists and dicts, and how to rebuild it."""
    if isinstance(tree, (tuple, list)):
        parts = [tree_flatten(t) for t in tree]
        return [x for leaves, _ in parts for x in leaves], (type(tree), [s for _, s in parts])
    if isinstance(tree, dict):
        parts = [tree_flatten(v) for v in tree.values()]
        spec = (dict, list(tree.keys()), [s for _, s in parts])
        return [x for leaves, _ in parts for x in leaves], spec
    return [tree], None


def tree_unflatten(leaves: list[Any], spec: Any) -> Any:
    it = iter(leaves)
    return _rebuild(it, spec)


def _rebuild(it: Iterator[Any], spec: Any) -> Any:
    if spec is None:
        return next(it)
    if spec[0] is dict:
        return {k: _rebuild(it, s) for k, s in zip(spec[1], spec[2])}
    items = [_rebuild(it, s) for s in spec[1]]
    return spec[0](*items) if hasattr(spec[0], "_fields") else spec[0](items)  # (namedtuples)


def _tree_map(fn: Callable[[Any], Any], tree: Any) -> Any:
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def _argnums(argnums: int | tuple[int, ...], n: int, name: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for a in nums:
        if not -n <= a < n:
            raise RuntimeError(f"{name}: got argnums={argnums} for a function of {n} arguments")
    return tuple(a % n for a in nums)


# ------------------------------------------------------------------ reverse mode
def _as_input(x: Any, name: str) -> Tensor:
    """A fresh graph position for x: an alias if x is recorded already (the graph to
    x is kept, for nested transforms), else a leaf that requires grad. Tangents stay."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected Tensors as the differentiated arguments, got {x!r}")
    if x.dtype.kind != "f":
        raise RuntimeError(f"{name}: only floating point Tensors can be differentiated")
    if x.requires_grad:
        return P.Reshape.apply(x, shape=x.shape)
    leaf = Tensor(x.data, requires_grad=True)
    leaf._fw = x._fw if _state.forward else None
    return leaf


def _plain(t: Tensor) -> Tensor:
    """``t`` without its graph, keeping its tangent (results of a top-level transform)."""
    out = t.detach()
    out._fw = t._fw
    return out


def _grads(outputs: list[Tensor], inputs: list[Tensor], cotangents: list[Any]) -> list[Tensor]:
    """Σ over outputs of uᵀ ∂out/∂input, recorded (create_graph): zeros for unused inputs."""
    outs = [(o, u) for o, u in zip(outputs, cotangents) if o.requires_grad]
    if not outs:
        return [Tensor(np.zeros_like(x.data)) for x in inputs]
    gs = autograd.grad(
        [o for o, _ in outs],
        inputs,
        [u for _, u in outs],
        retain_graph=True,
        create_graph=True,
        allow_unused=True,
    )
    return [Tensor(np.zeros_like(x.data)) if g is None else g for x, g in zip(inputs, gs)]


def _prepare(args: tuple, nums: tuple[int, ...], name: str) -> tuple[list, list, list, bool]:
    """Arguments with the differentiated ones replaced by fresh inputs; their leaves."""
    args = list(args)
    specs, leaves, outer = [], [], False
    for a in nums:
        xs, spec = tree_flatten(args[a])
        outer |= any(isinstance(x, Tensor) and x.requires_grad for x in xs)
        fresh = [_as_input(x, name) for x in xs]
        args[a] = tree_unflatten(fresh, spec)
        specs.append(spec)
        leaves.append(fresh)
    return args, specs, leaves, outer


def grad_and_value(
    func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable:
    """``(∇f(args), f(args))`` (with ``has_aux``: ``((∇f, (f, aux)))``), the gradient with
    respect to the arguments ``argnums`` (a tuple of them gives a tuple of gradients)."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if LEVELS:  # under vmap: each example differentiated alone
            return lifted_grad_and_value(func, argnums, has_aux, args, kwargs)
        nums = _argnums(argnums, len(args), "grad")
        with enable_grad():
            full, specs, leaves, outer = _prepare(args, nums, "grad")
            out = func(*full, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError(
                        "grad_and_value(f)(*args): output of function f should be a tuple: "
                        "(output, aux) if has_aux is True"
                    )
                out, aux = out
            if not isinstance(out, Tensor) or out.data.size != 1:
                shape = getattr(out, "shape", type(out).__name__)
                raise RuntimeError(
                    f"grad(f)(*args): expected f(*args) to return a scalar Tensor, got {shape}"
                )
            flat = [x for xs in leaves for x in xs]
            one = Tensor(np.ones_like(out.data))
            gs = _grads([out], flat, [one])
        if not outer:
            gs, out = [_plain(g) for g in gs], _plain(out)
        per_arg, i = [], 0
        for spec, xs in zip(specs, leaves):
            per_arg.append(tree_unflatten(gs[i : i + len(xs)], spec))
            i += len(xs)
        g = per_arg[0] if isinstance(argnums, int) else tuple(per_arg)
        return (g, (out, aux)) if has_aux else (g, out)

    return wrapper


def grad(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """∇f: the gradient of a scalar function with respect to ``argnums`` (reverse mode)."""
    gv = grad_and_value(func, argnums, has_aux)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(f(primals), vjp_fn[, aux])``; ``vjp_fn(u)`` gives uᵀJ, one per primal."""
    if LEVELS:  # under vmap: each example differentiated alone
        return lifted_vjp(func, primals, has_aux)
    return _vjp(func, *primals, has_aux=has_aux)


def _vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    with enable_grad():
        full, specs, leaves, outer = _prepare(primals, tuple(range(len(primals))), "vjp")
        out = func(*full)
    aux = None
    if has_aux:
        out, aux = out
    out_leaves, out_spec = tree_flatten(out)

    def vjp_fn(cotangents: Any) -> tuple:
        us, spec = tree_flatten(cotangents)
        if len(us) != len(out_leaves):
            raise RuntimeError(
                f"vjp_fn: expected {len(out_leaves)} cotangents (the outputs' structure), "
                f"got {len(us)}"
            )
        with enable_grad():
            gs = _grads(out_leaves, [x for xs in leaves for x in xs], us)
        if not outer:
            gs = [_plain(g) for g in gs]
        res, i = [], 0
        for s, xs in zip(specs, leaves):
            res.append(tree_unflatten(gs[i : i + len(xs)], s))
            i += len(xs)
        return tuple(res)

    value = out if outer else tree_unflatten([_plain(o) for o in out_leaves], out_spec)
    return (value, vjp_fn, aux) if has_aux else (value, vjp_fn)


# ------------------------------------------------------------------ forward mode
def jvp(func: Callable, primals: tuple, tangents: tuple, *, has_aux: bool = False) -> tuple:
    """``(f(primals), J·tangents)``: one forward pass with dual tensors (forward mode)."""
    if LEVELS:  # under vmap: each example's tangent on its own
        return lifted_jvp(func, primals, tangents, has_aux)
    return _jvp(func, primals, tangents, has_aux=has_aux)


def _jvp(func: Callable, primals: tuple, tangents: tuple, *, has_aux: bool = False) -> tuple:
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise RuntimeError("jvp(f, primals, tangents): primals and tangents must be tuples")
    if len(primals) != len(tangents):
        raise RuntimeError(
            f"jvp: got {len(primals)} primals and {len(tangents)} tangents; they must match"
        )
    with forward_ad.dual_level():
        duals = []
        for p, t in zip(primals, tangents):
            ps, spec = tree_flatten(p)
            ts, _ = tree_flatten(t)
            duals.append(tree_unflatten([forward_ad.make_dual(a, b) for a, b in zip(ps, ts)], spec))
        out = func(*duals)
        aux = None
        if has_aux:
            out, aux = out
        leaves, spec = tree_flatten(out)
        pairs = [forward_ad.unpack_dual(o) for o in leaves]
    prim = tree_unflatten([p for p, _ in pairs], spec)
    tang = tree_unflatten(
        [Tensor(np.zeros_like(p.data)) if t is None else t for p, t in pairs], spec
    )
    return (prim, tang, aux) if has_aux else (prim, tang)


# ------------------------------------------------------------------ Jacobians
def _stack(rows: list[Tensor], shape: tuple[int, ...]) -> Tensor:
    from minigrad import ops

    return ops.reshape(ops.stack(rows), shape)


def _permute(x: Tensor, perm: tuple[int, ...]) -> Tensor:
    from minigrad import ops

    return ops.permute(x, perm)


def jacrev(
    func: Callable, argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False, **_: Any
) -> Callable:
    """The Jacobian by reverse mode: one backward pass per output element (a row each);
    shape ``out.shape + in.shape``."""

    def wrapper(*args: Any) -> Any:
        nums = _argnums(argnums, len(args), "jacrev")
        fixed = list(args)

        def of_diff(*xs: Any) -> Any:
            full = list(fixed)
            for a, x in zip(nums, xs):
                full[a] = x
            return func(*full)

        res = vjp(of_diff, *[args[a] for a in nums], has_aux=has_aux)
        out, vjp_fn = res[0], res[1]
        outs, out_spec = tree_flatten(out)
        ins = [tree_flatten(args[a]) for a in nums]
        per_out = []
        for k, o in enumerate(outs):
            rows = []
            for i in range(o.numel()):
                basis = [Tensor(np.zeros(q.shape, q.dtype)) for q in outs]
                basis[k].data.reshape(-1)[i] = 1
                rows.append(vjp_fn(tree_unflatten(basis, out_spec)))
            jac = []
            for j, (leaves, spec) in enumerate(ins):
                flat_rows = [tree_flatten(r[j])[0] for r in rows]
                blocks = [
                    _stack([fr[m] for fr in flat_rows], o.shape + x.shape)
                    if rows
                    else Tensor(np.zeros(o.shape + x.shape, x.dtype))
                    for m, x in enumerate(leaves)
                ]
                jac.append(tree_unflatten(blocks, spec))
            per_out.append(jac[0] if isinstance(argnums, int) else tuple(jac))
        result = tree_unflatten(per_out, out_spec)
        return (result, res[2]) if has_aux else result

    return wrapper


def jacfwd(
    func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False, **_: Any
) -> Callable:
    """The Jacobian by forward mode: one forward pass per input element (a column each);
    shape ``out.shape + in.shape``."""

    def wrapper(*args: Any) -> Any:
        nums = _argnums(argnums, len(args), "jacfwd")
        ins = [tree_flatten(args[a]) for a in nums]
        flat_in = [x for leaves, _ in ins for x in leaves]
        cols: list[list[Tensor]] = [[] for _ in flat_in]
        out, aux = None, None
        for m, x in enumerate(flat_in):
            for i in range(x.numel()):
                ts = [Tensor(np.zeros(y.shape, y.dtype)) for y in flat_in]
                ts[m].data.reshape(-1)[i] = 1
                tangents, k = [], 0
                for leaves, spec in ins:
                    tangents.append(tree_unflatten(ts[k : k + len(leaves)], spec))
                    k += len(leaves)

                def of_diff(*xs: Any) -> Any:
                    full = list(args)
                    for a, v in zip(nums, xs):
                        full[a] = v
                    return func(*full)

                res = jvp(of_diff, tuple(args[a] for a in nums), tuple(tangents), has_aux=has_aux)
                out, aux = res[0], res[2] if has_aux else None
                cols[m].append(res[1])
        if out is None:  # no input elements: evaluate once for the output's shape
            out = func(*args)
            out, aux = out if has_aux else (out, None)
        outs, out_spec = tree_flatten(out)
        per_out = []
        for k, o in enumerate(outs):
            jac, m = [], 0
            for leaves, spec in ins:
                blocks = []
                for x in leaves:
                    col = [tree_flatten(c)[0][k] for c in cols[m]]
                    if col:
                        j = _stack(col, x.shape + o.shape)  # (in..., out...)
                        nd_in = x.ndim
                        perm = tuple(range(nd_in, nd_in + o.ndim)) + tuple(range(nd_in))
                        blocks.append(_permute(j, perm) if perm else j)
                    else:
                        blocks.append(Tensor(np.zeros(o.shape + x.shape, o.dtype)))
                    m += 1
                jac.append(tree_unflatten(blocks, spec))
            per_out.append(jac[0] if isinstance(argnums, int) else tuple(jac))
        result = tree_unflatten(per_out, out_spec)
        return (result, aux) if has_aux else result

    return wrapper


def hessian(func: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """∇²f = jacfwd(jacrev(f)): forward mode over reverse mode."""
    return jacfwd(jacrev(func, argnums), argnums)


# ------------------------------------------------------------------ modules
@contextlib.contextmanager
def _swapped(module: Any, tensors: dict[str, Tensor]) -> Iterator[None]:
    saved = []
    try:
        for name, value in tensors.items():
            owner_name, _, attr = name.rpartition(".")
            owner = module.get_submodule(owner_name) if owner_name else module
            table = owner._parameters if attr in owner._parameters else owner._buffers
            if attr not in table:
                raise AttributeError(
                    f"functional_call: the module has no parameter or buffer {name!r}"
                )
            saved.append((table, attr, table[attr]))
            table[attr] = value
        yield
    finally:
        for table, attr, old in reversed(saved):
            table[attr] = old


def functional_call(
    module: Any,
    parameter_and_buffer_dicts: dict[str, Tensor] | tuple[dict[str, Tensor], ...],
    args: Any = (),
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """``module(*args, **kwargs)`` with its parameters and buffers replaced by the given
    tensors (named as in ``named_parameters()``): the module as a function of them."""
    dicts = (
        parameter_and_buffer_dicts
        if isinstance(parameter_and_buffer_dicts, (tuple, list))
        else (parameter_and_buffer_dicts,)
    )
    tensors: dict[str, Tensor] = {}
    for d in dicts:
        for k, v in d.items():
            if k in tensors:
                raise ValueError(f"functional_call: {k!r} appeared in more than one dict")
            tensors[k] = v
    if strict:
        expected = {n for n, _ in module.named_parameters()} | {
            n for n, _ in module.named_buffers()
        }
        missing, unexpected = expected - set(tensors), set(tensors) - expected
        if missing or unexpected:
            raise RuntimeError(
                f"functional_call (strict): missing keys {sorted(missing)}, unexpected keys "
                f"{sorted(unexpected)}"
            )
    args = args if isinstance(args, tuple) else (args,)
    with _swapped(module, tensors):
        return module(*args, **(kwargs or {}))


from minigrad._vmap import vmap  # noqa: E402
