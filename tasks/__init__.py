"""Task registry: name -> (task class, config class)."""

from __future__ import annotations

from tasks.base import BOS, EOS, PAD, Batch, Task
from tasks.copy import CopyConfig, CopyTask

TASKS: dict[str, tuple[type, type]] = {
    "copy": (CopyTask, CopyConfig),
}

DESCRIPTIONS = {
    "copy": "copy a random symbol sequence (token accuracy, exact match)",
}


def task_entry(name: str) -> tuple[type, type]:
    """(task class, config class) for ``name``; unknown names list the valid choices."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def build_task(name: str, cfg: object, seed: int) -> Task:
    cls, _ = task_entry(name)
    return cls(cfg, seed)


__all__ = [
    "TASKS",
    "DESCRIPTIONS",
    "PAD",
    "BOS",
    "EOS",
    "Batch",
    "Task",
    "build_task",
    "task_entry",
]
