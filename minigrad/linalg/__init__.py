"""``minigrad.linalg``: linear algebra with gradients, named as ``torch.linalg``.

Every function works on the last two dims (batch dims in front). The derivatives, for
Y = f(A) with upstream gradient Ḡ = ∂L/∂Y (Aᵀ: the transpose of the last two dims):

* inv:      Y = A⁻¹,             Ā = -Yᵀ Ḡ Yᵀ
* solve:    X = A⁻¹B,            B̄ = A⁻ᵀ Ḡ (a solve with Aᵀ),  Ā = -B̄ Xᵀ
* det:      d = det A,           Ā = ḡ · d · A⁻ᵀ   (A must be invertible)
* slogdet:  (s, ln|d|),          Ā = ḡ · A⁻ᵀ       (s carries no gradient)
* cholesky: A = L Lᵀ,            S = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹ with Φ the lower triangle with half
                                 its diagonal; Ā = (S + Sᵀ)/2
* eigh:     A = V diag(λ) Vᵀ,    Ā = V (diag(λ̄) + skew(Vᵀ V̄) / E) Vᵀ with Eᵢⱼ = λⱼ - λᵢ;
                                 refused (an error) when eigenvalues repeat and V̄ ≠ 0,
                                 where the eigenvectors are not determined
* matrix_exp: scaling and squaring with a Taylor polynomial, composed from matmuls, so
  its gradient is the exact derivative of that (double-precision) approximation
* vector_norm / matrix_norm / norm: compositions of the reductions (ord 2, -2 and 'nuc'
  of the singular values: their max, min and sum)
* svd, svdvals, qr, pinv, lstsq, cond: in ``minigrad/linalg/factorizations.py``

Each backward is written with these same functions (inv, solve, matmul), so second
derivatives come from differentiating it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.autograd.function import Function
from minigrad.ops.helpers import as_tensor, broadcast_to
from minigrad.ops.reduce import MaxMin
from minigrad.tensor import Tensor

__all__ = [
    "cholesky",
    "cond",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "lstsq",
    "matrix_exp",
    "matrix_norm",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vector_norm",
]


def _matrices(name: str, a: Any) -> Tensor:
    """``a`` as a Tensor of (batches of) floating point matrices, else an error."""
    a = as_tensor(a)
    if a.ndim < 2:
        raise RuntimeError(
            f"linalg.{name}: the input must have at least 2 dimensions, got shape {a.shape}"
        )
    if a.dtype.kind != "f":
        raise RuntimeError(f"linalg.{name}: expected a floating point tensor, got {a.dtype}")
    return a


def _square(name: str, a: Any) -> Tensor:
    a = as_tensor(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            f"linalg.{name}: A must be batches of square matrices, but they are "
            f"{' by '.join(map(str, a.shape[-2:])) if a.ndim >= 2 else a.shape} matrices"
        )
    return _matrices(name, a)


def _mT(x: Tensor) -> Tensor:
    return ops.transpose(x, -2, -1)


def _singular(name: str, err: Exception) -> RuntimeError:
    return RuntimeError(f"linalg.{name}: the matrix is singular (or not positive-definite): {err}")


class Inv(Function):
    """Y = A⁻¹;  Ā = -Yᵀ Ḡ Yᵀ."""

    @staticmethod
    def forward(ctx, a):
        try:
            y = np.linalg.inv(a)
        except np.linalg.LinAlgError as e:
            raise _singular("inv", e) from None
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        yt = _mT(y)
        return -ops.matmul(ops.matmul(yt, g), yt)


class Solve(Function):
    """X = A⁻¹B (same batch shape, B a stack of matrices);  B̄ = A⁻ᵀ Ḡ,  Ā = -B̄ Xᵀ."""

    @staticmethod
    def forward(ctx, a, b):
        try:
            x = np.linalg.solve(a, b)
        except np.linalg.LinAlgError as e:
            raise _singular("solve", e) from None
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        gb = solve(_mT(a), g)
        ga = -ops.matmul(gb, _mT(x)) if ctx.needs_input_grad[0] else None
        return ga, gb


class SlogDet(Function):
    """ln|det A| (the sign is computed apart: it has no gradient);  Ā = ḡ · A⁻ᵀ."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.linalg.slogdet(a)[1]

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return ops.unsqueeze(ops.unsqueeze(g, -1), -1) * _mT(inv(a))


class Det(Function):
    """d = det A;  Ā = ḡ · d · A⁻ᵀ (A invertible)."""

    @staticmethod
    def forward(ctx, a):
        d = np.linalg.det(a)
        ctx.save_for_backward(a, d)
        return d

    @staticmethod
    def backward(ctx, g):
        a, d = ctx.saved_tensors
        if np.any(d.data == 0):
            raise RuntimeError(
                "linalg.det: the gradient at a singular matrix is not supported (det = 0)"
            )
        gd = ops.unsqueeze(ops.unsqueeze(g * d, -1), -1)
        return gd * _mT(inv(a))


class Cholesky(Function):
    """A = L Lᵀ (L lower);  S = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹,  Ā = (S + Sᵀ)/2, where Φ keeps the
    lower triangle and halves the diagonal."""

    @staticmethod
    def forward(ctx, a):
        try:
            low = np.linalg.cholesky(a)
        except np.linalg.LinAlgError as e:
            raise RuntimeError(
                f"linalg.cholesky: the input is not positive-definite ({e})"
            ) from None
        ctx.save_for_backward(low)
        return low

    @staticmethod
    def backward(ctx, g):
        (low,) = ctx.saved_tensors
        p = ops.matmul(_mT(low), g)
        eye = Tensor._from_op(np.eye(low.shape[-1], dtype=low.dtype), None)
        phi = ops.tril(p) - p * eye * 0.5
        li = inv(low)
        s = ops.matmul(ops.matmul(_mT(li), phi), li)
        return (s + _mT(s)) * 0.5


class EighValues(Function):
    """λ of A = V diag(λ) Vᵀ (ascending);  Ā = V diag(λ̄) Vᵀ.

    (Functions here have one output, so eigenvalues and eigenvectors are two nodes; each
    backward recomputes the decomposition from the saved A as graph tensors, so that the
    backward is itself differentiable.)"""

    @staticmethod
    def forward(ctx, a, uplo):
        ctx.save_for_backward(a)
        ctx.uplo = uplo
        return np.linalg.eigh(a, UPLO=uplo)[0]

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        v = EighVectors.apply(a, uplo=ctx.uplo)
        return ops.matmul(ops.matmul(v, ops.diag_embed(g)), _mT(v))


class EighVectors(Function):
    """V of A = V diag(λ) Vᵀ (columns, LAPACK's signs);  Ā = V (skew(Vᵀ V̄) / E) Vᵀ with
    Eᵢⱼ = λⱼ - λᵢ off the diagonal; refused where eigenvalues repeat."""

    @staticmethod
    def forward(ctx, a, uplo):
        ctx.save_for_backward(a)
        ctx.uplo = uplo
        return np.linalg.eigh(a, UPLO=uplo)[1]

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        w = EighValues.apply(a, uplo=ctx.uplo)
        v = EighVectors.apply(a, uplo=ctx.uplo)
        n = w.shape[-1]
        eye = Tensor._from_op(np.eye(n, dtype=bool), None)
        inner = ops.matmul(_mT(v), g)
        skew = (inner - _mT(inner)) * 0.5
        e = ops.unsqueeze(w, -2) - ops.unsqueeze(w, -1)  # E_ij = λ_j - λ_i
        scale = max(1.0, float(np.abs(w.data).max(initial=0.0)))
        repeated = (np.abs(e.data) <= 1e-12 * scale) & ~np.eye(n, dtype=bool)
        if np.any(repeated & (np.abs(skew.data) > 0)):
            raise RuntimeError(
                "linalg.eigh: the gradient with respect to the eigenvectors is not defined "
                "when eigenvalues repeat (the eigenvectors are then not unique)"
            )
        r = ops.where(eye, 0.0, skew / ops.where(eye, 1.0, e))
        return ops.matmul(ops.matmul(v, r), _mT(v))


# ------------------------------------------------------------------ functions
def inv(A: Tensor) -> Tensor:
    """A⁻¹ (batched); a singular matrix raises."""
    return Inv.apply(_square("inv", A))


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A X = B (B a matrix, or a vector when B.ndim == 1 or B is A's shape less
    the last dim); batch dims broadcast. ``left=False``: X A = B."""
    a = _square("solve", A)
    b = as_tensor(B, a.dtype)
    if not left:
        return _mT(solve(_mT(a), _mT(b)))
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    bm = ops.unsqueeze(b, -1) if vector else b
    if bm.shape[-2] != a.shape[-1]:
        raise RuntimeError(
            f"linalg.solve: A of shape {a.shape} and B of shape {b.shape} do not match"
        )
    batch = np.broadcast_shapes(a.shape[:-2], bm.shape[:-2])
    ab = broadcast_to(a, (*batch, *a.shape[-2:]))
    bb = broadcast_to(bm, (*batch, *bm.shape[-2:]))
    x = Solve.apply(ab, bb)
    return ops.squeeze(x, -1) if vector else x


def det(A: Tensor) -> Tensor:
    """det A (batched)."""
    return Det.apply(_square("det", A))


def slogdet(A: Tensor) -> MaxMin:
    """(sign, ln|det A|): the sign (no gradient) and the log of the absolute value."""
    a = _square("slogdet", A)
    return _SignLogAbsDet((SignOfDet.apply(a), SlogDet.apply(a)))


class SignOfDet(Function):
    """s = sign(det A) ∈ {-1, 0, 1}: piecewise constant, so Ā = 0 (recorded, as PyTorch)."""

    @staticmethod
    def forward(ctx, a):
        ctx.shape = a.shape
        return np.linalg.slogdet(a)[0]

    @staticmethod
    def backward(ctx, g):
        zeros = Tensor._from_op(np.zeros(ctx.shape, dtype=g.dtype), None)
        return ops.unsqueeze(ops.unsqueeze(g, -1), -1) * zeros


class _SignLogAbsDet(tuple):
    @property
    def sign(self) -> Tensor:
        return self[0]

    @property
    def logabsdet(self) -> Tensor:
        return self[1]


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """L lower triangular with A = L Lᵀ (reads A's lower triangle; ``upper``: Lᵀ)."""
    low = Cholesky.apply(_square("cholesky", A))
    return _mT(low) if upper else low


class _Eigh(tuple):
    @property
    def eigenvalues(self) -> Tensor:
        return self[0]

    @property
    def eigenvectors(self) -> Tensor:
        return self[1]


def eigh(A: Tensor, UPLO: str = "L") -> _Eigh:
    """(eigenvalues ascending, eigenvectors as columns) of a symmetric A (LAPACK's syevd,
    reading the ``UPLO`` triangle; eigenvector signs as LAPACK returns them, as PyTorch)."""
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    a = _square("eigh", A)
    return _Eigh((EighValues.apply(a, uplo=UPLO), EighVectors.apply(a, uplo=UPLO)))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues of a symmetric A, ascending."""
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.eigvalsh: UPLO must be 'L' or 'U', got {UPLO!r}")
    return EighValues.apply(_square("eigvalsh", A), uplo=UPLO)


def matrix_exp(A: Tensor) -> Tensor:
    """e^A = Σ Aᵏ/k!: A scaled by 2⁻ˢ so that ‖A‖₁ ≤ 1/2, a degree-18 Taylor polynomial
    (Horner form, truncation error below 1e-18), then squared s times."""
    a = _square("matrix_exp", A)
    norm1 = float(np.abs(a.data).sum(-2).max(initial=0.0)) if a.data.size else 0.0
    s = max(0, math.ceil(math.log2(norm1 / 0.5))) if norm1 > 0.5 else 0
    x = a * (2.0**-s) if s else a
    eye = broadcast_to(Tensor._from_op(np.eye(a.shape[-1], dtype=a.dtype), None), a.shape)
    out = eye
    for k in range(18, 0, -1):  # I + X/1 (I + X/2 (I + ... (I + X/18)))
        out = eye + ops.matmul(x, out) * (1.0 / k)
    for _ in range(s):
        out = ops.matmul(out, out)
    return out


def vector_norm(
    x: Tensor, ord: float = 2, dim: int | Sequence[int] | None = None, keepdim: bool = False
) -> Tensor:
    """(Σ |xᵢ|^ord)^(1/ord) over ``dim`` (all elements by default); ord = ±inf: max/min |xᵢ|."""
    x = as_tensor(x)
    if isinstance(dim, list):
        dim = tuple(dim)
    return ops.norm(x, ord, dim, keepdim)


def matrix_norm(
    A: Tensor, ord: Any = "fro", dim: Sequence[int] = (-2, -1), keepdim: bool = False
) -> Tensor:
    """'fro': √Σ aᵢⱼ²;  1 / -1: max / min column sum of |aᵢⱼ|;  inf / -inf: max / min row
    sum;  2 / -2: the largest / smallest singular value;  'nuc': the sum of them."""
    a = as_tensor(A)
    d0, d1 = (d % a.ndim for d in dim)
    if ord == "fro":
        return ops.norm(a, 2, (d0, d1), keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        inner, outer = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = ops.sum(ops.abs(a), inner, keepdim=True)
        pick = ops.amax if ord > 0 else ops.amin
        out = pick(sums, outer, keepdim=True)
        return out if keepdim else ops.squeeze(out, (d0, d1))
    if ord in (2, -2, "nuc"):
        rest = [d for d in range(a.ndim) if d not in (d0, d1)]
        s = svdvals(ops.permute(a, (*rest, d0, d1)))
        out = ops.sum(s, -1) if ord == "nuc" else (ops.amax if ord == 2 else ops.amin)(s, -1)
        if keepdim:
            for d in sorted((d0, d1)):
                out = ops.unsqueeze(out, d)
        return out
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False) -> Tensor:
    """torch.linalg.norm: a vector norm for 1-D input or an int dim, a matrix norm for
    2-D input or two dims; ``ord=None``: the 2-norm of the flattened input."""
    a = as_tensor(A)
    if isinstance(dim, int):
        dim = (dim,)
    if ord is None:
        return vector_norm(a, 2, dim, keepdim)
    if dim is None:
        if a.ndim not in (1, 2):
            raise RuntimeError(
                f"linalg.norm: input must be 1-D or 2-D when dim is None and ord is given, "
                f"got shape {a.shape}"
            )
        dim = tuple(range(a.ndim))
    if len(dim) == 1:
        return vector_norm(a, ord, dim, keepdim)
    return matrix_norm(a, ord, dim, keepdim)


from minigrad.linalg.factorizations import (  # noqa: E402  (they use the functions above)
    cond,
    lstsq,
    pinv,
    qr,
    svd,
    svdvals,
)
