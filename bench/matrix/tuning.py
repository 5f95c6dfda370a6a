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

Beyond the learning rate: ``tune`` may sweep model keys (``model.norm_first``) and give a
model knobs of its own (``transformer: {model.norm_first: [false, true]}``). Every model
gets the same number of trials: with ``trials: N`` a model whose grid is larger gets a
seeded random N of its points (Dodge et al. 2019 compare at equal trials); without it,
grids of different sizes are refused. A choice is not a coin flip: grid points whose dev
intervals overlap the best one's (bench/matrix/dev_evidence.py; exactly equal values when a
run has no per-example dev outcomes) are a tie, broken by ``tie_break`` (dev loss by
default) and recorded as a tie. A setting where a model's dev interval stays at its floor at
every grid point is flagged (``at_floor``): its choice is noise. A choice at the end of a
numeric grid of 3+ values extends the grid once past that end (``extend``, on by default):
every model of the setting gets one more trial per value past an end, its own choice moved
there, so trials stay equal; seed cells wait until the extension has rows.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from bench.cell.config import ConfigError, TrainConfig
from bench.rundir.rows import dev_points, first_step_at

# the dev metric a sweep selects on -> which way is better
METRICS = {
    "dev_loss": "min",
    "dev_bleu": "max",
    "dev_chrf": "max",
    "dev_acc": "max",  # the task's headline accuracy: answer_acc where it has one, else token_acc
    "dev_token_acc": "max",
    "dev_seq_acc": "max",
    "dev_answer_acc": "max",
    # the first dev evaluation at the row's target accuracy (``train.target_acc``); a run
    # that never gets there counts as infinitely slow (ties with the others that did not)
    "dev_steps_to_target": "min",
}
# every other key of ``tune`` is a train key (``lr``), a model key (``model.norm_first``) or
# a model's name with its own keys
TUNE_KEYS = ("metric", "seed", "at", "trials", "tie_break", "extend")
Grid = tuple[tuple[str, tuple[Any, ...]], ...]  # key -> values, in order
Evidence = Callable[[dict[str, Any], str], "dict[str, Any] | None"]  # (row, metric) -> interval


@dataclass(frozen=True)
class TuneSpec:
    """What to sweep (key -> grid values; a model's own keys in ``per_model``), how many
    trials each model gets, the dev metric, the tie-break metric and the sweep's seed."""

    grid: Grid
    metric: str = "dev_loss"
    seed: int = 0
    at: tuple[tuple[str, Any], ...] = ()  # axis key -> the one value the sweep runs at
    per_model: tuple[tuple[str, Grid], ...] = ()  # model -> its own keys and values
    trials: int | None = None  # points per model; None: every point of the grid
    tie_break: str = "dev_loss"
    extend: bool = True  # a choice at a grid's edge extends that grid once, for every model

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.grid)

    def grid_of(self, model: str | None = None) -> Grid:
        """The shared grid followed by ``model``'s own keys."""
        return self.grid + dict(self.per_model).get(model, ())

    def size(self, model: str | None = None) -> int:
        return math.prod(len(v) for _, v in self.grid_of(model))

    def points(self, model: str | None = None) -> list[dict[str, Any]]:
        """``model``'s trials, in grid order: {key: value}; every grid point, or a seeded
        random ``trials`` of them when the grid is larger."""
        grid = self.grid_of(model)
        every = [
            dict(zip([k for k, _ in grid], vals, strict=True))
            for vals in itertools.product(*(v for _, v in grid))
        ]
        if self.trials is None or self.trials >= len(every):
            return every
        picked = random.Random(f"{self.seed}:{model}").sample(range(len(every)), self.trials)
        return [every[i] for i in sorted(picked)]

    def describe(self, model: str | None = None) -> dict[str, Any]:
        out = {"grid": {k: list(v) for k, v in self.grid}, "metric": self.metric, "seed": self.seed}
        if self.at:
            out["at"] = dict(self.at)
        if self.per_model or self.trials is not None:  # the search space this model had
            out["space"] = {k: list(v) for k, v in self.grid_of(model)}
            out["trials"] = len(self.points(model))
        if self.tie_break != "dev_loss":
            out["tie_break"] = self.tie_break
        if not self.extend:
            out["extend"] = False
        return out


def parse_tune(value: Any, where: str) -> TuneSpec | None:
    """A ``tune:`` mapping -> TuneSpec; bad keys, metrics or grids raise ConfigError."""
    from models import MODELS, model_entry

    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{where}: expected a mapping of train keys to lists, got {value!r}")
    grid = _grid({k: v for k, v in value.items() if k not in TUNE_KEYS and k not in MODELS},
                 where, None)  # fmt: skip
    per_model = []
    for model in (k for k in value if k in MODELS):
        own = value[model]
        if not isinstance(own, dict) or not own:
            raise ConfigError(f"{where}.{model}: expected a mapping of keys to lists, got {own!r}")
        per_model.append((model, _grid(own, f"{where}.{model}", model_entry(model).config)))
    if not grid and not per_model:
        raise ConfigError(f"{where}: name at least one train key to sweep, e.g. lr: [1e-3, 3e-3]")
    metric = value.get("metric", "dev_loss")
    tie_break = value.get("tie_break", "dev_loss")
    for name, m in (("metric", metric), ("tie_break", tie_break)):
        if m not in METRICS:
            raise ConfigError(f"{where}.{name}: {m!r} is not one of: {', '.join(METRICS)}")
    seed = value.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"{where}.seed: expected an integer, got {seed!r}")
    trials = value.get("trials")
    if trials is not None and (
        not isinstance(trials, int) or isinstance(trials, bool) or trials < 1
    ):
        raise ConfigError(f"{where}.trials: expected a positive integer, got {trials!r}")
    at = value.get("at", {})
    if not isinstance(at, dict) or any(isinstance(v, (list, dict)) for v in at.values()):
        raise ConfigError(
            f"{where}.at: expected a mapping of axis keys to one value each, e.g. "
            f"{{delay: 256}}, got {at!r}"
        )
    extend = value.get("extend", True)
    if not isinstance(extend, bool):
        raise ConfigError(f"{where}.extend: expected true or false, got {extend!r}")
    return TuneSpec(
        grid, metric, seed, tuple(at.items()), tuple(per_model), trials, tie_break, extend
    )


def _grid(values: dict[str, Any], where: str, model_config: type | None) -> Grid:
    """``{key: [values]}`` -> Grid. A key is a train key (``lr`` or ``train.lr``) or a model
    key (``model.norm_first``: a field of ``model_config`` when one model owns the key)."""
    train_keys = sorted(f.name for f in fields(TrainConfig))
    grid = []
    for raw, vals in values.items():
        key = raw.removeprefix("train.")
        if key.startswith("model."):
            name = key.removeprefix("model.")
            known = sorted(f.name for f in fields(model_config)) if model_config else None
            if known is not None and name not in known:
                raise ConfigError(f"{where}: unknown model key {name!r}; valid: {', '.join(known)}")
        elif key not in train_keys:
            raise ConfigError(
                f"{where}: unknown key {raw!r}; valid keys: {', '.join(TUNE_KEYS)}, a model "
                f"name with its own keys, model.KEY, or a train key ({', '.join(train_keys)})"
            )
        if not isinstance(vals, list) or not vals or len(set(map(repr, vals))) != len(vals):
            raise ConfigError(f"{where}.{raw}: expected a non-empty list of distinct values")
        grid.append((key, tuple(vals)))
    return tuple(grid)


def check_trials(tune: TuneSpec, models: tuple[str, ...], where: str) -> None:
    """Every model of a block must get the same number of trials."""
    sizes = {m: tune.size(m) for m in models}
    if tune.trials is None and len(set(sizes.values())) > 1:
        shown = ", ".join(f"{m} {n}" for m, n in sizes.items())
        raise ConfigError(
            f"{where}: the models' grids differ in size ({shown}): set tune.trials to at most "
            f"{min(sizes.values())} so that every model gets the same number of trials"
        )
    short = {m: n for m, n in sizes.items() if tune.trials is not None and n < tune.trials}
    if short:
        shown = ", ".join(f"{m} {n}" for m, n in short.items())
        raise ConfigError(
            f"{where}: tune.trials={tune.trials} is more than these models' grids hold "
            f"({shown}): lower trials or widen their grids"
        )


def metric_value(row: dict[str, Any], metric: str) -> float | None:
    """``metric`` of a sweep row; None for a failed cell or a missing value."""
    if row.get("status") != "ok":
        return None
    if metric == "dev_steps_to_target":
        return steps_to_dev_target(row)
    names = ("dev_answer_acc", "dev_token_acc") if metric == "dev_acc" else (metric,)
    for name in names:
        value = row.get(name)
        if isinstance(value, (int, float)) and not math.isnan(value):
            return float(value)
    return None


def steps_to_dev_target(row: dict[str, Any]) -> float | None:
    """Steps to the row's dev target: its first ``eval_every`` dev point (or budget rung)
    whose teacher-forced token accuracy reaches ``target_value``; ``inf`` when none does,
    None without a dev curve or a target."""
    target = row.get("target_value")
    points = dev_points(row)
    if not points or not isinstance(target, (int, float)):
        return None
    return first_step_at(points, target)


def best_index(values: list[float | None], metric: str) -> int | None:
    """Index of the best value for ``metric`` (None counts as worst; ties: the earliest)."""
    scored = [(i, v) for i, v in enumerate(values) if v is not None]
    if not scored:
        return None
    sign = 1.0 if METRICS[metric] == "max" else -1.0
    return max(scored, key=lambda iv: (sign * iv[1], -iv[0]))[0]


@dataclass(frozen=True)
class Choice:
    """A sweep's outcome for one model and setting: the chosen point, each point's record,
    the tie it settled (None: a clear winner) and why it is noise (``at_floor``)."""

    point: dict[str, Any]
    record: list[dict[str, Any]]
    tie: dict[str, Any] | None = None
    at_floor: str | None = None


def choose(
    points: list[dict[str, Any]],
    rows: list[dict[str, Any] | None],
    tune: TuneSpec,
    evidence: Evidence | None = None,
) -> Choice | None:
    """The best grid point on dev, or None while a sweep cell has no row or all failed.

    ``rows[i]`` is the latest row of ``points[i]``'s cell; a failed or diverged point counts
    as worst. Points whose dev interval (``evidence``) overlaps the best one's, or whose value
    equals it, tie with it: ``tune.tie_break`` decides among them, then grid order.
    """
    if any(r is None for r in rows):
        return None
    shown = [evidence(r, tune.metric) if evidence else None for r in rows]
    record = [
        {
            **point,
            tune.metric: metric_value(row, tune.metric),
            **({"interval": ev["interval"]} if ev else {}),
            "status": row["status"],
            "key": row["key"],
            "wall_s": row.get("wall_s"),
        }
        for point, row, ev in zip(points, rows, shown, strict=True)
    ]
    values = [r[tune.metric] for r in record]
    best = best_index(values, tune.metric)
    if best is None:
        return None
    tied = [i for i, v in enumerate(values) if v is not None and _ties(i, best, values, shown)]
    tie = None
    if len(tied) > 1:
        by = tune.tie_break if tune.tie_break != tune.metric else None
        second = [metric_value(rows[i], by) if by else None for i in tied]  # type: ignore[arg-type]
        pick = best_index(second, by) if by else None
        best = tied[pick if pick is not None else 0]
        tie = {"points": [points[i] for i in tied], "broken_by": by if pick is not None
               else "grid order"}  # fmt: skip
    return Choice(points[best], record, tie, _at_floor(values, shown, tune.metric))


def _ties(i: int, best: int, values: list, shown: list) -> bool:
    """Point ``i`` ties with ``best``: the same value, or overlapping dev intervals."""
    if i == best or values[i] == values[best]:
        return True
    a, b = shown[i], shown[best]
    if not a or not b:
        return False
    return a["interval"][0] <= b["interval"][1] and b["interval"][0] <= a["interval"][1]


def _at_floor(values: list, shown: list, metric: str) -> str | None:
    """Why every point is at its floor (its dev interval never clears it), else None."""
    floors = [ev for ev in shown if ev and ev.get("floor") is not None]
    if not floors or len(floors) < sum(v is not None for v in values):
        return None
    if any(ev["interval"][0] > ev["floor"] for ev in floors):
        return None
    top = max(ev["interval"][1] for ev in floors)
    return (f"{metric} never clears its floor ({floors[0]['floor']:.3g}) at any grid point "
            f"(highest interval end {top:.3g}): the choice is noise")  # fmt: skip


def tuned_record(
    tune: TuneSpec,
    choice: Choice,
    train: TrainConfig,
    model: str | None = None,
    extended: dict[str, list[Any]] | None = None,
) -> dict[str, Any]:
    """What a seed cell's row says about how its values were chosen."""
    chosen, record = choice.point, choice.record
    wall = [r["wall_s"] for r in record if isinstance(r.get("wall_s"), (int, float))]
    notes: dict[str, Any] = {"tie": choice.tie} if choice.tie else {}
    if extended:
        notes["extended"] = extended
    if choice.at_floor:
        notes["at_floor"] = choice.at_floor
    return {
        **tune.describe(model),
        "chosen": chosen,
        "dev_metric": record,
        **notes,
        "at_edge": at_edge(tune, chosen, model),
        "budget": {
            "cells": len(record),
            "steps": train.steps,
            "batch_size": train.batch_size,
            "sweep_wall_s": round(sum(wall), 3),
        },
    }


def extendable(values: Any) -> bool:
    """Whether a grid can extend past its ends: 3 or more numeric (not boolean) values."""
    return (
        isinstance(values, (list, tuple))
        and len(values) >= 3
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    )


def beyond_edge(values: tuple[Any, ...], value: Any) -> Any:
    """The next value past ``value`` at an end of a numeric grid of 3+ values, spaced as the
    grid's last step there (geometric for positive values, else arithmetic; an integer grid
    stays integer); None when ``value`` is not at an end or nothing valid lies beyond it."""
    if not extendable(values) or value not in (values[0], values[-1]):
        return None
    ordered = sorted(values)
    a, b = (ordered[1], ordered[0]) if value == ordered[0] else (ordered[-2], ordered[-1])
    nxt = b * b / a if all(v > 0 for v in values) else b + (b - a)
    nxt = round(nxt) if all(isinstance(v, int) for v in values) else float(f"{nxt:.6g}")
    return None if nxt in values or nxt <= 0 else nxt


def extension(tune: TuneSpec, choices: list[Choice], models: list[str]) -> dict[str, list[Any]]:
    """Shared grid keys some model chose at an edge -> the values one step beyond (empty
    when no choice is at an edge or ``tune.extend`` is off)."""
    if not tune.extend:
        return {}
    out: dict[str, list[Any]] = {}
    for choice, model in zip(choices, models, strict=True):
        for key, values in tune.grid_of(model):
            if key not in tune.keys:
                continue  # a model's own knob: extending it would give that model more trials
            nxt = beyond_edge(values, choice.point[key])
            if nxt is not None and nxt not in out.get(key, []):
                out.setdefault(key, []).append(nxt)
    return out


def extension_points(choice: Choice, ext: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """A model's extra trials: its own choice moved to each value beyond an edge (one per
    value, the same count for every model)."""
    return [{**choice.point, key: v} for key, values in ext.items() for v in values]


def at_edge(tune: TuneSpec, chosen: dict[str, Any], model: str | None = None) -> list[str]:
    """Swept keys whose chosen value is the first or last of a grid of 3 or more values."""
    return edge_keys(dict(tune.grid_of(model)), chosen)


def edge_keys(grid: dict[str, Any], chosen: dict[str, Any]) -> list[str]:
    """Keys of ``grid`` (key -> values) whose ``chosen`` value is at a grid of 3+ values' edge."""
    return [k for k, vals in grid.items() if len(vals) >= 3 and chosen[k] in (vals[0], vals[-1])]


def without_seed_filter(only: list[str]) -> list[str]:
    """``--only`` filters that apply to sweep cells: a seed's sweep runs at the tuning seed."""
    return [o for o in only if not o.strip().startswith("seed=")]
