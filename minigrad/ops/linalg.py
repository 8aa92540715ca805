"""Linear algebra: matmul (every PyTorch case), linear, bmm, einsum.

For C = A @ B the chain rule gives dA = dC @ Bᵀ and dB = Aᵀ @ dC; with batch
dimensions that broadcast, each gradient is then summed back to its input's shape.
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from minigrad import fast
from minigrad.autograd.function import Function
from minigrad.core.primitives import MatMul
from minigrad.fast.fused import reference_of
from minigrad.ops.declare import op
from minigrad.ops.helpers import as_tensor, broadcast_to, is_array, promote
from minigrad.ops.reduce import sum
from minigrad.ops.shape import reshape, squeeze, unsqueeze
from minigrad.tensor import Tensor


class RowsMatMul(Function):
    """C = A @ B for a batched A (≥ 3-D) and one matrix B: a fused kernel.

    Reference composition: ``core.MatMul`` (B broadcast over A's batch dims, then
    dB = Σ_batches Aᵀ dC summed back by ``sum_to``). Here all of A's rows go through a
    single 2-D GEMM instead: C = reshape(A, (-1, k)) @ B, and dB = A₂ᵀ dC₂ over the
    same flattened rows, which is that sum written as one product. BLAS runs one large
    product much faster than many small ones."""

    array_backward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        rows = np.matmul(a.reshape(-1, a.shape[-1]), b)
        return rows.reshape(*a.shape[:-1], b.shape[-1])

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need = ctx.needs_input_grad
        g2 = reshape(g, (-1, g.shape[-1]))
        da = reshape(matmul(g2, b.swapaxes(0, 1)), a.shape) if need[0] else None
        db = matmul(reshape(a, (-1, a.shape[-1])).swapaxes(0, 1), g2) if need[1] else None
        return da, db


@reference_of(RowsMatMul)
def rows_matmul_reference(a: Tensor, b: Tensor) -> Tensor:
    """The core's MatMul, B broadcast over A's batch dims."""
    return MatMul.apply(a, b)


def _matmul2(a: Tensor, b: Tensor) -> Tensor:
    """Both operands ≥ 2-D: the core's MatMul, or the fused rows kernel when it applies."""
    if b.ndim == 2 and a.ndim > 2 and fast.enabled():
        return RowsMatMul.apply(a, b)
    return MatMul.apply(a, b)  # = rows_matmul_reference


class Linear(Function):
    """y = x Wᵀ + b;  dx = dy W,  dW = dyᵀ x,  db = Σ dy over all leading dims.

    One node instead of three (transpose, matmul, add). Leading dims are flattened
    into rows first: one 2-D GEMM is much faster in BLAS than a batched matmul of a
    3-D input with a broadcast 2-D weight."""

    array_backward = True

    @staticmethod
    def forward(ctx, x, w, b=None):
        ctx.save_for_backward(x, w)
        y = np.matmul(x.reshape(-1, x.shape[-1]), w.T) if x.ndim > 2 else np.matmul(x, w.T)
        if b is not None:
            y += b
        return y.reshape(*x.shape[:-1], w.shape[0]) if x.ndim > 2 else y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        batched = x.ndim != 2  # rows: all leading dims together (or the one row of 1-d x)
        x2 = reshape(x, (-1, x.shape[-1])) if batched else x
        g2 = reshape(g, (-1, g.shape[-1])) if batched else g
        dx = None
        if need[0]:
            dx = reshape(matmul(g2, w), x.shape) if batched else matmul(g2, w)
        dw = matmul(g2.swapaxes(0, 1), x2) if need[1] else None
        if len(need) == 2:
            return dx, dw
        return dx, dw, (sum(g2, 0) if need[2] else None)


@reference_of(Linear)
def linear_reference(x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
    """x Wᵀ (+ b): matmul, then a broadcast add."""
    y = matmul(x, w.swapaxes(0, 1))
    return y if b is None else y + b


def _check_matmul(op: str, a: Tensor, b: Tensor) -> None:
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"{op}: both arguments need at least 1 dimension, got shapes {a.shape} and {b.shape}"
        )
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise RuntimeError(
            f"{op}: shapes {a.shape} and {b.shape} cannot be multiplied "
            f"(inner dimensions {k_a} and {k_b} differ)"
        )
    if a.ndim > 2 or b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise RuntimeError(
                f"{op}: batch dimensions of {a.shape} and {b.shape} cannot be broadcast"
            ) from None


@op(operators=("__matmul__", "__rmatmul__"))
def matmul(a: Any, b: Any) -> Tensor:
    """PyTorch's matmul: 1-D·1-D is a dot product; a 1-D operand is treated as a
    row (left) or column (right) vector and that dim removed from the result;
    dims beyond the last two broadcast as batch dims."""
    if is_array(a) and is_array(b):  # array-mode backward
        return np.matmul(a, b)
    a, b = promote(as_tensor(a), as_tensor(b))
    _check_matmul("matmul", a, b)
    if a.ndim == 1 and b.ndim == 1:
        return squeeze(squeeze(_matmul2(unsqueeze(a, 0), unsqueeze(b, 1)), -1), -1)
    if a.ndim == 1:
        return squeeze(_matmul2(unsqueeze(a, 0), b), -2)
    if b.ndim == 1:
        return squeeze(_matmul2(a, unsqueeze(b, 1)), -1)
    return _matmul2(a, b)


@op()
def mm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got shapes {a.shape} and {b.shape}")
    _check_matmul("mm", a, b)
    return matmul(a, b)


@op()
def bmm(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise RuntimeError(
            f"bmm: expected 3-D tensors with the same batch size, got {a.shape} and {b.shape}"
        )
    _check_matmul("bmm", a, b)
    return matmul(a, b)


@op()
def dot(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    _check_matmul("dot", a, b)
    return matmul(a, b)


@op(methods=False)
def outer(a: Tensor, b: Tensor) -> Tensor:
    return unsqueeze(a, 1) * unsqueeze(b, 0)


@op(methods=False)
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b with W of shape (out_features, in_features)."""
    x = as_tensor(x)
    xs, ws = x.data.shape, weight.data.shape  # the arrays' own attributes: a hot path
    if len(ws) != 2 or not xs or xs[-1] != ws[1]:
        raise RuntimeError(
            f"linear: input of shape {x.shape} and weight of shape {weight.shape} don't match "
            f"(expected input (..., {weight.shape[-1] if weight.ndim else '?'}))"
        )
    if bias is not None and bias.data.shape not in ((ws[0],), ()):
        raise RuntimeError(
            f"linear: bias of shape {bias.shape} does not match weight of shape {weight.shape}"
        )
    if x.data.dtype != weight.data.dtype:
        raise RuntimeError(f"linear: input dtype {x.dtype} and weight dtype {weight.dtype} differ")
    if bias is not None:
        bias = broadcast_to(bias, (weight.shape[0],))
    if not fast.enabled():
        return linear_reference(x, weight, bias)
    return Linear.apply(x, weight) if bias is None else Linear.apply(x, weight, bias)


class Einsum(Function):
    """y = einsum(eq, x₁, ..., xₙ);  dxᵢ = einsum of dy with every other operand, written
    to xᵢ's subscripts (indices only xᵢ had are summed in forward, so dy broadcasts over them)."""

    @staticmethod
    def forward(ctx, *xs, inputs, output):
        ctx.save_for_backward(*xs)
        ctx.inputs, ctx.output = inputs, output
        return np.einsum(",".join(inputs) + "->" + output, *xs, optimize=len(xs) > 2)

    @staticmethod
    def backward(ctx, g):
        xs = ctx.saved_tensors
        grads = []
        for i, sub in enumerate(ctx.inputs):
            if not ctx.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [s for j, s in enumerate(ctx.inputs) if j != i]
            available = set(ctx.output).union(*others)
            kept = "".join(c for c in sub if c in available)
            operands = [g] + [x for j, x in enumerate(xs) if j != i]
            d = einsum(",".join([ctx.output, *others]) + "->" + kept, *operands)
            if kept != sub:  # indices summed away in forward: broadcast dy back over them
                shape = tuple(xs[i].shape[sub.index(c)] if c in kept else 1 for c in sub)
                d = broadcast_to(reshape(d, shape), xs[i].shape)
            grads.append(d)
        return tuple(grads)


_LETTERS = string.ascii_uppercase + string.ascii_lowercase  # PyTorch's label order


def _sublists(args: tuple) -> tuple[str, tuple]:
    """PyTorch's sublist form ``einsum(x, [0, 1], y, [1, 2], [0, 2])`` as an equation
    (label k < 52 is the k-th of A..Z a..z; ``...`` an ellipsis)."""

    def letters(sub: Any) -> str:
        out = []
        for k in sub:
            if k is Ellipsis:
                out.append("...")
            elif isinstance(k, (int, np.integer)) and 0 <= k < 52:
                out.append(_LETTERS[k])
            else:
                raise RuntimeError(
                    f"einsum(): expected subscript to be within the range [0, 52), but got {k}"
                )
        return "".join(out)

    operands = args[0:-1:2] if len(args) % 2 else args[0::2]  # an odd count ends in the output
    subs = [letters(s) for s in args[1::2]]
    eq = ",".join(subs)
    if len(args) % 2:
        eq += "->" + letters(args[-1])
    return eq, tuple(operands)


def _parse(equation: str, xs: list[Tensor]) -> tuple[list[str], str]:
    """Each operand's subscripts and the output's, with every ``...`` replaced by fresh
    letters (right-aligned, so that they broadcast) and the implicit output made explicit:
    the ellipsis dims, then the letters seen once, in PyTorch's order (A..Z a..z)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(xs):
        which = "fewer" if len(xs) < len(inputs) else "more"
        raise RuntimeError(
            f"einsum(): {which} operands were provided than specified in the equation "
            f"{equation!r} (it names {len(inputs)} operands, got {len(xs)})"
        )
    widths = []
    for i, (sub, x) in enumerate(zip(inputs, xs)):
        named = sub.replace("...", "", 1)
        for c in named:
            if c == ".":
                raise RuntimeError(
                    f"einsum(): found '.' for operand {i} that is not part of any ellipsis"
                )
            if c not in _LETTERS:
                raise RuntimeError(
                    f"einsum(): invalid subscript given at index {eq.index(c)} in the equation "
                    f"string, subscripts must be in [a-zA-Z] (got {c!r} in {equation!r})"
                )
        if "..." not in sub and len(sub) != x.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(sub)}) does not "
                f"match the number of dimensions ({x.ndim}) for operand {i} and no ellipsis "
                f"was given (subscripts {sub!r}, shape {x.shape})"
            )
        if len(named) > x.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(named)}) is more "
                f"than the number of dimensions ({x.ndim}) for operand {i}"
            )
        widths.append(x.ndim - len(named) if "..." in sub else 0)
    fresh = [c for c in _LETTERS if c not in eq][: max(widths, default=0)]
    if len(fresh) < max(widths, default=0):
        raise RuntimeError(f"einsum(): too many dimensions for 52 subscripts in {equation!r}")
    ell = "".join(fresh)
    inputs = [
        sub.replace("...", ell[len(ell) - w :]) if "..." in sub else sub
        for sub, w in zip(inputs, widths)
    ]
    if not arrow:
        seen = "".join(inputs)
        rhs = ell + "".join(c for c in _LETTERS if seen.count(c) == 1 and c not in ell)
    else:
        if rhs.replace("...", "", 1).count(".") or any(
            c not in _LETTERS for c in rhs.replace("...", "", 1)
        ):
            raise RuntimeError(f"einsum(): invalid output subscripts {rhs!r} in {equation!r}")
        rhs = rhs.replace("...", ell)
        for c in rhs:
            if rhs.count(c) > 1:
                raise RuntimeError(
                    f"einsum(): output subscript {c} appears more than once in the output"
                )
            if not any(c in sub for sub in inputs):
                raise RuntimeError(
                    f"einsum(): output subscript {c} does not appear in the equation for any "
                    f"input operand ({equation!r})"
                )
    return inputs, rhs


def _sizes(equation: str, inputs: list[str], xs: list[Tensor]) -> dict[str, int]:
    """Each letter's size: equal where an operand repeats it; across operands a size 1
    broadcasts (PyTorch's rule)."""
    sizes: dict[str, int] = {}
    for i, (sub, x) in enumerate(zip(inputs, xs)):
        own: dict[str, int] = {}
        for c, n in zip(sub, x.shape):
            if c in own and own[c] != n:
                raise RuntimeError(
                    f"einsum(): subscript {c!r} is repeated for operand {i} but the sizes don't "
                    f"match, {n} != {own[c]} ({equation!r}, shape {x.shape})"
                )
            own[c] = n
        for c, n in own.items():
            if c in sizes and n != sizes[c] and 1 not in (n, sizes[c]):
                raise RuntimeError(
                    f"einsum(): subscript {c!r} has size {n} for operand {i} which does not "
                    f"broadcast with previously seen size {sizes[c]} ({equation!r}, shapes "
                    f"{', '.join(str(t.shape) for t in xs)})"
                )
            sizes[c] = max(n, sizes.get(c, n))
    return sizes


def _distinct(sub: str, x: Tensor, sizes: dict[str, int]) -> tuple[str, Tensor]:
    """An operand with every letter once and at its full size: a repeated letter takes
    the diagonal (``ii->i``; the adjoint embeds dy on it), and a dim of size 1 under a
    letter of size n is dropped (the operand is the same for each of the n values)."""
    from minigrad.ops.arrange import diagonal  # (arrange builds on einsum)

    while len(set(sub)) != len(sub):
        c = next(c for c in sub if sub.count(c) > 1)
        p = sub.index(c)
        q = sub.index(c, p + 1)
        x = diagonal(x, 0, p, q)  # the diagonal goes last
        sub = sub[:p] + sub[p + 1 : q] + sub[q + 1 :] + c
    drop = [k for k, c in enumerate(sub) if x.shape[k] == 1 and sizes[c] > 1]
    if drop:
        x = squeeze(x, tuple(drop))
        sub = "".join(c for k, c in enumerate(sub) if k not in drop)
    return sub, x


@op(methods=False)
def einsum(equation: Any, *operands: Any) -> Tensor:
    """Einstein summation as PyTorch's: ``einsum('bhqd,bhkd->bhqk', q, k)``; ``...``
    broadcasts, a letter repeated in an operand takes a diagonal (``'ii->i'``,
    ``'ii'`` the trace), no ``->`` means the output of the letters seen once
    (alphabetically), any number of operands, and the sublist form
    ``einsum(x, [0, 1], y, [1, 2])``.

    y = Σ over the letters not in the output of Πₖ xₖ[subscriptsₖ];  dxᵢ = the einsum of
    dy with the other operands, onto xᵢ's subscripts (a diagonal's adjoint embeds it back);
    ẏ = Σᵢ einsum(x₁, .., ẋᵢ, .., xₙ)."""
    if not isinstance(equation, str):
        equation, operands = _sublists((equation, *operands))
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    xs = [as_tensor(x) for x in operands]
    inputs, rhs = _parse(equation, xs)
    sizes = _sizes(equation, inputs, xs)
    for i in range(1, len(xs)):
        xs[0], xs[i] = promote(xs[0], xs[i])
    for i in range(1, len(xs)):
        xs[i] = as_tensor(xs[i], xs[0].dtype)
    pairs = [_distinct(sub, x, sizes) for sub, x in zip(inputs, xs)]
    subs = tuple(p[0] for p in pairs)
    return Einsum.apply(*(p[1] for p in pairs), inputs=subs, output=rhs)
