"""Execute one cell: train with Lightning, decode, measure, and return (or write) its row.

What a cell is (``CellSpec``, its validation and key) lives in :mod:`bench.cell.spec`.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, IterableDataset

from bench.attention.intervention import run_intervention
from bench.attention.record import attention_arrays, save_attention
from bench.cell.dev import DevCurve, dev_loss, dev_metrics
from bench.cell.distributed import RankSummary, data_rank
from bench.cell.flops import flops_per_token, gpu_peak_flops
from bench.cell.measure import (
    LossCurve,
    NonFiniteLossError,
    PeakMemory,
    StepTimer,
    quartiles,
    sync_device,
)
from bench.cell.rank import is_rank_zero
from bench.cell.spec import CellSpec, base_row, utc_now
from bench.rundir.atomic import atomic_write_text
from bench.rundir.layout import (
    DEV_EVAL_FILE,
    DEV_RUNGS_FILE,
    EVAL_FILE,
    RESULTS_FILE,
    cell_dir,
    cell_file,
)
from bench.rundir.rows import append_row
from bench.tracking import Tracker
from models import beam_search, build_model, greedy_decode
from tasks import BOS, EOS, Task, build_task
from tasks.base import floor_summary


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


def execute_cell(
    spec: CellSpec,
    out_dir: Path,
    wandb_mode: str = "offline",
    progress: bool = True,
    attempt: int = 1,
    matrix: str | None = None,
    on_progress: Callable[[int, int, float], None] | None = None,
    on_timer: Callable[[StepTimer], None] | None = None,
) -> dict[str, Any]:
    """Train and evaluate one cell and return its row (not written).

    A failure inside the cell becomes a ``failed:*`` row (and is not raised); only an
    interrupt (Ctrl-C, SystemExit) propagates. ``on_timer`` receives the cell's StepTimer
    before training starts (``attnbench perf`` reads its blocks).
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
    # Subnormal floats take a slow path on x86 CPUs: a diverging Transformer's steps became
    # 2-5x slower as its values underflowed (copy-memory at lr 3e-2: 72 s against 31 s with
    # flushing), so its speed measured the numbers, not the model. Flush them to zero while
    # the cell runs (process-wide state: restored after, for callers that run cells in-process).
    row["flush_denormal"] = torch.set_flush_denormal(True)
    try:
        row.update(_train_and_evaluate(spec, out_dir, tracker, progress, on_progress, on_timer))
        row["status"] = "ok"
    except Exception as err:  # a failed cell is data, not a crash
        row["status"] = classify_failure(err)
        row["error_class"] = type(err).__name__
        row["error"] = "".join(traceback.format_exception(err))[-2000:]
    finally:
        torch.set_flush_denormal(False)
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


def _train_and_evaluate(
    spec: CellSpec,
    out_dir: Path,
    tracker: Tracker,
    progress: bool,
    on_progress: Callable[[int, int, float], None] | None = None,
    on_timer: Callable[[StepTimer], None] | None = None,
) -> dict[str, Any]:
    import lightning.pytorch as pl

    from bench.cell.module import Seq2SeqModule

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
    if on_timer is not None:
        on_timer(timer)
    listeners = [tracker.log]
    if on_progress is not None:
        listeners.append(lambda m, step: on_progress(step, t.steps, m["train/loss"]))
    curve = LossCurve(t.log_every, t.target_acc, listeners)
    stop_at = t.target_acc if t.stop_at_target else None
    dev_curve = DevCurve(
        task, t.eval_batch_size, t.eval_every, timer, [tracker.log], t.steps, stop_at
    )
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
    dev_scores, dev_examples = evaluate(model, task, t.eval_batch_size, device, split="dev")
    dev.update(dev_metrics(dev_scores))
    save_examples(cell_file(out_dir, spec.key, DEV_EVAL_FILE), dev_examples)  # tuning ties
    tracker.log({f"dev/{k[4:]}": v for k, v in dev.items()}, t.steps)
    metrics, examples = evaluate(model, task, t.eval_batch_size, device)  # test: once, at the end
    save_examples(cell_file(out_dir, spec.key, EVAL_FILE), examples)
    save_examples(cell_file(out_dir, spec.key, DEV_RUNGS_FILE), dev_curve.rung_examples)
    _save_attention(spec, cell_dir(out_dir, spec.key), model, task, device, examples)
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
    out: dict[str, Any] = flops_per_token(spec.model_cfg, model, batch, task.vocab_size)
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
