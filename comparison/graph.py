"""``--graph``: the picture of one training step of the seed network."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import minigrad
import minigrad.nn.functional as F
from minigrad import viz


def write_training_step_graph(model: minigrad.nn.Module, out_dir: Path) -> Path:
    """Run one forward/backward of ``model`` on a small batch and draw its graph, with
    the parameter names and their gradients. SVG when Graphviz is installed, else DOT."""
    rng = np.random.default_rng(0)
    dtype = next(iter(model.parameters())).dtype
    x = minigrad.tensor(rng.standard_normal((4, 100)).astype(dtype))
    y = minigrad.tensor(rng.integers(0, 10, 4))
    model.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward(retain_graph=True)  # keep the graph intact for drawing
    dot = viz.to_dot(
        loss,
        dict(model.named_parameters()),
        show_grad=True,
        title="seed network: one training step",
    )
    suffix = ".svg" if viz.dot_available() else ".dot"
    return viz.render(dot, Path(out_dir) / f"seed_network_step{suffix}")
