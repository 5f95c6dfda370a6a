"""Matrix files: strict YAML -> frozen dataclasses -> the list of cells to run.

```yaml
name: quick
description: what this matrix is for
models: [transformer, lstm, convs2s]
seeds: [0, 1]
equal_params: null          # or N: size every model to N parameters (+-10%)
timeout_s: 600              # per cell
sweep_jobs: 2               # optional: tuning-sweep cells run at once (never speed evidence)
train:                      # values for every cell; a list is an axis
  steps: 300
  lstm: {lr: 0.003}         # a model name: that model's own train values
model:                      # per-model values
  lstm: {input_feeding: false}
tune: {lr: [1e-3, 3e-3], metric: dev_loss, seed: 0}   # optional: bench/matrix/tuning.py
tasks:                      # one block per task setting
  - name: copy
    task: {length: [16, 32]}        # axis: one cell per length
    train: {steps: 200}             # overrides the matrix-wide train values
    model: {transformer: {n_heads: 2}}
    models: [transformer, lstm]     # optional subset; seeds too
    tune: null                      # a block may tune differently, or not at all
  - name: copy
    task: {delay: [64, 256]}
    tune: {lr: [1e-3, 1e-2], metric: dev_acc, at: {delay: 256}}  # sweep at 256, use everywhere
```
Train values apply in this order, later winning: matrix-wide, matrix-wide for the model,
the block's, the block's for the model; a tuned key takes the chosen value.
Cells are ordered seed-major, so an interrupted matrix has covered every model and task
once before it repeats a seed. A block with ``tune`` first has sweep cells (one per grid
point and model, at the tuning seed, for each setting of the block's axes or only the one
``tune.at`` names); its seed cells exist once their sweep has rows.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.cell.config import ConfigError, TrainConfig, check_number
from bench.cell.spec import MODES, SECTIONS, CellSpec, setting_label, spec_from_values
from bench.matrix import strict_yaml
from bench.matrix.tuning import (
    Choice,
    Evidence,
    TuneSpec,
    check_trials,
    choose,
    extension,
    extension_points,
    parse_tune,
    tuned_record,
)
from models import CONTROLS, MODELS

PRESETS_DIR = Path(__file__).resolve().parents[2] / "matrices"  # top level, no package
TOP_KEYS = (
    "name",
    "description",
    "models",
    "seeds",
    "equal_params",
    "timeout_s",
    "sweep_jobs",
    "mode",
    "train",
    "model",
    "tune",
    "tasks",
)
BLOCK_KEYS = ("name", "models", "seeds", "equal_params", "task", "train", "model", "tune")


@dataclass(frozen=True)
class TaskBlock:
    """One task setting of a matrix: its axes and per-model values."""

    name: str
    models: tuple[str, ...]
    seeds: tuple[int, ...]
    equal_params: int | None
    values: dict[str, dict[str, Any]]  # section -> key -> value or list (axis); per model below
    model_values: dict[str, dict[str, Any]]  # model name -> key -> value or list
    train_model_values: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    tune: TuneSpec | None = None

    def sections(self, model: str) -> dict[str, dict[str, Any]]:
        """{section: {key: value or axis list}} of ``model`` in this block."""
        return {
            "task": self.values.get("task", {}),
            "train": {**self.values.get("train", {}), **self.train_model_values.get(model, {})},
            "model": {**self.values.get("model", {}), **self.model_values.get(model, {})},
        }


@dataclass(frozen=True)
class Waiting:
    """A tuned seed cell whose values are not chosen yet (its sweep has no complete rows)."""

    model: str
    task: str
    seed: int
    tune: TuneSpec
    reason: str
    stand_in: CellSpec | None = None  # the cell at the grid's first point: its config and cost

    def label(self) -> str:
        keys = ", ".join(self.tune.keys)
        where = setting_label(self.stand_in.task_cfg) if self.stand_in is not None else ""
        return f"{self.model} {self.task}{where} seed {self.seed} ({keys}: chosen on dev)"


@dataclass
class Plan:
    """A matrix's cells by stage: sweep cells, runnable seed (and shared-recipe) cells, and
    tuned seed cells still waiting for their sweep."""

    sweep: list[CellSpec]
    seeds: list[CellSpec]
    waiting: list[Waiting]


@dataclass(frozen=True)
class Matrix:
    name: str
    description: str
    source: str  # preset name or file path it came from
    timeout_s: float
    blocks: tuple[TaskBlock, ...]
    mode: str = "speed"
    sweep_jobs: int = 1
    """Tuning-sweep cells run at once, the cores split between them. A sweep row only
    chooses values on its dev metric, counted in steps, and is never speed evidence, so
    sharing the machine costs it nothing; the seed cells still run ``--jobs`` at a time."""

    def cells(self, device: str = "auto") -> list[CellSpec]:
        """Sweep cells, then every cell runnable before any sweep result exists."""
        plan = self.plan(device)
        return plan.sweep + plan.seeds

    def plan(
        self,
        device: str = "auto",
        latest: dict[str, dict] | None = None,
        evidence: Evidence | None = None,
    ) -> Plan:
        """Every cell by stage, validated (bad values raise ConfigError naming their YAML
        place). ``latest`` (key -> latest row) resolves tuned seed cells from their sweep;
        ``evidence`` gives a sweep row's dev interval (ties, floors: bench/matrix/tuning.py)."""
        latest = latest or {}
        jobs, sweep, waiting = [], [], []
        base = self._base_choices(device, latest, evidence)
        for b_i, block in enumerate(self.blocks):
            for model in block.models:
                where = f"{self.source}: tasks[{b_i}] ({block.name}), model {model}"
                for c_i, combo in enumerate(_product(block.sections(model))):
                    if block.tune is None:
                        jobs += [(seed, b_i, c_i, model, combo, None) for seed in block.seeds]
                        continue
                    setting = _sweep_setting(block, model, combo, f"{where}: tune.at")
                    group = base[(b_i, _task_key(setting))]
                    cells = list(group.cells_of(model))
                    points = block.tune.points(model)
                    ext: dict[str, list] = {}
                    picked = group.choice_of(model) if group.complete else None
                    if group.complete:
                        ext = extension(block.tune, group.choices, group.models)
                    if ext:  # choose again over the grid and its extension
                        more = extension_points(group.choice_of(model), ext)
                        cells += self._sweep(block, model, setting, device, where, more)
                        points += more
                        rows = [latest.get(c.key) for c in cells]
                        picked = choose(points, rows, block.tune, evidence)
                    sweep += cells
                    if picked is None:
                        stand_in = _with(combo, points[0])
                        reason = (
                            "waiting for its sweep (or every sweep cell failed)"
                            if group.complete or group.choice_of(model) is None
                            else "waiting for the other models' sweeps (the grid may extend)"
                        )
                        waiting += [  # built now, so a bad seed-cell config fails before any run
                            Waiting(
                                model, block.name, seed, block.tune, reason,
                                self._spec(block, model, stand_in, seed, device, where),
                            )
                            for seed in block.seeds
                        ]  # fmt: skip
                        continue
                    tuned = tuned_record(block.tune, picked, cells[0].train, model, ext)
                    jobs += [
                        (seed, b_i, c_i, model, _with(combo, picked.point), tuned)
                        for seed in block.seeds
                    ]
        # seed-major; within a seed and block, a setting's models run back to back (in the
        # block's model order), so their timings pair (reports/claims/paired.py)
        jobs.sort(key=lambda j: (j[0], j[1], j[2]))
        seeds = []
        for seed, b_i, _, model, combo, tuned in jobs:
            where = f"{self.source}: tasks[{b_i}] ({self.blocks[b_i].name}), model {model}"
            cell = self._spec(self.blocks[b_i], model, combo, seed, device, where)
            seeds.append(dataclasses.replace(cell, tuned=tuned) if tuned else cell)
        if not sweep and not seeds and not waiting:
            raise ConfigError(f"{self.source}: the matrix expands to 0 cells")
        return Plan(_unique(sweep), _unique(seeds), waiting)

    def _base_choices(
        self, device: str, latest: dict[str, dict], evidence: Evidence | None
    ) -> dict[tuple[int, str], SweepGroup]:
        """Per tuned block and task setting: each model's choice on its own grid (before any
        extension), so that an edge choice of one model extends the grid for all."""
        groups: dict[tuple[int, str], SweepGroup] = {}
        for b_i, block in enumerate(self.blocks):
            if block.tune is None:
                continue
            for model in block.models:
                where = f"{self.source}: tasks[{b_i}] ({block.name}), model {model}"
                check_trials(block.tune, block.models, f"{where}: tune")
                for combo in _product(block.sections(model)):
                    setting = _sweep_setting(block, model, combo, f"{where}: tune.at")
                    group = groups.setdefault((b_i, _task_key(setting)), SweepGroup())
                    if model in group.models:
                        continue  # another combo of this model sweeps the same setting
                    cells = self._sweep(block, model, setting, device, where)
                    rows = [latest.get(c.key) for c in cells]
                    choice = choose(block.tune.points(model), rows, block.tune, evidence)
                    group.add(model, choice, cells)
        return groups

    def _sweep(
        self,
        block: TaskBlock,
        model: str,
        combo: dict,
        device: str,
        where: str,
        points: list[dict[str, Any]] | None = None,
    ) -> list[CellSpec]:
        """One cell per grid point of ``block.tune`` (or per extension point), at the
        tuning seed."""
        assert block.tune is not None
        extra = {} if points is None else {"extension": True}
        points = block.tune.points(model) if points is None else points
        for key, _ in block.tune.grid_of(model):
            section, name = key.split(".", 1) if key.startswith("model.") else ("train", key)
            if _is_axis(section, name, block.sections(model)[section].get(name)):
                raise ConfigError(f"{where}: {section}.{name} is both an axis and tuned; pick one")
        return [
            dataclasses.replace(
                self._spec(block, model, _with(combo, point), block.tune.seed, device, where),
                sweep={**block.tune.describe(model), "point": point, **extra},
            )
            for point in points
        ]

    def _spec(
        self, block: TaskBlock, model: str, combo: dict, seed: int, device: str, where: str
    ) -> CellSpec:
        try:
            return spec_from_values(
                model, block.name, combo, seed, device, block.equal_params, self.mode
            )
        except ConfigError as err:
            raise ConfigError(f"{where}: {err}") from err


@dataclass
class SweepGroup:
    """The models sweeping one task setting of a block, and their choices on their own
    grids (None while a sweep has no rows)."""

    models: list[str] = dataclasses.field(default_factory=list)
    choices: list[Choice | None] = dataclasses.field(default_factory=list)
    cells: list[list[CellSpec]] = dataclasses.field(default_factory=list)  # each model's grid

    def add(self, model: str, choice: Choice | None, cells: list[CellSpec]) -> None:
        self.models.append(model)
        self.choices.append(choice)
        self.cells.append(cells)

    def cells_of(self, model: str) -> list[CellSpec]:
        return self.cells[self.models.index(model)]

    @property
    def complete(self) -> bool:
        return all(c is not None for c in self.choices)

    def choice_of(self, model: str) -> Choice | None:
        return self.choices[self.models.index(model)]


def _task_key(setting: dict[str, dict[str, Any]]) -> str:
    return repr(sorted(setting.get("task", {}).items()))


def _sweep_setting(
    block: TaskBlock, model: str, combo: dict[str, dict[str, Any]], where: str
) -> dict[str, dict[str, Any]]:
    """The setting whose sweep chooses ``combo``'s values: ``combo`` itself, or ``combo`` with
    the axes ``block.tune.at`` names set to its values."""
    assert block.tune is not None
    sections = block.sections(model)
    setting = {s: dict(kv) for s, kv in combo.items()}
    all_axes = [(s, k, v) for s, kv in sections.items() for k, v in kv.items() if _is_axis(s, k, v)]
    for key, value in block.tune.at:
        axes = {s: v for s, k, v in all_axes if k == key}
        if not axes:
            names = sorted(k for _, k, _ in all_axes)
            raise ConfigError(
                f"{where}: {key!r} is not an axis of this block; its axes: "
                + (", ".join(names) or "none (tune.at needs an axis, e.g. delay: [64, 256])")
            )
        (section, values), *_ = axes.items()
        if value not in values:
            raise ConfigError(
                f"{where}.{key}: {value!r} is not one of the axis's values: "
                + ", ".join(map(str, values))
            )
        setting[section][key] = value
    return setting


def _with(combo: dict[str, dict[str, Any]], point: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``combo`` with a grid point's (or the chosen) values set: ``model.KEY`` in the model
    section, every other key in train."""
    model = {k.removeprefix("model."): v for k, v in point.items() if k.startswith("model.")}
    train = {k: v for k, v in point.items() if not k.startswith("model.")}
    return {
        **combo,
        "train": {**combo.get("train", {}), **train},
        "model": {**combo.get("model", {}), **model},
    }


def _unique(cells: list[CellSpec]) -> list[CellSpec]:
    seen: set[str] = set()
    out = []
    for cell in cells:
        if cell.key not in seen:
            seen.add(cell.key)
            out.append(cell)
    return out


def _product(sections: dict[str, dict[str, Any]]) -> list[dict[str, dict[str, Any]]]:
    """Expand list values (axes) into one {section: {key: scalar}} per combination."""
    axes = [
        (s, k, v if _is_axis(s, k, v) else [v]) for s, kv in sections.items() for k, v in kv.items()
    ]
    combos = []
    for values in itertools.product(*(vals for _, _, vals in axes)):
        combo: dict[str, dict[str, Any]] = {s: {} for s in sections}
        for (s, k, _), v in zip(axes, values, strict=True):
            combo[s][k] = v
        combos.append(combo)
    return combos


# train keys whose value is itself a list (betas: [0.9, 0.98]); an axis of them is a list of lists
VECTOR_KEYS = {"train": {f.name for f in dataclasses.fields(TrainConfig) if "tuple" in str(f.type)}}


def _is_axis(section: str, key: str, value: Any) -> bool:
    if not isinstance(value, list):
        return False
    if key in VECTOR_KEYS.get(section, ()):
        return bool(value) and all(isinstance(v, list) for v in value)
    return True


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def load_matrix(ref: str) -> Matrix:
    """Load a preset by name or a matrix file by path; errors name the YAML place."""
    path = Path(ref)
    if not (path.suffix in (".yaml", ".yml") or path.exists()):
        path = PRESETS_DIR / f"{ref}.yaml"
        if not path.exists():
            raise ConfigError(
                f"unknown matrix {ref!r}: not a file and not a preset; presets: "
                + ", ".join(preset_names())
            )
    if not path.exists():
        raise ConfigError(f"matrix file {ref} does not exist")
    try:
        data = strict_yaml.load(path.read_text(encoding="utf-8"))
    except strict_yaml.DuplicateKeyError as err:
        raise ConfigError(f"{path}: {err}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    return parse_matrix(data, source=ref)


def parse_matrix(data: Any, source: str) -> Matrix:
    """Strictly parse a matrix mapping (see the module docstring for the format)."""
    top = _mapping(data, source, TOP_KEYS)
    default = sorted(
        set(MODELS) - CONTROLS
    )  # controls (lstm_uni, convs2s_last) run only when named
    models = _names(top.get("models", default), f"{source}: models", MODELS)
    seeds = _ints(top.get("seeds", [0]), f"{source}: seeds")
    equal = _optional_int(top.get("equal_params"), f"{source}: equal_params")
    timeout = top.get("timeout_s", 1800)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise ConfigError(f"{source}: timeout_s must be a positive number, got {timeout!r}")
    check_number(timeout, f"{source}: timeout_s")
    base_train, base_train_model = _train_values(top.get("train", {}), f"{source}: train")
    base_model = _model_values(top.get("model", {}), f"{source}: model")
    base_tune = parse_tune(top.get("tune"), f"{source}: tune")
    blocks_data = top.get("tasks")
    if not isinstance(blocks_data, list) or not blocks_data:
        raise ConfigError(f"{source}: tasks must be a non-empty list of task blocks")
    blocks = []
    for i, raw in enumerate(blocks_data):
        where = f"{source}: tasks[{i}]"
        block = _mapping(raw, where, BLOCK_KEYS)
        if "name" not in block:
            raise ConfigError(f"{where}: missing 'name' (the task)")
        per_model = _model_values(block.get("model", {}), f"{where}.model")
        block_train, block_train_model = _train_values(block.get("train", {}), f"{where}.train")
        tune = parse_tune(block["tune"], f"{where}.tune") if "tune" in block else base_tune
        blocks.append(
            TaskBlock(
                name=str(block["name"]),
                models=_names(block.get("models", list(models)), f"{where}.models", MODELS),
                seeds=_ints(block.get("seeds", list(seeds)), f"{where}.seeds"),
                equal_params=_optional_int(
                    block.get("equal_params", equal), f"{where}.equal_params"
                ),
                values={
                    "task": _mapping(block.get("task", {}), f"{where}.task"),
                    "train": {**base_train, **block_train},
                },
                model_values={m: {**base_model.get(m, {}), **per_model.get(m, {})} for m in MODELS},
                train_model_values={
                    m: {
                        **{
                            k: v
                            for k, v in base_train_model.get(m, {}).items()
                            if k not in block_train
                        },
                        **block_train_model.get(m, {}),
                    }
                    for m in MODELS
                },
                tune=tune,
            )
        )
    mode = top.get("mode", "speed")
    if mode not in MODES:
        raise ConfigError(f"{source}: mode {mode!r} is not one of: {', '.join(MODES)}")
    sweep_jobs = top.get("sweep_jobs", 1)
    if not isinstance(sweep_jobs, int) or isinstance(sweep_jobs, bool) or sweep_jobs < 1:
        raise ConfigError(
            f"{source}: sweep_jobs must be a whole number of cells, at least 1, got {sweep_jobs!r}"
        )
    return Matrix(
        str(top.get("name", source)),
        str(top.get("description", "")),
        source,
        float(timeout),
        tuple(blocks),
        mode,
        sweep_jobs,
    )


def _mapping(value: Any, where: str, allowed: tuple[str, ...] | None = None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {value!r}")
    if allowed is not None:
        for key in value:
            if key not in allowed:
                raise ConfigError(f"{where}: unknown key {key!r}; valid keys: {', '.join(allowed)}")
    else:  # a values mapping: a list is an axis, and an empty one would make 0 cells
        for key, v in value.items():
            if v == []:
                raise ConfigError(f"{where}.{key}: empty axis [] (give at least one value)")
    return dict(value)


def _train_values(value: Any, where: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A ``train:`` mapping -> (values for every model, {model: its own values})."""
    train = _mapping(value, where)
    per_model = {k: train.pop(k) for k in list(train) if k in MODELS}
    return train, {m: _mapping(v, f"{where}.{m}") for m, v in per_model.items()}


def _model_values(value: Any, where: str) -> dict[str, dict[str, Any]]:
    per_model = _mapping(value, where, tuple(sorted(MODELS)))
    return {m: _mapping(v, f"{where}.{m}") for m, v in per_model.items()}


def _names(value: Any, where: str, registry: dict) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: expected a non-empty list, got {value!r}")
    for name in value:
        if name not in registry:
            raise ConfigError(
                f"{where}: unknown model {name!r}; choose one of: {', '.join(sorted(registry))}"
            )
    return tuple(value)


def _ints(value: Any, where: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise ConfigError(f"{where}: expected a list of integers, got {value!r}")
    return tuple(value)


def _optional_int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{where}: expected a positive integer or null, got {value!r}")
    return value


__all__ = [
    "Matrix",
    "Plan",
    "TaskBlock",
    "Waiting",
    "load_matrix",
    "parse_matrix",
    "preset_names",
    "SECTIONS",
]
