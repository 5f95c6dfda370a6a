"""What ``attnbench models`` and ``attnbench tasks`` print: each registry entry with its
description and default configuration."""

from __future__ import annotations

import dataclasses

from rich.table import Table


def models_table() -> Table:
    """The registered models, their size at vocabulary 32 and default config."""
    from models import MODELS
    from models.sizing import count_params

    table = Table(title="models")
    for col in ("name", "description", "params (vocab 32)", "default config"):
        table.add_column(col)
    for name, entry in MODELS.items():
        cfg = entry.config()
        table.add_row(name, entry.description, f"{count_params(name, cfg, 32):,}", config_text(cfg))
    return table


def tasks_table() -> Table:
    """The registered tasks and their default config."""
    from tasks import TASKS

    table = Table(title="tasks")
    for col in ("name", "description", "default config"):
        table.add_column(col)
    for name, entry in TASKS.items():
        table.add_row(name, entry.description, config_text(entry.config()))
    return table


def config_text(cfg: object) -> str:
    """A config dataclass as ``key=value, ...``."""
    return ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(cfg).items())
