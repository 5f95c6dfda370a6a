"""Perf sections about the harness: its overhead over a bare loop, and the data pipeline.

Harness: one cell trained through ``bench.cell.execute_cell`` (Lightning Trainer, our
StepTimer / LossCurve callbacks, W&B, progress bar: the path every row takes) against a
bare PyTorch loop on the same model, seed, batches, loss, optimiser, schedule and clipping,
timed by the same ``StepTimer`` (driven by hand). The ratio of their training target
tokens/s is what the harness costs.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from bench.cell.config import TrainConfig
from bench.cell.execute import TaskStream, execute_cell
from bench.cell.measure import StepTimer
from bench.cell.module import Seq2SeqModule
from bench.cell.spec import CellSpec, spec_from_values
from models import build_model
from perf.options import PerfOptions, Section, model_values
from perf.timing import amp, call_times, interleave, ratio, train_step
from tasks import PAD, TASKS, Batch, build_task

HARNESS_GOAL = 0.97
DATA_GOAL = 0.02


def perf_spec(model: str, length: int, opts: PerfOptions, **model_extra: Any) -> CellSpec:
    """A copy-task cell at ``length`` (sequences uniform in [length/2, length]), short run."""
    values = {
        "model": model_values(model, opts, **model_extra),
        "task": {"length": length, "min_length": max(1, length // 2), "eval_size": 8},
        "train": {
            "steps": opts.steps,
            "batch_size": opts.batch_size,
            "timing_warmup": opts.warmup,
            "timing_blocks": opts.blocks,
            "eval_batch_size": 8,
            "precision": opts.precision,
        },
    }
    return spec_from_values(model, "copy", values, opts.seed, opts.device)


def bare_train(spec: CellSpec) -> StepTimer:
    """Train ``spec`` with a plain loop, timed by a StepTimer (the harness's timer)."""
    t = spec.train
    if t.precision == "16-mixed":
        raise ValueError("the bare loop has no gradient scaler: use 32-true or bf16-mixed")
    torch.manual_seed(spec.seed)
    device = torch.device(spec.device)
    task = build_task(spec.task, spec.task_cfg, spec.seed)
    model = build_model(spec.model, spec.model_cfg, task.vocab_size).to(device).train()
    module = Seq2SeqModule(model, t)  # only for its loss and optimiser: no Lightning loop
    configured = module.configure_optimizers()
    opt, sched = configured["optimizer"], configured["lr_scheduler"]["scheduler"]
    timer = StepTimer(t.steps, t.timing_warmup, t.timing_blocks)
    trainer, pl_module = SimpleNamespace(global_step=0), SimpleNamespace(device=device)
    stream = iter(TaskStream(task, t.batch_size, t.steps, spec.seed))
    for step in range(t.steps):
        batch = next(stream).to(device)
        trainer.global_step = step
        timer.on_train_batch_start(trainer, pl_module, batch, step)
        opt.zero_grad(set_to_none=True)
        with amp(device, t.precision):
            loss = module.loss(batch)
        loss.backward()
        if t.clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), t.clip)
        opt.step()
        sched.step()
    timer.on_train_end(trainer, pl_module)
    return timer


def block_rates(timer: StepTimer) -> list[float]:
    """Target tokens/s of each timed block."""
    return [b["tgt"] / b["s"] for b in timer.blocks]


def harness_train(spec: CellSpec, wandb: str) -> list[float]:
    """Train ``spec`` through the cell path, progress bar on (it shows, as in ``run``).

    Returns the timed blocks' target tokens/s (the row gives their median).
    """
    timers: list[StepTimer] = []
    with tempfile.TemporaryDirectory() as tmp:
        row = execute_cell(spec, Path(tmp), wandb, progress=True, on_timer=timers.append)
    if row["status"] != "ok":
        raise RuntimeError(f"harness cell failed: {row.get('error', '')[-500:]}")
    return block_rates(timers[-1])


def harness_section(opts: PerfOptions, log: Callable[[str], None]) -> Section:
    sec = Section(
        "harness",
        "Harness overhead: cell path (Lightning, callbacks, W&B, progress bar) vs bare loop",
        ["model", "length", "harness_tok_s", "bare_tok_s", "ratio", "ratio_min", "ratio_best"],
        goal=f"ratio_best (best block vs best block) >= {HARNESS_GOAL} for every model and length",
    )
    for model in opts.model_names:
        for length in opts.lengths:
            spec = perf_spec(model, length, opts)
            log(f"  harness {model} length {length}")
            runs = interleave(
                {
                    "harness": lambda s=spec: harness_train(s, opts.wandb),
                    "bare": lambda s=spec: block_rates(bare_train(s)),
                },
                opts.rounds,
            )
            h = [statistics.median(blocks) for blocks in runs["harness"]]
            b = [statistics.median(blocks) for blocks in runs["bare"]]
            best_h = max(x for blocks in runs["harness"] for x in blocks)
            best_b = max(x for blocks in runs["bare"] for x in blocks)
            r = ratio(h, b, best_h, best_b)
            sec.rows.append(
                {
                    "model": model,
                    "length": length,
                    "harness_tok_s": statistics.median(h),
                    "bare_tok_s": statistics.median(b),
                    **r,
                    "met": r["ratio_best"] >= HARNESS_GOAL,
                }
            )
    sec.notes.append(
        f"batch {opts.batch_size}, {opts.warmup} warm-up steps + {opts.blocks} blocks of "
        f"{opts.block_steps} steps per run, {opts.rounds} interleaved rounds; W&B {opts.wandb}"
    )
    return sec


def _time_call(fn: Callable[[], object], device: torch.device, reps: int) -> float:
    """Median seconds of ``fn`` over ``reps`` calls."""
    return statistics.median(call_times(fn, device, reps))


def _train_step_fn(name: str, task: Any, batch: Batch, opts: PerfOptions) -> Callable[[], None]:
    batch = batch.to(opts.device)
    *_, step = train_step(name, model_values(name, opts), batch, task.vocab_size, opts.precision)
    step()  # warm-up
    return step


def padded_per_batch(batch: Batch) -> bool:
    """True when the batch is as wide as its longest sequence (not a task-wide maximum)."""
    widest_src = int(batch.src.ne(PAD).sum(1).max())
    widest_tgt = int(batch.tgt_out.ne(PAD).sum(1).max())
    return batch.src.size(1) == widest_src and batch.tgt_out.size(1) == widest_tgt


def data_section(opts: PerfOptions, log: Callable[[str], None]) -> Section:
    sec = Section(
        "data",
        "Data pipeline: time to draw a batch / time of a training step (fastest model)",
        ["task", "sample_ms", "fastest_step_ms", "fastest_model", "data_share", "padded_per_batch"],
        goal=f"data_share < {DATA_GOAL:.0%} for every registered task; batches padded per batch",
    )
    batch_size = opts.batch_size if opts.tiny else TrainConfig().batch_size
    reps = 3 if opts.tiny else 10
    device = torch.device(opts.device)
    for name, entry in TASKS.items():
        try:
            task = entry.cls(entry.config(), opts.seed)
            g = torch.Generator().manual_seed(opts.seed)
            batch = task.sample(batch_size, g)
        except Exception as err:  # e.g. a translation corpus that is not downloaded
            reason = f"{type(err).__name__}: {err}"[:200]
            log(f"  data: skipping task {name}: {reason}")
            sec.rows.append({"task": name, "skipped": reason})
            continue
        log(f"  data {name}")
        steps = {m: _train_step_fn(m, task, batch, opts) for m in opts.model_names}
        runs = interleave(
            {
                "sample": lambda t=task, g=g: _time_call(
                    lambda: t.sample(batch_size, g), torch.device("cpu"), reps
                ),
                **{
                    m: (lambda f=f: _time_call(f, device, 2 if opts.tiny else 3))
                    for m, f in steps.items()
                },
            },
            opts.rounds,
        )
        sample = statistics.median(runs.pop("sample"))
        fastest = min(runs, key=lambda m: statistics.median(runs[m]))
        step_s = statistics.median(runs[fastest])
        share = sample / step_s
        sec.rows.append(
            {
                "task": name,
                "sample_ms": sample * 1e3,
                "fastest_step_ms": step_s * 1e3,
                "fastest_model": fastest,
                "data_share": share,
                "padded_per_batch": padded_per_batch(batch),
                "met": share < DATA_GOAL and padded_per_batch(batch),
            }
        )
    sec.notes.append(
        f"task defaults, batch {batch_size}; sampling runs in the training process (no "
        "workers), so its time is exactly the time a step waits for data"
    )
    return sec
