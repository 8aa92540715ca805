"""The bad-call table for the engine's families: each row is a call that minigrad must
refuse with a given exception type and message fragment, and the same call in PyTorch,
which must refuse with an exception of that type too (so the table cannot drift from
PyTorch's behaviour).

A row is ``(id, minigrad call, torch call, exception type, regex for minigrad's message)``.
"""

from __future__ import annotations

import warnings

import pytest
import torch

import minigrad

warnings.filterwarnings("ignore", category=RuntimeWarning)


def _same(call):
    """The same program in both libraries: (minigrad's call, torch's call)."""
    return (lambda: call(minigrad)), (lambda: call(torch))


def _second_backward(lib):
    x = lib.ones(2, requires_grad=True)
    y = (x * 3).sum()
    y.backward()
    y.backward()


def _saved_output_written(op):
    def call(lib):
        a = lib.tensor([0.3, 0.7, 0.5], requires_grad=True)
        y = op(a * 1.0)
        y.mul_(2)
        y.sum().backward()

    return call


def _leaf_in_place(lib):
    lib.ones(2, requires_grad=True).mul_(2)


def _floor_divide_backward(lib):
    x = lib.tensor([5.0, 7.0], requires_grad=True)
    (x // 2.0).sum().backward()


def _view_of_leaf_in_place(lib):
    lib.ones(3, requires_grad=True)[0:2].mul_(3)


def _broadcast_view_in_place(lib, grad):
    (lib.ones(3, requires_grad=grad) * 1).expand(2, 3).mul_(2)


def _multi_view_output_in_place(op):
    def call(lib):
        y = lib.ones(2, 2, requires_grad=True) * 1
        op(y)[0].mul_(2)

    return call


def _outdated_view_written(lib):
    z = lib.zeros(3)
    v = z[0:2]
    z.add_(lib.ones(3, requires_grad=True))  # z gains a history after v was taken
    v.mul_(2)


def _setitem_wrong_shape(lib):
    z = lib.zeros(2, 3)
    z[0] = lib.ones(2, 3)


def _qr_backward(mode):
    def call(lib):
        a = lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]], requires_grad=True)
        q, r = lib.linalg.qr(a, mode=mode)
        r.sum().backward()

    return call


def _svd_driver(lib):
    lib.linalg.svd(lib.ones(2, 2), driver="gesvd")


def _lstsq(driver=None, rows=3):
    return lambda lib: lib.linalg.lstsq(lib.ones(3, 2), lib.ones(rows, 1), driver=driver)


def _einsum(eq, *shapes):
    return lambda lib: lib.einsum(eq, *(lib.ones(*s) for s in shapes))


def _scatter_reduce(reduce, top=1):
    def call(lib):
        index = lib.tensor([0, top])
        lib.ones(3).scatter_reduce(0, index, lib.ones(2), reduce)

    return call


def _prod_double_backward(lib):
    x = lib.tensor([2.0, 3.0], requires_grad=True)
    src = lib.tensor([0.0, 0.0], requires_grad=True)
    y = lib.scatter_reduce(x, 0, lib.tensor([0, 0]), src, "prod")
    (g,) = lib.autograd.grad(y.sum(), src, create_graph=True)
    g.sum().backward()


ROWS = [
    # numerics & promotion
    ("int floordiv by 0", *_same(lambda L: L.tensor([1, 2]) // 0), RuntimeError, "ZeroDivision"),
    ("int mod by 0", *_same(lambda L: L.tensor([1, 2]) % 0), RuntimeError, "ZeroDivision"),
    ("int fmod by 0", *_same(lambda L: L.fmod(L.tensor([3]), 0)), RuntimeError, "ZeroDivision"),
    ("int tensor // 0", *_same(lambda L: L.tensor([3]) // L.tensor([0])), RuntimeError, "zero"),
    ("tensor(2**63)", *_same(lambda L: L.tensor(2**63)), ValueError, "overflow"),
    ("tensor(-2**63-1)", *_same(lambda L: L.tensor(-(2**63) - 1)), ValueError, "overflow"),
    ("tensor([1, 2**64])", *_same(lambda L: L.tensor([1, 2**64])), ValueError, "overflow"),
    ("randn int64", *_same(lambda L: L.randn(2, dtype=L.int64)), NotImplementedError, "randn"),
    ("randn bool", *_same(lambda L: L.randn(2, dtype=L.bool)), NotImplementedError, "randn"),
    ("rand bool", *_same(lambda L: L.rand(2, dtype=L.bool)), NotImplementedError, "rand"),
    ("rand int32", *_same(lambda L: L.rand(2, dtype=L.int32)), NotImplementedError, "rand"),
    ("arange(0,10,-1)", *_same(lambda L: L.arange(0, 10, -1)), RuntimeError, "step sign"),
    ("arange(5,0)", *_same(lambda L: L.arange(5, 0)), RuntimeError, "step sign"),
    ("arange step 0", *_same(lambda L: L.arange(0, 5, 0)), RuntimeError, "nonzero"),
    ("randperm(-1)", *_same(lambda L: L.randperm(-1)), RuntimeError, "randperm.*-1"),
    ("eye(-2)", *_same(lambda L: L.eye(-2)), RuntimeError, "eye: n .*-2"),
    ("eye(2, -1)", *_same(lambda L: L.eye(2, -1)), RuntimeError, "eye: m .*-1"),
    # crashes that became clear errors
    ("cat of 0-d", *_same(lambda L: L.cat([L.tensor(1.0), L.tensor(2.0)])), RuntimeError, "0"),
    ("sum(dim=1.5)", *_same(lambda L: L.ones(2, 2).sum(dim=1.5)), TypeError, "sum: dim"),
    ("mean(dim='a')", *_same(lambda L: L.ones(2, 2).mean(dim="a")), TypeError, "mean: dim"),
    ("sum(dim=(0,0))", *_same(lambda L: L.ones(2, 2).sum(dim=(0, 0))), RuntimeError, "multiple"),
    ("Linear(-1, 2)", *_same(lambda L: L.nn.Linear(-1, 2)), RuntimeError, "negative dimension"),
    ("Linear(2, -1)", *_same(lambda L: L.nn.Linear(2, -1)), RuntimeError, "negative dimension"),
    ("Embedding(-3, 2)", *_same(lambda L: L.nn.Embedding(-3, 2)), RuntimeError, "negative"),
    # views & in-place
    ("T.view(12)", *_same(lambda L: L.ones(3, 4).T.view(12)), RuntimeError, "view: view size"),
    ("[:, :2].view(4)", *_same(lambda L: L.ones(2, 4)[:, :2].view(4)), RuntimeError, "view"),
    ("setitem shape", *_same(_setitem_wrong_shape), RuntimeError, "__setitem__|shape"),
    ("leaf in place", *_same(_leaf_in_place), RuntimeError, "leaf"),
    ("view of a leaf in place", *_same(_view_of_leaf_in_place), RuntimeError, "view of a leaf"),
    *[
        (
            f"expand(...).mul_ {g}",
            *_same(lambda L, g=g: _broadcast_view_in_place(L, g)),
            RuntimeError,
            "more than one element",
        )
        for g in (False, True)
    ],
    (
        "split output in place",
        *_same(_multi_view_output_in_place(lambda y: y.split(1))),
        RuntimeError,
        "Output 0 of SplitBackward is a view",
    ),
    (
        "chunk output in place",
        *_same(_multi_view_output_in_place(lambda y: y.chunk(2))),
        RuntimeError,
        "Output 0 of ChunkBackward is a view",
    ),
    (
        "unbind output in place",
        *_same(_multi_view_output_in_place(lambda y: y.unbind(0))),
        RuntimeError,
        "Output 0 of UnbindBackward is a view",
    ),
    ("outdated view written", *_same(_outdated_view_written), RuntimeError, "gained a gradient"),
    ("second backward", *_same(_second_backward), RuntimeError, "second time"),
    # saved outputs guarded by the version check
    *[
        (f"{name} output written", *_same(_saved_output_written(fn)), RuntimeError, "inplace")
        for name, fn in [
            ("amax", lambda x: x.amax()),
            ("max", lambda x: x.max()),
            ("relu", lambda x: x.relu()),
            ("exp", lambda x: x.exp()),
            ("sigmoid", lambda x: x.sigmoid()),
            ("prod", lambda x: x.prod()),
            ("norm", lambda x: x.norm()),
        ]
    ],
    # no derivative
    ("floor_divide backward", *_same(_floor_divide_backward), RuntimeError, "floor_divide"),
    # factorizations, einsum, scatter_reduce, pdist
    ("qr complete backward", *_same(_qr_backward("complete")), RuntimeError, "mode='complete'"),
    ("qr mode r backward", *_same(_qr_backward("r")), RuntimeError, "mode='r'"),
    ("qr bad mode", *_same(lambda L: L.linalg.qr(L.ones(2, 2), mode="full")), RuntimeError, "mode"),
    ("svd driver on CPU", *_same(_svd_driver), RuntimeError, "driver"),
    ("svd of a vector", *_same(lambda L: L.linalg.svd(L.ones(3))), RuntimeError, "2 dim"),
    ("lstsq bad driver", *_same(_lstsq(driver="gelsx")), RuntimeError, "driver"),
    ("lstsq rows differ", *_same(_lstsq(rows=2)), RuntimeError, "size\\(-2\\)"),
    (
        "matrix_norm ord 3",
        *_same(lambda L: L.linalg.matrix_norm(L.ones(2, 2), 3)),
        RuntimeError,
        "3",
    ),
    ("cond p=3", *_same(lambda L: L.linalg.cond(L.ones(2, 2), 3)), RuntimeError, "norm type"),
    ("einsum sizes", *_same(_einsum("ij,jk->ik", (2, 3), (4, 5))), RuntimeError, "'j' has size 4"),
    ("einsum diagonal sizes", *_same(_einsum("ii->i", (2, 3))), RuntimeError, "repeated"),
    ("einsum output twice", *_same(_einsum("i->ii", (2,))), RuntimeError, "more than once"),
    ("einsum output unknown", *_same(_einsum("i->j", (2,))), RuntimeError, "does not appear"),
    ("einsum dims", *_same(_einsum("ij->i", (2,))), RuntimeError, "number of subscripts"),
    ("einsum operands", *_same(_einsum("i,j->i", (2,))), RuntimeError, "fewer operands"),
    ("einsum letter", *_same(_einsum("i1", (2, 2))), RuntimeError, "invalid subscript"),
    ("einsum stray dot", *_same(_einsum("i.j", (2, 2))), RuntimeError, "ellipsis"),
    ("scatter_reduce reduce", *_same(_scatter_reduce("max_")), RuntimeError, "reduce argument"),
    ("scatter_reduce prod 2nd", *_same(_prod_double_backward), RuntimeError, "Double backward"),
    ("pdist 3-D", *_same(lambda L: L.pdist(L.ones(2, 3, 4))), RuntimeError, "2D"),
    ("pdist p<0", *_same(lambda L: L.pdist(L.ones(3, 4), -1.0)), RuntimeError, "non-negative"),
]


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_bad_call_refused_as_pytorch_refuses(row):
    _, mg_call, torch_call, exc, fragment = row
    with pytest.raises(exc):
        torch_call()
    with pytest.raises(exc, match=fragment):
        mg_call()


def test_table_size():
    assert len(ROWS) >= 35
