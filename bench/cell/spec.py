"""What a cell is: a validated ``CellSpec`` (its hash, with the benchmark version, is the
cell key), built from names, ``--set`` overrides or matrix values, and the fields every row
of a cell carries. Imports no Lightning: ``matrix validate`` and ``status`` use it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

import torch

from bench.cell.config import (
    ConfigError,
    TrainConfig,
    TrainerConfig,
    apply_sections,
    check_seed,
    group_overrides,
)
from bench.cell.environment import git_state, versions
from bench.cell.key import bench_version, cell_key
from models import model_entry
from models.sizing import size_to_params
from tasks import build_task, task_entry

DEVICES = ("auto", "cpu", "cuda")
MODES = ("speed", "repro")


@dataclass(frozen=True)
class CellSpec:
    """Everything that defines a cell; its hash (with the benchmark version) is the cell key."""

    model: str
    task: str
    model_cfg: Any
    task_cfg: Any
    train: TrainConfig
    seed: int
    device: str  # resolved: "cpu" or "cuda"
    trainer: TrainerConfig = TrainerConfig()
    equal_params: int | None = None  # the parameter target model_cfg was sized to, if any
    mode: str = "speed"  # "speed", or "repro": deterministic kernels, one thread
    sweep: dict[str, Any] | None = None  # a tuning sweep cell: grid, metric, its grid point
    tuned: dict[str, Any] | None = None  # a tuned seed cell: how its values were chosen on dev

    def to_dict(self) -> dict[str, Any]:
        stage = {k: v for k, v in (("sweep", self.sweep), ("tuned", self.tuned)) if v is not None}
        return {
            "model": self.model,
            "task": self.task,
            "seed": self.seed,
            "device": self.device,
            "equal_params": self.equal_params,
            "mode": self.mode,
            "config": {
                "model": dataclasses.asdict(self.model_cfg),
                "task": dataclasses.asdict(self.task_cfg),
                "train": dataclasses.asdict(self.train),
                "trainer": dataclasses.asdict(self.trainer),
            },
            **stage,  # absent for ordinary cells, whose keys stay as they were
        }

    @property
    def key(self) -> str:
        return cell_key(self.to_dict())


def resolve_device(device: str) -> str:
    if device not in DEVICES:
        raise ConfigError(f"unknown device {device!r}; choose one of: {', '.join(DEVICES)}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "--device cuda was asked for but no CUDA device is available; use --device cpu or auto"
        )
    return device


SECTIONS = ("model", "task", "train", "trainer")


def make_spec(
    model: str,
    task: str,
    overrides: list[str] | None = None,
    seed: int = 0,
    device: str = "auto",
    mode: str = "speed",
) -> CellSpec:
    """Validate names, ``--set`` overrides and device; raise ConfigError before any training."""
    values = group_overrides(overrides or [], list(SECTIONS))
    return spec_from_values(model, task, values, seed, device, mode=mode)


def spec_from_dict(d: dict[str, Any]) -> CellSpec:
    """Rebuild a CellSpec from ``CellSpec.to_dict()`` (its config is already resolved)."""
    spec = spec_from_values(
        d["model"], d["task"], d["config"], d["seed"], d["device"], mode=d.get("mode", "speed")
    )
    return dataclasses.replace(
        spec, equal_params=d.get("equal_params"), sweep=d.get("sweep"), tuned=d.get("tuned")
    )


def vocab_size(task: str, task_cfg: Any, seed: int) -> int:
    """Vocabulary size for sizing: a subword task's target size (no data needed), else the
    size of the built (synthetic, cheap) task."""
    size = getattr(task_cfg, "vocab_size", None)
    if size:
        return int(size)
    try:
        return build_task(task, task_cfg, seed).vocab_size
    except Exception as err:  # e.g. missing data: before any training, in one line
        raise ConfigError(f"task {task!r}: {err}") from err


def spec_from_values(
    model: str,
    task: str,
    values: dict[str, dict[str, Any]],
    seed: int = 0,
    device: str = "auto",
    equal_params: int | None = None,
    mode: str = "speed",
) -> CellSpec:
    """Build a validated CellSpec from {section: {key: value}}.

    ``equal_params`` scales the model's width so it has that many parameters (+-10%),
    using the task's vocabulary; an impossible size is a ConfigError.
    """
    if mode not in MODES:
        raise ConfigError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
    check_seed(seed)
    try:
        model_cfg_cls = model_entry(model).config
        task_cfg_cls = task_entry(task).config
    except ValueError as err:
        raise ConfigError(str(err)) from err
    sections = {
        "model": model_cfg_cls(),
        "task": task_cfg_cls(),
        "train": TrainConfig(),
        "trainer": TrainerConfig(),
    }
    cfgs = apply_sections(values, sections)
    model_cfg = cfgs["model"]
    if equal_params is not None:
        vocab = vocab_size(task, cfgs["task"], seed)
        try:
            model_cfg = size_to_params(model, equal_params, vocab, base=model_cfg)
        except ValueError as err:
            raise ConfigError(str(err)) from err
    return CellSpec(
        model,
        task,
        model_cfg,
        cfgs["task"],
        cfgs["train"],
        seed,
        resolve_device(device),
        trainer=cfgs["trainer"],
        equal_params=equal_params,
        mode=mode,
    )


def base_row(spec: CellSpec, attempt: int = 1, matrix: str | None = None) -> dict[str, Any]:
    """The fields every row of ``spec`` carries, whatever its outcome."""
    return {
        "key": spec.key,
        "attempt": attempt,
        "matrix": matrix,
        **spec.to_dict(),
        "seq_len": getattr(spec.task_cfg, "length", None),
        "distance": getattr(spec.task_cfg, "distance", None),  # the task refines it on success
        "width": spec.model_cfg.width,
        "threads": torch.get_num_threads(),
        "device_name": torch.cuda.get_device_name() if spec.device == "cuda" else "cpu",
        "versions": versions(),
        **git_state(),
        "bench_version": bench_version(),
        "attn_math_forced": math_attention_forced(spec),
        "started_utc": utc_now(),
    }


def math_attention_forced(spec: CellSpec) -> bool:
    """On CPU, a config may send SDPA to its slow O(n^2)-memory math kernel (the
    Transformer's attention dropout); the config says (``math_attention_on_cpu``)."""
    return spec.device == "cpu" and spec.model_cfg.math_attention_on_cpu


def math_attention_note(spec: CellSpec) -> str:
    """Why this cell runs PyTorch's slow math attention on CPU, in one line."""
    dropout = getattr(spec.model_cfg, "attn_dropout", None)
    cause = f"model.attn_dropout={dropout}" if dropout else f"this {spec.model} configuration"
    return f"{cause} forces PyTorch's slow math attention on CPU (recorded as attn_math_forced)"


def setting_label(task_cfg: Any) -> str:
    """The task setting that tells a task's cells apart: " d=64", " n=8 delay=64" or ""."""
    if getattr(task_cfg, "distance", None) is not None:
        return f" d={task_cfg.distance}"
    if getattr(task_cfg, "length", None) is None:
        return ""
    delay = getattr(task_cfg, "delay", 0)
    return f" n={task_cfg.length}" + (f" delay={delay}" if delay else "")


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
