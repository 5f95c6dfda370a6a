"""The CLI's choice types (Typer turns an Enum into "not one of" errors for free) and its
option checks."""

from __future__ import annotations

import math
import os
from enum import Enum

import typer

FORK_SERVER_HELP = (
    "local: fork each cell from a parent that has imported the libraries; off: each cell in "
    "a fresh `python -m bench.cell.worker` process, slower to start (use it to rule the fork "
    "server out when a timing looks wrong)."
)
CLAIMS_JSON_HELP = "Print a JSON list: claim, verdict, interval, threshold, reason, numbers."
LONG_RANGE_HELP = (
    "Rows the Long-range claim judges: default (match, dependency, recall) or copy-memory "
    "(not long-range evidence by default: the delay lengthens no path; to ask what its "
    "curves would say)."
)
SWEEP_JOBS_HELP = (
    "local: tuning-sweep cells run at once, the cores split between them (default: the "
    "matrix's sweep_jobs, else 1); sweep rows only choose values on dev."
)


class WandbMode(str, Enum):
    offline = "offline"
    online = "online"
    disabled = "disabled"


class RunMode(str, Enum):
    speed = "speed"
    repro = "repro"


class Launcher(str, Enum):
    local = "local"
    ray = "ray"


class LongRangeRows(str, Enum):  # reports.long_range_rows.LONG_RANGE_CHOICES
    default = "default"
    copy_memory = "copy-memory"


class DeviceChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


def default_wandb() -> WandbMode:
    """WANDB_MODE from the environment when it names a mode, else offline."""
    env = os.environ.get("WANDB_MODE", "offline")
    return WandbMode(env) if env in WandbMode.__members__ else WandbMode.offline


def finite_positive(value: float | None) -> float | None:
    """Typer callback: a number option must be finite and > 0 (NaN passes every bound)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be a finite number > 0, got {value}")
    return value
