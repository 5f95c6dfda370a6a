"""Task registry: name -> (task class, config class)."""

from __future__ import annotations

from tasks.base import BOS, EOS, PAD, Batch, Task
from tasks.copy import CopyConfig, CopyTask
from tasks.dependency import DependencyConfig, DependencyTask
from tasks.recall import RecallConfig, RecallTask
from tasks.reverse import ReverseConfig, ReverseTask
from tasks.translate import TranslateConfig, TranslateTask

TASKS: dict[str, tuple[type, type]] = {
    "copy": (CopyTask, CopyConfig),
    "reverse": (ReverseTask, ReverseConfig),
    "dependency": (DependencyTask, DependencyConfig),
    "recall": (RecallTask, RecallConfig),
    "translate": (TranslateTask, TranslateConfig),
}

DESCRIPTIONS = {
    "copy": "copy a random symbol sequence; delay > 0: copy-memory (distance = length + delay)",
    "reverse": "output the sequence reversed (distance = length)",
    "dependency": "agreement across distance distractors, with attractors (answer accuracy)",
    "recall": "associative recall: value of the queried key among distance pairs (answer acc.)",
    "translate": "real translation (Bible en-es by default): BPE, beam search, BLEU and chrF",
}


def task_entry(name: str) -> tuple[type, type]:
    """(task class, config class) for ``name``; unknown names list the valid choices."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def data_problem(name: str, cfg: object) -> str | None:
    """Why task ``name`` cannot get its data here (one line), or None; reads no data.

    Tasks with external data define ``data_problem(cfg)``; generated tasks always can.
    """
    cls, _ = task_entry(name)
    check = getattr(cls, "data_problem", None)
    return check(cfg) if check is not None else None


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
    "data_problem",
    "task_entry",
]
