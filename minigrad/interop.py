"""NumPy's functions on Tensors, without losing the graph.

NumPy lets an array-like take over its functions: a ufunc (``np.exp``, ``np.add``, ...)
called with a Tensor calls ``Tensor.__array_ufunc__``, and most other functions
(``np.sum``, ``np.einsum``, ``np.concatenate``, ...) call ``Tensor.__array_function__``.
Both are set here (as MyGrad does):

* a NumPy function that has a minigrad op runs that op, so ``np.exp(t)`` is ``minigrad.exp(t)``
  (an ``ExpBackward`` node, a Tensor back) and the gradient flows through it;
* one that has none runs on the data, as plain NumPy; if a float result would depend on a
  tensor that requires grad, that would silently drop the graph, so it is refused with a
  ``TypeError`` naming the function instead (integer and bool results carry no gradient:
  ``np.argmax(t)``, ``np.isclose(t, u)`` and ``np.shape(t)`` stay allowed);
* ``out=`` writes into an array behind the graph's back: refused when a tensor requires grad.

``np.asarray(t)`` is untouched: it still gives the data (``Tensor.__array__``).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.ops.helpers import as_tensor
from minigrad.tensor import Tensor

__all__ = ["ARRAY_FUNCTIONS", "LINALG_FUNCTIONS", "UFUNCS", "array_function", "array_ufunc"]

# NumPy ufunc name -> minigrad op name (looked up when called: ops declared later count too).
UFUNCS: dict[str, str] = {
    "add": "add",
    "subtract": "sub",
    "multiply": "mul",
    "divide": "div",
    "negative": "neg",
    "exp": "exp",
    "log": "log",
    "log1p": "log1p",
    "expm1": "expm1",
    "sqrt": "sqrt",
    "sin": "sin",
    "cos": "cos",
    "tanh": "tanh",
    "absolute": "abs",
    "sign": "sign",
    "reciprocal": "reciprocal",
    "square": "square",
    "maximum": "maximum",
    "minimum": "minimum",
    "matmul": "matmul",
    "equal": "eq",
    "not_equal": "ne",
    "less": "lt",
    "less_equal": "le",
    "greater": "gt",
    "greater_equal": "ge",
    "logical_and": "logical_and",
    "logical_or": "logical_or",
    "logical_xor": "logical_xor",
    "logical_not": "logical_not",
    "bitwise_and": "bitwise_and",
    "bitwise_or": "bitwise_or",
    "invert": "bitwise_not",
    "floor_divide": "floor_divide",
    "remainder": "remainder",
    "isnan": "isnan",
    "isinf": "isinf",
    "isfinite": "isfinite",
    "tan": "tan",
    "arctan": "atan",
    "arcsin": "asin",
    "arccos": "acos",
    "sinh": "sinh",
    "cosh": "cosh",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "arctan2": "atan2",
    "log2": "log2",
    "log10": "log10",
    "logaddexp": "logaddexp",
    "hypot": "hypot",
    "floor": "floor",
    "ceil": "ceil",
    "rint": "round",
    "trunc": "trunc",
    "fmod": "fmod",
}

# ufunc.reduce / ufunc.accumulate -> the minigrad op along one axis (or several).
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "amax", "minimum": "amin"}
_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod"}


def _op(name: str) -> Callable[..., Any] | None:
    return getattr(ops, name, None)


def _tensors(obj: Any) -> list[Tensor]:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _tensors(o)]
    return []


def _data(obj: Any) -> Any:
    """Every Tensor inside ``obj`` replaced by its array (what NumPy would compute on)."""
    if isinstance(obj, Tensor):
        return obj.data
    if isinstance(obj, (list, tuple)):
        return type(obj)(_data(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _data(v) for k, v in obj.items()}
    return obj


def _as_operand(x: Any) -> Any:
    """ndarrays become constant Tensors (so that no operator call returns to NumPy)."""
    return Tensor._from_op(x, None) if isinstance(x, np.ndarray) else x


def _has_float(result: Any) -> bool:
    if isinstance(result, (tuple, list)):
        return builtins.any(_has_float(r) for r in result)
    if isinstance(result, (np.ndarray, np.generic)):
        return result.dtype.kind in "fc"
    return isinstance(result, (float, complex))


def _on_data(what: str, fn: Callable[..., Any], args: Any, kwargs: dict) -> Any:
    """NumPy's own result on the data; refused where that would drop a gradient."""
    grads = [t for t in _tensors((args, kwargs)) if t.requires_grad]
    if "out" in kwargs and kwargs["out"] is not None and grads:
        raise TypeError(
            f"{what}: out= writes into an array outside the autograd graph, and an argument "
            "requires grad; call it without out= (the result is a new Tensor)"
        )
    result = fn(*_data(args), **_data(kwargs))
    if grads and _has_float(result):
        raise TypeError(
            f"{what} has no minigrad equivalent, and an argument requires grad: its NumPy "
            "result would not be part of the autograd graph (the gradient would be silently "
            "lost). Use the minigrad op, or call it on t.detach().numpy() if no gradient is "
            "needed"
        )
    return result


# ------------------------------------------------------------------ ufuncs
def _outer(fn: Callable[..., Any], a: Any, b: Any) -> Any:
    """ufunc.outer: every pair, a's dims first (a reshaped to a.shape + (1,) * b.ndim)."""
    a, b = as_tensor(a), as_tensor(b)
    return fn(ops.reshape(a, a.shape + (1,) * b.ndim), b)


def _reduce_call(name: str, x: Any, axis: Any = 0, dtype: Any = None, keepdims: bool = False):
    fn = _op(name)
    if fn is None:
        return None
    x = x if isinstance(x, Tensor) else _as_operand(np.asarray(x))
    if name in ("sum", "prod") and dtype is not None:
        return fn(x, dim=axis, keepdim=keepdims, dtype=dtype)
    if name == "prod" and isinstance(axis, tuple):
        return None
    if axis is None:
        x, axis = ops.reshape(x, (-1,)), 0
    return fn(x, dim=axis, keepdim=keepdims)


def array_ufunc(self: Tensor, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    """``Tensor.__array_ufunc__``: the minigrad op for ``ufunc``, or NumPy's on the data."""
    what = f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    plain = not builtins.any(
        v is not None for k, v in kwargs.items() if k not in ("axis", "keepdims", "dtype")
    )
    result = None
    if method == "__call__" and not kwargs:
        fn = _op(UFUNCS.get(ufunc.__name__, ""))
        if ufunc is np.power:
            fn = _power
        elif ufunc is np.positive:
            fn = _positive
        if fn is not None:
            return fn(*(_as_operand(x) for x in inputs))
    elif method == "reduce" and plain and ufunc.__name__ in _REDUCE and len(inputs) == 1:
        result = _reduce_call(_REDUCE[ufunc.__name__], inputs[0], **kwargs)
    elif method == "reduce" and plain and len(inputs) == 2 and "axis" not in kwargs:
        result = _reduce_call(_REDUCE.get(ufunc.__name__, ""), inputs[0], axis=inputs[1])
    elif method == "accumulate" and plain and ufunc.__name__ in _ACCUMULATE:
        fn = _op(_ACCUMULATE[ufunc.__name__])
        axis = inputs[1] if len(inputs) > 1 else kwargs.get("axis", 0)
        if fn is not None and axis is not None:
            result = fn(_as_operand(inputs[0]), axis)
    elif method == "outer" and not kwargs and len(inputs) == 2:
        fn = _op(UFUNCS.get(ufunc.__name__, ""))
        if fn is not None:
            result = _outer(fn, *(_as_operand(x) for x in inputs))
    if result is not None:
        return result
    return _on_data(what, getattr(ufunc, method), inputs, kwargs)


def _power(a: Any, b: Any) -> Any:
    """``a ** b`` as the operators spell it: a number base is Tensor.__rpow__."""
    return a**b if isinstance(a, Tensor) else b.__rpow__(a)


def _positive(x: Any) -> Any:
    return x


# ------------------------------------------------------------------ other functions
def _sum(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
    return _reduced("sum", a, axis, keepdims, dtype=dtype)


def _mean(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
    return _reduced("mean", a, axis, keepdims, dtype=dtype)


def _reduced(name: str, a: Any, axis: Any, keepdims: bool, **extra: Any) -> Any:
    extra = {k: v for k, v in extra.items() if v is not None}
    if isinstance(axis, list):
        axis = tuple(axis)
    return getattr(ops, name)(a, dim=axis, keepdim=keepdims, **extra)


def _amax(a, axis=None, out=None, keepdims=False, **kw):
    return _reduced("amax", a, axis, keepdims)


def _amin(a, axis=None, out=None, keepdims=False, **kw):
    return _reduced("amin", a, axis, keepdims)


def _prod(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
    if isinstance(axis, tuple):
        return NotImplemented
    return ops.prod(a, dim=axis, keepdim=keepdims, **({"dtype": dtype} if dtype else {}))


def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
    return _reduced("var", a, axis, keepdims, correction=ddof)


def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
    return _reduced("std", a, axis, keepdims, correction=ddof)


def _cumsum(a, axis=None, dtype=None, out=None):
    return ops.cumsum(ops.reshape(a, (-1,)) if axis is None else a, 0 if axis is None else axis)


def _cat(arrays, axis=0, out=None, **kw):
    xs = [_as_operand(np.asarray(x)) if not isinstance(x, Tensor) else x for x in arrays]
    if axis is None:
        return ops.cat([ops.reshape(x, (-1,)) for x in xs], 0)
    return ops.cat(xs, axis)


def _stack(arrays, axis=0, out=None, **kw):
    xs = [_as_operand(np.asarray(x)) if not isinstance(x, Tensor) else x for x in arrays]
    return ops.stack(xs, axis)


def _where(condition, x=None, y=None):
    if x is None and y is None:
        return NotImplemented  # np.where(c): the indices of the nonzero elements
    return ops.where(_as_operand(condition), _as_operand(x), _as_operand(y))


def _einsum(subscripts, *operands, out=None, optimize=False, **kw):
    """Every form minigrad.einsum takes: ``...``, repeated letters, the implicit output
    and the sublist form ``np.einsum(a, [0, 1], b, [1, 2])``."""
    args = (subscripts, *operands)
    return ops.einsum(*(a if isinstance(a, (str, list)) else _as_operand(a) for a in args))


def _dot(a, b, out=None):
    a, b = _as_operand(a), _as_operand(b)
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)) or a.ndim > 2 or b.ndim > 2:
        return NotImplemented  # N-d np.dot is not matmul
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return ops.matmul(a, b)


def _transpose(a, axes=None):
    return ops.permute(a, tuple(reversed(range(a.ndim))) if axes is None else tuple(axes))


def _reshape(a, shape=None, order="C", **kw):
    shape = kw.get("newshape", shape)
    if order != "C":
        return NotImplemented
    return ops.reshape(a, tuple(shape) if isinstance(shape, (list, tuple)) else (shape,))


def _squeeze(a, axis=None):
    return ops.squeeze(a, axis)


def _expand_dims(a, axis):
    if not isinstance(axis, int):
        return NotImplemented
    return ops.unsqueeze(a, axis)


def _flip(m, axis=None):
    dims = tuple(range(m.ndim)) if axis is None else axis
    return ops.flip(m, dims if isinstance(dims, tuple) else (dims,))


def _clip(a, a_min=None, a_max=None, out=None, **kw):
    a_min, a_max = kw.get("min", a_min), kw.get("max", a_max)
    return ops.clamp(a, _as_operand(a_min), _as_operand(a_max))


def _outer_fn(a, b, out=None):
    return ops.outer(ops.reshape(a, (-1,)), ops.reshape(_as_operand(b), (-1,)))


def _around(a, decimals=0, out=None):
    return ops.round(a, decimals=decimals)


def _trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return ops.sum(ops.diagonal(a, offset, axis1, axis2), -1)


def _cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is None and not axisa == axisb == axisc == -1:
        return NotImplemented
    return ops.cross(_as_operand(a), _as_operand(b), dim=-1 if axis is None else axis)


# NumPy function name -> adapter from NumPy's signature to the minigrad op (an adapter may
# return NotImplemented for a NumPy form minigrad does not have: the data path then runs).
ARRAY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sum": _sum,
    "mean": _mean,
    "max": _amax,
    "amax": _amax,
    "min": _amin,
    "amin": _amin,
    "prod": _prod,
    "var": _var,
    "std": _std,
    "cumsum": _cumsum,
    "concatenate": _cat,
    "concat": _cat,
    "stack": _stack,
    "where": _where,
    "einsum": _einsum,
    "dot": _dot,
    "transpose": _transpose,
    "permute_dims": _transpose,
    "reshape": _reshape,
    "squeeze": _squeeze,
    "expand_dims": _expand_dims,
    "swapaxes": lambda a, axis1, axis2: ops.transpose(a, axis1, axis2),
    "flip": _flip,
    "clip": _clip,
    "tril": lambda m, k=0: ops.tril(m, k),
    "triu": lambda m, k=0: ops.triu(m, k),
    "broadcast_to": lambda array, shape, subok=False: ops.broadcast_to(array, shape),
    "outer": _outer_fn,
    "copy": lambda a, order="K", subok=False: ops.clone(a),
    "round": _around,
    "argmax": lambda a, axis=None, out=None, keepdims=False: ops.argmax(a, axis, keepdims),
    "argmin": lambda a, axis=None, out=None, keepdims=False: ops.argmin(a, axis, keepdims),
    "around": _around,
}

ARRAY_FUNCTIONS.update(
    {
        "roll": lambda a, shift, axis=None: ops.roll(a, shift, axis),
        "rot90": lambda m, k=1, axes=(0, 1): ops.rot90(m, k, axes),
        "diagonal": lambda a, offset=0, axis1=0, axis2=1: ops.diagonal(a, offset, axis1, axis2),
        "diag": lambda v, k=0: ops.diag(v, k),
        "trace": _trace,
        "kron": lambda a, b: ops.kron(_as_operand(a), _as_operand(b)),
        "cross": _cross,
        "tensordot": lambda a, b, axes=2: ops.tensordot(_as_operand(a), _as_operand(b), axes),
        "cumprod": lambda a, axis=None, dtype=None, out=None: ops.cumprod(
            ops.reshape(a, (-1,)) if axis is None else a, 0 if axis is None else axis
        ),
        "take_along_axis": lambda arr, indices, axis=-1: ops.take_along_dim(
            arr, _as_operand(indices), axis
        ),
        "sinc": lambda x: ops.sinc(x),
        "fix": lambda x, out=None: ops.trunc(x),
    }
)

# numpy.linalg functions with the same meaning in minigrad.linalg.
LINALG_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "inv": lambda a: _linalg().inv(a),
    "det": lambda a: _linalg().det(a),
    "slogdet": lambda a: _linalg().slogdet(a),
    "cholesky": lambda a, upper=False: _linalg().cholesky(a, upper=upper),
    "eigh": lambda a, UPLO="L": _linalg().eigh(a, UPLO),
    "eigvalsh": lambda a, UPLO="L": _linalg().eigvalsh(a, UPLO),
}


def _linalg() -> Any:
    from minigrad import linalg

    return linalg


# Functions whose result does not depend on the values differentiably (shapes, fresh
# arrays of a given shape): NumPy's result on the data, whatever requires grad.
_VALUE_FREE = {"zeros_like", "ones_like", "empty_like", "full_like", "shape", "ndim", "size"}


def array_function(self: Tensor, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
    """``Tensor.__array_function__``: the minigrad op for ``func``, or NumPy's on the data."""
    name = func.__name__
    module = getattr(func, "__module__", "numpy") or "numpy"
    if module in ("numpy", "numpy._core"):
        adapter = ARRAY_FUNCTIONS.get(name)
    else:
        adapter = LINALG_FUNCTIONS.get(name) if module == "numpy.linalg" else None
    if adapter is not None and kwargs.get("out") is None:
        try:
            result = adapter(*args, **kwargs)
        except AttributeError:  # a name this minigrad has no op for
            result = NotImplemented
        if result is not NotImplemented:
            return result
    if name in _VALUE_FREE and "out" not in kwargs:
        return func(*_data(args), **_data(kwargs))
    return _on_data(f"{module.split('.')[0]}.{name}", func, args, kwargs)


def install() -> None:
    Tensor.__array_ufunc__ = array_ufunc
    Tensor.__array_function__ = array_function


install()
