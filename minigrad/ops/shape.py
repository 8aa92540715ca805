"""Shape ops: they move or copy elements without arithmetic, so each backward
moves the gradient back the inverse way (reshape back, transpose back, ...)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.autograd.function import Function
from minigrad.core.primitives import Permute, Reshape
from minigrad.ops.declare import op
from minigrad.ops.helpers import as_tensor, broadcast_to, is_array, promote
from minigrad.tensor import Tensor, _normalize_dim, normalize_dims


def _shape_arg(shape: tuple, name: str) -> tuple:
    """The sizes given as ints or as one tuple; none at all is refused, as PyTorch's
    ``x.view()`` (a 0-d target is ``x.view(())``)."""
    if not shape:
        raise TypeError(f"{name}() missing its sizes: pass ints or a tuple (() for 0-d)")
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


class Repeat(Function):
    """y = x tiled ``reps`` times;  dx = the sum of dy over the tiles."""

    @staticmethod
    def forward(ctx, x, reps):
        ctx.in_shape, ctx.reps = x.shape, reps
        return np.tile(x, reps)

    @staticmethod
    def backward(ctx, g):
        shape = (1,) * (len(ctx.reps) - len(ctx.in_shape)) + ctx.in_shape
        split = []  # (rep_0, size_0, rep_1, size_1, ...): sum over the rep axes
        for r, n in zip(ctx.reps, shape):
            split += [r, n]
        gs = reshape(g, tuple(split)).sum(dim=tuple(range(0, len(split), 2)))
        return reshape(gs, ctx.in_shape)


class Flip(Function):
    """y = x reversed along dims;  dx = dy reversed along the same dims."""

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.flip(x, dims).copy()  # PyTorch's flip copies (NumPy's is a view)

    @staticmethod
    def backward(ctx, g):
        return flip(g, ctx.dims)


class Cat(Function):
    """y = [x₁; x₂; ...] along ``dim``;  dxᵢ = the slice of dy that xᵢ filled."""

    @staticmethod
    def forward(ctx, *xs, dim):
        ctx.dim = dim
        ctx.sizes = [x.shape[dim] for x in xs]
        return np.concatenate(xs, axis=dim)

    @staticmethod
    def backward(ctx, g):
        out, start = [], 0
        for n, need in zip(ctx.sizes, ctx.needs_input_grad):
            out.append(narrow(g, ctx.dim, start, n) if need else None)
            start += n
        return tuple(out)


class Triangle(Function):
    """y = tril(x, k) or triu(x, k);  dx = the same triangle of dy."""

    @staticmethod
    def forward(ctx, x, k, upper):
        ctx.k, ctx.upper = k, upper
        return np.triu(x, k) if upper else np.tril(x, k)

    @staticmethod
    def backward(ctx, g):
        return Triangle.apply(g, k=ctx.k, upper=ctx.upper)


class Pad(Function):
    """y = x with constant borders;  dx = the middle of dy (the borders had no x in them)."""

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.slices]


class Clone(Function):
    """y = a copy of x (new memory);  dx = dy."""

    array_backward = True

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


# ------------------------------------------------------------------ functional API
def _resolve_shape(shape: tuple, x: Tensor) -> tuple[int, ...]:
    """``shape`` with its -1 (if any) worked out from x's element count, or an error."""
    numel = x.numel()
    free = [i for i, n in enumerate(shape) if n == -1]
    known = int(np.prod([n for n in shape if n != -1]))
    bad = len(free) > 1 or any(n < -1 for n in shape)
    if free and not bad:
        bad = known == 0 or numel % known != 0
        shape = tuple(numel // known if n == -1 else n for n in shape) if not bad else shape
    if bad or int(np.prod(shape)) != numel:
        raise RuntimeError(
            f"reshape: shape {tuple(shape)} is invalid for input of shape {x.shape} "
            f"({numel} elements)"
        )
    return tuple(int(n) for n in shape)


@op()
def reshape(x: Tensor, *shape: Any) -> Tensor:
    """x with a new shape: a view of x's memory when its strides allow, else a copy.
    Always a new tensor (as PyTorch's, even to the same shape)."""
    if is_array(x):  # array-mode backward
        return x.reshape(_shape_arg(shape, "reshape"))
    target = _resolve_shape(_shape_arg(shape, "reshape"), x)
    return Reshape.apply(x, shape=target)


@op()
def view(x: Tensor, *shape: Any) -> Tensor:
    """x with a new shape, sharing x's memory; refused (as PyTorch) when x's strides
    cannot express the new shape without a copy (``t.T.view(12)``): use reshape."""
    if is_array(x):  # array-mode backward
        return x.reshape(_shape_arg(shape, "view"))
    target = _resolve_shape(_shape_arg(shape, "view"), x)
    try:
        np.reshape(x.data, target, copy=False)
    except ValueError:
        raise RuntimeError(
            f"view: view size is not compatible with input tensor's size and stride (shape "
            f"{x.shape}, strides {x.data.strides} to {target}: at least one dimension spans "
            "across two contiguous subspaces). Use .reshape(...) instead."
        ) from None
    return Reshape.apply(x, shape=target)


@op()
def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return reshape(x, (1,))
    s = _normalize_dim(start_dim, x.ndim, "flatten")
    e = _normalize_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise RuntimeError("flatten: start_dim cannot come after end_dim")
    return reshape(x, x.shape[:s] + (int(np.prod(x.shape[s : e + 1])),) + x.shape[e + 1 :])


@op()
def squeeze(x: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    axes = normalize_dims(dim, x.ndim, "squeeze")
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in axes and n == 1)))


@op()
def unsqueeze(x: Tensor, dim: int) -> Tensor:
    d = _normalize_dim(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


@op()
def permute(x: Tensor, *dims: Any) -> Tensor:
    dims = _shape_arg(dims, "permute")
    if is_array(x):  # array-mode backward
        return x.transpose(dims)
    if len(dims) != x.ndim:
        raise RuntimeError(
            f"permute: number of dims {len(dims)} doesn't match the input's {x.ndim} dims "
            f"(shape {x.shape})"
        )
    axes = tuple(_normalize_dim(d, x.ndim, "permute") for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"permute: repeated dim in {tuple(dims)}")
    return Permute.apply(x, dims=axes)  # a new view even when the order is unchanged


@op(methods=("transpose", "swapaxes"), aliases=("swapaxes",))
def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    if x.ndim == 0:
        _normalize_dim(dim0, 0, "transpose")
        _normalize_dim(dim1, 0, "transpose")
        return Permute.apply(x, dims=())
    d0 = _normalize_dim(dim0, x.ndim, "transpose")
    d1 = _normalize_dim(dim1, x.ndim, "transpose")
    order = list(range(x.ndim))
    order[d0], order[d1] = order[d1], order[d0]
    return permute(x, tuple(order))


@op()
def t(x: Tensor) -> Tensor:
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but it has {x.ndim}")
    return transpose(x, 0, 1) if x.ndim == 2 else Permute.apply(x, dims=tuple(range(x.ndim)))


@op()
def expand(x: Tensor, *sizes: Any) -> Tensor:
    sizes = _shape_arg(sizes, "expand")
    if len(sizes) < x.ndim:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({x.ndim})"
        )
    lead = len(sizes) - x.ndim
    shape = tuple(
        (x.shape[i - lead] if n == -1 else n) if i >= lead else n for i, n in enumerate(sizes)
    )
    for i in range(x.ndim):
        if x.shape[i] != 1 and x.shape[i] != shape[lead + i]:
            raise RuntimeError(
                f"expand: the expanded size {shape[lead + i]} must match the existing size "
                f"{x.shape[i]} at non-singleton dimension {lead + i} (shape {x.shape} to {sizes})"
            )
    if shape == x.shape:  # a new view, not x itself (as PyTorch)
        return Reshape.apply(x, shape=shape)
    return broadcast_to(x, shape)


@op()
def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return expand(x, other.shape)


@op(methods=False)
def broadcast_tensors(*tensors: Tensor) -> list[Tensor]:
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return [broadcast_to(t, shape) for t in tensors]


@op()
def repeat(x: Tensor, *reps: Any) -> Tensor:
    reps = _shape_arg(reps, "repeat")
    if len(reps) < x.ndim:
        raise RuntimeError(
            f"repeat: number of repeat dims ({len(reps)}) can not be smaller than the number "
            f"of dimensions of the tensor ({x.ndim})"
        )
    return Repeat.apply(x, reps=reps)


@op()
def flip(x: Tensor, dims: int | Sequence[int]) -> Tensor:
    return Flip.apply(x, dims=normalize_dims(dims, x.ndim, "flip"))


@op(methods=False, aliases=("concat", "concatenate"))
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise RuntimeError("cat: expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(
                f"cat: zero-dimensional tensor (at position {i}) cannot be concatenated "
                "(use stack, or reshape it to (1,) first)"
            )
    ref = tensors[0]
    d = _normalize_dim(dim, ref.ndim, "cat")
    for i, t in enumerate(tensors):
        others, ref_others = t.shape[:d] + t.shape[d + 1 :], ref.shape[:d] + ref.shape[d + 1 :]
        if t.ndim != ref.ndim or others != ref_others:
            raise RuntimeError(
                f"cat: sizes of tensors must match except in dimension {d}: tensor 0 has shape "
                f"{ref.shape}, tensor {i} has shape {t.shape}"
            )
    dt = ref.dtype
    for t in tensors[1:]:
        dt = promote(Tensor._from_op(np.empty((1,), dt), None), t)[0].dtype
    return Cat.apply(*[as_tensor(t, dt) for t in tensors], dim=d)


@op(methods=False)
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise RuntimeError("stack: expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack: expects each tensor to be equal size, but got {tensors[0].shape} at "
                f"entry 0 and {t.shape} at entry {i}"
            )
    d = _normalize_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)


@op()
def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    d = _normalize_dim(dim, x.ndim, "narrow")
    n = x.shape[d]
    if start < 0:
        start += n  # a negative start counts from the end, as PyTorch
    if not 0 <= start <= n or length < 0 or start + length > n:
        raise RuntimeError(
            f"narrow: start ({start}) + length ({length}) must lie within dimension {d} of "
            f"size {n} (input shape {x.shape})"
        )
    return x[(slice(None),) * d + (slice(start, start + length),)]


@op()
def select(x: Tensor, dim: int, index: int) -> Tensor:
    """The slice of x at ``index`` along ``dim`` (that dim removed): a view, as PyTorch's."""
    d = _normalize_dim(dim, x.ndim, "select")
    n = x.shape[d]
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {tuple(x.shape)} at "
            f"dimension {d}"
        )
    return x[(slice(None),) * d + (index,)]


def _several_views(op: str, outs: list[Tensor]) -> list[Tensor]:
    """Mark the outputs of an op that returns several views of one input: PyTorch
    refuses an in-place write into any of them inside a graph (``views.py``)."""
    for i, t in enumerate(outs):
        if t.grad_fn is not None:
            t.grad_fn._several_views = (op, i)
    return outs


@op()
def split(x: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> list[Tensor]:
    d = _normalize_dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise RuntimeError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - s) for s in range(0, n, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(
                f"split: split_with_sizes expects split_sizes to sum exactly to {n} "
                f"(input tensor's size at dimension {d}), but got split_sizes={sizes}"
            )
    out, start = [], 0
    for s in sizes:
        out.append(narrow(x, d, start, s))
        start += s
    return _several_views("Split", out)


@op()
def chunk(x: Tensor, chunks: int, dim: int = 0) -> list[Tensor]:
    if chunks <= 0:
        raise RuntimeError(f"chunk: number of chunks must be greater than 0, got {chunks}")
    n = x.shape[_normalize_dim(dim, x.ndim, "chunk")]
    return _several_views("Chunk", split(x, max(1, -(-n // chunks)), dim))


@op()
def unbind(x: Tensor, dim: int = 0) -> list[Tensor]:
    d = _normalize_dim(dim, x.ndim, "unbind")
    return _several_views("Unbind", [x[(slice(None),) * d + (i,)] for i in range(x.shape[d])])


@op()
def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    if x.ndim < 2:
        raise RuntimeError(f"tril: input tensor must have at least 2 dimensions, got {x.ndim}")
    return Triangle.apply(x, k=diagonal, upper=False)


@op()
def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    if x.ndim < 2:
        raise RuntimeError(f"triu: input tensor must have at least 2 dimensions, got {x.ndim}")
    return Triangle.apply(x, k=diagonal, upper=True)


@op(methods=False)
def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """PyTorch's pad: ``pad`` lists (left, right) pairs starting from the LAST dimension."""
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is supported, got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise RuntimeError(
            f"pad: padding length {len(pad)} must be even and at most 2 × the input's {x.ndim} dims"
        )
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        lo, hi = pad[2 * i], pad[2 * i + 1]
        if lo < 0 or hi < 0:
            raise NotImplementedError("pad: negative padding is not supported")
        widths[x.ndim - 1 - i] = (lo, hi)
    return Pad.apply(x, widths=tuple(widths), value=value)


@op()
def contiguous(x: Tensor) -> Tensor:
    """x itself when its memory is already C-contiguous, else a contiguous copy (as
    PyTorch's: writing to the copy does not change x)."""
    if is_array(x):
        return np.ascontiguousarray(x)
    if x.data.flags.c_contiguous:
        return x
    return Clone.apply(x)


@op()
def clone(x: Tensor) -> Tensor:
    """A copy with its own memory, still in the graph (in-place ops on it are safe)."""
    return Clone.apply(as_tensor(x))
