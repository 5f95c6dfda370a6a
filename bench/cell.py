"""One benchmark cell end to end: validate, train with Lightning, decode, measure, write a row."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, IterableDataset

from bench.atomic import atomic_write_text
from bench.attention import attention_arrays, save_attention
from bench.config import (
    ConfigError,
    TrainConfig,
    TrainerConfig,
    apply_sections,
    check_seed,
    group_overrides,
)
from bench.dev import DevCurve, dev_loss, dev_metrics
from bench.distributed import RankSummary, data_rank
from bench.flops import flops_per_token, gpu_peak_flops
from bench.intervention import run_intervention
from bench.measure import (
    LossCurve,
    NonFiniteLossError,
    PeakMemory,
    StepTimer,
    quartiles,
    sync_device,
)
from bench.rank import is_rank_zero
from bench.results import append_row, bench_version, cell_key, git_state, versions
from bench.tracking import Tracker
from models import beam_search, build_model, greedy_decode, model_entry
from models.sizing import size_to_params
from tasks import BOS, EOS, Task, build_task, task_entry
from tasks.base import floor_summary

DEVICES = ("auto", "cpu", "cuda")
MODES = ("speed", "repro")
RESULTS_FILE = "results.jsonl"
EVAL_FILE = "eval.jsonl"  # cells/<key>/: per-example outcomes of the test split


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


def _vocab_size(task: str, task_cfg: Any, seed: int) -> int:
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
        _, model_cfg_cls = model_entry(model)
        _, task_cfg_cls = task_entry(task)
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
        vocab = _vocab_size(task, cfgs["task"], seed)
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


class TaskStream(IterableDataset):
    """Endless seeded training batches (whole batches: the DataLoader does not collate)."""

    def __init__(self, task: Task, batch_size: int, steps: int, seed: int) -> None:
        self.task, self.batch_size, self.steps, self.seed = task, batch_size, steps, seed

    def __len__(self) -> int:  # lets the progress bar show a total
        return self.steps

    def __iter__(self):  # noqa: ANN204
        # each DDP rank draws its own stream; rank 0 keeps the single-device stream
        g = torch.Generator().manual_seed(self.seed + 7919 * data_rank())
        while True:
            yield self.task.sample(self.batch_size, g)


def classify_failure(err: BaseException) -> str:
    if isinstance(err, (torch.OutOfMemoryError, MemoryError)):
        return "failed:oom"
    if isinstance(err, NonFiniteLossError):
        return "failed:nan"
    return "failed:exception"


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
        "attn_math_forced": _math_attention_forced(spec),
        "started_utc": utc_now(),
    }


def execute_cell(
    spec: CellSpec,
    out_dir: Path,
    wandb_mode: str = "offline",
    progress: bool = True,
    attempt: int = 1,
    matrix: str | None = None,
    on_progress: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Train and evaluate one cell and return its row (not written).

    A failure inside the cell becomes a ``failed:*`` row (and is not raised); only an
    interrupt (Ctrl-C, SystemExit) propagates.
    """
    out_dir = Path(out_dir)
    if spec.mode == "repro":
        torch.set_num_threads(1)  # reductions depend on the thread count
        torch.use_deterministic_algorithms(True, warn_only=False)
    row = base_row(spec, attempt, matrix)
    tracker = Tracker.start(
        wandb_mode if is_rank_zero() else "disabled",
        out_dir,
        f"{spec.model}-{spec.task}-s{spec.seed}",
        spec.to_dict(),
        run_id=f"{spec.key}-{attempt}",
        group=matrix,
    )
    t0 = time.perf_counter()
    try:
        row.update(_train_and_evaluate(spec, out_dir, tracker, progress, on_progress))
        row["status"] = "ok"
    except Exception as err:  # a failed cell is data, not a crash
        row["status"] = classify_failure(err)
        row["error_class"] = type(err).__name__
        row["error"] = "".join(traceback.format_exception(err))[-2000:]
    row["wall_s"] = round(time.perf_counter() - t0, 3)
    row["ended_utc"] = utc_now()
    row["wandb_error"] = tracker.finish(row)
    return row


def run_cell(
    spec: CellSpec, out_dir: Path, wandb_mode: str = "offline", progress: bool = True
) -> dict[str, Any]:
    """Run one cell in this process and append exactly one row to ``out_dir/results.jsonl``."""
    row = execute_cell(spec, out_dir, wandb_mode, progress)
    if is_rank_zero():  # other DDP ranks train but never write
        append_row(Path(out_dir) / RESULTS_FILE, row)
    return row


def _math_attention_forced(spec: CellSpec) -> bool:
    """On CPU, attention dropout > 0 sends SDPA to its slow O(n^2)-memory math kernel."""
    return (
        spec.model == "transformer"
        and spec.device == "cpu"
        and getattr(spec.model_cfg, "attn_dropout", 0.0) > 0
    )


def _train_and_evaluate(
    spec: CellSpec,
    out_dir: Path,
    tracker: Tracker,
    progress: bool,
    on_progress: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    import lightning.pytorch as pl

    from bench.module import Seq2SeqModule

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    warnings.filterwarnings("ignore", ".*Your `IterableDataset` has `__len__` defined.*")
    pl.seed_everything(spec.seed, workers=True, verbose=False)
    t = spec.train
    device = torch.device(spec.device)
    memory = PeakMemory(device)
    memory.start()
    task = build_task(spec.task, spec.task_cfg, spec.seed)
    model = build_model(spec.model, spec.model_cfg, task.vocab_size)
    n_params = sum(p.numel() for p in model.parameters())
    distance = {"distance": task.distance} if task.distance is not None else {}
    timer = StepTimer(t.steps, t.timing_warmup, t.timing_blocks)
    listeners = [tracker.log]
    if on_progress is not None:
        listeners.append(lambda m, step: on_progress(step, t.steps, m["train/loss"]))
    curve = LossCurve(t.log_every, t.target_acc, listeners)
    dev_curve = DevCurve(task, t.eval_batch_size, t.eval_every, timer, [tracker.log])
    ranks = RankSummary(timer.summary, memory.summary)
    trainer = pl.Trainer(
        accelerator=spec.device,
        devices=spec.trainer.devices,
        num_nodes=spec.trainer.num_nodes,
        strategy=spec.trainer.strategy,
        max_steps=t.steps,
        max_epochs=1,
        precision=t.precision,
        gradient_clip_val=t.clip or None,
        callbacks=[timer, curve, dev_curve, ranks],
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=progress,
        num_sanity_val_steps=0,
        default_root_dir=str(out_dir),
    )
    loader = DataLoader(TaskStream(task, t.batch_size, t.steps, spec.seed), batch_size=None)
    trainer.fit(Seq2SeqModule(model, t), train_dataloaders=loader)
    model.to(device)  # Lightning's teardown moves the module back to the CPU after fit
    if not trainer.is_global_zero:
        return {"rank_zero": False}  # evaluation, FLOPs and the row belong to rank 0
    train_memory = memory.summary()
    speed = {**timer.summary(), **ranks.summary}
    flops = _flops(spec, model, task, device, speed)
    dev = dev_loss(model, task.eval_batches(t.eval_batch_size, "dev"), device)
    dev.update(dev_metrics(evaluate(model, task, t.eval_batch_size, device, split="dev")[0]))
    tracker.log({f"dev/{k[4:]}": v for k, v in dev.items()}, t.steps)
    metrics, examples = evaluate(model, task, t.eval_batch_size, device)  # test: once, at the end
    save_examples(out_dir / "cells" / spec.key / EVAL_FILE, examples)
    _save_attention(spec, out_dir / "cells" / spec.key, model, task, device, examples)
    return {
        "n_params": n_params,
        **distance,
        **speed,
        **train_memory,
        **flops,
        **metrics,
        **dev,
        **curve.summary(),
        **dev_curve.summary(),
    }


def _save_attention(
    spec: CellSpec,
    cell_dir: Path,
    model: torch.nn.Module,
    task: Task,
    device: torch.device,
    examples: list[dict[str, Any]],
) -> None:
    """Cross-attention of held-out examples (attention.npz) and, on tasks with a known gold
    source position, the intervention study (intervention.json)."""
    data = attention_arrays(model, task, spec.train.eval_batch_size, device, examples)
    save_attention(cell_dir, spec.model, spec.task, data)
    if data["maps"]:
        att = {**data, "task": spec.task}
        run_intervention(model, task, att, spec.train.eval_batch_size, device, cell_dir, spec.seed)


def _flops(
    spec: CellSpec, model: torch.nn.Module, task: Task, device: torch.device, speed: dict[str, Any]
) -> dict[str, Any]:
    """FLOPs per target token on a typical training batch, and MFU on a known GPU."""
    batch = task.sample(spec.train.batch_size, torch.Generator().manual_seed(spec.seed)).to(device)
    out: dict[str, Any] = flops_per_token(spec.model, spec.model_cfg, model, batch, task.vocab_size)
    peak = gpu_peak_flops(torch.cuda.get_device_name(device)) if device.type == "cuda" else None
    rate = speed.get("train_tgt_tokens_per_s")
    out["mfu"] = out["flops_per_token_analytic"] * rate / peak if peak and rate else None
    return out


@torch.inference_mode()
def evaluate(
    model: torch.nn.Module, task: Task, batch_size: int, device: torch.device, split: str = "test"
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Decode the task's held-out batches of ``split`` (test, or dev for choices): the
    task's metrics, its floors (chance and shortcut scores on the same examples) and
    inference speed; and per-example outcomes."""
    model.eval().to(device)
    parts: list[dict[str, Any]] = []
    examples: list[dict[str, Any]] = []
    latencies, generated, n_examples = [], 0, 0
    for batch in task.eval_batches(batch_size, split):
        src = batch.src.to(device)
        sync_device(device)
        start = time.perf_counter()
        limits = task.max_output_len(src)
        if task.beam_size > 1:
            hyp = beam_search(model, src, task.beam_size, limits, BOS, EOS, task.length_penalty)
        else:
            hyp = greedy_decode(model, src, limits, BOS, EOS)
        sync_device(device)
        latencies.append(time.perf_counter() - start)
        hyp = hyp.cpu()
        generated += int(hyp.ne(model.pad_id).sum())
        n_examples += hyp.size(0)
        parts.append(task.score(hyp, batch))
        examples.extend(task.examples(hyp, batch))
    _, latency, _ = quartiles(latencies)
    metrics = task.summarise(parts)
    if "floors" not in metrics:  # translation states its own (copy-the-source)
        metrics["floors"] = floor_summary(examples)
    return {
        **metrics,
        "floor_metric": task.floor_metric,
        "eval_examples": n_examples,
        "decode": f"beam{task.beam_size}" if task.beam_size > 1 else "greedy",
        "infer_tgt_tokens_per_s": generated / sum(latencies),
        "infer_batch_latency_ms": latency * 1000,
        "infer_batch_size": batch_size,
    }, examples


def save_examples(path: Path, examples: list[dict[str, Any]]) -> None:
    """Per-example outcomes as JSON lines, written atomically (reports recompute intervals)."""
    atomic_write_text(path, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in examples))


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
