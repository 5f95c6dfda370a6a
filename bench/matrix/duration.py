"""How long a cell will take, before it runs: a rough estimate for `matrix validate`.

seconds = per-cell overhead (worker start, imports, data) + steps x (per-step overhead +
training FLOPs of one step / the model's effective FLOP rate) + evaluation (per held-out
example; beam search on translation costs far more per example than greedy answers).
Training FLOPs come from each model config's ``forward_flops`` at the task's longest
lengths (an upper bound: batches are padded to their own longest example). The constants
were fitted to cells measured on the reference machine (2 CPU cores; quick and the claims
probes, README "Do the claims hold on my machine?"); on a GPU one small cell is bound by
Python overhead, not FLOPs, so the GPU constants are per-step overheads. Expect the estimate
within about a factor of two of a quiet machine like the reference; a loaded machine is slower.
"""

from __future__ import annotations

from typing import Any

from bench.matrix.tuning import extendable
from models import MODELS

# cpu: least-squares fits (perf/calibrate_duration.py) to the quick reference's 42
# cells, 2 threads, quiet machine (step time = overhead + FLOPs / rate fits every length
# 8..256 within ~10%).
# cuda: not yet measured on a GPU (placeholders of the right order; a GPU run should refit).
CELL_OVERHEAD_S = {"cpu": 6.0, "cuda": 15.0}  # worker start, imports, FLOP count, data
STEP_OVERHEAD_S = {  # per training step, independent of size (Python, optimiser, launch)
    "cpu": {"transformer": 0.0166, "lstm": 0.0118, "convs2s": 0.0224},
    "cuda": {"transformer": 0.012, "lstm": 0.015, "convs2s": 0.012},
}
FLOP_RATE = {  # effective training FLOP/s at the task's longest lengths, per model
    "cpu": {"transformer": 151e9, "lstm": 114e9, "convs2s": 146e9},
    "cuda": {"transformer": 20e12, "lstm": 5e12, "convs2s": 20e12},
}
DECODE_STEP_S = {  # greedy decoding: one incremental step of one batch (fitted to the quick
    # reference's speed-sweep cells, whose 8-example decodes of 64-512 tokens dominate them)
    "cpu": {"transformer": 0.02, "lstm": 0.008, "convs2s": 0.025},
    "cuda": {"transformer": 0.005, "lstm": 0.003, "convs2s": 0.005},
}
EVAL_S_PER_EXAMPLE = {  # held-out examples: greedy answers vs beam search on translation
    "cpu": {"greedy": 0.0005, "beam": 0.02},
    "cuda": {"greedy": 0.0005, "beam": 0.02},
}
SHARED_SPEEDUP = {  # N cells at once, the cores split between them, over one at a time:
    # measured, 2 at a time on the reference-class 2 cores (1 thread each against 2), 3
    # models' translate and match cells of the claims preset: 1.45x; GPU not yet measured
    "cpu": 1.45,
    "cuda": 1.0,
}
RUNGS = 4  # budget rungs (bench/cell/dev.py RUNGS: ¼, ½, ¾, the end)
DEFAULT_RATE = 10e9  # a model without a fitted rate (e.g. a plugin)
SMALL_VOCAB = 32  # synthetic tasks: symbols plus specials


def fitted_as(model: str) -> str:
    """The model whose fitted constants ``model`` uses: the first registered model of the
    same architecture (a control, e.g. ``lstm_uni`` or ``convs2s_last``, runs its base
    model's code), else itself (a plugin without constants gets the defaults)."""
    entry = MODELS.get(model)
    if entry is None:
        return model
    return next(name for name, e in MODELS.items() if e.cls is entry.cls)


def cell_seconds(spec: Any) -> float | None:
    """Estimated wall seconds of one cell (a bench.cell.CellSpec); None if the task does not
    tell its lengths or the model has no FLOPs formula. A ``train.stop_at_target`` cell is
    priced at its whole budget: an upper bound (where it stops is what it measures)."""
    lengths = getattr(spec.task_cfg, "max_lengths", None)
    if lengths is None:
        return None
    src_len, tgt_len = lengths()
    vocab = getattr(spec.task_cfg, "vocab_size", SMALL_VOCAB)
    t = spec.train
    flops = getattr(spec.model_cfg, "forward_flops", None)
    if flops is None:
        return None
    fwd = flops(src_len, tgt_len, vocab, t.batch_size)
    device = "cuda" if spec.device == "cuda" else "cpu"
    model = fitted_as(spec.model)
    rate = FLOP_RATE[device].get(model, DEFAULT_RATE)
    step = STEP_OVERHEAD_S[device].get(model, 0.01) + 3 * fwd / rate
    beam = getattr(spec.task_cfg, "beam_size", 1) > 1
    n_eval = _eval_examples(spec.task_cfg)
    per_example = EVAL_S_PER_EXAMPLE[device]["beam" if beam else "greedy"]
    decode = 0.0 if beam else _decode_seconds(spec, tgt_len, n_eval, device)
    decode += _rung_decode_seconds(spec, tgt_len, device)
    return CELL_OVERHEAD_S[device] + t.steps * step + n_eval * per_example + decode


def _decode_seconds(spec: Any, tgt_len: int, n_eval: int, device: str) -> float:
    """Greedy decoding of the held-out sets: one step per target token per batch."""
    batch = max(1, int(spec.train.eval_batch_size))
    batches = 2 * -(-(n_eval // 2) // batch)  # dev and test, each in ceil(n / batch) batches
    return batches * tgt_len * DECODE_STEP_S[device].get(fitted_as(spec.model), 0.02)


def _rung_decode_seconds(spec: Any, tgt_len: int, device: str) -> float:
    """Translation greedy-decodes its dev set at each of the 4 budget rungs (the task's
    ``rung_metrics``, bench/cell/dev.py)."""
    dev = int(getattr(spec.task_cfg, "dev_size", 0))
    if not dev:
        return 0.0
    batches = -(-dev // max(1, int(spec.train.eval_batch_size)))
    per_step = DECODE_STEP_S[device].get(fitted_as(spec.model), 0.02)
    return RUNGS * batches * tgt_len * per_step


def _eval_examples(task_cfg: Any) -> int:
    """Held-out examples a cell decodes: test and dev (translation), or eval_size twice
    (synthetic tasks draw a dev set of the same size)."""
    if hasattr(task_cfg, "test_size"):
        return int(task_cfg.test_size) + int(getattr(task_cfg, "dev_size", 0))
    return 2 * int(getattr(task_cfg, "eval_size", 0))


def human_seconds(seconds: float) -> str:
    """1 h 05 min, 12 min, 40 s."""
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    if seconds >= 60:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds)} s"


def shared_seconds(seconds: float, jobs: int, device: str) -> float:
    """Wall time of cells that take ``seconds`` one at a time, run ``jobs`` at once."""
    return seconds / min(jobs, SHARED_SPEEDUP[device]) if jobs > 1 else seconds


def extension_seconds(sweep: list[Any], seconds: list[float | None]) -> float:
    """The most a grid extension can add to ``sweep`` (cells with their estimates): in each
    tuned block, every shared numeric grid key of 3+ values may extend past both of its ends
    (``tuning.extendable``; ``tuning.extension``: one more trial per model per value), each
    trial priced as that model's mean sweep cell of the block."""
    block_keys: dict[tuple, int] = {}
    priced: dict[tuple, list[float]] = {}
    for cell, secs in zip(sweep, seconds, strict=True):
        sw = cell.sweep or {}
        if secs is None or sw.get("extend") is False:
            continue
        grid = sw.get("grid") or {}
        block = (cell.task, repr(sw.get("at")), sw.get("metric"), repr(grid))
        block_keys[block] = sum(1 for values in grid.values() if extendable(values))
        priced.setdefault((*block, cell.model), []).append(secs)
    return sum(2 * block_keys[key[:-1]] * sum(secs) / len(secs) for key, secs in priced.items())
