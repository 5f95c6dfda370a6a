"""The machine a perf run measured on: CPU/GPU, library versions, and its load."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch


def load_note() -> str:
    """The machine's load while measuring: load average and CPU pressure (Linux)."""
    parts = []
    try:
        parts.append("load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    except OSError:
        pass
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0].split()
        parts.append("CPU pressure " + some[1].replace("avg10=", "avg10 ") + "%")
    except (OSError, IndexError):
        pass
    return "machine load: " + (", ".join(parts) or "unknown")


def machine() -> dict[str, Any]:
    """Machine and library versions, for the JSON and docs/performance.md."""
    import lightning

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "threads": torch.get_num_threads(),
        "cpu": _cpu_name(),
        "platform": platform.platform(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
        info["cuda"] = torch.version.cuda
    return info


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
