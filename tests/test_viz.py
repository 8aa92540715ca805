"""Graph pictures: the DOT text names every node and tensor; rendering works in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import viz


def _seed_step() -> tuple[minigrad.Tensor, nn.Module]:
    minigrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(100, 50), nn.ReLU(), nn.Linear(50, 10))
    loss = F.cross_entropy(model(minigrad.randn(4, 100)), minigrad.randint(0, 10, (4,)))
    loss.backward(retain_graph=True)
    return loss, model


def test_dot_names_functions_parameters_and_gradients() -> None:
    loss, model = _seed_step()
    dot = viz.to_dot(loss, dict(model.named_parameters()), show_grad=True)
    assert dot.startswith("digraph")
    for name, _ in model.named_parameters():
        assert name in dot
    if minigrad.fast.enabled():  # the fused kernels; reference mode records compositions
        assert "LinearBackward" in dot and "ReLUBackward" in dot
    else:
        assert "MatMulBackward" in dot and "WhereBackward" in dot
    assert "(50, 100) float32" in dot  # fc1's weight: shape and dtype
    assert "requires_grad" in dot and "grad " in dot
    # one edge per recorded input: Linear has 3 inputs (x is not a leaf of the graph)
    assert dot.count("->") >= 6


def test_higher_order_graph_can_be_drawn() -> None:
    x = minigrad.tensor([1.0, 2.0], requires_grad=True)
    (g,) = minigrad.autograd.grad((x**3).sum(), x, create_graph=True)
    dot = viz.to_dot(g)
    assert "PowScalarBackward" in dot  # the recorded backward of x**3


def test_render_writes_dot_without_graphviz(tmp_path: Path) -> None:
    loss, _ = _seed_step()
    out = viz.render(viz.to_dot(loss), tmp_path / "g.dot")
    assert out.read_text().startswith("digraph")


@pytest.mark.skipif(
    not viz.dot_available() and not os.environ.get("CI"),
    reason="Graphviz is not installed here (CI installs it, and there this test must run)",
)
def test_render_svg_and_png(tmp_path: Path) -> None:
    loss, model = _seed_step()
    dot = viz.to_dot(loss, dict(model.named_parameters()), show_grad=True)
    svg = viz.render(dot, tmp_path / "g.svg")
    assert "<svg" in svg.read_text()
    png = viz.render(dot, tmp_path / "g.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_without_dot_gives_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Graphviz 'dot' program is not installed"):
        viz.render("digraph {}", tmp_path / "g.svg")


def test_bad_format() -> None:
    with pytest.raises(ValueError, match="unsupported output format"):
        viz.render("digraph {}", "g.jpg")


def test_comparison_graph_option_draws_one_training_step(tmp_path: Path) -> None:
    from comparison.__main__ import main

    status = main(
        [
            "--models",
            "seed",
            "--epochs",
            "1",
            "--dtypes",
            "float64",
            "--graph",
            "--out",
            str(tmp_path),
        ]
    )
    assert status == 0
    pictures = list(tmp_path.glob("seed_network_step.*"))
    assert len(pictures) == 1
    text = pictures[0].read_text()
    assert "fc1.weight" in text and "fc2.bias" in text
