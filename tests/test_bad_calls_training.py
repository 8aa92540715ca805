"""Bad calls to optimizers, schedulers, samplers and the DataLoader, beside PyTorch's.

A row is ``(id, minigrad call, torch call, exception type, message regex, torch's type)``.
The minigrad call must raise the type with a message matching the regex; the same call
in PyTorch must raise ``torch's type`` (the same type unless the row says otherwise:
where PyTorch fails late or with an unhelpful error, minigrad raises the clear one at
construction and the row records PyTorch's, or ``None`` where PyTorch raises nothing).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.optim.lr_scheduler as torch_sched
import torch.utils.data as tdata

import minigrad
import minigrad.optim.lr_scheduler as mg_sched
import minigrad.utils.data as mdata
from minigrad import optim


def _p_m() -> list[minigrad.Tensor]:
    return [minigrad.zeros(2, requires_grad=True)]


def _p_t() -> list[torch.Tensor]:
    return [torch.zeros(2, requires_grad=True)]


def _sgd_m() -> optim.SGD:
    return optim.SGD(_p_m(), lr=0.1, momentum=0.9)


def _sgd_t() -> torch.optim.SGD:
    return torch.optim.SGD(_p_t(), lr=0.1, momentum=0.9)


def _lbfgs_step(lib: object, params: list, **options: object) -> None:
    opt = lib.optim.LBFGS(params, **options)  # type: ignore[attr-defined]

    def closure() -> object:
        opt.zero_grad()
        loss = ((params[0] - 1) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)


class _Stream(mdata.IterableDataset):
    def __iter__(self):  # noqa: ANN204
        return iter(range(4))


class _TorchStream(tdata.IterableDataset):
    def __iter__(self):  # noqa: ANN204
        return iter(range(4))


Row = tuple[str, Callable[[], object], Callable[[], object], type, str, type | None]

ROWS: list[Row] = [
    # --- optimizers
    (
        "nadam lr",
        lambda: optim.NAdam(_p_m(), lr=-1.0),
        lambda: torch.optim.NAdam(_p_t(), lr=-1.0),
        ValueError,
        r"Invalid learning rate: -1.0",
        ValueError,
    ),
    (
        "adam betas of length 1",
        lambda: optim.Adam(_p_m(), betas=(0.9,)),
        lambda: torch.optim.Adam(_p_t(), betas=(0.9,)),
        ValueError,
        r"betas: expected a pair \(beta1, beta2\), but got \(0.9,\)",
        IndexError,  # torch: "tuple index out of range"
    ),
    (
        "nadam betas of length 1",
        lambda: optim.NAdam(_p_m(), betas=(0.9,)),
        lambda: torch.optim.NAdam(_p_t(), betas=(0.9,)),
        ValueError,
        r"expected a pair",
        IndexError,
    ),
    (
        "radam beta1 = 1",
        lambda: optim.RAdam(_p_m(), betas=(1.0, 0.999)),
        lambda: torch.optim.RAdam(_p_t(), betas=(1.0, 0.999)),
        ValueError,
        r"Invalid beta parameter at index 0: 1.0",
        ValueError,
    ),
    (
        "adamax eps",
        lambda: optim.Adamax(_p_m(), eps=-1e-8),
        lambda: torch.optim.Adamax(_p_t(), eps=-1e-8),
        ValueError,
        r"Invalid epsilon value",
        ValueError,
    ),
    (
        "adamax weight_decay",
        lambda: optim.Adamax(_p_m(), weight_decay=-0.1),
        lambda: torch.optim.Adamax(_p_t(), weight_decay=-0.1),
        ValueError,
        r"Invalid weight_decay value: -0.1",
        ValueError,
    ),
    (
        "adadelta rho",
        lambda: optim.Adadelta(_p_m(), rho=1.5),
        lambda: torch.optim.Adadelta(_p_t(), rho=1.5),
        ValueError,
        r"Invalid rho value: 1.5",
        ValueError,
    ),
    (
        "nadam momentum_decay",
        lambda: optim.NAdam(_p_m(), momentum_decay=-1.0),
        lambda: torch.optim.NAdam(_p_t(), momentum_decay=-1.0),
        ValueError,
        r"Invalid momentum_decay value: -1.0",
        ValueError,
    ),
    (
        "lbfgs lr",
        lambda: optim.LBFGS(_p_m(), lr=-0.5),
        lambda: torch.optim.LBFGS(_p_t(), lr=-0.5),
        ValueError,
        r"Invalid learning rate: -0.5",
        ValueError,
    ),
    (
        "lbfgs line search",
        lambda: optim.LBFGS(_p_m(), line_search_fn="armijo"),
        lambda: _lbfgs_step(torch, _p_t(), line_search_fn="armijo"),
        ValueError,
        r"line_search_fn must be None or 'strong_wolfe', got 'armijo'",
        RuntimeError,  # torch: only at step(), "only 'strong_wolfe' is supported"
    ),
    (
        "lbfgs groups",
        lambda: optim.LBFGS([{"params": _p_m()}, {"params": _p_m()}]),
        lambda: torch.optim.LBFGS([{"params": _p_t()}, {"params": _p_t()}]),
        ValueError,
        r"doesn't support per-parameter options",
        ValueError,
    ),
    # --- schedulers
    (
        "plateau factor",
        lambda: mg_sched.ReduceLROnPlateau(_sgd_m(), factor=1.0),
        lambda: torch_sched.ReduceLROnPlateau(_sgd_t(), factor=1.0),
        ValueError,
        r"Factor should be < 1.0",
        ValueError,
    ),
    (
        "plateau mode",
        lambda: mg_sched.ReduceLROnPlateau(_sgd_m(), mode="lowest"),
        lambda: torch_sched.ReduceLROnPlateau(_sgd_t(), mode="lowest"),
        ValueError,
        r"mode lowest is unknown",
        ValueError,
    ),
    (
        "plateau min_lr length",
        lambda: mg_sched.ReduceLROnPlateau(_sgd_m(), min_lr=[0.1, 0.2]),
        lambda: torch_sched.ReduceLROnPlateau(_sgd_t(), min_lr=[0.1, 0.2]),
        ValueError,
        r"expected 1 min_lrs, got 2",
        ValueError,
    ),
    (
        "warm restarts T_0",
        lambda: mg_sched.CosineAnnealingWarmRestarts(_sgd_m(), T_0=0),
        lambda: torch_sched.CosineAnnealingWarmRestarts(_sgd_t(), T_0=0),
        ValueError,
        r"Expected positive integer T_0, but got 0",
        ValueError,
    ),
    (
        "warm restarts T_mult",
        lambda: mg_sched.CosineAnnealingWarmRestarts(_sgd_m(), T_0=2, T_mult=0),
        lambda: torch_sched.CosineAnnealingWarmRestarts(_sgd_t(), T_0=2, T_mult=0),
        ValueError,
        r"Expected integer T_mult >= 1, but got 0",
        ValueError,
    ),
    (
        "cyclic base_lr length",
        lambda: mg_sched.CyclicLR(_sgd_m(), base_lr=[0.1, 0.2], max_lr=1.0),
        lambda: torch_sched.CyclicLR(_sgd_t(), base_lr=[0.1, 0.2], max_lr=1.0),
        ValueError,
        r"base_lr must have the same length as optimizer.param_groups",
        ValueError,
    ),
    (
        "cyclic mode",
        lambda: mg_sched.CyclicLR(_sgd_m(), base_lr=0.1, max_lr=1.0, mode="sine"),
        lambda: torch_sched.CyclicLR(_sgd_t(), base_lr=0.1, max_lr=1.0, mode="sine"),
        ValueError,
        r"mode is invalid and scale_fn is None",
        ValueError,
    ),
    (
        "cyclic momentum without momentum",
        lambda: mg_sched.CyclicLR(optim.Adagrad(_p_m()), base_lr=0.1, max_lr=1.0),
        lambda: torch_sched.CyclicLR(torch.optim.Adagrad(_p_t()), base_lr=0.1, max_lr=1.0),
        ValueError,
        r"optimizer must support momentum or beta1",
        ValueError,
    ),
    (
        "chained empty",
        lambda: mg_sched.ChainedScheduler([]),
        lambda: torch_sched.ChainedScheduler([]),
        ValueError,
        r"expects at least one scheduler",
        ValueError,
    ),
    (
        "chained plateau",
        lambda: mg_sched.ChainedScheduler([mg_sched.ReduceLROnPlateau(_sgd_m())]),
        lambda: torch_sched.ChainedScheduler([torch_sched.ReduceLROnPlateau(_sgd_t())]),
        ValueError,
        r"does not support `ReduceLROnPlateau`",
        ValueError,
    ),
    (
        "polynomial not an optimizer",
        lambda: mg_sched.PolynomialLR(object()),  # type: ignore[arg-type]
        lambda: torch_sched.PolynomialLR(object()),  # type: ignore[arg-type]
        TypeError,
        r"object is not an Optimizer",
        TypeError,
    ),
    # --- samplers and the loader
    (
        "loader batch_size 0",
        lambda: mdata.DataLoader(range(4), batch_size=0),
        lambda: tdata.DataLoader(range(4), batch_size=0),
        ValueError,
        r"batch_size should be a positive integer value, but got batch_size=0",
        ValueError,
    ),
    (
        "loader batch_size float",
        lambda: mdata.DataLoader(range(4), batch_size=2.5),  # type: ignore[arg-type]
        lambda: tdata.DataLoader(range(4), batch_size=2.5),  # type: ignore[arg-type]
        ValueError,
        r"batch_size=2.5",
        ValueError,
    ),
    (
        "loader sampler and shuffle",
        lambda: mdata.DataLoader(range(4), sampler=[0, 1], shuffle=True),
        lambda: tdata.DataLoader(range(4), sampler=[0, 1], shuffle=True),
        ValueError,
        r"sampler option is mutually exclusive with shuffle",
        ValueError,
    ),
    (
        "loader batch_sampler and batch_size",
        lambda: mdata.DataLoader(range(4), batch_sampler=[[0, 1]], batch_size=2),
        lambda: tdata.DataLoader(range(4), batch_sampler=[[0, 1]], batch_size=2),
        ValueError,
        r"batch_sampler option is mutually exclusive with batch_size",
        ValueError,
    ),
    (
        "loader num_workers",
        lambda: mdata.DataLoader(range(4), num_workers=-1),
        lambda: tdata.DataLoader(range(4), num_workers=-1),
        ValueError,
        r"num_workers option should be non-negative",
        ValueError,
    ),
    (
        "loader timeout",
        lambda: mdata.DataLoader(range(4), timeout=-1),
        lambda: tdata.DataLoader(range(4), timeout=-1),
        ValueError,
        r"timeout option should be non-negative",
        ValueError,
    ),
    (
        "loader prefetch without workers",
        lambda: mdata.DataLoader(range(4), prefetch_factor=2),
        lambda: tdata.DataLoader(range(4), prefetch_factor=2),
        ValueError,
        r"prefetch_factor option could only be specified in multiprocessing",
        ValueError,
    ),
    (
        "loader persistent without workers",
        lambda: mdata.DataLoader(range(4), persistent_workers=True),
        lambda: tdata.DataLoader(range(4), persistent_workers=True),
        ValueError,
        r"persistent_workers option needs num_workers > 0",
        ValueError,
    ),
    (
        "loader iterable and shuffle",
        lambda: mdata.DataLoader(_Stream(), shuffle=True),
        lambda: tdata.DataLoader(_TorchStream(), shuffle=True),
        ValueError,
        r"expected unspecified shuffle option, but got shuffle=True",
        ValueError,
    ),
    (
        "loader iterable and sampler",
        lambda: mdata.DataLoader(_Stream(), sampler=[0]),
        lambda: tdata.DataLoader(_TorchStream(), sampler=[0]),
        ValueError,
        r"expected unspecified sampler option",
        ValueError,
    ),
    (
        "random sampler replacement",
        lambda: mdata.RandomSampler(range(3), replacement="yes"),  # type: ignore[arg-type]
        lambda: tdata.RandomSampler(range(3), replacement="yes"),  # type: ignore[arg-type]
        TypeError,
        r"replacement should be a boolean value, but got replacement=yes",
        TypeError,
    ),
    (
        "random sampler num_samples",
        lambda: mdata.RandomSampler(range(3), num_samples=0),
        lambda: tdata.RandomSampler(range(3), num_samples=0),
        ValueError,
        r"num_samples should be a positive integer value, but got num_samples=0",
        ValueError,
    ),
    (
        "weighted sampler 2-d weights",
        lambda: mdata.WeightedRandomSampler([[1.0, 2.0]], 2),
        lambda: tdata.WeightedRandomSampler([[1.0, 2.0]], 2),
        ValueError,
        r"weights should be a 1d sequence but given weights have shape \(1, 2\)",
        ValueError,
    ),
    (
        "weighted sampler negative weight",
        lambda: mdata.WeightedRandomSampler([1.0, -2.0], 2),
        lambda: list(tdata.WeightedRandomSampler([1.0, -2.0], 2)),
        ValueError,
        r"non-negative.*-2.0",
        RuntimeError,  # torch: only when iterated, from torch.multinomial
    ),
    (
        "weighted sampler too few without replacement",
        lambda: mdata.WeightedRandomSampler([1.0, 0.0, 2.0], 3, replacement=False),
        lambda: list(tdata.WeightedRandomSampler([1.0, 0.0, 2.0], 3, replacement=False)),
        ValueError,
        r"num_samples=3 without replacement from 2 positive weights",
        None,  # torch raises nothing: it returns the zero-weight index 1 as well
    ),
    (
        "batch sampler drop_last",
        lambda: mdata.BatchSampler(range(3), 2, drop_last="no"),  # type: ignore[arg-type]
        lambda: tdata.BatchSampler(range(3), 2, drop_last="no"),  # type: ignore[arg-type]
        ValueError,
        r"drop_last should be a boolean value, but got drop_last=no",
        ValueError,
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r[0] for r in ROWS])
def test_bad_call_raises_like_torch(row: Row) -> None:
    _, mine, theirs, exc, fragment, torch_exc = row
    with pytest.raises(exc, match=fragment):
        mine()
    if torch_exc is None:
        theirs()  # PyTorch accepts the call (and is silently wrong; see the row)
        return
    with pytest.raises(torch_exc):
        theirs()


def test_lbfgs_step_needs_a_closure() -> None:
    with pytest.raises(RuntimeError, match="requires a closure"):
        optim.LBFGS(_p_m()).step(None)  # type: ignore[arg-type]


def test_loader_generator_type() -> None:
    with pytest.raises(TypeError, match="numpy.random.Generator, got int"):
        mdata.DataLoader(range(4), shuffle=True, generator=0)  # type: ignore[arg-type]
