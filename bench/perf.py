"""``attnbench perf``: is the harness free, and are the models as fast as they should be?

Every section measures its candidates side by side in this process, interleaved (A, B, A,
B, ... with the order swapped every round), on the same batches and configuration, and
reports ratios: absolute times on a shared machine drift, ratios measured this way do not.
Sections (``SECTIONS``): harness overhead, Transformer vs ``nn.Transformer``, LSTM decoder
variants, cached vs recomputed greedy decoding, the data pipeline, and (opt-in, minutes)
the scaling sweep. ``run_perf`` returns plain dicts; the CLI prints them and can save JSON.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

DEFAULT_SECTIONS = ("harness", "transformer", "lstm", "decode", "data")


@dataclass(frozen=True)
class PerfOptions:
    """What ``attnbench perf`` measures and how long it spends."""

    lengths: tuple[int, ...] = (64, 256)
    """Copy-task lengths (sequences uniform in [length/2, length]) for training sections."""
    batch_size: int = 16
    """Sequences per training batch (small: the harness's share of a step is largest)."""
    rounds: int = 3
    """Interleaved rounds per comparison; ratios are medians over rounds."""
    warmup: int = 3
    """Untimed steps at the start of each run."""
    blocks: int = 5
    """Timed blocks per run (median over blocks, as in a cell)."""
    block_steps: int = 3
    """Steps per timed block."""
    decode_lengths: tuple[int, ...] = (32, 64, 128, 256, 512)
    """Output lengths for greedy decoding, cached vs recomputing the prefix."""
    decode_batch: int = 8
    """Sequences decoded at once."""
    recompute_limit: dict[str, int] = field(default_factory=lambda: {"lstm": 128})
    """Longest output a model's recompute baseline is run for (quadratic Python loops)."""
    scaling_lengths: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048)
    """Sequence lengths of the scaling sweep (its own section, opt-in)."""
    scaling_batch: int = 8
    """Batch size of the scaling sweep."""
    device: str = "cpu"
    """cpu or cuda."""
    precision: str = "32-true"
    """32-true, or bf16-mixed (autocast; the harness passes it as train.precision)."""
    wandb: str = "offline"
    """W&B mode of the harness runs (the cell default: offline)."""
    tiny: bool = False
    """Tiny models and lengths: checks that every section runs, measures nothing useful."""
    seed: int = 0
    models: tuple[str, ...] = ()
    """Models to measure (default: every registered model)."""

    @property
    def model_names(self) -> tuple[str, ...]:
        from models import MODELS

        return self.models or tuple(MODELS)

    @property
    def steps(self) -> int:
        return self.warmup + self.blocks * self.block_steps


def tiny_options(**changes: Any) -> PerfOptions:
    """A configuration that runs every section in seconds (for tests)."""
    base = {
        "lengths": (8,),
        "batch_size": 4,
        "rounds": 1,
        "warmup": 1,
        "blocks": 2,
        "block_steps": 1,
        "decode_lengths": (4, 8),
        "decode_batch": 2,
        "scaling_lengths": (8, 16),
        "scaling_batch": 2,
        "wandb": "disabled",
        "tiny": True,
    }
    return PerfOptions(**{**base, **changes})


@dataclass
class Section:
    """A section's result: a table (columns, rows) and notes, JSON-ready."""

    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    goal: str = ""


def interleave(candidates: dict[str, Callable[[], Any]], rounds: int) -> dict[str, list[Any]]:
    """Call each candidate once per round, in an order reversed every other round.

    Returns {name: [value per round]}. A/B, B/A, ... cancels slow drifts of the machine.
    """
    out: dict[str, list[Any]] = {name: [] for name in candidates}
    names = list(candidates)
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            out[name].append(candidates[name]())
    return out


def ratio(
    num: list[float], den: list[float], best_num: float | None = None, best_den: float | None = None
) -> dict[str, float]:
    """Ratio of two interleaved candidates' rates (higher = faster).

    ``ratio`` is the median over rounds of num[i] / den[i] (paired: same round), with
    ``ratio_min`` / ``ratio_max``; ``ratio_best`` compares the best samples (by default the
    best rounds), the estimate least disturbed by other work on a shared machine.
    """
    nan = float("nan")
    rs = [a / b for a, b in zip(num, den, strict=True) if b > 0]
    best_num = max(num, default=nan) if best_num is None else best_num
    best_den = max(den, default=nan) if best_den is None else best_den
    if not rs:
        return {"ratio": nan, "ratio_min": nan, "ratio_max": nan, "ratio_best": nan}
    return {
        "ratio": statistics.median(rs),
        "ratio_min": min(rs),
        "ratio_max": max(rs),
        "ratio_best": best_num / best_den if best_den > 0 else nan,
    }


def amp(device: torch.device | str, precision: str) -> torch.autocast:
    """The autocast context of ``precision`` on ``device``: bf16 for bf16-mixed, else off."""
    device_type = torch.device(device).type
    return torch.autocast(device_type, torch.bfloat16, enabled=precision == "bf16-mixed")


def autocast(opts: PerfOptions) -> torch.autocast:
    """The autocast context of ``opts.precision`` on ``opts.device`` (off for 32-true)."""
    return amp(opts.device, opts.precision)


def call_times(fn: Callable[[], object], device: torch.device, reps: int) -> list[float]:
    """Seconds of each of ``reps`` calls of ``fn``, the device synchronised around each."""
    from bench.measure import sync_device

    times = []
    for _ in range(reps):
        sync_device(device)
        t0 = time.perf_counter()
        fn()
        sync_device(device)
        times.append(time.perf_counter() - t0)
    return times


def train_step(
    name: str, values: dict[str, Any], batch: Any, vocab_size: int, precision: str
) -> tuple[Any, torch.nn.Module, Callable[[], None]]:
    """A fresh model ``name`` (``values`` over its defaults, positions covering ``batch``)
    and one training step on ``batch``: forward, loss, backward, AdamW (lr 1e-4).

    ``batch`` is already on the device the model goes to. Returns (config, model, step).
    """
    from bench.config import TrainConfig
    from bench.module import Seq2SeqModule
    from models import build_model, model_entry

    _, cfg_cls = model_entry(name)
    cfg = cfg_cls(**values)
    if hasattr(cfg, "max_positions"):  # long inputs: the position table must cover them
        longest = max(batch.src.size(1), batch.tgt_in.size(1))
        cfg = dataclasses.replace(cfg, max_positions=max(cfg.max_positions, longest))
    device = batch.src.device
    model = build_model(name, cfg, vocab_size).to(device).train()
    module = Seq2SeqModule(model, TrainConfig())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with amp(device, precision):
            loss = module.loss(batch)
        loss.backward()
        opt.step()

    return cfg, model, step


def load_note() -> str:
    """The machine's load while measuring: load average and CPU pressure (Linux)."""
    parts = []
    try:
        parts.append("load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    except OSError:
        pass
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0].split()
        parts.append("CPU pressure " + some[1].replace("avg10=", "avg10 ") + "%")
    except (OSError, IndexError):
        pass
    return "machine load: " + (", ".join(parts) or "unknown")


def machine() -> dict[str, Any]:
    """Machine and library versions, for the JSON and docs/PERFORMANCE.md."""
    import lightning

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightning": lightning.__version__,
        "threads": torch.get_num_threads(),
        "cpu": _cpu_name(),
        "platform": platform.platform(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
        info["cuda"] = torch.version.cuda
    return info


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def sections() -> dict[str, Callable[[PerfOptions, Callable[[str], None]], Section]]:
    """Section name -> function(options, log) -> Section (imported lazily: they pull torch)."""
    from bench.perf_harness import data_section, harness_section
    from bench.perf_models import decode_section, lstm_section, transformer_section
    from bench.perf_scaling import scaling_section

    return {
        "harness": harness_section,
        "transformer": transformer_section,
        "lstm": lstm_section,
        "decode": decode_section,
        "data": data_section,
        "scaling": scaling_section,
    }


def check_sections(names: tuple[str, ...]) -> None:
    """Raise ValueError naming the valid sections if one of ``names`` is unknown."""
    known = ("harness", "transformer", "lstm", "decode", "data", "scaling")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown perf section {unknown[0]!r}; choose from: {', '.join(known)}")


def run_perf(
    opts: PerfOptions,
    names: tuple[str, ...] = DEFAULT_SECTIONS,
    log: Callable[[str], None] = print,
    on_section: Callable[[Section], None] | None = None,
    out: Path | None = None,
) -> dict[str, Any]:
    """Run the named sections; return {"machine", "options", "sections": {name: Section}}.

    With ``out``, the JSON is rewritten after every section (a killed run keeps its numbers).
    """
    table = sections()
    check_sections(names)
    results: dict[str, Section] = {}
    result = {"machine": machine(), "options": asdict(opts), "sections": results}
    for name in names:
        log(f"running perf section {name} ...")
        load_before = load_note()
        results[name] = table[name](opts, log)
        results[name].notes.append(f"{load_before} (start); {load_note()} (end)")
        if on_section is not None:
            on_section(results[name])
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(to_json(result))
    return result


def to_json(result: dict[str, Any]) -> str:
    """The result of :func:`run_perf` as JSON."""
    data = {**result, "sections": {k: asdict(v) for k, v in result["sections"].items()}}
    return json.dumps(data, indent=1, default=str)
