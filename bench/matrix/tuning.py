"""Equal-budget tuning inside a matrix: a sweep stage of ordinary cells, then the seeds.

A matrix (or task block) that says ``tune: {lr: [3e-4, 1e-3, 3e-3, 1e-2], metric: dev_bleu,
seed: 0}`` gives every model the same sweep: one cell per grid point (same steps, batch and
budget for every model) at the tuning seed. Each model's best grid point on the dev split
(never test) is then used for the matrix's seeds. A block with axes sweeps every setting of
them separately, unless ``at: {delay: 256}`` names one setting: then the sweep runs there
only and its choice holds for every setting of those axes (a third of the cost for three
delays). Sweep cells carry ``sweep`` in their spec
and row; seed cells carry ``tuned`` (grid, chosen values, dev metric per grid point, budget),
so both are part of the cell key and resume, retry, status and Ray work unchanged.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, fields
from typing import Any

from bench.cell.config import ConfigError, TrainConfig

# the dev metric a sweep selects on -> which way is better
METRICS = {
    "dev_loss": "min",
    "dev_bleu": "max",
    "dev_chrf": "max",
    "dev_acc": "max",  # the task's headline accuracy: answer_acc where it has one, else token_acc
    "dev_token_acc": "max",
    "dev_seq_acc": "max",
    "dev_answer_acc": "max",
}
TUNE_KEYS = ("metric", "seed", "at")  # every other key of ``tune`` is a train key with its grid


@dataclass(frozen=True)
class TuneSpec:
    """What to sweep (train key -> grid values), the dev metric and the sweep's seed."""

    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    metric: str = "dev_loss"
    seed: int = 0
    at: tuple[tuple[str, Any], ...] = ()  # axis key -> the one value the sweep runs at

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.grid)

    def points(self) -> list[dict[str, Any]]:
        """Every grid point, in grid order: {train key: value}."""
        return [
            dict(zip(self.keys, vals, strict=True))
            for vals in itertools.product(*(v for _, v in self.grid))
        ]

    def describe(self) -> dict[str, Any]:
        out = {"grid": {k: list(v) for k, v in self.grid}, "metric": self.metric, "seed": self.seed}
        return {**out, "at": dict(self.at)} if self.at else out


def parse_tune(value: Any, where: str) -> TuneSpec | None:
    """A ``tune:`` mapping -> TuneSpec; bad keys, metrics or grids raise ConfigError."""
    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{where}: expected a mapping of train keys to lists, got {value!r}")
    train_keys = sorted(f.name for f in fields(TrainConfig))
    grid = []
    for key, vals in value.items():
        if key in TUNE_KEYS:
            continue
        if key not in train_keys:
            raise ConfigError(
                f"{where}: unknown key {key!r}; valid keys: {', '.join(TUNE_KEYS)} or a train "
                f"key ({', '.join(train_keys)})"
            )
        if not isinstance(vals, list) or not vals or len(set(map(repr, vals))) != len(vals):
            raise ConfigError(f"{where}.{key}: expected a non-empty list of distinct values")
        grid.append((key, tuple(vals)))
    if not grid:
        raise ConfigError(f"{where}: name at least one train key to sweep, e.g. lr: [1e-3, 3e-3]")
    metric = value.get("metric", "dev_loss")
    if metric not in METRICS:
        raise ConfigError(f"{where}.metric: {metric!r} is not one of: {', '.join(METRICS)}")
    seed = value.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"{where}.seed: expected an integer, got {seed!r}")
    at = value.get("at", {})
    if not isinstance(at, dict) or any(isinstance(v, (list, dict)) for v in at.values()):
        raise ConfigError(
            f"{where}.at: expected a mapping of axis keys to one value each, e.g. "
            f"{{delay: 256}}, got {at!r}"
        )
    return TuneSpec(tuple(grid), metric, seed, tuple(at.items()))


def metric_value(row: dict[str, Any], metric: str) -> float | None:
    """``metric`` of a sweep row; None for a failed cell or a missing value."""
    if row.get("status") != "ok":
        return None
    names = ("dev_answer_acc", "dev_token_acc") if metric == "dev_acc" else (metric,)
    for name in names:
        value = row.get(name)
        if isinstance(value, (int, float)) and not math.isnan(value):
            return float(value)
    return None


def best_index(values: list[float | None], metric: str) -> int | None:
    """Index of the best value for ``metric`` (None counts as worst; ties: the earliest)."""
    scored = [(i, v) for i, v in enumerate(values) if v is not None]
    if not scored:
        return None
    sign = 1.0 if METRICS[metric] == "max" else -1.0
    return max(scored, key=lambda iv: (sign * iv[1], -iv[0]))[0]


def choose(points: list[dict[str, Any]], rows: list[dict[str, Any] | None], tune: TuneSpec):  # noqa: ANN201
    """The best grid point on dev, or None while a sweep cell has no row or all failed.

    Returns ``(chosen point, per-point record)``; a failed or diverged point counts as worst,
    ties go to the earlier grid point. ``rows[i]`` is the latest row of ``points[i]``'s cell.
    """
    if any(r is None for r in rows):
        return None
    record = [
        {
            **point,
            tune.metric: metric_value(row, tune.metric),
            "status": row["status"],
            "key": row["key"],
            "wall_s": row.get("wall_s"),
        }
        for point, row in zip(points, rows, strict=True)
    ]
    best = best_index([r[tune.metric] for r in record], tune.metric)
    return None if best is None else (points[best], record)


def tuned_record(
    tune: TuneSpec, chosen: dict[str, Any], record: list[dict[str, Any]], train: TrainConfig
) -> dict[str, Any]:
    """What a seed cell's row says about how its values were chosen."""
    wall = [r["wall_s"] for r in record if isinstance(r.get("wall_s"), (int, float))]
    return {
        **tune.describe(),
        "chosen": chosen,
        "dev_metric": record,
        "at_edge": at_edge(tune, chosen),
        "budget": {
            "cells": len(record),
            "steps": train.steps,
            "batch_size": train.batch_size,
            "sweep_wall_s": round(sum(wall), 3),
        },
    }


def at_edge(tune: TuneSpec, chosen: dict[str, Any]) -> list[str]:
    """Swept keys whose chosen value is the first or last of a grid of 3 or more values."""
    return edge_keys(dict(tune.grid), chosen)


def edge_keys(grid: dict[str, Any], chosen: dict[str, Any]) -> list[str]:
    """Keys of ``grid`` (key -> values) whose ``chosen`` value is at a grid of 3+ values' edge."""
    return [k for k, vals in grid.items() if len(vals) >= 3 and chosen[k] in (vals[0], vals[-1])]


def without_seed_filter(only: list[str]) -> list[str]:
    """``--only`` filters that apply to sweep cells: a seed's sweep runs at the tuning seed."""
    return [o for o in only if not o.strip().startswith("seed=")]
