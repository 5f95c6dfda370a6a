"""Matrix files: strict YAML -> frozen dataclasses -> the list of cells to run.

```yaml
name: quick
description: what this matrix is for
models: [transformer, lstm, convs2s]
seeds: [0, 1]
equal_params: null          # or N: size every model to N parameters (+-10%)
timeout_s: 600              # per cell
train: {steps: 300}         # values for every cell; a list is an axis
model:                      # per-model values
  lstm: {input_feeding: false}
tasks:                      # one block per task setting
  - name: copy
    task: {length: [16, 32]}        # axis: one cell per length
    train: {steps: 200}             # overrides the matrix-wide train values
    model: {transformer: {n_heads: 2}}
    models: [transformer, lstm]     # optional subset; seeds too
```
Cells are ordered seed-major, so an interrupted matrix has covered every model and task
once before it repeats a seed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench import strict_yaml
from bench.cell import MODES, SECTIONS, CellSpec, spec_from_values
from bench.config import ConfigError, check_number
from models import MODELS

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
TOP_KEYS = (
    "name",
    "description",
    "models",
    "seeds",
    "equal_params",
    "timeout_s",
    "mode",
    "train",
    "model",
    "tasks",
)
BLOCK_KEYS = ("name", "models", "seeds", "equal_params", "task", "train", "model")


@dataclass(frozen=True)
class TaskBlock:
    """One task setting of a matrix: its axes and per-model values."""

    name: str
    models: tuple[str, ...]
    seeds: tuple[int, ...]
    equal_params: int | None
    values: dict[str, dict[str, Any]]  # section -> key -> value or list (axis); per model below
    model_values: dict[str, dict[str, Any]]  # model name -> key -> value or list


@dataclass(frozen=True)
class Matrix:
    name: str
    description: str
    source: str  # preset name or file path it came from
    timeout_s: float
    blocks: tuple[TaskBlock, ...]
    mode: str = "speed"

    def cells(self, device: str = "auto") -> list[CellSpec]:
        """Every cell, validated (bad values raise ConfigError naming their YAML place)."""
        jobs = []
        for b_i, block in enumerate(self.blocks):
            for model in block.models:
                sections = {
                    "task": block.values.get("task", {}),
                    "train": block.values.get("train", {}),
                    "model": {**block.values.get("model", {}), **block.model_values.get(model, {})},
                }
                for combo in _product(sections):
                    for seed in block.seeds:
                        jobs.append((seed, b_i, model, combo))
        jobs.sort(key=lambda j: (j[0], j[1]))  # seed-major, stable within a seed
        cells, seen = [], set()
        for seed, b_i, model, combo in jobs:
            where = f"{self.source}: tasks[{b_i}] ({self.blocks[b_i].name}), model {model}"
            try:
                cell = spec_from_values(
                    model,
                    self.blocks[b_i].name,
                    combo,
                    seed,
                    device,
                    self.blocks[b_i].equal_params,
                    self.mode,
                )
            except ConfigError as err:
                raise ConfigError(f"{where}: {err}") from err
            if cell.key not in seen:
                seen.add(cell.key)
                cells.append(cell)
        if not cells:
            raise ConfigError(f"{self.source}: the matrix expands to 0 cells")
        return cells


def _product(sections: dict[str, dict[str, Any]]) -> list[dict[str, dict[str, Any]]]:
    """Expand list values (axes) into one {section: {key: scalar}} per combination."""
    axes = [
        (s, k, v if isinstance(v, list) else [v])
        for s, kv in sections.items()
        for k, v in kv.items()
    ]
    combos = []
    for values in itertools.product(*(vals for _, _, vals in axes)):
        combo: dict[str, dict[str, Any]] = {s: {} for s in sections}
        for (s, k, _), v in zip(axes, values, strict=True):
            combo[s][k] = v
        combos.append(combo)
    return combos


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
    models = _names(top.get("models", sorted(MODELS)), f"{source}: models", MODELS)
    seeds = _ints(top.get("seeds", [0]), f"{source}: seeds")
    equal = _optional_int(top.get("equal_params"), f"{source}: equal_params")
    timeout = top.get("timeout_s", 1800)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise ConfigError(f"{source}: timeout_s must be a positive number, got {timeout!r}")
    check_number(timeout, f"{source}: timeout_s")
    base_train = _mapping(top.get("train", {}), f"{source}: train")
    base_model = _model_values(top.get("model", {}), f"{source}: model")
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
                    "train": {**base_train, **_mapping(block.get("train", {}), f"{where}.train")},
                },
                model_values={m: {**base_model.get(m, {}), **per_model.get(m, {})} for m in MODELS},
            )
        )
    mode = top.get("mode", "speed")
    if mode not in MODES:
        raise ConfigError(f"{source}: mode {mode!r} is not one of: {', '.join(MODES)}")
    return Matrix(
        str(top.get("name", source)),
        str(top.get("description", "")),
        source,
        float(timeout),
        tuple(blocks),
        mode,
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


__all__ = ["Matrix", "TaskBlock", "load_matrix", "parse_matrix", "preset_names", "SECTIONS"]
