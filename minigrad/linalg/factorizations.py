"""The orthogonal factorizations of ``minigrad.linalg`` and what is built on them: svd,
svdvals, qr, pinv, lstsq, cond (and the 2 / -2 / nuclear matrix norms, via svdvals).

The derivatives (PyTorch's formulas; Aᵀ is the transpose of the last two dims, Ḡ = ∂L/∂Y):

* svd, A = U diag(S) Vh (U: m×k, Vh: k×n, k = min(m, n)), with Eᵢⱼ = Sⱼ² - Sᵢ² and
  skew(X) = X - Xᵀ:

      core = (skew(Uᵀ Ū) diag(S) + diag(S) skew(Vh V̄hᵀ)) / E + diag(S̄)   (off the diagonal)
      Ā = U core Vh,  plus (I - U Uᵀ) Ū S⁻¹ Vh when m > n, or U S⁻¹ V̄h (I - Vhᵀ Vh) when m < n

  The singular vectors are fixed only up to a sign per pair (uᵢ, vᵢ): only a loss that does
  not depend on those signs has a gradient (U diag(S) Vh, |U|, S, ...). Where two singular
  values coincide the vectors are not determined at all, and a loss that sees them has no
  gradient (PyTorch divides by E = 0: NaN); this is an error here. ``full_matrices``: the
  extra columns of U (rows of Vh) are an arbitrary basis; their cotangent is ignored, as
  PyTorch ignores it.
* svdvals: Ā = U diag(S̄) Vh.
* qr, A = Q R (m ≥ n, Q: m×n, R: n×n upper): M = R R̄ᵀ - Q̄ᵀ Q, copyltu(M) = the symmetric
  matrix with M's lower triangle, Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ. For m < n, A = Q [R₁ | R₂]
  splits as X = Q R₁ (square) and Y = Q R₂: Ȳ = Q R̄₂ and X̄ is the square case with
  Q̄ + Y R̄₂ᵀ in place of Q̄. ``mode='complete'`` with m > n has no gradient (the extra
  columns of Q are arbitrary), nor ``mode='r'`` (Q is not computed): both refuse, as PyTorch.
* pinv, A⁺ (constant rank; Golub and Pereyra, as PyTorch), for m ≤ n with K = Ḡᵀ A⁺:
  Ā = -(A⁺ K)ᵀ + K A⁺ᵀ - A A⁺ K A⁺ᵀ + A⁺ᵀ A⁺ (Ḡᵀ - K A), and its mirror image for m > n.
  Where atol / rtol cut off nonzero singular values this is PyTorch's gradient, the
  formula above with the truncated A⁺, not the derivative of the truncated map.
* lstsq: X = A⁺ B (the minimum-norm least-squares solution), differentiated as that
  product: B̄ = A⁺ᵀ X̄ and Ā the pinv adjoint of X̄ Bᵀ.

Every backward is written with minigrad ops on tensors recorded in the graph (the
factorization recomputed from the saved A), so second derivatives and forward-mode
tangents (the transpose trick of ``minigrad/autograd/jvp_rules.py``) come from it.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.autograd.function import Function
from minigrad.linalg import _matrices, _mT, inv, matrix_norm, solve  # (defined before)
from minigrad.ops.helpers import as_tensor
from minigrad.tensor import Tensor

SVD = namedtuple("SVD", ["U", "S", "Vh"])
QR = namedtuple("QR", ["Q", "R"])
Lstsq = namedtuple("Lstsq", ["solution", "residuals", "rank", "singular_values"])
DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def _const(x: np.ndarray) -> Tensor:
    return Tensor._from_op(x, None)


# ------------------------------------------------------------------ svd
class Svd(Function):
    """One factor of A = U diag(S) Vh (``part`` 'U', 'S' or 'Vh'; LAPACK's gesdd as NumPy
    and PyTorch call it). The three factors are three nodes; each backward recomputes
    the reduced factorization from the saved A as graph tensors."""

    @staticmethod
    def forward(ctx, a, part, full_matrices):
        ctx.save_for_backward(a)
        ctx.part, ctx.full = part, full_matrices
        if part == "S":
            return np.linalg.svd(a, compute_uv=False)
        u, _, vh = np.linalg.svd(a, full_matrices=full_matrices)
        return u if part == "U" else vh

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return _svd_backward(a, ctx.part, ctx.full, g)


def _svd_backward(a: Tensor, part: str, full: bool, g: Tensor) -> Tensor:
    m, n = a.shape[-2:]
    k = min(m, n)
    u, s, vh = (Svd.apply(a, part=p, full_matrices=False) for p in ("U", "S", "Vh"))
    if part == "S":
        return ops.matmul(u * ops.unsqueeze(g, -2), vh)
    if full:  # the cotangent of the arbitrary completion is dropped (PyTorch's choice)
        g = ops.narrow(g, -1, 0, k) if part == "U" else ops.narrow(g, -2, 0, k)
    if part == "U":
        inner = ops.matmul(_mT(u), g)
        num = (inner - _mT(inner)) * ops.unsqueeze(s, -2)
    else:
        inner = ops.matmul(vh, _mT(g))
        num = ops.unsqueeze(s, -1) * (inner - _mT(inner))
    s2 = s * s
    e = ops.unsqueeze(s2, -2) - ops.unsqueeze(s2, -1)  # E_ij = S_j² - S_i²
    eye = np.eye(k, dtype=bool)
    scale = max(1.0, float(np.max(s2.data, initial=0.0)))
    repeated = (np.abs(e.data) <= 1e-12 * scale) & ~eye
    if np.any(repeated & (np.abs(num.data) > 1e-12 * max(1.0, float(np.abs(num.data).max())))):
        raise RuntimeError(
            f"linalg.svd: the gradient with respect to {part} is not defined when singular "
            "values repeat (the singular vectors are then not unique; PyTorch returns NaN)"
        )
    skip = _const(repeated | eye)
    core = ops.where(skip, 0.0, num / ops.where(skip, 1.0, e))
    if (part == "U" and m > n) or (part == "Vh" and m < n):
        if np.any(s.data == 0):
            raise RuntimeError(
                f"linalg.svd: the gradient with respect to {part} of a {m} by {n} matrix is "
                "not defined when it is rank-deficient (a singular value is 0)"
            )
    if part == "U" and m > n:  # [U core + (I - U Uᵀ) Ū S⁻¹] Vh
        gs = g / ops.unsqueeze(s, -2)
        out = ops.matmul(u, core) + gs - ops.matmul(u, ops.matmul(_mT(u), gs))
        return ops.matmul(out, vh)
    if part == "Vh" and m < n:  # U [core Vh + S⁻¹ V̄h (I - Vhᵀ Vh)]
        sg = g / ops.unsqueeze(s, -1)
        out = ops.matmul(core, vh) + sg - ops.matmul(ops.matmul(sg, _mT(vh)), vh)
        return ops.matmul(u, out)
    return ops.matmul(u, ops.matmul(core, vh))


def svd(A: Tensor, full_matrices: bool = True, *, driver: str | None = None) -> SVD:
    """(U, S, Vh) with A = U diag(S) Vh, S descending, batched; ``full_matrices``: U is m×m
    and Vh n×n (else m×k and k×n, k = min(m, n)). Signs of the singular vector pairs are
    LAPACK's; differentiate only losses that do not depend on them."""
    if driver is not None:
        raise RuntimeError(
            "torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs "
            "with cuSOLVER backend."
        )
    a = _matrices("svd", A)
    u, s, vh = (Svd.apply(a, part=p, full_matrices=full_matrices) for p in ("U", "S", "Vh"))
    return SVD(u, s, vh)


def svdvals(A: Tensor, *, driver: str | None = None) -> Tensor:
    """The singular values of A, descending (batched);  Ā = U diag(S̄) Vh."""
    if driver is not None:
        return svd(A, driver=driver).S
    return Svd.apply(_matrices("svdvals", A), part="S", full_matrices=False)


# ------------------------------------------------------------------ qr
class Qr(Function):
    """One factor of A = Q R (``part`` 'Q' or 'R'; Householder reflections, LAPACK's
    geqrf + orgqr as NumPy and PyTorch, so the same signs)."""

    @staticmethod
    def forward(ctx, a, part, mode):
        ctx.save_for_backward(a)
        ctx.part, ctx.mode = part, mode
        if mode == "r":
            r = np.linalg.qr(a, mode="r")
            return r if part == "R" else np.zeros((0,), dtype=a.dtype)
        return np.linalg.qr(a, mode=mode)[0 if part == "Q" else 1]

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        m, n = a.shape[-2:]
        if ctx.mode == "r":
            raise RuntimeError(
                "The derivative of linalg.qr depends on Q, which is not computed when "
                "mode='r'. Please use linalg.qr(A, mode='reduced') if you are going to "
                "differentiate through linalg.qr."
            )
        if ctx.mode == "complete" and m > n:
            raise RuntimeError(
                "The QR decomposition is not differentiable when mode='complete' and "
                f"nrows > ncols (A is {m} by {n}: the last {m - n} columns of Q are arbitrary)."
            )
        q, r = (Qr.apply(a, part=p, mode="reduced") for p in ("Q", "R"))
        gq, gr = (g, None) if ctx.part == "Q" else (None, g)
        if m >= n:
            return _qr_square_backward(q, r, gq, gr)
        y = ops.narrow(a, -1, m, n - m)
        r1 = ops.narrow(r, -1, 0, m)
        if gr is None:
            zeros = _const(np.zeros(y.shape, y.dtype))  # Q depends on X alone: Ȳ = 0
            return ops.cat([_qr_square_backward(q, r1, gq, None), zeros], -1)
        gr1, gr2 = ops.narrow(gr, -1, 0, m), ops.narrow(gr, -1, m, n - m)
        gx = _qr_square_backward(q, r1, ops.matmul(y, _mT(gr2)), gr1)
        return ops.cat([gx, ops.matmul(q, gr2)], -1)


def _qr_square_backward(q: Tensor, r: Tensor, gq: Tensor | None, gr: Tensor | None) -> Tensor:
    """Ā = (Q̄ + Q copyltu(M)) R⁻ᵀ with M = R R̄ᵀ - Q̄ᵀ Q (R square upper triangular)."""
    m = None
    if gr is not None:
        m = ops.matmul(r, _mT(gr))
    if gq is not None:
        mq = ops.matmul(_mT(gq), q)
        m = -mq if m is None else m - mq
    sym = ops.tril(m) + _mT(ops.tril(m, -1))
    b = ops.matmul(q, sym) if gq is None else gq + ops.matmul(q, sym)
    return _mT(solve(r, _mT(b)))  # B R⁻ᵀ


def qr(A: Tensor, mode: str = "reduced") -> QR:
    """(Q, R) with A = Q R, Q orthonormal columns, R upper triangular (batched).
    ``mode``: 'reduced' (Q m×k, R k×n, k = min(m, n)), 'complete' (Q m×m, R m×n) or 'r'
    (R alone; Q is an empty tensor)."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' "
            "(default), 'r', or 'complete'"
        )
    a = _matrices("qr", A)
    return QR(Qr.apply(a, part="Q", mode=mode), Qr.apply(a, part="R", mode=mode))


# ------------------------------------------------------------------ pinv
def _tolerances(a: Tensor, atol: Any, rtol: Any) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's rule: atol defaults to 0; rtol to eps·max(m, n), or to 0 where atol > 0."""
    eps = np.finfo(a.dtype).eps * max(a.shape[-2:])
    at = np.zeros(()) if atol is None else np.asarray(as_tensor(atol).data, np.float64)
    if rtol is not None:
        rt = np.asarray(as_tensor(rtol).data, np.float64)
    else:
        rt = np.where(at > 0, 0.0, eps) if atol is not None else np.asarray(eps)
    return at, rt


class Pinv(Function):
    """A⁺ from the SVD (or, ``hermitian``, the eigendecomposition of A's lower triangle):
    the reciprocal of every singular value above max(atol, rtol·σ_max), 0 for the others."""

    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian):
        if hermitian:
            w, v = np.linalg.eigh(a)
            big = np.abs(w).max(-1, keepdims=True, initial=0.0)
            keep = np.abs(w) > np.maximum(atol[..., None], rtol[..., None] * big)
            winv = np.where(keep, 1.0 / np.where(keep, w, 1.0), 0.0).astype(a.dtype)
            out = np.matmul(v * winv[..., None, :], np.swapaxes(v, -1, -2))
        else:
            u, s, vh = np.linalg.svd(a, full_matrices=False)
            keep = s > np.maximum(atol[..., None], rtol[..., None] * s[..., :1])
            sinv = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0).astype(a.dtype)
            out = np.matmul(np.swapaxes(vh, -1, -2) * sinv[..., None, :], np.swapaxes(u, -1, -2))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, p = ctx.saved_tensors
        m, n = a.shape[-2:]
        ph, gh = _mT(p), _mT(g)
        if m <= n:
            k = ops.matmul(gh, p)
            kph = ops.matmul(k, ph)
            return (
                -_mT(ops.matmul(p, k))
                + kph
                - ops.matmul(ops.matmul(a, p), kph)
                + ops.matmul(ops.matmul(ph, p), gh - ops.matmul(k, a))
            )
        k = ops.matmul(p, gh)
        phk = ops.matmul(ph, k)
        return (
            -_mT(ops.matmul(k, p))
            + ops.matmul(ops.matmul(gh - ops.matmul(a, k), p), ph)
            + phk
            - ops.matmul(ops.matmul(phk, p), a)
        )


def pinv(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse A⁺ (batched): singular values σ ≤ max(atol,
    rtol·σ_max) count as 0; rtol defaults to eps·max(m, n) (to 0 when atol > 0 is given).
    ``hermitian``: A is symmetric and only its lower triangle is read."""
    a = _matrices("pinv", A)
    if hermitian and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            f"linalg.pinv: hermitian=True needs square matrices, got {a.shape[-2]} by {a.shape[-1]}"
        )
    at, rt = _tolerances(a, atol, rtol)
    return Pinv.apply(a, atol=at, rtol=rt, hermitian=hermitian)


# ------------------------------------------------------------------ lstsq
def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None) -> Lstsq:
    """argmin_X ‖A X - B‖ (the minimum-norm solution), batched, as PyTorch's namedtuple
    (solution, residuals, rank, singular_values), with its CPU driver semantics
    ('gelsy' by default):

    * residuals: Σ over rows of (A X - B)², for m > n only, and not for 'gelsy' ('gelsd',
      'gelss': only when every matrix has full rank); else empty. Differentiable here with
      its true gradient (PyTorch records it but backpropagates the solution's alone).
    * rank: the number of singular values above rcond·σ_max (not for 'gels': empty).
      (LAPACK's gelsy counts it from a pivoted QR; the two agree away from the cut.)
    * singular_values: for 'gelsd' and 'gelss', else empty.

    rcond defaults to eps·max(m, n). B is (..., m, k), or (..., m) for a vector right side."""
    if driver is None:
        driver = "gelsy"
    if driver not in DRIVERS:
        raise RuntimeError(
            "torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)"
        )
    a = _matrices("lstsq", A)
    b = as_tensor(B, a.dtype)
    if not (a.ndim >= b.ndim and a.ndim - b.ndim <= 1):
        raise RuntimeError(
            "torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
            f"(input.dim() - other.dim()) <= 1 (shapes {a.shape} and {b.shape})"
        )
    vector = b.ndim == a.ndim - 1
    bm = ops.unsqueeze(b, -1) if vector else b
    m, n = a.shape[-2:]
    if bm.shape[-2] != m:
        raise RuntimeError(
            f"torch.linalg.lstsq: input.size(-2) should match other.size(-2) (shapes {a.shape} "
            f"and {b.shape})"
        )
    eps = np.finfo(a.dtype).eps * max(m, n)
    rc = eps if rcond is None or rcond < 0 else float(rcond)
    x = ops.matmul(pinv(a, rtol=rc), bm)
    s = np.linalg.svd(a.data, compute_uv=False)
    rank_arr = (s > rc * s[..., :1]).sum(-1).astype(np.int64)
    batch = np.broadcast_shapes(a.shape[:-2], bm.shape[:-2])
    empty = _const(np.zeros((0,), a.dtype))
    full = driver == "gels" or bool(np.all(rank_arr == n))
    if m > n and driver != "gelsy" and full:
        res = ops.sum((ops.matmul(a, x) - bm) ** 2, -2)
    else:
        res = empty
    rank = (
        _const(np.zeros((0,), np.int64))
        if driver == "gels"
        else _const(np.broadcast_to(rank_arr, batch).copy())
    )
    sv = (
        _const(np.broadcast_to(s, (*batch, s.shape[-1])).copy())
        if driver
        in (
            "gelsd",
            "gelss",
        )
        else empty
    )
    return Lstsq(ops.squeeze(x, -1) if vector else x, res, rank, sv)


# ------------------------------------------------------------------ cond
def cond(A: Tensor, p: Any = None) -> Tensor:
    """κ(A): σ_max/σ_min for p = None or 2, σ_min/σ_max for -2 (any m×n); otherwise
    ‖A‖_p ‖A⁻¹‖_p with p in 'fro', 'nuc', ±1, ±inf (square A)."""
    a = _matrices("cond", A)
    if p is None or p in (2, -2):
        s = svdvals(a)
        hi, lo = ops.narrow(s, -1, 0, 1), ops.narrow(s, -1, s.shape[-1] - 1, 1)
        return ops.squeeze(lo / hi if p == -2 else hi / lo, -1)
    if p not in ("fro", "nuc", 1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    return matrix_norm(a, p) * matrix_norm(inv(a), p)
