"""Peak memory of loading a large safetensors file: ``python -m benchmarks.load_memory``.

Writes one file of ``--gib`` GiB (default 1; 16 float32 tensors) in a temporary
folder, loads it in a fresh process per reader, and prints, per reader:

* ``tracemalloc peak``: the largest Python/NumPy heap allocation during the load;
* ``RSS anon +``: the growth of the process's *anonymous* resident memory (private
  copies) during the load, and again after every byte has been read (``sum`` over
  all tensors), from ``/proc/self/status`` (Linux);
* ``RSS file``: file-backed pages resident after the read: page cache mapped into the
  process, shared and reclaimable, not a copy;
* ``peak RSS +``: the resident high-water mark (``VmHWM``, reset through
  ``/proc/self/clear_refs`` at the start) over the resident set before loading,
  anonymous and file-backed pages together.

Readers: ``minigrad.load`` (maps the data copy-on-write), the ``safetensors`` package's
``load_file`` (for reference) and ``read + copy`` (the whole file read into memory,
then each tensor copied out: what a naive reader does). The file is deleted at the end.

``--pretrained`` measures ``GPT2LMHeadModel.from_pretrained`` instead, on a GPT-2 small
folder (random weights) written by ``transformers``: the model's parameters are the
only anonymous memory it should need.
Not part of ``python -m benchmarks`` (writing 1 GiB takes a few seconds of disk).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

READERS = ["minigrad.load", "safetensors.load_file", "read + copy"]
_TENSORS = 16


def write_file(path: Path, gib: float) -> int:
    """A valid safetensors file of ``_TENSORS`` float32 tensors, written chunk by chunk
    (never the whole file in memory)."""
    per = int(gib * 2**30) // _TENSORS // 4 // 1024 * 1024  # elements per tensor
    header = {
        f"layer{i}.weight": {
            "dtype": "F32",
            "shape": [per // 1024, 1024],
            "data_offsets": [i * per * 4, (i + 1) * per * 4],
        }
        for i in range(_TENSORS)
    }
    raw = json.dumps(header).encode()
    raw += b" " * (-(8 + len(raw)) % 8)
    chunk = np.linspace(-1, 1, per, dtype=np.float32)
    with open(path, "wb") as f:
        f.write(len(raw).to_bytes(8, "little") + raw)
        for _ in range(_TENSORS):
            chunk.tofile(f)
    return os.path.getsize(path)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _child(path: str, reader: str) -> dict[str, float]:
    """Runs in a fresh process: load with ``reader`` and measure."""
    import tracemalloc

    import safetensors.numpy

    import minigrad  # imported before the baseline, like any user's program

    def load() -> dict:
        if reader == "minigrad.load":
            return {k: t.data for k, t in minigrad.load(path).items()}
        if reader == "safetensors.load_file":
            return safetensors.numpy.load_file(path)
        with open(path, "rb") as f:  # read + copy
            raw = f.read()
        n = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8 : 8 + n])
        data = memoryview(raw)[8 + n :]
        return {
            k: np.frombuffer(data[v["data_offsets"][0] : v["data_offsets"][1]], "<f4")
            .copy()
            .reshape(v["shape"])
            for k, v in header.items()
        }

    if reader == "from_pretrained":
        import minigrad.models as mm

        def load() -> dict:  # noqa: F811 - the model's parameters are what it returns
            model = mm.GPT2LMHeadModel.from_pretrained(path)
            return {k: p.data for k, p in model.state_dict().items()}

    with open("/proc/self/clear_refs", "w") as f:  # reset VmHWM to the current VmRSS
        f.write("5")
    anon0, rss0 = _status_kib("RssAnon"), _status_kib("VmRSS")
    tracemalloc.start()
    start = time.perf_counter()
    arrays = load()
    seconds = time.perf_counter() - start
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    anon_loaded = _status_kib("RssAnon") - anon0
    total = sum(float(a.sum(dtype=np.float64)) for a in arrays.values())  # touch every byte
    return {
        "load_s": seconds,
        "tracemalloc_peak_mib": traced / 2**20,
        "rss_anon_after_load_mib": anon_loaded / 1024,
        "rss_anon_after_read_mib": (_status_kib("RssAnon") - anon0) / 1024,
        "rss_file_after_read_mib": _status_kib("RssFile") / 1024,
        "peak_rss_growth_mib": (_status_kib("VmHWM") - rss0) / 1024,
        "checksum": total,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gib", type=float, default=1.0, help="file size in GiB (default 1)")
    parser.add_argument("--pretrained", action="store_true", help="GPT-2 small from_pretrained")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "READER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(*args.child)))
        return 0
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        path = Path(tmp) / "big.safetensors"
        readers = READERS
        if args.pretrained:
            import transformers

            transformers.GPT2LMHeadModel(transformers.GPT2Config()).save_pretrained(tmp)
            path, readers = Path(tmp), ["from_pretrained"]
            size = (path / "model.safetensors").stat().st_size
            print(f"GPT-2 small folder: {size / 2**20:.1f} MiB of float32 weights")
        else:
            size = write_file(path, args.gib)
            print(f"file: {size / 2**30:.3f} GiB, {_TENSORS} float32 tensors")
        print(
            f"{'reader':24s} {'load s':>7s} {'tracemalloc peak':>17s} {'RSS anon +':>11s} "
            f"{'after read':>11s} {'RSS file':>9s} {'peak RSS +':>11s}"
        )
        results = {}
        for reader in readers:
            cmd = [sys.executable, "-m", "benchmarks.load_memory", "--child", str(path), reader]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            r = results[reader] = json.loads(out.strip().splitlines()[-1])
            print(
                f"{reader:24s} {r['load_s']:7.3f} {r['tracemalloc_peak_mib']:13.1f} MiB "
                f"{r['rss_anon_after_load_mib']:7.1f} MiB {r['rss_anon_after_read_mib']:7.1f} MiB "
                f"{r['rss_file_after_read_mib']:5.0f} MiB {r['peak_rss_growth_mib']:7.1f} MiB"
            )
        checks = {round(r["checksum"], 3) for r in results.values()}
        print("same values from every reader:", len(checks) == 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
