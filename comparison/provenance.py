"""Where and with what a comparison report was made: versions, commit, date, machine,
command line and devices, recorded in both report files so a reader can reproduce it.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

# The distributions whose versions decide the numbers on either side of the report.
PACKAGES = ("numpy", "torch", "transformers", "safetensors", "tokenizers")


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_commit(where: Path) -> str | None:
    """The commit checked out at ``where`` (``+dirty`` when tracked files differ from
    it), or None outside a git checkout or without git."""
    try:
        head = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if changed else "") if head else None


def cpu_name() -> str:
    """The processor's marketing name where the system tells it, else its architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            if out:
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine()


def provenance(argv: list[str], reference_device: str) -> dict[str, Any]:
    """Everything a reader needs to know about how a report was made.

    ``argv``: the arguments after ``python -m comparison``; ``reference_device``: where
    PyTorch / transformers computed the reference (minigrad always computes on the CPU).
    """
    import minigrad

    root = Path(minigrad.__file__).resolve().parent.parent
    versions: dict[str, str | None] = {
        "minigrad": minigrad.__version__,
        "minigrad_commit": git_commit(root),
        "python": platform.python_version(),
    }
    versions.update({name: _version(name) for name in PACKAGES})
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python -m comparison", *argv]),
        "versions": versions,
        "machine": {
            "platform": platform.platform(),
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
        },
        "devices": {"minigrad": "cpu (NumPy)", "reference": reference_device},
    }
