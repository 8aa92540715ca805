"""What the registry's property tests cannot say about the factorizations, einsum,
scatter_reduce and pdist: output shapes and empty outputs, where minigrad refuses what
PyTorch answers with NaN, the gradients PyTorch defines by convention (residuals,
truncated pinv, ties, in-place), and the NumPy spellings. Everything against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad as mg

RNG = np.random.default_rng(7)


def _pair(a: np.ndarray, grad: bool = True) -> tuple[mg.Tensor, torch.Tensor]:
    return mg.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad)


def _close(m: mg.Tensor, t: torch.Tensor, tol: float = 1e-9) -> None:
    a, e = np.asarray(m.data), t.detach().numpy()
    assert a.shape == e.shape, (a.shape, e.shape)
    np.testing.assert_allclose(a, e, rtol=tol, atol=tol)


@pytest.mark.parametrize("shape", [(4, 2), (2, 4), (3, 3), (2, 5, 3)])
@pytest.mark.parametrize("full", [True, False])
def test_svd_shapes_and_orthonormal_factors(shape: tuple, full: bool) -> None:
    a = RNG.standard_normal(shape)
    um, sm, vm = mg.linalg.svd(mg.tensor(a), full_matrices=full)
    ut, st, vt = torch.linalg.svd(torch.tensor(a), full_matrices=full)
    assert (um.shape, sm.shape, vm.shape) == (ut.shape, st.shape, vt.shape)
    _close(sm, st)
    eye_u = np.eye(um.shape[-1])
    np.testing.assert_allclose(
        np.swapaxes(um.data, -1, -2) @ um.data,
        np.broadcast_to(eye_u, (*shape[:-2], *eye_u.shape)),
        atol=1e-12,
    )  # noqa: E501
    k = min(shape[-2:])
    recon = (um.data[..., :, :k] * sm.data[..., None, :]) @ vm.data[..., :k, :]
    np.testing.assert_allclose(recon, a, atol=1e-12)


def test_svd_repeated_singular_values_refuse_where_torch_gives_nan() -> None:
    """The singular vectors of I are not determined: PyTorch's gradient is NaN."""
    am, at = _pair(np.eye(3))
    w = RNG.standard_normal((3, 3))
    mg_u = mg.linalg.svd(am).U
    th_u = torch.linalg.svd(at).U
    (th_u * torch.tensor(w)).sum().backward()
    assert torch.isnan(at.grad).any()
    with pytest.raises(RuntimeError, match="singular values repeat"):
        (mg_u * mg.tensor(w)).sum().backward()
    # the singular values alone stay differentiable there: Ā = U Vh
    am, at = _pair(np.eye(3))
    mg.linalg.svdvals(am).sum().backward()
    torch.linalg.svdvals(at).sum().backward()
    _close(am.grad, at.grad)


def test_qr_mode_r_gives_an_empty_q_and_torchs_r() -> None:
    a = RNG.standard_normal((2, 4, 3))
    qm, rm = mg.linalg.qr(mg.tensor(a), mode="r")
    qt, rt = torch.linalg.qr(torch.tensor(a), mode="r")
    assert qm.shape == tuple(qt.shape) == (0,)
    _close(rm, rt)


def test_qr_complete_of_a_wide_matrix_has_torchs_gradient() -> None:
    am, at = _pair(RNG.standard_normal((2, 4)))
    qm, rm = mg.linalg.qr(am, mode="complete")
    qt, rt = torch.linalg.qr(at, mode="complete")
    (qm.sum() + (rm**2).sum()).backward()
    (qt.sum() + (rt**2).sum()).backward()
    _close(am.grad, at.grad)


@pytest.mark.parametrize("driver", ["gels", "gelsd", "gelss"])
def test_lstsq_residuals_have_their_true_gradient(driver: str) -> None:
    """PyTorch records residuals but backpropagates the solution's gradient alone; here
    they are Σ (A X - B)², differentiated as such (PyTorch's autograd of that formula)."""
    a, b = RNG.standard_normal((2, 5, 3)), RNG.standard_normal((2, 5, 2))
    (am, at), (bm, bt) = _pair(a), _pair(b)
    res = mg.linalg.lstsq(am, bm, driver=driver).residuals
    x = torch.linalg.lstsq(at, bt, driver=driver).solution
    expected = ((at @ x - bt) ** 2).sum(-2)
    _close(res, expected)
    _close(res, torch.linalg.lstsq(at, bt, driver=driver).residuals)
    v = RNG.standard_normal(res.shape)
    res.backward(mg.tensor(v))
    expected.backward(torch.tensor(v))
    _close(am.grad, at.grad, 1e-8)
    _close(bm.grad, bt.grad, 1e-8)


def test_lstsq_of_a_rank_deficient_matrix() -> None:
    """The minimum-norm solution; rank and singular values as PyTorch's gelsd."""
    a = RNG.standard_normal((5, 2)) @ RNG.standard_normal((2, 4))  # rank 2
    b = RNG.standard_normal((5, 3))
    rm = mg.linalg.lstsq(mg.tensor(a), mg.tensor(b), driver="gelsd")
    rt = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver="gelsd")
    _close(rm.solution, rt.solution, 1e-8)
    assert rm.rank.item() == rt.rank.item() == 2
    assert rm.residuals.shape == tuple(rt.residuals.shape) == (0,)  # not full rank
    _close(rm.singular_values, rt.singular_values)
    assert mg.linalg.lstsq(mg.tensor(a), mg.tensor(b)).rank.item() == 2  # gelsy


def test_truncated_pinv_has_torchs_gradient() -> None:
    """With atol cutting a singular value off, PyTorch's gradient is the constant-rank
    formula with the truncated A⁺; minigrad's is the same."""
    am, at = _pair(np.diag([3.0, 1.0, 0.2]) + 0.05 * RNG.standard_normal((3, 3)))
    ym, yt = mg.linalg.pinv(am, atol=0.5), torch.linalg.pinv(at, atol=0.5)
    _close(ym, yt)
    v = RNG.standard_normal((3, 3))
    ym.backward(mg.tensor(v))
    yt.backward(torch.tensor(v))
    _close(am.grad, at.grad)


def test_scatter_reduce_ties_larger_src_and_in_place() -> None:
    x = np.array([[1.0, 2.0, 2.0], [0.0, 5.0, 1.0]])
    src = np.array([[1.0, 2.0, 7.0, 9.0], [5.0, 5.0, 0.0, 9.0]])
    index = np.array([[0, 1, 1], [1, 1, 0]])
    for reduce in ("amax", "amin", "mean", "prod", "sum"):
        for include_self in (True, False):
            (xm, xt), (sm, st) = _pair(x), _pair(src)
            kw = {"reduce": reduce, "include_self": include_self}
            ym = mg.scatter_reduce(xm, 1, mg.tensor(index), sm[:, :3], **kw)
            yt = torch.scatter_reduce(xt, 1, torch.tensor(index), st[:, :3], **kw)
            _close(ym, yt)
            ym.backward(mg.tensor(np.arange(6.0).reshape(2, 3)))
            yt.backward(torch.arange(6.0, dtype=torch.float64).reshape(2, 3))
            _close(xm.grad, xt.grad)
            _close(sm.grad, st.grad)
            # a src larger than index: the extra elements are unused (forward)
            _close(
                mg.scatter_reduce(mg.tensor(x), 1, mg.tensor(index), mg.tensor(src), **kw),
                torch.scatter_reduce(
                    torch.tensor(x), 1, torch.tensor(index), torch.tensor(src), **kw
                ),  # noqa: E501
            )
    # in place, inside a graph
    (xm, xt), (sm, st) = _pair(x), _pair(src[:, :3])
    ym, yt = xm * 1.0, xt * 1.0
    ym.scatter_reduce_(1, mg.tensor(index), sm, "amax")
    yt.scatter_reduce_(1, torch.tensor(index), st, "amax")
    _close(ym, yt)
    (ym**2).sum().backward()
    (yt**2).sum().backward()
    _close(xm.grad, xt.grad)
    _close(sm.grad, st.grad)


def test_scatter_reduce_integer_mean_floors() -> None:
    args = ([5, 7, 9], 0, [0, 0, 1], [2, 3, 4])
    ym = mg.scatter_reduce(*(mg.tensor(a) if isinstance(a, list) else a for a in args), "mean")
    yt = torch.scatter_reduce(
        *(torch.tensor(a) if isinstance(a, list) else a for a in args), "mean"
    )  # noqa: E501
    assert ym.tolist() == yt.tolist() and str(ym.dtype) == "int64"


def test_pdist_of_one_row_is_empty_and_cosine_similarity_is_the_functional() -> None:
    assert mg.pdist(mg.ones(1, 4)).shape == tuple(torch.pdist(torch.ones(1, 4)).shape) == (0,)
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    _close(
        mg.cosine_similarity(mg.tensor(a), mg.tensor(b), 0),
        torch.cosine_similarity(torch.tensor(a), torch.tensor(b), 0),
    )  # noqa: E501
    _close(
        mg.cosine_similarity(mg.tensor(a), mg.tensor(b)),
        mg.nn.functional.cosine_similarity(mg.tensor(a), mg.tensor(b)),
    )  # noqa: E501


def test_numpy_einsum_dispatches_every_form() -> None:
    a, b = RNG.standard_normal((3, 3)), RNG.standard_normal((2, 3, 4))
    am = mg.tensor(a, requires_grad=True)
    for out, expected in [
        (np.einsum("ii", am), np.einsum("ii", a)),
        (
            np.einsum("...ij,jk->...ik", mg.tensor(b[:, :, :3]), am),
            np.einsum("...ij,jk->...ik", b[:, :, :3], a),
        ),  # noqa: E501
        (np.einsum(am, [0, 1], a, [1, 2], [0, 2]), np.einsum(a, [0, 1], a, [1, 2], [0, 2])),
    ]:
        assert isinstance(out, mg.Tensor) and out.requires_grad
        np.testing.assert_allclose(out.data, expected, atol=1e-12)
