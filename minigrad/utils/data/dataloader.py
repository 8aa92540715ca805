"""``DataLoader``: batches from a dataset, in the calling process or in worker processes.

For a map-style dataset the loader takes index batches from its *batch sampler* (built
from ``sampler`` or ``shuffle`` and ``batch_size``/``drop_last``), fetches the samples
and collates them. For an :class:`IterableDataset` it takes ``batch_size`` samples at a
time from the dataset's iterator.

With ``num_workers > 0`` each batch is fetched and collated in one of ``num_workers``
processes (``multiprocessing``; by default the platform's start method, ``fork`` on
Linux). Batches are handed out round robin, up to ``prefetch_factor`` per worker ahead,
and yielded in the order they were asked for, so the sequence of batches equals the one
with ``num_workers=0``. At the start of every epoch the loader draws a ``base_seed``
from its ``generator`` (or minigrad's global generator); worker ``i`` then seeds
minigrad's generator and Python's ``random`` with ``base_seed + i`` and NumPy's legacy
global generator from ``(base_seed, i)``, so that workers do not repeat each other's
random augmentations, and one seed fixes them all. ``worker_init_fn(worker_id)`` runs in
each worker after seeding, and :func:`get_worker_info` tells code running there which
worker it is in.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import traceback
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from minigrad.random import generator as _global_generator
from minigrad.random import manual_seed
from minigrad.utils.data.collate import default_collate, default_convert
from minigrad.utils.data.dataset import Dataset, IterableDataset
from minigrad.utils.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    check_generator,
)

T_co = TypeVar("T_co", covariant=True)

_POLL_S = 0.1  # how often the main process checks that its workers are alive


@dataclass(frozen=True)
class WorkerInfo:
    """What :func:`get_worker_info` returns inside a worker: its ``id`` (``0`` to
    ``num_workers - 1``), ``num_workers``, its ``seed`` and its copy of the ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """This worker's :class:`WorkerInfo`, or ``None`` in the main process."""
    return _worker_info


class _IterableExhausted:
    """Sent by a worker whose copy of an iterable dataset has run out."""


@dataclass
class _WorkerError:
    """An exception raised in a worker, carried to the main process to be re-raised."""

    exc_type: type[BaseException]
    where: str
    trace: str

    def reraise(self) -> None:
        message = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.trace}"
        try:
            error = self.exc_type(message)
        except Exception:  # an exception type whose constructor wants other arguments
            error = RuntimeError(message)
        raise error


class _Fetcher:
    """Turns one request (a list of indices, or a batch size) into one batch."""

    def __init__(
        self, dataset: Any, auto_collation: bool, collate_fn: Callable, drop_last: bool
    ) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.iterable = isinstance(dataset, IterableDataset)
        self.reset()

    def reset(self) -> None:
        self.dataset_iter = iter(self.dataset) if self.iterable else None

    def fetch(self, request: Any) -> Any:
        """A batch, or raise ``StopIteration`` when an iterable dataset is exhausted."""
        if not self.iterable:
            if self.auto_collation:
                return self.collate_fn([self.dataset[i] for i in request])
            return self.collate_fn(self.dataset[request])
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        batch = []
        for sample in self.dataset_iter:
            batch.append(sample)
            if len(batch) == request:
                break
        if not batch or (self.drop_last and len(batch) < request):
            raise StopIteration
        return self.collate_fn(batch)


def _worker_loop(
    fetcher: _Fetcher,
    index_queue: Any,
    result_queue: Any,
    worker_id: int,
    num_workers: int,
    base_seed: int,
    worker_init_fn: Callable[[int], None] | None,
) -> None:
    """A worker: seed, run ``worker_init_fn``, then answer requests until told to stop.

    A request is ``(task, payload)``; the answer is ``(task, batch)``, or an
    :class:`_IterableExhausted` / :class:`_WorkerError` in place of the batch. ``None``
    stops the worker; ``"reset"`` restarts an iterable dataset (a new epoch with
    persistent workers).
    """
    global _worker_info
    seed = base_seed + worker_id
    random.seed(seed)
    manual_seed(seed)
    np.random.seed(np.random.SeedSequence([base_seed, worker_id]).generate_state(4))
    _worker_info = WorkerInfo(worker_id, num_workers, seed, fetcher.dataset)
    init_error = None
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
        fetcher.reset()
    except Exception as e:
        init_error = _WorkerError(
            type(e), f"in DataLoader worker process {worker_id}", traceback.format_exc()
        )
    exhausted = False
    while True:
        message = index_queue.get()
        if message is None:
            break
        if message == "reset":
            exhausted = False
            fetcher.reset()
            continue
        task, payload = message
        if init_error is not None:
            result_queue.put((task, init_error))
            continue
        if exhausted:
            result_queue.put((task, _IterableExhausted()))
            continue
        try:
            result = fetcher.fetch(payload)
        except StopIteration:
            exhausted = True
            result = _IterableExhausted()
        except Exception as e:
            result = _WorkerError(
                type(e), f"in DataLoader worker process {worker_id}", traceback.format_exc()
            )
        result_queue.put((task, result))


class _SingleProcessIter:
    """Fetch each batch in the calling process."""

    def __init__(self, loader: DataLoader) -> None:
        loader._draw_base_seed()
        self._fetcher = loader._fetcher()
        self._requests = loader._requests()

    def __iter__(self) -> _SingleProcessIter:
        return self

    def __next__(self) -> Any:
        return self._fetcher.fetch(next(self._requests))


class _MultiProcessIter:
    """Hand requests to worker processes and yield their batches in request order."""

    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        self._num_workers = loader.num_workers
        self._timeout = loader.timeout
        base_seed = loader._draw_base_seed()
        context = loader.multiprocessing_context
        if context is None or isinstance(context, str):
            context = multiprocessing.get_context(context)
        self._result_queue = context.Queue()
        self._index_queues = []
        self._workers = []
        fetcher = loader._fetcher()
        for worker_id in range(self._num_workers):
            index_queue = context.Queue()
            worker = context.Process(
                target=_worker_loop,
                args=(
                    fetcher,
                    index_queue,
                    self._result_queue,
                    worker_id,
                    self._num_workers,
                    base_seed,
                    loader.worker_init_fn,
                ),
                daemon=True,
            )
            worker.start()
            self._index_queues.append(index_queue)
            self._workers.append(worker)
        self._shut = False
        self._finalizer = weakref.finalize(
            self, _stop_workers, self._index_queues, self._workers, self._result_queue
        )
        self._start_epoch(first=True)

    def _start_epoch(self, first: bool) -> None:
        if not first:  # persistent workers: restart the iterable datasets
            for index_queue in self._index_queues:
                index_queue.put("reset")
        self._requests = self._loader._requests()
        if first:
            self._send_task = 0  # the next request's number
        # Requests of an unfinished earlier epoch are skipped (their answers discarded).
        self._recv_task = self._send_task  # the next batch to yield
        self._task_worker: dict[int, int] = {}
        self._done: dict[int, Any] = {}
        self._active = list(range(self._num_workers))  # workers not exhausted
        self._next_worker = 0
        self._out_of_requests = False
        for _ in range(self._loader.prefetch_factor * self._num_workers):
            self._send_one()

    def _send_one(self) -> None:
        if self._out_of_requests or not self._active:
            return
        try:
            request = next(self._requests)
        except StopIteration:
            self._out_of_requests = True
            return
        worker = self._active[self._next_worker % len(self._active)]
        self._next_worker += 1
        self._index_queues[worker].put((self._send_task, request))
        self._task_worker[self._send_task] = worker
        self._send_task += 1

    def __iter__(self) -> _MultiProcessIter:
        return self

    def _get_result(self) -> tuple[int, Any]:
        waited = 0.0
        while True:
            try:
                return self._result_queue.get(timeout=_POLL_S)
            except queue.Empty:
                waited += _POLL_S
                dead = [w.pid for w in self._workers if not w.is_alive()]
                if dead:
                    self._shutdown(force=True)
                    raise RuntimeError(
                        f"DataLoader worker (pid(s) {', '.join(map(str, dead))}) exited "
                        "unexpectedly"
                    ) from None
                if self._timeout > 0 and waited >= self._timeout:
                    self._shutdown(force=True)
                    raise RuntimeError(
                        f"DataLoader timed out after {self._timeout} seconds"
                    ) from None

    def __next__(self) -> Any:
        while True:
            if self._recv_task == self._send_task:  # nothing outstanding: the epoch is over
                if not self._loader.persistent_workers:
                    self._shutdown()
                raise StopIteration
            task = self._recv_task
            if task in self._done:
                result = self._done.pop(task)
            else:
                received, result = self._get_result()
                if received < task:  # from an epoch left unfinished
                    continue
                if received != task:  # early: keep it until its turn
                    self._done[received] = result
                    continue
            self._recv_task += 1
            if isinstance(result, _IterableExhausted):
                worker = self._task_worker[task]
                if worker in self._active:
                    self._active.remove(worker)
                self._send_one()
                continue
            self._send_one()
            if isinstance(result, _WorkerError):
                self._shutdown(force=True)
                result.reraise()
            return result

    def _reset(self) -> None:
        self._start_epoch(first=False)

    def _shutdown(self, force: bool = False) -> None:
        """Stop the workers (at once if ``force``: after an error they may be busy)."""
        self._shut = True
        if force:
            for worker in self._workers:
                if worker.is_alive():
                    worker.terminate()
        self._finalizer()


def _stop_workers(index_queues: list, workers: list, result_queue: Any) -> None:
    """Tell each worker to stop, wait for it (5 s at most, then terminate it), close the
    queues. Run once, by ``_shutdown`` or when the iterator is collected: a finalizer
    rather than ``__del__``, as it keeps the queues alive until it has run (in a
    collected reference cycle they could otherwise be finalized first)."""
    for index_queue in index_queues:
        try:
            index_queue.put(None)
        except (OSError, ValueError):  # already closed
            pass
    for worker in workers:
        worker.join(timeout=5)
        if worker.is_alive():
            worker.terminate()
    for q in (*index_queues, result_queue):
        q.cancel_join_thread()
        q.close()


class DataLoader(Generic[T_co]):
    """Iterate over ``dataset`` in batches, as ``torch.utils.data.DataLoader``.

    * ``batch_size`` samples per batch (``None`` turns batching off: samples are only
      converted, see :func:`default_convert`); ``drop_last`` drops a final, smaller batch;
    * ``shuffle=True`` visits a map-style dataset in a fresh random order each epoch
      (a :class:`RandomSampler` on ``generator``), ``sampler`` in any order,
      ``batch_sampler`` in given index batches (then ``batch_size``, ``shuffle``,
      ``sampler`` and ``drop_last`` must be left at their defaults);
    * ``collate_fn`` turns a list of samples into a batch (default: :func:`default_collate`);
    * ``num_workers``, ``worker_init_fn``, ``prefetch_factor`` (default 2),
      ``persistent_workers``, ``timeout`` and ``multiprocessing_context`` control the
      worker processes (see the module docstring);
    * ``pin_memory`` is accepted and does nothing: there is no device memory to pin for.
    """

    def __init__(
        self,
        dataset: Dataset[T_co] | Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler[list[int]] | Iterable[list[int]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[T_co]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: np.random.Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                "multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set "
                "prefetch_factor to None."
            )
        if prefetch_factor is not None and (
            not isinstance(prefetch_factor, int) or prefetch_factor < 1
        ):
            raise ValueError(
                f"prefetch_factor should be a positive integer, but got {prefetch_factor}"
            )
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        check_generator(generator)
        if isinstance(dataset, IterableDataset):
            for name, value in (
                ("shuffle", shuffle),
                ("sampler", sampler),
                ("batch_sampler", batch_sampler),
            ):
                if value not in (None, False):
                    raise ValueError(
                        f"DataLoader with IterableDataset: expected unspecified {name} "
                        f"option, but got {name}={value}"
                    )
            if batch_size is not None:
                BatchSampler([], batch_size, drop_last)  # the same checks of both
        else:
            if sampler is not None and shuffle:
                raise ValueError("sampler option is mutually exclusive with shuffle")
            if batch_sampler is not None:
                if batch_size != 1 or shuffle or sampler is not None or drop_last:
                    raise ValueError(
                        "batch_sampler option is mutually exclusive with batch_size, "
                        "shuffle, sampler, and drop_last"
                    )
                batch_size, drop_last = None, False
            elif batch_size is None and drop_last:
                raise ValueError(
                    "batch_size=None option disables auto-batching and is mutually "
                    "exclusive with drop_last"
                )
            if sampler is None:
                sampler = (
                    RandomSampler(dataset, generator=generator)
                    if shuffle
                    else SequentialSampler(dataset)
                )
            if batch_size is not None and batch_sampler is None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.generator = generator
        self.pin_memory = pin_memory  # accepted; a no-op on the CPU
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order  # batches always come in order
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = (
            (2 if prefetch_factor is None else prefetch_factor) if (num_workers > 0) else None
        )
        self.persistent_workers = persistent_workers
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._iterator: _MultiProcessIter | None = None

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (
            isinstance(self.dataset, IterableDataset) and self.batch_size is not None
        )

    def _draw_base_seed(self) -> int:
        rng = self.generator if self.generator is not None else _global_generator()
        return int(rng.integers(0, 2**62))

    def _fetcher(self) -> _Fetcher:
        return _Fetcher(self.dataset, self._auto_collation, self.collate_fn, self.drop_last)

    def _requests(self) -> Iterator[Any]:
        """What to fetch, batch by batch: index lists, single indices or batch sizes."""
        if isinstance(self.dataset, IterableDataset):
            return iter(lambda: self.batch_size, object())  # forever; workers say when done
        if self.batch_sampler is not None:
            return iter(self.batch_sampler)
        return iter(self.sampler)

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if self.persistent_workers:
            if self._iterator is None or self._iterator._shut:
                self._iterator = _MultiProcessIter(self)
            else:
                self._iterator._reset()
            return self._iterator
        return _MultiProcessIter(self)

    def __len__(self) -> int:
        """The number of batches per epoch (for an iterable dataset, from its ``len``)."""
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)
