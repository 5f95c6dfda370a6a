"""Task registry: name -> Entry(task class, config class, description).

A plugin (``ATTNBENCH_PLUGINS``) adds ``TASKS[name] = Entry(...)``.
"""

from __future__ import annotations

from registry import Entry, lookup
from tasks.base import BOS, EOS, PAD, Batch, Task
from tasks.copy import CopyConfig, CopyTask
from tasks.dependency import DependencyConfig, DependencyTask
from tasks.match import MatchConfig, MatchTask
from tasks.recall import RecallConfig, RecallTask
from tasks.reverse import ReverseConfig, ReverseTask
from tasks.translate import TranslateConfig, TranslateTask

TASKS: dict[str, Entry] = {
    "copy": Entry(
        CopyTask,
        CopyConfig,
        "copy a random symbol sequence; delay > 0: copy-memory (distance = length + delay)",
    ),
    "reverse": Entry(
        ReverseTask, ReverseConfig, "output the sequence reversed (distance = length)"
    ),
    "dependency": Entry(
        DependencyTask,
        DependencyConfig,
        "agreement across distance distractors, with attractors (answer accuracy)",
    ),
    "match": Entry(
        MatchTask,
        MatchConfig,
        "the value of the item whose key the query names, distance later (long range)",
    ),
    "recall": Entry(
        RecallTask,
        RecallConfig,
        "associative recall: value of the queried key among distance pairs (answer acc.)",
    ),
    "translate": Entry(
        TranslateTask,
        TranslateConfig,
        "real translation (Bible en-es by default): BPE, beam search, BLEU and chrF",
    ),
}


def task_entry(name: str) -> Entry:
    """The registry entry of ``name``; unknown names list the valid choices."""
    return lookup(TASKS, "task", name)


def data_problem(name: str, cfg: object) -> str | None:
    """Why task ``name`` cannot get its data here (one line), or None; reads no data.

    Tasks with external data define ``data_problem(cfg)``; generated tasks always can.
    """
    check = getattr(task_entry(name).cls, "data_problem", None)
    return check(cfg) if check is not None else None


def build_task(name: str, cfg: object, seed: int) -> Task:
    return task_entry(name).cls(cfg, seed)


__all__ = [
    "TASKS",
    "Entry",
    "PAD",
    "BOS",
    "EOS",
    "Batch",
    "Task",
    "build_task",
    "data_problem",
    "task_entry",
]
