"""The small workloads (per-op overhead, the mission's network, a wide MLP, the digits
CNN, the GEMM ceiling) and the registry of every workload.

Each ``build_*`` takes a :class:`~benchmarks.backends.Backend` and returns a
:class:`~benchmarks.spec.Built` whose ``step`` is the same Python code for minigrad and
PyTorch: the model comes from ``backend.nn``, the optimizer from ``backend.optim``.
Inputs are fixed, seeded arrays made on the host before timing starts.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import flops, peers
from benchmarks.backends import CUDA_KEYS, PEER_KEYS, Backend, train_step
from benchmarks.decode import build_decode
from benchmarks.gpt_block import build_gpt_block
from benchmarks.layers import build_gpt2_checkpointed, build_lstm
from benchmarks.nlp import build_bert_base, build_gpt2_small, build_gpt2_tiny, build_minilm
from benchmarks.spec import Built, Workload

SEED = 0


# --------------------------------------------------------------------------- per-op overhead
CHAIN_OPS = 100  # elementwise ops in the chain
CHAIN_SIZE = 16  # elements per tensor: small enough that only the overhead is left


def chain(h: Any) -> Any:
    """100 elementwise ops, 4 kinds in turn (scalar mul, scalar add, tanh, sin), then a sum.
    Values stay in [-1, 1], so nothing over- or underflows however long it runs."""
    for _ in range(CHAIN_OPS // 4):
        h = (h * 0.9 + 0.1).tanh().sin()
    return h.sum()


def build_per_op(b: Backend, quick: bool) -> Built:
    if b.key == "numpy":
        return build_per_op_numpy()
    b.seed(SEED)
    x = b.tensor(np.random.default_rng(SEED).standard_normal(CHAIN_SIZE, dtype=np.float32), True)
    fn = b.compile(chain)

    def step() -> None:
        x.grad = None  # no accumulation op: every step is the same 100 ops + backward
        fn(x).backward()

    return Built(step, work=CHAIN_OPS, info=f"{CHAIN_SIZE} elements, {CHAIN_OPS} ops + sum")


def build_per_op_numpy() -> Built:
    """The chain written by hand in NumPy: the forward keeps what the backward needs and
    the backward applies each op's derivative in reverse. No graph and no Tensor: what
    NumPy's own per-call cost leaves for an engine's bookkeeping.

        u = 0.9 h + 0.1,  t = tanh u,  h' = sin t
        dh = dh' · cos t · (1 - t²) · 0.9
    """
    x = np.random.default_rng(SEED).standard_normal(CHAIN_SIZE, dtype=np.float32)

    def step() -> None:
        h, kept = x, []
        for _ in range(CHAIN_OPS // 4):
            t = np.tanh(h * 0.9 + 0.1)
            kept.append(t)
            h = np.sin(t)
        _loss = h.sum()
        g = np.ones_like(h)
        for t in reversed(kept):
            g = g * np.cos(t)
            g = g * (1 - t * t)
            g = g * 0.9

    return Built(step, work=CHAIN_OPS, info=f"{CHAIN_SIZE} elements, {CHAIN_OPS} ops, hand-written")


# --------------------------------------------------------------------------- MLPs
def _xy(rng: np.random.Generator, batch: int, features: int, classes: int) -> tuple[Any, Any]:
    x = rng.standard_normal((batch, features), dtype=np.float32)
    y = rng.integers(0, classes, batch).astype(np.int64)
    return x, y


def _classifier_loss(b: Backend) -> Any:
    ce = b.nn.CrossEntropyLoss()
    return lambda model, x, y: ce(model(x), y)


def build_mlp(b: Backend, sizes: tuple[int, ...], batch: int, optimizer: str) -> Built:
    """``Linear -> ReLU -> ... -> Linear`` with widths ``sizes``, cross-entropy."""
    b.seed(SEED)
    layers: list[Any] = []
    for i, (a, c) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [b.nn.Linear(a, c)] + ([b.nn.ReLU()] if i < len(sizes) - 2 else [])
    model = b.to_device(b.nn.Sequential(*layers))
    x, y = _xy(np.random.default_rng(SEED), batch, sizes[0], sizes[-1])
    if optimizer == "sgd":
        opt = b.optim.SGD(model.parameters(), lr=0.01)
    else:
        opt = b.optim.Adam(model.parameters(), lr=1e-3)
    step = train_step(b, model, _classifier_loss(b), opt, b.tensor(x), b.tensor(y))
    info = f"{'-'.join(map(str, sizes))}, batch {batch}, {optimizer}"
    return Built(step, flops=flops.linear_train(batch, sizes), info=info)


MISSION = (100, 50, 10)
MISSION_BATCH = 64


def build_mission(b: Backend, quick: bool) -> Built:
    if b.key == "numpy":
        return peers.build_mlp_numpy(MISSION, MISSION_BATCH, "sgd", lr=0.01)
    if b.is_peer:
        return peers.build_mlp_peer(b, MISSION, MISSION_BATCH, "sgd", lr=0.01)
    return build_mlp(b, MISSION, MISSION_BATCH, "sgd")


WIDE, WIDE_BATCH = (784, 512, 512, 10), 128


def build_wide_mlp(b: Backend, quick: bool) -> Built:
    if b.key == "numpy":
        return peers.build_mlp_numpy(WIDE, WIDE_BATCH, "adam", lr=1e-3)
    if b.is_peer:
        return peers.build_mlp_peer(b, WIDE, WIDE_BATCH, "adam", lr=1e-3)
    return build_mlp(b, WIDE, WIDE_BATCH, "adam")


# --------------------------------------------------------------------------- digits CNN
def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits (1797 8x8 images, 0..16): read straight from the CSV that
    ``sklearn.datasets.load_digits`` reads, which avoids importing scikit-learn (seconds)
    in every process; falls back to ``load_digits`` if the file is not where expected."""
    spec = importlib.util.find_spec("sklearn")
    path = None
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "datasets/data/digits.csv.gz"
    if path is not None and path.is_file():
        with gzip.open(path, "rt") as f:
            data = np.loadtxt(f, delimiter=",", dtype=np.float64)
        images, target = data[:, :-1], data[:, -1]
    else:  # pragma: no cover - depends on scikit-learn's layout
        from sklearn.datasets import load_digits as sk_load

        images, target = sk_load(return_X_y=True)
    x = (images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    return x, target.astype(np.int64)


CNN_BATCH = 64


def build_digits_cnn(b: Backend, quick: bool) -> Built:
    """Conv(1->16, 3x3, pad 1) -> ReLU -> MaxPool 2 -> Conv(16->32) -> ReLU -> MaxPool 2
    -> Flatten -> Linear(128, 10); cross-entropy, Adam."""
    b.seed(SEED)
    nn = b.nn
    model = b.to_device(
        nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 2 * 2, 10),
        )
    )
    images, labels = load_digits()
    idx = np.random.default_rng(SEED).choice(len(images), CNN_BATCH, replace=False)
    opt = b.optim.Adam(model.parameters(), lr=1e-3)
    step = train_step(
        b, model, _classifier_loss(b), opt, b.tensor(images[idx]), b.tensor(labels[idx])
    )
    fwd = (
        flops.conv2d_forward(CNN_BATCH, 1, 16, 3, 8, 8)
        + flops.conv2d_forward(CNN_BATCH, 16, 32, 3, 4, 4)
        + 2.0 * CNN_BATCH * 128 * 10
    )
    return Built(step, flops=3 * fwd, info=f"8x8 digits, batch {CNN_BATCH}, adam")


# --------------------------------------------------------------------------- GEMM ceiling
def build_gemm(b: Backend, quick: bool) -> Built:
    """``C = A @ B`` for square float32 (or bf16 on the bf16 rows) matrices."""
    n = 1024 if quick else 2048
    rng = np.random.default_rng(SEED)
    a_np = rng.standard_normal((n, n), dtype=np.float32)
    b_np = rng.standard_normal((n, n), dtype=np.float32)
    if b.lib is None:

        def step() -> None:
            np.matmul(a_np, b_np)

        dtype = "float32"
    else:
        a, m = b.tensor(a_np), b.tensor(b_np)
        if b.gemm_dtype() is not None:
            a, m = a.to(b.gemm_dtype()), m.to(b.gemm_dtype())
        dtype = str(a.dtype).replace("torch.", "")

        def step() -> None:
            b.lib.matmul(a, m)

    work = flops.gemm(n) / 1e9
    return Built(step, work=work, flops=flops.gemm(n), info=f"{n}x{n} @ {n}x{n}, {dtype}")


# --------------------------------------------------------------------------- registry
CPU_PAIR = ("minigrad", "torch-cpu")
_TRAIN = (*CPU_PAIR, *CUDA_KEYS)

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in [
        Workload(
            "per_op",
            "Per-op overhead: 16-element chain of 100 elementwise ops, fwd+bwd",
            "µs/op",
            build_per_op,
            ("minigrad", "numpy", "torch-cpu", "cuda-fp32", "cuda-compile"),
            targets={"ratio": 0.3},
        ),
        Workload(
            "short_graph",
            "Short graph: (a*b+c).sum().backward() on 4 elements",
            "µs/step",
            peers.build_short_graph,
            ("minigrad", "numpy", "torch-cpu", *PEER_KEYS),
            training=False,
            targets={"peers": True},
        ),
        Workload(
            "backward_call",
            "Fixed cost of one backward() call: a 3-op graph built once, backward only",
            "µs/step",
            peers.build_backward_call,
            ("minigrad", "torch-cpu", "dezero"),
            training=False,
            targets={"peers": True},
        ),
        Workload(
            "mission_net",
            "Mission net Linear(100,50)-ReLU-Linear(50,10), batch 64, SGD",
            "µs/step",
            build_mission,
            ("minigrad", "numpy", "torch-cpu", *PEER_KEYS, *CUDA_KEYS),
            targets={"ratio": 0.4, "floor": 1.6, "peers": True},
        ),
        Workload(
            "wide_mlp",
            "Wide MLP 784-512-512-10, batch 128, Adam",
            "ms/step",
            build_wide_mlp,
            ("minigrad", "numpy", "torch-cpu", *PEER_KEYS, *CUDA_KEYS),
            targets={"ratio": 1.0, "peers": True},
        ),
        Workload(
            "digits_cnn",
            "Digits CNN (2x Conv/ReLU/MaxPool, Linear), batch 64, Adam",
            "ms/step",
            build_digits_cnn,
            _TRAIN,
            targets={"ratio": 1.0},
        ),
        Workload(
            "gpt2_tiny",
            "GPT-2 tiny config (2 blocks, d=128) training step, AdamW",
            "tokens/s",
            build_gpt2_tiny,
            _TRAIN,
            targets={"ratio": 1.3},
        ),
        Workload(
            "gpt_block",
            "Tiny GPT block (generic ops, manual attention), batch 4 x 64, d=128, Adam",
            "tokens/s",
            build_gpt_block,
            ("minigrad", "torch-cpu", "mygrad", "autograd"),
            targets={"peers": True},
        ),
        Workload(
            "lstm",
            "2-layer LSTM (hidden 64, T=16, batch 16) training step, Adam",
            "ms/step",
            build_lstm,
            CPU_PAIR,
        ),
        Workload(
            "gpt2_checkpointed",
            "GPT-2 tiny config training step, every block checkpointed, AdamW",
            "tokens/s",
            build_gpt2_checkpointed,
            _TRAIN,
            quick=False,  # as long as gpt2_tiny's step: the full run only
        ),
        Workload(
            "gpt2_small",
            "GPT-2 small (124M) training step, AdamW",
            "tokens/s",
            build_gpt2_small,
            _TRAIN,
            quick=False,
            heavy=True,
            targets={"ratio": 1.3, "gemm_fraction": 0.5},
        ),
        *[
            Workload(
                f"gpt2_decode_{'cache' if cache else 'nocache'}_{n}",
                f"GPT-2 tiny greedy decoding, {n} new tokens, "
                f"{'with' if cache else 'without'} KV cache",
                "tokens/s",
                build_decode(n, cache),
                _TRAIN,
                quick=n == 64,
                training=False,
            )
            for n in (64, 256)
            for cache in (True, False)
        ],
        Workload(
            "minilm",
            "all-MiniLM-L6-v2 (pretrained) inference",
            "sentences/s",
            build_minilm,
            _TRAIN,
            training=False,
        ),
        Workload(
            "bert_base",
            "BERT-base (seeded init) inference, seq 128",
            "sentences/s",
            build_bert_base,
            _TRAIN,
            quick=False,
            training=False,
            heavy=True,
        ),
        Workload(
            "gemm",
            "Float32 GEMM ceiling (bf16 on bf16 rows)",
            "GFLOP/s",
            build_gemm,
            ("numpy", "torch-cpu", "cuda-fp32", "cuda-bf16"),
            training=False,
        ),
    ]
}
