"""Side-by-side timing: interleaved candidates, paired ratios, timed calls, a bare step."""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from bench.cell.config import TrainConfig
from bench.cell.measure import sync_device
from bench.cell.module import Seq2SeqModule
from models import build_model, model_entry


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


def timed(fn: Callable[[], Any], device: torch.device) -> tuple[Any, float]:
    """``fn()``'s result and its seconds, the device synchronised before and after."""
    sync_device(device)
    t0 = time.perf_counter()
    out = fn()
    sync_device(device)
    return out, time.perf_counter() - t0


def call_times(fn: Callable[[], object], device: torch.device, reps: int) -> list[float]:
    """Seconds of each of ``reps`` calls of ``fn``, the device synchronised around each."""
    return [timed(fn, device)[1] for _ in range(reps)]


def cover_positions(cfg: Any, longest: int) -> Any:
    """``cfg`` with its position table (if it has one) covering ``longest`` positions."""
    if not hasattr(cfg, "max_positions"):
        return cfg
    return dataclasses.replace(cfg, max_positions=max(cfg.max_positions, longest))


def train_step(
    name: str, values: dict[str, Any], batch: Any, vocab_size: int, precision: str
) -> tuple[Any, torch.nn.Module, Callable[[], None]]:
    """A fresh model ``name`` (``values`` over its defaults, positions covering ``batch``)
    and one training step on ``batch``: forward, loss, backward, AdamW (lr 1e-4).

    ``batch`` is already on the device the model goes to. Returns (config, model, step).
    """
    longest = max(batch.src.size(1), batch.tgt_in.size(1))  # long inputs: positions cover them
    cfg = cover_positions(model_entry(name).config(**values), longest)
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
