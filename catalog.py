"""The facts about each model and task that more than one package reads, in one place:
a model's order in tables and figures, its role in the comparison and its colour; a task's
headline metric, whether it is long-range evidence and whether it has a gold source position.

Standard library only (reports read it without torch). ``tests/test_catalog.py`` checks
that its names match the ``MODELS`` and ``TASKS`` registries and the attention code's gold
tasks; a model added through a plugin (``ATTNBENCH_PLUGINS``) gets an order after these and
a colour of its own from ``model_facts``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

SUBJECT, BASELINE, CONTROL = "subject", "baseline", "control"


@dataclass(frozen=True)
class ModelFacts:
    order: int  # position in every table and figure
    role: str  # SUBJECT (the Transformer), BASELINE (what it is judged against), CONTROL
    colour: str  # matplotlib colour in every figure


@dataclass(frozen=True)
class TaskFacts:
    metric: str  # the headline quality metric of a row
    long_range: bool  # Long-range evidence (a distance knob, an answer to find)
    gold: bool  # a gold source position per target step (attention alignment)


MODEL_FACTS: dict[str, ModelFacts] = {
    "transformer": ModelFacts(0, SUBJECT, "#1f77b4"),
    "lstm": ModelFacts(1, BASELINE, "#ff7f0e"),
    "lstm_uni": ModelFacts(2, CONTROL, "#d62728"),
    "convs2s": ModelFacts(3, BASELINE, "#2ca02c"),
    "convs2s_last": ModelFacts(4, CONTROL, "#98df8a"),
}
PLUGIN_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#ff9896")

TASK_FACTS: dict[str, TaskFacts] = {
    "match": TaskFacts("answer_acc", long_range=True, gold=False),
    "dependency": TaskFacts("answer_acc", long_range=True, gold=False),
    "recall": TaskFacts("answer_acc", long_range=True, gold=True),
    "copy": TaskFacts("token_acc", long_range=False, gold=True),
    "reverse": TaskFacts("token_acc", long_range=False, gold=True),
    "translate": TaskFacts("bleu", long_range=False, gold=False),
}

SUBJECT_MODEL = next(m for m, f in MODEL_FACTS.items() if f.role == SUBJECT)
BASELINES = tuple(m for m, f in MODEL_FACTS.items() if f.role == BASELINE)  # in order
CONTROL_MODELS = frozenset(m for m, f in MODEL_FACTS.items() if f.role == CONTROL)
LONG_RANGE_TASKS = tuple(t for t, f in TASK_FACTS.items() if f.long_range)
GOLD_TASKS = tuple(t for t, f in TASK_FACTS.items() if f.gold)


def model_facts(name: str) -> ModelFacts:
    """The catalog's facts of ``name``; a model it does not list (a plugin) comes after the
    listed ones, as a baseline, with a colour picked by a stable hash of its name."""
    if name in MODEL_FACTS:
        return MODEL_FACTS[name]
    colour = PLUGIN_COLOURS[zlib.crc32(str(name).encode()) % len(PLUGIN_COLOURS)]
    return ModelFacts(len(MODEL_FACTS), BASELINE, colour)


def model_order(models) -> list[str]:  # noqa: ANN001 (any iterable of names)
    """``models`` in the catalog's order, unlisted ones after them by name."""
    return sorted(models, key=lambda m: (model_facts(str(m)).order, str(m)))


def task_metric(task: str) -> str:
    """The headline quality metric of ``task`` (token accuracy for a task not listed)."""
    facts = TASK_FACTS.get(str(task))
    return facts.metric if facts else "token_acc"
