"""Bad input raises an error that names the op and the shapes or values at fault (never a
silent wrong answer). Each case is first checked to be an error in PyTorch too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import minigrad as mg

A, B = (2, 3), (4, 3)


def _t(lib: Any, shape: tuple, fill: float = 1.0) -> Any:
    return lib.full(shape, fill)


def _idx(lib: Any, data: Any) -> Any:
    return lib.tensor(data)


def _binary(f: Callable) -> Callable[[Any], Any]:
    """f applied to tensors of shapes A and B, which do not broadcast."""
    return lambda L: f(L, _t(L, A), _t(L, B))


# (id, call taking the library, expected minigrad exception, fragments of the message)
CASES: list[tuple[str, Callable[[Any], Any], type | tuple, list[str]]] = [
    # broadcasting
    *[
        (f"broadcast_{name}", _binary(f), RuntimeError, [name, "(2, 3)", "(4, 3)"])
        for name, f in [
            ("add", lambda L, a, b: a + b),
            ("sub", lambda L, a, b: a - b),
            ("mul", lambda L, a, b: a * b),
            ("div", lambda L, a, b: a / b),
            ("pow", lambda L, a, b: a**b),
            ("maximum", lambda L, a, b: L.maximum(a, b)),
            ("minimum", lambda L, a, b: L.minimum(a, b)),
            ("eq", lambda L, a, b: a == b),
            ("lt", lambda L, a, b: a < b),
            ("where", lambda L, a, b: L.where(a > 0, a, b)),
        ]
    ],
    (
        "broadcast_to",
        lambda L: L.broadcast_to(_t(L, A), (3, 3)),
        RuntimeError,
        ["broadcast_to", "(2, 3)", "(3, 3)"],
    ),
    ("expand", lambda L: _t(L, A).expand(2, 4), RuntimeError, ["expand", "(2, 3)", "4"]),
    (
        "masked_fill_mask",
        lambda L: _t(L, A).masked_fill(_t(L, B) > 0, 0.0),
        RuntimeError,
        ["masked_fill", "(4, 3)", "(2, 3)"],
    ),
    # matrix products
    ("matmul", lambda L: _t(L, A) @ _t(L, A), RuntimeError, ["matmul", "(2, 3)", "3", "2"]),
    (
        "matmul_batch",
        lambda L: _t(L, (2, 2, 3)) @ _t(L, (3, 3, 2)),
        RuntimeError,
        ["matmul", "(2, 2, 3)", "(3, 3, 2)"],
    ),
    ("matmul_0d", lambda L: L.tensor(1.0) @ _t(L, A), RuntimeError, ["matmul", "()"]),
    ("mm", lambda L: L.mm(_t(L, A), _t(L, A)), RuntimeError, ["mm", "(2, 3)"]),
    ("mm_3d", lambda L: L.mm(_t(L, (1, 2, 3)), _t(L, (3, 2))), RuntimeError, ["mm", "(1, 2, 3)"]),
    (
        "bmm_batch",
        lambda L: L.bmm(_t(L, (2, 2, 3)), _t(L, (3, 3, 2))),
        RuntimeError,
        ["bmm", "(2, 2, 3)", "(3, 3, 2)"],
    ),
    (
        "bmm_inner",
        lambda L: L.bmm(_t(L, (2, 2, 3)), _t(L, (2, 2, 2))),
        RuntimeError,
        ["bmm", "(2, 2, 3)", "(2, 2, 2)"],
    ),
    ("dot", lambda L: L.dot(_t(L, (3,)), _t(L, (4,))), RuntimeError, ["dot", "(3,)", "(4,)"]),
    (
        "linear",
        lambda L: (
            L.nn.functional.linear(_t(L, A), _t(L, (4, 5)))
            if L is torch
            else mg.linear(_t(L, A), _t(L, (4, 5)))
        ),
        RuntimeError,
        ["linear", "(2, 3)", "(4, 5)"],
    ),
    (
        "einsum_sizes",
        lambda L: L.einsum("ij,jk->ik", _t(L, A), _t(L, A)),
        RuntimeError,
        ["einsum", "'j'", "(2, 3)"],
    ),
    (
        "einsum_operands",
        lambda L: L.einsum("ij,jk->ik", _t(L, A)),
        RuntimeError,
        ["einsum", "2 operands"],
    ),
    # dims
    *[
        (f"dim_{name}", f, IndexError, [name, "out of range", "[-2, 1]"])
        for name, f in [
            ("sum", lambda L: _t(L, A).sum(2)),
            ("mean", lambda L: _t(L, A).mean(-3)),
            ("softmax", lambda L: L.softmax(_t(L, A), 2)),
            ("transpose", lambda L: _t(L, A).transpose(0, 5)),
            ("squeeze", lambda L: _t(L, A).squeeze(3)),
            ("max", lambda L: _t(L, A).max(3)),
            ("argmax", lambda L: _t(L, A).argmax(2)),
            ("cat", lambda L: L.cat([_t(L, A)] * 2, 2)),
            ("flip", lambda L: _t(L, A).flip(3)),
            ("cumsum", lambda L: _t(L, A).cumsum(2)),
            ("var", lambda L: _t(L, A).var(5)),
            ("gather", lambda L: L.gather(_t(L, A), 2, _idx(L, [[0]]))),
        ]
    ],
    ("unsqueeze_dim", lambda L: _t(L, A).unsqueeze(4), IndexError, ["unsqueeze", "[-3, 2]"]),
    ("permute_repeat", lambda L: _t(L, A).permute(0, 0), RuntimeError, ["permute", "(0, 0)"]),
    ("permute_count", lambda L: _t(L, A).permute(0), RuntimeError, ["permute", "(2, 3)"]),
    ("reduce_repeated_dim", lambda L: _t(L, A).sum((0, 0)), RuntimeError, ["sum", "multiple"]),
    ("flatten_order", lambda L: _t(L, (2, 3, 4)).flatten(2, 1), RuntimeError, ["flatten"]),
    # shapes
    ("reshape", lambda L: _t(L, A).reshape(4, 2), RuntimeError, ["reshape", "(4, 2)", "(2, 3)"]),
    ("view_free_dim", lambda L: _t(L, A).view(-1, 4), RuntimeError, ["(-1, 4)", "(2, 3)"]),
    ("reshape_two_free", lambda L: _t(L, A).reshape(-1, -1), RuntimeError, ["(-1, -1)"]),
    (
        "cat_shapes",
        lambda L: L.cat([_t(L, A), _t(L, B)], 1),
        RuntimeError,
        ["cat", "(2, 3)", "(4, 3)"],
    ),
    (
        "stack_shapes",
        lambda L: L.stack([_t(L, A), _t(L, B)]),
        RuntimeError,
        ["stack", "(2, 3)", "(4, 3)"],
    ),
    ("split_sizes", lambda L: _t(L, A).split([1, 1], 1), RuntimeError, ["split", "3", "[1, 1]"]),
    ("chunk_zero", lambda L: _t(L, A).chunk(0), RuntimeError, ["chunk", "0"]),
    (
        "narrow_past_end",
        lambda L: _t(L, A).narrow(1, 2, 3),
        RuntimeError,
        ["narrow", "2", "3", "(2, 3)"],
    ),
    ("repeat_too_few", lambda L: _t(L, A).repeat(2), RuntimeError, ["repeat", "(1)", "(2)"]),
    ("tril_1d", lambda L: L.tril(_t(L, (3,))), RuntimeError, ["tril", "2 dimensions"]),
    (
        "layer_norm_shape",
        lambda L: (
            L.nn.functional.layer_norm(_t(L, A), (4,))
            if L is torch
            else mg.layer_norm(_t(L, A), (4,))
        ),
        RuntimeError,
        ["layer_norm", "(4,)", "(2, 3)"],
    ),
    # indices
    (
        "gather_high",
        lambda L: L.gather(_t(L, A), 1, _idx(L, [[0, 3]])),
        IndexError,
        ["gather", "3", "size 3"],
    ),
    (
        "gather_negative",
        lambda L: L.gather(_t(L, A), 1, _idx(L, [[0, -1]])),
        IndexError,
        ["gather", "-1"],
    ),
    (
        "gather_float_index",
        lambda L: L.gather(_t(L, A), 1, L.tensor([[0.0]])),
        RuntimeError,
        ["gather", "int64", "float32"],
    ),
    (
        "index_select",
        lambda L: L.index_select(_t(L, A), 0, _idx(L, [0, 2])),
        IndexError,
        ["index_select", "2", "size 2"],
    ),
    (
        "scatter_add",
        lambda L: L.scatter_add(_t(L, A), 1, _idx(L, [[0, 3]]), _t(L, (1, 2))),
        IndexError,
        ["scatter_add", "3", "size 3"],
    ),
    (
        "embedding_high",
        lambda L: (
            L.nn.functional.embedding(_idx(L, [0, 5]), _t(L, (5, 2)))
            if L is torch
            else mg.embedding(_idx(L, [0, 5]), _t(L, (5, 2)))
        ),
        IndexError,
        ["embedding", "5", "5 embeddings"],
    ),
    (
        "embedding_negative",
        lambda L: (
            L.nn.functional.embedding(_idx(L, [-1]), _t(L, (5, 2)))
            if L is torch
            else mg.embedding(_idx(L, [-1]), _t(L, (5, 2)))
        ),
        IndexError,
        ["embedding", "-1"],
    ),
    ("getitem_int", lambda L: _t(L, A)[5], IndexError, ["getitem", "5", "(2, 3)"]),
    ("getitem_too_many", lambda L: _t(L, A)[0, 0, 0], IndexError, ["getitem", "(2, 3)"]),
    ("getitem_array", lambda L: _t(L, A)[_idx(L, [0, 7])], IndexError, ["getitem", "7"]),
    (
        "getitem_mask",
        lambda L: _t(L, A)[_idx(L, [True, False, True])],
        IndexError,
        ["getitem", "(2, 3)"],
    ),
    (
        "getitem_float_index",
        lambda L: _t(L, A)[L.tensor([0.0])],
        IndexError,
        ["getitem", "float32"],
    ),
    (
        "one_hot_range",
        lambda L: (
            L.nn.functional.one_hot(_idx(L, [0, 5]), 3)
            if L is torch
            else mg.one_hot(_idx(L, [0, 5]), 3)
        ),
        RuntimeError,
        ["one_hot", "5", "3"],
    ),
    # dtypes and values
    (
        "where_condition",
        lambda L: L.where(_t(L, A), _t(L, A), _t(L, A)),
        (TypeError, RuntimeError),
        ["where", "bool", "float32"],
    ),
    (
        "masked_fill_mask_dtype",
        lambda L: _t(L, A).masked_fill(_t(L, A), 0.0),
        RuntimeError,
        ["masked_fill", "bool", "float32"],
    ),
    ("mean_of_ints", lambda L: L.tensor([1, 2]).mean(), RuntimeError, ["mean", "int64"]),
    ("sub_bool", lambda L: L.tensor([True]) - L.tensor([False]), RuntimeError, ["sub", "bool"]),
    (
        "dropout_p",
        lambda L: (
            L.nn.functional.dropout(_t(L, A), 1.5) if L is torch else mg.dropout(_t(L, A), 1.5)
        ),
        ValueError,
        ["dropout", "1.5"],
    ),
    ("item_of_many", lambda L: _t(L, A).item(), RuntimeError, ["6 elements"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_a_clear_error(case) -> None:
    _, call, exc, fragments = case
    with pytest.raises(Exception):  # noqa: B017  (PyTorch's exception types vary)
        call(torch)
    with pytest.raises(exc) as info:
        call(mg)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from: {message}"


def test_errors_keep_the_tensors_usable() -> None:
    a = mg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError):
        a @ a
    (a * 2).sum().backward()
    assert np.array_equal(a.grad.data, np.full((2, 3), 2.0))
    assert mg.is_grad_enabled()


def test_inplace_on_leaf_that_requires_grad_raises() -> None:
    for lib in (torch, mg):
        leaf = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            leaf.mul_(2)
        with pytest.raises(RuntimeError, match="leaf"):
            leaf[0] = 3.0
    leaf = mg.ones(2, requires_grad=True)
    with mg.no_grad():
        leaf.mul_(2)
    assert leaf.tolist() == [2.0, 2.0]


def test_modified_saved_tensor_is_detected_at_backward() -> None:
    x = mg.ones(3, requires_grad=True)
    w = mg.tensor([1.0, 2.0, 3.0])
    y = (x * w).sum()
    w.mul_(2)  # w was saved by the multiplication
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_invalid_custom_function_gradient_shape_is_named() -> None:
    class Bad(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum()  # wrong shape

    x = mg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadBackward.*shape \(\) .*\(3,\)"):
        Bad.apply(x).sum().backward()


def test_anomaly_mode_names_the_op_that_made_nan() -> None:
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    with mg.autograd.detect_anomaly():
        y = mg.sqrt(x).sum()
        with pytest.raises(RuntimeError, match="SqrtBackward.*inf"), np.errstate(divide="ignore"):
            y.backward()
