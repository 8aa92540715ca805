"""Pictures of the computation graph behind a tensor (Graphviz DOT).

``to_dot(t)`` walks the graph from ``t`` back to its leaves -- the same walk the
backward pass makes -- and writes one box per tensor (shape, dtype, whether it
requires grad, optionally its gradient) and one ellipse per ``Function`` node.
Arrows follow the forward direction: input -> op -> output.

``render(t, path)`` (``t`` a tensor, or DOT text) runs the ``dot`` program
(Debian/Ubuntu: ``apt-get install graphviz``) to make an SVG or PNG; without it, it
raises a clear error and the DOT text can still be saved and rendered elsewhere.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from minigrad.autograd.function import Function
from minigrad.tensor import Tensor


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _tensor_label(t: Tensor, name: str | None, show_grad: bool) -> str:
    parts = [name] if name else []
    parts.append(f"{tuple(t.shape)} {t.dtype}")
    if t.requires_grad:
        parts.append("requires_grad")
    if show_grad and t.grad is not None:
        g = t.grad.data
        parts.append(
            "grad "
            + (
                np.array2string(g, precision=3, threshold=6)
                if g.size <= 6
                else f"|max|={np.abs(g).max():.3g}"
            )
        )
    return _escape("\n".join(parts))


def to_dot(
    output: Tensor,
    params: dict[str, Tensor] | None = None,
    show_grad: bool = False,
    title: str | None = None,
) -> str:
    """DOT text for the graph that produced ``output``.

    ``params`` names leaf tensors (e.g. ``dict(model.named_parameters())``);
    ``show_grad`` prints each leaf's ``.grad`` (call after ``backward``).
    """
    names = {id(t): n for n, t in (params or {}).items()}
    lines = ["digraph minigrad {", '  rankdir="LR";', '  node [fontname="Helvetica", fontsize=10];']
    if title:
        lines.append(f'  label="{_escape(title)}"; labelloc="t";')

    def node_id(obj: object) -> str:
        return f"n{id(obj)}"

    out_id = f"out{id(output)}"
    lines.append(
        f'  {out_id} [shape=box, style=filled, fillcolor="#c6e5ff", '
        f'label="{_tensor_label(output, "output", show_grad)}"];'
    )
    root = output.grad_fn
    if root is None:
        lines.append("}")
        return "\n".join(lines)
    lines.append(f"  {node_id(root)} -> {out_id};")

    seen: set[int] = set()
    stack: list[Function] = [root]
    while stack:  # iterative, like the backward pass: deep graphs are fine
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        label = _escape(fn.name())
        if getattr(fn, "_retained", None) is not None:
            label += "\\n(retains grad)"
        lines.append(
            f'  {node_id(fn)} [shape=ellipse, style=filled, fillcolor="#ffe7b3", label="{label}"];'
        )
        for nxt in fn.next_edges:
            if nxt is None:
                continue
            if isinstance(nxt, Function):
                lines.append(f"  {node_id(nxt)} -> {node_id(fn)};")
                stack.append(nxt)
            else:  # a leaf tensor
                if id(nxt) not in seen:
                    seen.add(id(nxt))
                    lines.append(
                        f'  {node_id(nxt)} [shape=box, style=filled, fillcolor="#d9f2d0", '
                        f'label="{_tensor_label(nxt, names.get(id(nxt)), show_grad)}"];'
                    )
                lines.append(f"  {node_id(nxt)} -> {node_id(fn)};")
    lines.append("}")
    return "\n".join(lines)


def dot_available() -> bool:
    return shutil.which("dot") is not None


def render(
    graph: Tensor | str,
    path: str | Path,
    params: dict[str, Tensor] | None = None,
    show_grad: bool = False,
) -> Path:
    """Write a picture of ``graph`` to ``path`` (.dot, .svg, .png or .pdf; all but .dot
    need Graphviz). ``graph`` is a tensor (the graph that produced it, drawn by
    :func:`to_dot` with ``params`` and ``show_grad``) or DOT text."""
    if isinstance(graph, Tensor):
        dot_source = to_dot(graph, params=params, show_grad=show_grad)
    elif isinstance(graph, str):
        dot_source = graph
    else:
        raise TypeError(
            "render: expected a minigrad Tensor (its graph is drawn) or DOT text, got "
            f"{type(graph).__name__}"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix.lstrip(".").lower()
    if fmt in ("dot", "gv"):
        path.write_text(dot_source)
        return path
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(
            f"render: unsupported output format {fmt!r} (use .dot, .svg, .png or .pdf)"
        )
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(
            "render: the Graphviz 'dot' program is not installed, so the graph cannot be "
            f"rendered to {fmt}. Install it (e.g. 'apt-get install graphviz') or save the DOT "
            "text with a .dot path and render it elsewhere."
        )
    subprocess.run([exe, f"-T{fmt}", "-o", str(path)], input=dot_source.encode(), check=True)
    return path
