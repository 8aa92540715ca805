"""What each optimisation of the fast engine gains: ``python -m benchmarks.fast``.

Every workload runs with the whole fast engine on, with each optimisation of
``minigrad/fast/`` switched off alone (``minigrad.fast.set_enabled(name, False)``), and on
the reference path (all off). Configurations take turns, A B C ... C B A, repeatedly, so
that a shared machine's drift hits them alike; the figure is each configuration's median
time divided by the fast engine's (above 1: what switching that optimisation off costs).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad import fast


def _chain(n_ops: int = 100, size: int = 64) -> Callable[[], None]:
    x = minigrad.tensor(np.random.default_rng(0).standard_normal(size), requires_grad=True)

    def step() -> None:
        y = x
        for i in range(n_ops // 4):
            y = (y * 0.9 + 0.1).tanh() * (1.0 + 0.01 * i)
        x.grad = None
        y.sum().backward()

    return step


def _mlp(sizes: tuple[int, ...], batch: int, adam: bool) -> Callable[[], None]:
    minigrad.manual_seed(0)
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    net = nn.Sequential(*layers[:-1])
    opt = (minigrad.optim.Adam if adam else minigrad.optim.SGD)(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    x = minigrad.tensor(rng.standard_normal((batch, sizes[0])).astype(np.float32))
    y = minigrad.tensor(rng.integers(0, sizes[-1], batch))

    def step() -> None:
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


WORKLOADS: dict[str, Callable[[], Callable[[], None]]] = {
    "100-op elementwise chain, fwd+bwd (64 elements)": _chain,
    "mission net 100-50-10, batch 64, SGD step": lambda: _mlp((100, 50, 10), 64, adam=False),
    "wide MLP 784-512-512-10, batch 128, Adam step": lambda: _mlp((784, 512, 512, 10), 128, True),
}


def _configure(name: str) -> None:
    fast.set_reference_mode(name == "reference")
    if name not in ("fast engine", "reference"):
        fast.set_enabled(name, False)


def measure(rounds: int, repeats: int) -> dict[str, dict[str, float]]:
    configs = ["fast engine", *fast.OPTIMISATIONS, "reference"]
    results: dict[str, dict[str, float]] = {}
    for label, build in WORKLOADS.items():
        samples: dict[str, list[float]] = {c: [] for c in configs}
        step = build()
        for _ in range(2):  # warm up every path
            for c in configs:
                _configure(c)
                step()
        for r in range(rounds):
            order = configs if r % 2 == 0 else configs[::-1]
            for c in order:
                _configure(c)
                t0 = time.perf_counter()
                for _ in range(repeats):
                    step()
                samples[c].append((time.perf_counter() - t0) / repeats)
        base = statistics.median(samples["fast engine"])
        results[label] = {c: statistics.median(s) / base for c, s in samples.items()}
        results[label]["fast engine (s)"] = base
    fast.set_reference_mode(False)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    results = measure(args.rounds, args.repeats)
    configs = ["fast engine", *fast.OPTIMISATIONS, "reference"]
    print("time with the optimisation off / time of the fast engine (median, interleaved)\n")
    print(f"{'switched off':<16}" + "".join(f"{w[:22]:>24}" for w in results))
    for c in configs[1:]:
        print(f"{c:<16}" + "".join(f"{results[w][c]:>24.2f}" for w in results))
    print(
        f"{'fast engine':<16}"
        + "".join(f"{results[w]['fast engine (s)'] * 1e6:>21.0f} µs" for w in results)
    )


if __name__ == "__main__":
    main()
