"""Training config and strict ``section.key=value`` overrides onto frozen dataclasses."""

from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass, fields, replace
from typing import Any

import yaml

from checks import check_values

PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")


@dataclass(frozen=True)
class TrainConfig:
    """How a cell trains and is measured. A matrix may give each model its own values (a
    paper's recipe) or tune them per model with an equal budget (``tune:``,
    bench/matrix/tuning.py)."""

    steps: int = 600
    """Optimiser steps."""
    batch_size: int = 64
    """Sequences per batch."""
    lr: float = 1e-3
    """Peak learning rate, reached after ``warmup`` steps, then shaped by ``schedule``."""
    warmup: int = 100
    """Linear learning-rate warm-up steps (the paper's schedule, with an explicit peak)."""
    optimizer: str = "adamw"
    """Optimiser: adamw, adam (L2 weight decay), sgd, or nesterov (SGD, Nesterov momentum)."""
    betas: tuple[float, float] = (0.9, 0.98)
    """Adam/AdamW betas (the paper: 0.9, 0.98)."""
    eps: float = 1e-9
    """Adam/AdamW epsilon (the paper: 1e-9)."""
    momentum: float = 0.0
    """SGD momentum (nesterov needs > 0; Gehring et al.: 0.99)."""
    weight_decay: float = 0.0
    """Weight decay (decoupled for adamw, L2 for the others)."""
    schedule: str = "inverse_sqrt"
    """After warm-up: inverse_sqrt (1/sqrt(step), Vaswani), constant, linear (to 0 at the
    last step), or plateau (constant, times ``plateau_factor`` whenever the dev loss, taken
    every ``eval_every`` steps, stops improving for ``plateau_patience`` evaluations)."""
    plateau_factor: float = 0.5
    """Learning-rate factor on a dev-loss plateau (Luong: 0.5, Gehring: 0.1)."""
    plateau_patience: int = 0
    """Evaluations without dev-loss improvement tolerated before the learning rate drops."""
    label_smoothing: float = 0.0
    """Label smoothing of the cross-entropy (the paper: 0.1)."""
    clip: float = 1.0
    """Gradient norm clipping; 0 disables it (Luong: 5, Gehring: 0.1)."""
    eval_every: int = 0
    """Dev loss and teacher-forced accuracy every this many steps (the dev curve); 0: only
    the full dev evaluation at the end."""
    precision: str = "32-true"
    """Lightning precision: one of 32-true, bf16-mixed, 16-mixed."""
    timing_warmup: int = 10
    """Steps excluded from speed measurement (reported separately as warm-up time)."""
    timing_blocks: int = 10
    """Timed steps are split into this many blocks; speed is the median over blocks."""
    log_every: int = 10
    """Loss is recorded (results curve, W&B) every this many steps."""
    eval_batch_size: int = 128
    """Batch size for greedy decoding at evaluation."""
    target_acc: float = 0.99
    """Time to target: first logged step whose teacher-forced token accuracy reaches this."""
    stop_at_target: bool = False
    """End training at the first dev evaluation (every ``eval_every`` steps) whose
    teacher-forced token accuracy reaches ``target_acc``: for cells judged by their steps
    to target, the rest of the budget changes no evidence (rungs after the stop keep the
    stopped model's dev outcomes) and costs time."""

    def __post_init__(self) -> None:
        counts = ("steps", "batch_size", "log_every", "eval_batch_size", "timing_blocks")
        check_values(self, "train", **dict.fromkeys(counts, ">= 1"))
        check_values(self, "train", warmup=">= 0", timing_warmup=">= 0", lr="> 0")
        rest = ("clip", "weight_decay", "eval_every", "plateau_patience")
        check_values(self, "train", **dict.fromkeys(rest, ">= 0"))
        self._check_optimiser()
        check_values(self, "train", target_acc="(0, 1]")
        if self.stop_at_target and self.eval_every == 0:
            raise ValueError(
                "train.stop_at_target stops at a dev evaluation taken every train.eval_every "
                "steps: set train.eval_every > 0"
            )
        check_values(self, "train", label_smoothing="[0, 1)")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"train.precision={self.precision!r} is not one of: {', '.join(PRECISIONS)}"
            )

    def _check_optimiser(self) -> None:
        """Optimiser and schedule choices and their numeric ranges."""
        for name, choices in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES)):
            if getattr(self, name) not in choices:
                raise ValueError(
                    f"train.{name}={getattr(self, name)!r} is not one of: {', '.join(choices)}"
                )
        betas = self.betas
        if isinstance(betas, (list, tuple)) and len(betas) == 2:
            try:
                betas = tuple(float(b) for b in betas)
            except (TypeError, ValueError):
                betas = None
        if not isinstance(betas, tuple) or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"train.betas must be two numbers in [0, 1), got {self.betas!r}")
        object.__setattr__(self, "betas", betas)  # a YAML list becomes a tuple
        check_values(self, "train", eps="> 0", momentum="[0, 1)")
        if self.optimizer == "nesterov" and self.momentum <= 0:
            raise ValueError("train.optimizer=nesterov needs train.momentum > 0 (Gehring: 0.99)")
        check_values(self, "train", plateau_factor="(0, 1)")
        if self.schedule == "plateau" and self.eval_every == 0:
            raise ValueError(
                "train.schedule=plateau watches the dev loss taken every train.eval_every "
                "steps: set train.eval_every > 0"
            )


OPTIMIZERS = ("adamw", "adam", "sgd", "nesterov")
SCHEDULES = ("inverse_sqrt", "constant", "linear", "plateau")
STRATEGIES = ("auto", "ddp")


@dataclass(frozen=True)
class TrainerConfig:
    """Where a cell trains: devices, nodes and the Lightning strategy (DDP for multi-device)."""

    devices: int = 1
    """Devices per node (GPUs, or CPU processes with the gloo backend)."""
    num_nodes: int = 1
    """Nodes (launch with torchrun or under SLURM, as Lightning documents)."""
    strategy: str = "auto"
    """Lightning strategy: auto (one device) or ddp."""

    def __post_init__(self) -> None:
        check_values(self, "trainer", devices=">= 1", num_nodes=">= 1")
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"trainer.strategy={self.strategy!r} is not one of: {', '.join(STRATEGIES)}"
            )
        if self.devices * self.num_nodes > 1 and self.strategy != "ddp":
            raise ValueError(
                "more than one device needs trainer.strategy=ddp (trainer.devices="
                f"{self.devices} x trainer.num_nodes={self.num_nodes})"
            )

    @property
    def world_size(self) -> int:
        return self.devices * self.num_nodes


class ConfigError(ValueError):
    """Bad configuration input; the message names the bad value and the valid choices."""


INT_LIMIT = 2**31 - 1  # no knob needs more; larger values overflow deeper code (torch, numpy)


def check_number(value: Any, where: str) -> Any:
    """``value`` if it is not a number or a finite one of sane magnitude, else ConfigError.

    NaN and +-inf compare false against every bound a config checks, so they are refused
    here, at parse time, for every float of every config (and matrix-level numbers).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    if isinstance(value, int) and abs(value) > INT_LIMIT:
        raise ConfigError(f"{where} must be at most {INT_LIMIT:,} in magnitude, got {value!r}")
    return value


def _coerce(value: Any, kind: Any, where: str) -> Any:
    """Check/convert a parsed value to a dataclass field type (int, float, bool, str)."""
    if isinstance(kind, str):  # postponed annotations
        kind = {"int": int, "float": float, "bool": bool, "str": str}.get(kind, kind)
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return check_number(value, where)
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return check_number(_float(value, where), where)
        if isinstance(value, str):  # YAML 1.1 reads "3e-4" as a string
            try:
                number = float(value)
            except ValueError:
                pass
            else:
                return check_number(number, where)
    elif kind is str:
        return value if isinstance(value, str) else str(value)
    else:
        return value
    name = getattr(kind, "__name__", str(kind))
    raise ConfigError(f"{where}: expected {name}, got {value!r}")


SEED_MAX = 2**32 - 1  # numpy's and Lightning's seed range is [0, 2**32 - 1]


def check_seed(seed: Any, where: str = "seed") -> int:
    """``seed`` if it is an integer in [0, 2**32 - 1], else ConfigError naming it."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise ConfigError(f"{where} must be an integer in [0, {SEED_MAX}], got {seed!r}")
    return seed


def _float(value: int | float, where: str) -> float:
    try:
        return float(value)
    except OverflowError:  # an int too large for a float
        raise ConfigError(f"{where} must be a finite number, got {value!r}") from None


def apply_values(cfg: Any, values: dict[str, Any], section: str) -> Any:
    """Return ``cfg`` with ``values`` replaced; unknown keys and wrong types raise ConfigError."""
    known = {f.name: f for f in fields(cfg)}
    hints = typing.get_type_hints(type(cfg))
    changes = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(
                f"unknown key {section}.{key}; valid keys: "
                + ", ".join(f"{section}.{k}" for k in sorted(known))
            )
        kind = hints.get(key, known[key].type)
        if isinstance(kind, types.UnionType):
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
        changes[key] = _coerce(value, kind, f"{section}.{key}")
    try:
        return replace(cfg, **changes)
    except ValueError as err:
        raise ConfigError(str(err)) from err


def group_overrides(items: list[str], section_names: list[str]) -> dict[str, dict[str, Any]]:
    """``section.key=value`` strings -> {section: {key: value}}; values parsed as YAML scalars."""
    grouped: dict[str, dict[str, Any]] = {name: {} for name in section_names}
    given: dict[str, str] = {}  # section.key -> the raw value first given
    for item in items:
        key, sep, raw = item.partition("=")
        section, dot, field = key.strip().partition(".")
        if not sep or not dot or not field:
            raise ConfigError(
                f"bad --set {item!r}: expected SECTION.KEY=VALUE with SECTION one of: "
                + ", ".join(section_names)
            )
        if section not in grouped:
            raise ConfigError(
                f"unknown section {section!r} in --set {item!r}; choose one of: "
                + ", ".join(section_names)
            )
        if f"{section}.{field}" in given:
            raise ConfigError(
                f"--set {section}.{field} is given twice ({given[f'{section}.{field}']} and "
                f"{raw.strip()}); give it once"
            )
        given[f"{section}.{field}"] = raw.strip()
        try:
            grouped[section][field] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as err:
            raise ConfigError(f"--set {item!r}: value is not valid YAML ({err})") from err
    return grouped


def apply_sections(values: dict[str, dict[str, Any]], sections: dict[str, Any]) -> dict[str, Any]:
    """Apply {section: {key: value}} onto the configs in ``sections`` (name -> config)."""
    unknown = sorted(set(values) - set(sections))
    if unknown:
        raise ConfigError(f"unknown section {unknown[0]!r}; choose one of: {', '.join(sections)}")
    return {name: apply_values(cfg, values.get(name, {}), name) for name, cfg in sections.items()}


def parse_overrides(items: list[str], sections: dict[str, Any]) -> dict[str, Any]:
    """Apply ``section.key=value`` strings to the configs in ``sections`` (name -> config)."""
    return apply_sections(group_overrides(items, list(sections)), sections)
