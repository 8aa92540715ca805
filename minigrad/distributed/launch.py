"""Start ``nprocs`` copies of a command on this host, as ``torchrun --standalone`` would.

Each copy gets the environment that ``torch.distributed.init_process_group`` reads with
``init_method="env://"`` (the default): ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
``LOCAL_WORLD_SIZE``, ``MASTER_ADDR=127.0.0.1`` and a free ``MASTER_PORT``. It needs no
PyTorch itself; on several hosts, use ``torchrun`` (see docs/distributed.md).
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Mapping, Sequence


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def launch(
    argv: Sequence[str],
    nprocs: int,
    env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
    cwd: str | None = None,
) -> list[subprocess.CompletedProcess[str]]:
    """Run ``argv`` as ranks ``0..nprocs-1`` of one job; wait for all (killing every
    rank if one runs past ``timeout`` seconds) and return their results, rank by rank
    (stdout and stderr are captured, as text)."""
    port = free_port()
    procs = []
    for rank in range(nprocs):
        e = dict(os.environ if env is None else env)
        e.update(
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(nprocs),
            LOCAL_WORLD_SIZE=str(nprocs),
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
        )
        procs.append(
            subprocess.Popen(
                list(argv),
                env=e,
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return results
