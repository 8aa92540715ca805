"""Input strategies for the op registry (``tests/op_registry.py``).

A :class:`Sample` holds an op's positional and keyword arguments:

* float ``np.ndarray``: a differentiable input, made into a tensor of the dtype
  under test (float32 or float64) that requires grad;
* :class:`Const`: a tensor that keeps its own dtype and never requires grad
  (indices, masks);
* anything else (ints, tuples, strings): passed through unchanged (a ``Const``
  inside a keyword argument or tuple becomes a tensor too).

Every strategy takes ``small``: True for the numerical gradient checks (dims ≤ 3,
sizes ≤ 3), False otherwise (dims ≤ 4, sizes ≤ 5). Values stay inside each op's
domain and, where the op has a kink, away from it; ties are tested apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

Domain = Callable[[tuple[int, ...]], st.SearchStrategy]


class Const:
    """A tensor argument that is not differentiated (indices, masks, conditions)."""

    def __init__(self, array: Any) -> None:
        self.array = np.asarray(array)

    def __repr__(self) -> str:
        return f"Const({self.array.tolist()!r}, dtype={self.array.dtype})"


@dataclass
class Sample:
    args: tuple
    kwargs: dict = field(default_factory=dict)


# ------------------------------------------------------------------ value domains
# Values come from a NumPy generator seeded by hypothesis (one draw per array, which keeps
# generation cheap); one array in four is snapped to a coarse grid, so repeated values and
# the ends of the domain appear too. Values are float32-representable, so float32 and
# float64 runs see the same numbers.
_SEED = st.integers(0, 2**32 - 1)
_SNAP = st.sampled_from([None, None, None, 0.5])


def _uniform(
    shape: tuple[int, ...],
    lo: float,
    hi: float,
    seed: int,
    snap: float | None,
    avoid: tuple = (),
    margin: float = 0.05,
) -> np.ndarray:
    a = np.random.default_rng(seed).uniform(lo, hi, shape)
    if snap:
        a = np.clip(np.round(a / snap) * snap, lo, hi)
    a = _push_away(a, avoid, margin)
    return np.asarray(a.astype(np.float32), dtype=np.float64)


def _push_away(a: np.ndarray, points: tuple[float, ...], margin: float) -> np.ndarray:
    """Move values closer than ``margin`` to a kink to exactly ``margin`` from it."""
    a = np.array(a, dtype=np.float64)
    for p in points:
        near = np.abs(a - p) < margin
        a[near] = np.where(a[near] >= p, p + margin, p - margin)
    return a


def real(lo: float = -3.0, hi: float = 3.0, avoid: tuple = (), margin: float = 0.05) -> Domain:
    """Floats in [lo, hi], pushed ``margin`` away from the kinks in ``avoid``."""

    def strategy(shape: tuple[int, ...]) -> st.SearchStrategy:
        return st.tuples(_SEED, _SNAP).map(
            lambda t: _uniform(shape, lo, hi, t[0], t[1], avoid, margin)
        )

    return strategy


def signed(lo: float = 0.5, hi: float = 3.0) -> Domain:
    """Magnitudes in [lo, hi] with either sign (away from zero)."""

    def strategy(shape: tuple[int, ...]) -> st.SearchStrategy:
        def make(seed: int, snap: float | None) -> np.ndarray:
            mags = _uniform(shape, lo, hi, seed, snap)
            return np.where(np.random.default_rng(seed + 1).random(shape) < 0.5, -mags, mags)

        return st.tuples(_SEED, _SNAP).map(lambda t: make(*t))

    return strategy


def distinct(lo: float = -3.0, hi: float = 3.0, step: float = 0.005) -> Domain:
    """Pairwise distinct values from a grid (spacing ``step``): no ties, no near-ties."""
    grid = np.arange(lo, hi + step / 2, step).astype(np.float32).astype(np.float64)

    def strategy(shape: tuple[int, ...]) -> st.SearchStrategy:
        n = int(np.prod(shape))
        return _SEED.map(
            lambda s: np.random.default_rng(s).choice(grid, n, replace=False).reshape(shape)
        )

    return strategy


REAL, POS = real(), real(0.1, 4.0)


def shapes(small: bool, min_dims: int = 0, max_dims: int = 4) -> st.SearchStrategy:
    """Shapes with dims ≤ 4 and sizes ≤ 5 (≤ 3 and ≤ 3 for numerical checks)."""
    md, ms = (3, 3) if small else (4, 5)
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max(min_dims, min(md, max_dims)), min_side=1, max_side=ms
    )


def _side(small: bool) -> st.SearchStrategy:
    return st.integers(1, 3 if small else 5)


def _dim(draw: Any, ndim: int, none: bool = False, tuples: bool = False) -> Any:
    """A dim argument valid for ``ndim`` dims: None, an int (maybe negative) or a tuple."""
    options = [st.none()] if none else []
    options.append(st.integers(-ndim, ndim - 1) if ndim else st.sampled_from([0, -1]))
    if tuples and ndim:
        options.append(st.just("tuple"))
    d = draw(st.one_of(options))
    if d == "tuple":
        axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        neg = draw(st.lists(st.booleans(), min_size=len(axes), max_size=len(axes)))
        d = tuple(a - ndim if n else a for a, n in zip(axes, neg))
    return d


def _kw(**kwargs: Any) -> dict:
    """Keyword arguments without the ``None`` ones (PyTorch rejects some explicit Nones)."""
    return {k: v for k, v in kwargs.items() if v is not None}


# ------------------------------------------------------------------ sample strategies
@st.composite
def unary(draw, small, dom=REAL, kwargs=None, min_dims=0, max_dims=4):
    kw = draw(kwargs) if kwargs is not None else {}
    return Sample((draw(dom(draw(shapes(small, min_dims, max_dims)))),), kw)


@st.composite
def nary(draw, small, doms=(REAL, REAL), pool=None, kwargs=None):
    """Operands of mutually broadcastable shapes (``pool``: all values distinct)."""
    md, ms = (3, 3) if small else (4, 5)
    bs = draw(hnp.mutually_broadcastable_shapes(num_shapes=len(doms), max_dims=md, max_side=ms))
    if pool is not None:
        sizes = [int(np.prod(s)) for s in bs.input_shapes]
        flat = draw(pool((sum(sizes),)))
        cuts = np.cumsum(sizes)[:-1]
        arrays = [p.reshape(s) for p, s in zip(np.split(flat, cuts), bs.input_shapes)]
    else:
        arrays = [draw(d(s)) for d, s in zip(doms, bs.input_shapes)]
    return Sample(tuple(arrays), draw(kwargs) if kwargs is not None else {})


SCALARS = st.sampled_from([2, -1.5, 0.5, 3])


@st.composite
def with_scalar(draw, small, dom=REAL, scalars=SCALARS):
    return Sample((draw(dom(draw(shapes(small)))),), {"c": draw(scalars)})


@st.composite
def where_sample(draw, small):
    s = draw(nary(small, (REAL, REAL, REAL)))
    return Sample((Const(s.args[0] > 0), s.args[1], s.args[2]))


@st.composite
def pow_scalar_sample(draw, small):
    c = draw(st.sampled_from([2, 3, 0, 1, -1, -2, 0.5, -0.5, 1.5, 2.5]))
    int_c = isinstance(c, int)
    dom = REAL if int_c and c >= 0 else (signed(0.3, 3.0) if int_c else real(0.3, 3.0))
    return Sample((draw(dom(draw(shapes(small)))),), {"c": c})


@st.composite
def clamp_sample(draw, small):
    lo, hi = draw(st.sampled_from([(-1.0, 1.0), (None, 0.5), (-0.5, None), (0.0, 2.0)]))
    bounds = tuple(b for b in (lo, hi) if b is not None)
    x = draw(real(avoid=bounds)(draw(shapes(small))))
    return Sample((x,), _kw(min=lo, max=hi))


@st.composite
def clamp_tensor_sample(draw, small):
    """Tensor bounds broadcast to x (PyTorch's clamp backward fails when x itself would
    have to broadcast), all values distinct so no bound ties with x."""
    md, ms = (3, 3) if small else (4, 5)
    bs = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=md, max_side=ms))
    shapes_ = (bs.result_shape, *bs.input_shapes)
    sizes = [int(np.prod(s)) for s in shapes_]
    flat = draw(distinct()((sum(sizes),)))
    parts = np.split(flat, np.cumsum(sizes)[:-1])
    return Sample(tuple(p.reshape(s) for p, s in zip(parts, shapes_)))


@st.composite
def softplus_sample(draw, small):
    beta, threshold = draw(st.sampled_from([(1.0, 20.0), (2.0, 3.0), (0.5, 1.0)]))
    x = draw(real(avoid=(threshold / beta,))(draw(shapes(small))))
    return Sample((x,), {"beta": beta, "threshold": threshold})


@st.composite
def reduce_sample(
    draw, small, dom=REAL, none=True, tuples=True, keepdim=True, extra=None, explicit_none=False
):
    """``explicit_none``: pass ``dim=None`` itself (torch.sum needs it next to keepdim)."""
    x = draw(dom(draw(shapes(small))))
    dim = _dim(draw, x.ndim, none=none, tuples=tuples)
    kw = {"dim": dim} if explicit_none else _kw(dim=dim)
    if keepdim:
        kw["keepdim"] = draw(st.booleans())
    kw.update(draw(extra) if extra is not None else {})
    return Sample((x,), kw)


def _reduced_count(shape: tuple[int, ...], dim: Any) -> int:
    if dim is None:
        return int(np.prod(shape))
    dims = dim if isinstance(dim, tuple) else (dim,)
    return int(np.prod([shape[d] for d in dims])) if shape else 1


@st.composite
def var_sample(draw, small):
    s = draw(
        reduce_sample(
            small,
            distinct(),
            extra=st.fixed_dictionaries({"correction": st.sampled_from([0, 1, 2])}),
        )
    )
    n = _reduced_count(s.args[0].shape, s.kwargs.get("dim"))
    s.kwargs["correction"] = min(s.kwargs["correction"], n - 1)  # keep n - correction > 0
    return s


@st.composite
def max_min_sample(draw, small):
    """Full reduction (one value) or along a dim (values and indices)."""
    x = draw(distinct()(draw(shapes(small))))
    if draw(st.booleans()):
        return Sample((x,))
    return Sample((x,), {"dim": _dim(draw, x.ndim), "keepdim": draw(st.booleans())})


PROD_VALUES = signed(0.5, 1.5)  # products of ≤ 625 factors stay finite


@st.composite
def prod_sample(draw, small, dom=PROD_VALUES):
    x = draw(dom(draw(shapes(small))))
    dim = _dim(draw, x.ndim, none=True)
    return Sample((x,), {} if dim is None else {"dim": dim, "keepdim": draw(st.booleans())})


@st.composite
def norm_sample(draw, small):
    p = draw(st.sampled_from([2, 1, 3, "fro", math.inf, 0.5]))
    dom = distinct() if p == math.inf else (signed(0.2, 3.0) if p in (1, 0.5) else REAL)
    s = draw(reduce_sample(small, dom))
    dim = s.kwargs.get("dim")
    if p == "fro" and isinstance(dim, tuple) and len(dim) > 2:
        p = 2  # PyTorch's 'fro' takes at most two dims
    s.kwargs["p"] = p
    return s


# shape ops -----------------------------------------------------------------------
@st.composite
def reshape_sample(draw, small):
    x = draw(REAL(draw(shapes(small))))
    sizes = draw(st.permutations(list(x.shape)))
    target: list[int] = []
    for n in sizes:  # merge some neighbours and insert some 1s
        if target and draw(st.booleans()):
            target[-1] *= n
        else:
            target.append(n)
        if draw(st.integers(0, 4)) == 0:
            target.append(1)
    if target and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return Sample((x,), {"shape": tuple(target)})


@st.composite
def flatten_sample(draw, small):
    x = draw(REAL(draw(shapes(small))))
    n = max(x.ndim, 1)
    a, b = sorted(draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2)))
    neg = draw(st.booleans())
    return Sample((x,), {"start_dim": a - n if neg else a, "end_dim": b})


@st.composite
def squeeze_sample(draw, small):
    shape = draw(shapes(small, min_dims=1))
    ones = draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    x = draw(REAL(tuple(1 if o else n for n, o in zip(shape, ones))))
    return Sample((x,), _kw(dim=_dim(draw, x.ndim, none=True, tuples=True)))


@st.composite
def perm_sample(draw, small):
    x = draw(REAL(draw(shapes(small))))
    dims = draw(st.permutations(range(x.ndim)))
    return Sample((x,), {"dims": tuple(d - x.ndim if draw(st.booleans()) else d for d in dims)})


@st.composite
def expand_sample(draw, small):
    shape = draw(shapes(small, max_dims=3))
    ones = draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
    x = draw(REAL(tuple(1 if o else n for n, o in zip(shape, ones))))
    lead = draw(st.lists(_side(small), max_size=4 - x.ndim if not small else 1))
    sizes = [draw(_side(small)) if n == 1 and draw(st.booleans()) else n for n in x.shape]
    sizes = [-1 if draw(st.integers(0, 3)) == 0 else n for n in sizes]
    return Sample((x,), {"sizes": tuple(lead) + tuple(sizes)})


@st.composite
def repeat_sample(draw, small):
    x = draw(REAL(draw(shapes(small, max_dims=3))))
    k = draw(st.integers(max(x.ndim, 1), x.ndim + 1))
    return Sample((x,), {"reps": tuple(draw(st.lists(st.integers(1, 3), min_size=k, max_size=k)))})


@st.composite
def cat_sample(draw, small, stack=False):
    shape = draw(shapes(small, min_dims=0 if stack else 1))
    k = draw(st.integers(1, 3))
    d = draw(st.integers(-len(shape) - stack, len(shape) - 1 + stack))
    xs = []
    for _ in range(k):
        s = list(shape)
        if not stack:
            s[d] = draw(_side(small))
        xs.append(draw(REAL(tuple(s))))
    return Sample(tuple(xs), {"dim": d})


@st.composite
def split_sample(draw, small, chunk=False):
    x = draw(REAL(draw(shapes(small, min_dims=1))))
    d = _dim(draw, x.ndim)
    n = x.shape[d]
    if chunk:
        return Sample((x,), {"chunks": draw(st.integers(1, n + 1)), "dim": d})
    if draw(st.booleans()):
        return Sample((x,), {"size": draw(st.integers(1, n + 1)), "dim": d})
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, n])]
    return Sample((x,), {"size": sizes, "dim": d})


@st.composite
def narrow_sample(draw, small):
    x = draw(REAL(draw(shapes(small, min_dims=1))))
    d = _dim(draw, x.ndim)
    start = draw(st.integers(0, x.shape[d] - 1))
    return Sample(
        (x,), {"dim": d, "start": start, "length": draw(st.integers(1, x.shape[d] - start))}
    )


@st.composite
def select_sample(draw, small):
    x = draw(REAL(draw(shapes(small, min_dims=1))))
    d = _dim(draw, x.ndim)
    n = x.shape[d]
    return Sample((x,), {"dim": d, "index": draw(st.integers(-n, n - 1))})


@st.composite
def flip_sample(draw, small):
    x = draw(REAL(draw(shapes(small))))
    d = _dim(draw, x.ndim, tuples=True)
    return Sample((x,), {"dims": d if isinstance(d, tuple) else (d,)})


@st.composite
def transpose_sample(draw, small):
    x = draw(REAL(draw(shapes(small))))
    return Sample((x,), {"dim0": _dim(draw, x.ndim), "dim1": _dim(draw, x.ndim)})


@st.composite
def getitem_sample(draw, small):
    """Basic indices (ints, slices, None, Ellipsis), integer arrays with repeats and
    boolean masks."""
    x = draw(REAL(draw(shapes(small, min_dims=1))))
    kind = draw(st.sampled_from(["basic", "int_array", "two_int_arrays", "bool_mask"]))
    index: list[Any] = []
    if kind == "bool_mask":
        k = draw(st.integers(1, x.ndim))
        index.append(Const(draw(hnp.arrays(np.bool_, x.shape[:k]))))
        dims = list(range(k, x.ndim))
    else:
        dims = list(range(x.ndim))
    arrays = {"int_array": 1, "two_int_arrays": 2}.get(kind, 0)
    stopped = False
    array_dims = set(draw(st.permutations(dims))[:arrays]) if len(dims) >= arrays else set()
    shared = draw(st.integers(1, 4))  # two integer arrays broadcast together
    for d in dims:
        n = x.shape[d]
        if d in array_dims:
            index.append(
                Const(
                    np.asarray(
                        draw(st.lists(st.integers(-n, n - 1), min_size=shared, max_size=shared)),
                        dtype=np.int64,
                    )
                )
            )
            continue
        choice = draw(st.sampled_from(["int", "slice", "slice", "none", "stop"]))
        if choice == "stop":
            stopped = True
            break  # trailing dims left out
        if choice == "int":
            index.append(draw(st.integers(-n, n - 1)))
        elif choice == "none":
            index += [None, slice(None)]
        else:
            start = draw(st.one_of(st.none(), st.integers(-n, n)))
            stop = draw(st.one_of(st.none(), st.integers(-n, n)))
            index.append(slice(start, stop, draw(st.one_of(st.none(), st.integers(1, 3)))))
    if kind == "basic" and draw(st.booleans()):
        # Ellipsis stands for the dims no entry names: anywhere when every dim is named,
        # else only last (entries after it would move onto the trailing dims)
        index.insert(len(index) if stopped else draw(st.integers(0, len(index))), Ellipsis)
    return Sample((x,), {"index": tuple(index)})


@st.composite
def gather_sample(draw, small):
    x = draw(REAL(draw(shapes(small, min_dims=1))))
    d = _dim(draw, x.ndim)
    shape = [draw(st.integers(1, n)) for n in x.shape]
    shape[d] = draw(_side(small))
    idx = draw(hnp.arrays(np.int64, tuple(shape), elements=st.integers(0, x.shape[d] - 1)))
    return Sample((x, Const(idx)), {"dim": d})


@st.composite
def scatter_add_sample(draw, small, larger_src=False):
    """``larger_src``: src may extend past index (those elements are unused); PyTorch's
    backward fails on that case, so the registry does not use it (see test_ops)."""
    x = draw(REAL(draw(shapes(small, min_dims=1))))
    d = _dim(draw, x.ndim)
    shape = [draw(st.integers(1, n)) for n in x.shape]
    shape[d] = draw(_side(small))
    idx = draw(hnp.arrays(np.int64, tuple(shape), elements=st.integers(0, x.shape[d] - 1)))
    src = draw(REAL(tuple(n + draw(st.integers(0, int(larger_src))) for n in shape)))
    return Sample((x, d, Const(idx), src))


@st.composite
def index_select_sample(draw, small):
    x = draw(REAL(draw(shapes(small, min_dims=1))))
    d = _dim(draw, x.ndim)
    n = x.shape[d]
    idx = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6))
    return Sample((x, Const(np.asarray(idx, dtype=np.int64))), {"dim": d})


@st.composite
def masked_fill_sample(draw, small, tensor_value=False):
    x = draw(REAL(draw(shapes(small))))
    lead = draw(st.integers(0, x.ndim))
    mshape = tuple(1 if draw(st.booleans()) else n for n in x.shape[lead:])
    mask = Const(draw(hnp.arrays(np.bool_, mshape)))
    if tensor_value:
        return Sample((x, mask, draw(REAL(()))))
    # -inf (attention masks) has no numerical derivative: only outside the numerical checks
    values = [0.0, -1e9, 2.5] + ([] if small else [-math.inf])
    return Sample((x, mask), {"value": draw(st.sampled_from(values))})


@st.composite
def tri_sample(draw, small):
    x = draw(REAL(draw(shapes(small, min_dims=2))))
    return Sample((x,), {"diagonal": draw(st.integers(-3, 3))})


@st.composite
def pad_sample(draw, small):
    x = draw(REAL(draw(shapes(small, min_dims=1))))
    k = draw(st.integers(1, x.ndim))
    widths = tuple(draw(st.lists(st.integers(0, 2), min_size=2 * k, max_size=2 * k)))
    return Sample((x,), {"pad": widths, "value": draw(st.sampled_from([0.0, -1.5]))})


@st.composite
def one_hot_sample(draw, small):
    idx = draw(hnp.arrays(np.int64, draw(shapes(small, max_dims=3)), elements=st.integers(0, 4)))
    nc = draw(st.sampled_from([-1, 5, 7]))
    return Sample((Const(idx),), {"num_classes": nc})


# linear algebra ------------------------------------------------------------------
@st.composite
def matmul_sample(draw, small):
    n, k, m = (draw(_side(small)) for _ in range(3))
    case = draw(st.sampled_from(["1d1d", "1d2d", "2d1d", "2d2d", "batched", "1dnd", "nd1d"]))
    sa, sb = {
        "1d1d": ((k,), (k,)),
        "1d2d": ((k,), (k, m)),
        "2d1d": ((n, k), (k,)),
        "2d2d": ((n, k), (k, m)),
    }.get(case, (None, None))
    if sa is None:
        md, ms = (2, 2) if small else (2, 3)
        bs = draw(
            hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=md, max_side=ms)
        )
        ba, bb = bs.input_shapes
        sa = (k,) if case == "1dnd" else (*ba, n, k)
        sb = (k,) if case == "nd1d" else (*bb, k, m)
    return Sample((draw(REAL(sa)), draw(REAL(sb))))


@st.composite
def fixed_shapes(draw, small, make, dom=REAL):
    """Operands whose shapes ``make(n, k, m, b)`` builds from four drawn sizes."""
    sizes = [draw(_side(small)) for _ in range(4)]
    return Sample(tuple(draw(dom(s)) for s in make(*sizes)))


@st.composite
def linear_sample(draw, small):
    k, out = draw(_side(small)), draw(_side(small))
    lead = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    args = (draw(REAL((*lead, k))), draw(REAL((out, k))))
    if draw(st.booleans()):
        args += (draw(REAL((out,))),)
    return Sample(args)


EINSUM_SHAPES: dict[str, Callable[..., tuple]] = {
    "bij,bjk->bik": lambda b, i, j, k: ((b, i, j), (b, j, k)),
    "bhqd,bhkd->bhqk": lambda b, i, j, k: ((b, 2, i, j), (b, 2, k, j)),
    "bhqk,bhkd->bhqd": lambda b, i, j, k: ((b, 2, i, k), (b, 2, k, j)),
    "ij->ji": lambda b, i, j, k: ((i, j),),
    "ij->i": lambda b, i, j, k: ((i, j),),
    "i,j->ij": lambda b, i, j, k: ((i,), (j,)),
}


@st.composite
def einsum_sample(draw, small):
    eq = draw(st.sampled_from(sorted(EINSUM_SHAPES)))
    sizes = [draw(_side(small)) for _ in range(4)]
    return Sample(tuple(draw(REAL(s)) for s in EINSUM_SHAPES[eq](*sizes)), {"eq": eq})


# neural-network ops --------------------------------------------------------------
@st.composite
def softmax_sample(draw, small):
    x = draw(REAL(draw(shapes(small))))
    return Sample((x,), {"dim": _dim(draw, x.ndim)})


@st.composite
def embedding_sample(draw, small):
    n, d = draw(st.integers(1, 6)), draw(_side(small))
    idx = draw(
        hnp.arrays(np.int64, draw(shapes(small, max_dims=2)), elements=st.integers(0, n - 1))
    )
    # The padding_idx row gets no gradient by convention (not the true derivative), so the
    # numerical checks (small=True) leave it out.
    pad = None if small else draw(st.one_of(st.none(), st.integers(0, n - 1)))
    return Sample((Const(idx), draw(REAL((n, d)))), {"padding_idx": pad})


@st.composite
def layer_norm_sample(draw, small):
    x = draw(distinct()(draw(shapes(small, min_dims=1))))
    k = draw(st.integers(1, x.ndim))
    norm_shape = x.shape[x.ndim - k :]
    if int(np.prod(norm_shape)) == 1:  # a single element normalises to 0: ill-conditioned
        return Sample((x,), {"normalized_shape": norm_shape})
    # Spread each normalised slice to σ ≥ 0.2: a slice with σ ≪ |x| loses its digits to
    # cancellation in float32 (in both libraries), which is not what this test is about.
    axes = tuple(range(x.ndim - k, x.ndim))
    mu, sd = x.mean(axes, keepdims=True), x.std(axes, keepdims=True)
    x = np.asarray((mu + (x - mu) * np.maximum(1.0, 0.2 / sd)).astype(np.float32), np.float64)
    args = [x]
    if draw(st.booleans()):
        args += [draw(REAL(norm_shape)), draw(REAL(norm_shape))]
    return Sample(
        tuple(args), {"normalized_shape": norm_shape, "eps": draw(st.sampled_from([1e-5, 1e-3]))}
    )


@st.composite
def compare_sample(draw, small):
    grid = hnp.arrays  # small integers: plenty of equal pairs
    bs = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4))
    a, b = (
        draw(grid(np.float64, s, elements=st.integers(-2, 2).map(float))) for s in bs.input_shapes
    )
    return Sample((a, b))


@st.composite
def bool_pair_sample(draw, small, n=2):
    bs = draw(hnp.mutually_broadcastable_shapes(num_shapes=n, max_dims=3, max_side=4))
    return Sample(tuple(Const(draw(hnp.arrays(np.bool_, s))) for s in bs.input_shapes))


@st.composite
def int_pair_sample(draw, small, nonzero_b=False):
    bs = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4))
    a = draw(hnp.arrays(np.int64, bs.input_shapes[0], elements=st.integers(-20, 20)))
    b_el = (
        st.integers(1, 7).flatmap(lambda v: st.sampled_from([v, -v]))
        if nonzero_b
        else (st.integers(-20, 20))
    )
    return Sample((Const(a), Const(draw(hnp.arrays(np.int64, bs.input_shapes[1], elements=b_el)))))


@st.composite
def equal_sample(draw, small):
    a = draw(real(-1.0, 1.0)(draw(shapes(small))))
    return Sample((a, draw(st.sampled_from([a.copy(), np.asarray(a + 0.5), a.reshape(-1)]))))


@st.composite
def special_values_sample(draw, small):
    el = st.sampled_from([0.0, 1.5, -2.0, math.inf, -math.inf, math.nan])
    return Sample((draw(hnp.arrays(np.float64, draw(shapes(small)), elements=el)),))
