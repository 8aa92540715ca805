"""The reference core (``minigrad/core``): its contracts, and the core alone against PyTorch.

The core is loaded a second time, as a separate package with nothing attached (the
full engine attaches PyTorch's API to the same classes), so these tests see exactly
the code a reader reads.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import pathlib
import sys
import tokenize

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

CORE = pathlib.Path(__file__).resolve().parent.parent / "minigrad" / "core"
FILES = sorted(CORE.glob("*.py"))
BUDGET = 600


def code_lines(src: str) -> int:
    """Lines holding code: docstrings, comments and blank lines not counted."""
    doc: set[int] = set()
    for node in ast.walk(ast.parse(src)):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            doc.update(range(body[0].lineno, body[0].end_lineno + 1))
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    code: set[int] = set()
    for t in tokenize.generate_tokens(io.StringIO(src).readline):
        if t.type not in skip and t.type != tokenize.ENDMARKER:
            code.update(n for n in range(t.start[0], t.end[0] + 1) if n not in doc)
    return len(code)


def load_core_alone(name: str = "minigrad_core_alone"):
    """Import ``minigrad/core`` as a fresh package ``name``: the core's own code only."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, CORE / "__init__.py", submodule_search_locations=[str(CORE)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


core = load_core_alone()


# ------------------------------------------------------------------ contracts
def test_core_is_within_its_line_budget() -> None:
    total = sum(code_lines(f.read_text()) for f in FILES)
    assert 0 < total <= BUDGET, f"minigrad/core holds {total} code lines (budget {BUDGET})"


def _imports(path: pathlib.Path) -> list[tuple[str, int]]:
    """(module, level) of every import statement anywhere in the file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, 0) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            out.append((node.module or "", node.level))
    return out


# The standard library modules the core uses for typing and the grad-mode switch.
STDLIB = {"__future__", "typing", "collections.abc", "functools", "threading"}


def test_core_imports_only_numpy_and_itself() -> None:
    for f in FILES:
        for module, level in _imports(f):
            ok = level == 1 or module == "numpy" or module in STDLIB
            assert ok, f"{f.name} imports {module!r} (level {level})"


def test_core_import_graph_has_no_cycle() -> None:
    graph = {
        f.stem: {m.split(".")[0] for m, level in _imports(f) if level == 1 and m}
        for f in FILES
        if f.stem != "__init__"
    }
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, f"import cycle: {' -> '.join((*path, node))}"
        if node in done:
            return
        for nxt in graph.get(node, ()):
            visit(nxt, (*path, node))
        done.add(node)

    for node in graph:
        visit(node, ())


SPEED_MACHINERY = [
    "getrefcount",  # gradient ownership
    "array_backward",  # array mode
    "epoch",  # the in-place clock
    "in_pieces",  # cache-blocked kernels
    "np.ndarray(",  # hand-built stride views
    "attrgetter",
]


@pytest.mark.parametrize("word", SPEED_MACHINERY)
def test_core_holds_no_speed_machinery(word: str) -> None:
    for f in FILES:
        assert word not in f.read_text(), f"{f.name} mentions {word!r}"


def test_reading_order_index_names_every_file() -> None:
    index = (CORE / "__init__.py").read_text()
    for f in FILES:
        if f.stem != "__init__":
            assert f"``{f.name}``" in index, f"minigrad/core/__init__.py does not list {f.name}"


# ------------------------------------------------------------------ the core alone
def test_core_alone_is_not_the_extended_engine() -> None:
    import minigrad

    assert core.Tensor is not minigrad.Tensor
    assert not hasattr(core.Tensor, "register_hook")  # nothing of the parity layer
    assert minigrad.Tensor is minigrad.core.Tensor  # the engine *is* the core, extended


def _pair(shape_a, shape_b, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape_a), rng.standard_normal(shape_b)


SHAPES = st.sampled_from([((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((), (2, 2))])


@given(shapes=SHAPES, seed=st.integers(0, 2**16))
def test_core_binary_ops_match_torch(shapes, seed) -> None:
    a0, b0 = _pair(*shapes, seed)
    b0 = np.abs(b0) + 0.5  # a positive divisor / base
    for name in ["add", "sub", "mul", "div", "pow"]:
        a = core.Tensor(np.abs(a0) + 0.5 if name == "pow" else a0, requires_grad=True)
        b = core.Tensor(b0, requires_grad=True)
        out = getattr(core, name)(a, b)
        (out * out).sum().backward()
        ta = torch.tensor(a.data, requires_grad=True)
        tb = torch.tensor(b0, requires_grad=True)
        tout = getattr(torch, name)(ta, tb)
        (tout * tout).sum().backward()
        np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(a.grad.data, ta.grad.numpy(), rtol=1e-10, err_msg=name)
        np.testing.assert_allclose(b.grad.data, tb.grad.numpy(), rtol=1e-10, err_msg=name)


def test_core_second_derivatives_match_torch() -> None:
    x0 = np.array([[0.3, -1.2, 0.7], [1.5, 0.1, -0.4]])
    w0 = np.array([[0.5, -0.2], [0.1, 0.9], [-0.7, 0.3]])

    def f(lib, x, w):
        h = lib.tanh(lib.matmul(x, w))
        z = lib.exp(h) * lib.log(x * x + 1.0)[:, :2]
        return lib.where(h > 0 if lib is torch else h.data > 0, z, -z).sum()

    x = core.Tensor(x0, requires_grad=True)
    w = core.Tensor(w0, requires_grad=True)
    f(core, x, w).backward(create_graph=True)
    gx = x.grad
    x.grad = w.grad = None
    (gx * gx).sum().backward()

    tx = torch.tensor(x0, requires_grad=True)
    tw = torch.tensor(w0, requires_grad=True)
    (tgx,) = torch.autograd.grad(f(torch, tx, tw), tx, create_graph=True)
    (tgx * tgx).sum().backward()
    np.testing.assert_allclose(gx.data, tgx.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(w.grad.data, tw.grad.numpy(), rtol=1e-9)


def test_core_reductions_shapes_and_indexing_match_torch() -> None:
    x0 = np.array([[1.0, 3.0, 3.0], [-2.0, 0.5, 4.0]])
    x = core.Tensor(x0, requires_grad=True)
    y = (
        core.amax(x, 1).sum()
        + core.sum(core.permute(core.reshape(x, (3, 2)), (1, 0))[:, 1:] ** 2.0)
        + core.getitem(x, (np.array([0, 0, 1]), np.array([1, 1, 2]))).sum()
        + core.cast(x, np.float32).sum()
    )
    y.backward()
    tx = torch.tensor(x0, requires_grad=True)
    ty = (
        tx.amax(1).sum()
        + (tx.reshape(3, 2).permute(1, 0)[:, 1:] ** 2.0).sum()
        + tx[[0, 0, 1], [1, 1, 2]].sum()
        + tx.float().sum()
    )
    ty.backward()
    np.testing.assert_allclose(y.data, ty.item(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12)


def test_core_refuses_a_second_backward_and_tuple_outputs() -> None:
    x = core.Tensor(np.ones(3), requires_grad=True)
    y = (x * 3.0).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()

    class Two(core.Function):
        @staticmethod
        def forward(ctx, x):
            return x, x

    with pytest.raises(TypeError, match="one array"):
        Two.apply(x)


def test_core_long_chain_needs_no_recursion() -> None:
    x = core.Tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.backward()
    assert x.grad.data == 1.0
