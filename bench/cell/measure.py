"""Measurement: block-timed training speed, peak memory and the loss curve, as callbacks.

Speed: the first ``timing_warmup`` steps are excluded (their time is reported apart); the
remaining steps are timed in blocks, synchronising CUDA only at block boundaries; a cell's
speed is the median over blocks with q1/q3, flagged noisy when IQR/median > 0.10. Python's
cyclic garbage collector is paused while training runs, as ``timeit`` pauses it: at n = 32-64
(batch 8, 0.03 s steps) 14 of 36 cells were flagged noisy with it running, 7 of 36 paused,
twice each; collecting between blocks, outside their time, brought back 14. Training makes
almost no cyclic garbage: 20 objects in 600 steps.
"""

from __future__ import annotations

import gc
import math
import re
import resource
import statistics
import sys
import time
from pathlib import Path

import lightning.pytorch as pl
import torch

NOISY_IQR = 0.10  # IQR / median above this flags the speed as noisy
MIN_BLOCKS = 5


class NonFiniteLossError(RuntimeError):
    """Training loss became NaN or infinite."""


def sync_device(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    """(q1, median, q3) of ``xs``; a single value repeats."""
    if len(xs) == 1:
        return xs[0], xs[0], xs[0]
    q1, q2, q3 = statistics.quantiles(xs, n=4, method="inclusive")
    return q1, q2, q3


class StepTimer(pl.Callback):
    """Times training steps in blocks; ``summary()`` gives tokens/s with spread."""

    def __init__(self, total_steps: int, warmup: int, blocks: int) -> None:
        self.warmup = min(warmup, max(total_steps - 1, 0))
        self.block = max(1, (total_steps - self.warmup) // blocks)
        self.blocks: list[dict[str, float]] = []  # seconds and token counts per block
        self._open: dict[str, float] | None = None
        self._t_first: float | None = None
        self._warmup_s = 0.0
        self.stopped_early = False  # set where training ends before its budget (DevCurve)
        self._gc_was_enabled = False

    def on_train_start(self, trainer, pl_module) -> None:  # noqa: ANN001
        self._gc_was_enabled = gc.isenabled()
        gc.collect()
        gc.disable()  # until training ends: 600 match steps with dev checks left 20 objects

    def _resume_gc(self) -> None:
        if self._gc_was_enabled:
            gc.enable()
            self._gc_was_enabled = False

    def on_exception(self, trainer, pl_module, exception) -> None:  # noqa: ANN001
        self._resume_gc()

    def _now(self, pl_module: pl.LightningModule) -> float:
        sync_device(pl_module.device)
        return time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:  # noqa: ANN001
        step = trainer.global_step
        if self._t_first is None:
            self._t_first = self._now(pl_module)
        timed = step - self.warmup
        if timed >= 0 and timed % self.block == 0:
            now = self._now(pl_module)
            if timed == 0:
                self._warmup_s = now - self._t_first
            self._close(now)
            self._open = {"t0": now, "steps": 0, "src": 0, "tgt": 0, "src_pad": 0, "tgt_pad": 0}
        if self._open is not None:
            o = self._open
            o["steps"] += 1
            o["src"] += batch.n_src_tokens
            o["tgt"] += batch.n_tgt_tokens
            o["src_pad"] += batch.src.numel()
            o["tgt_pad"] += batch.tgt_out.numel()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        """The last block ends with its last step, not at ``on_train_end``: the trainer's
        teardown is not training time (it made every cell's last block the slowest)."""
        o = self._open
        if o is not None and o["steps"] == self.block and trainer.global_step >= trainer.max_steps:
            self._close(self._now(pl_module))

    def _close(self, now: float, partial: bool = False) -> None:
        """End the open block; a block shorter than ``block`` steps counts only when
        ``partial`` (training stopped early: its last steps would otherwise go untimed)."""
        o = self._open
        if o is not None and (o["steps"] == self.block or (partial and o["steps"] > 0)):
            self.blocks.append({k: v for k, v in o.items() if k != "t0"} | {"s": now - o["t0"]})
        self._open = None

    def on_train_end(self, trainer, pl_module) -> None:  # noqa: ANN001
        self._close(self._now(pl_module), partial=self.stopped_early)
        self._resume_gc()

    def exclude(self, seconds: float) -> None:
        """Keep ``seconds`` spent outside training (a dev evaluation) out of the open block."""
        if self._open is not None:
            self._open["t0"] += seconds
        elif self._t_first is not None:
            self._t_first += seconds

    def summary(self) -> dict[str, float | int | bool]:
        """Tokens/s statistics over blocks (units in the names)."""
        out: dict[str, float | int | bool] = {
            "timing_warmup_steps": self.warmup,
            "timing_warmup_s": round(self._warmup_s, 4),
            "timing_block_steps": self.block,
            "timing_n_blocks": len(self.blocks),
        }
        if not self.blocks:
            return out
        for key, name in [
            ("tgt", "train_tgt_tokens_per_s"),
            ("src", "train_src_tokens_per_s"),
            ("tgt_pad", "train_padded_tgt_tokens_per_s"),
        ]:
            q1, med, q3 = quartiles([b[key] / b["s"] for b in self.blocks])
            out[name] = med
            if key == "tgt":
                out[name + "_q1"], out[name + "_q3"] = q1, q3
                # every block, so reports can bootstrap speed ratios over blocks and seeds
                out[name + "_blocks"] = [round(b[key] / b["s"], 3) for b in self.blocks]
                out["train_speed_noisy"] = (q3 - q1) / med > NOISY_IQR
        _, step_s, _ = quartiles([b["s"] / b["steps"] for b in self.blocks])
        out["train_step_s"] = step_s
        out["train_speed_enough_blocks"] = len(self.blocks) >= MIN_BLOCKS
        return out


class LossCurve(pl.Callback):
    """Records the loss curve every ``every`` steps, time to target, and stops on NaN.

    Each point holds the step, training loss, teacher-forced token accuracy of that step's
    batch (free: the logits exist) and wall seconds since training started. ``listeners``
    get ``(metrics, step)`` at each point (W&B, the matrix progress display).
    """

    def __init__(self, every: int, target_acc: float, listeners: list | None = None) -> None:
        self.every = every
        self.target_acc = target_acc
        self.listeners = listeners or []
        self.points: dict[str, list] = {"step": [], "loss": [], "acc": [], "time_s": []}
        self.target: dict[str, float | int | None] = {
            "steps_to_target": None,
            "time_to_target_s": None,
        }
        self._t0 = time.perf_counter()

    def on_train_start(self, trainer, pl_module) -> None:  # noqa: ANN001
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        step = trainer.global_step  # already incremented: 1 after the first optimiser step
        if "correct" not in outputs:
            return  # not a logging step (see Seq2SeqModule.training_step)
        loss = float(outputs["loss"])  # one sync per ``every`` steps
        if not math.isfinite(loss):
            raise NonFiniteLossError(f"training loss is {loss} at step {step}")
        acc = float(outputs["correct"]) / max(batch.n_tgt_tokens, 1)
        elapsed = time.perf_counter() - self._t0
        for key, value in (
            ("step", step),
            ("loss", round(loss, 6)),
            ("acc", round(acc, 6)),
            ("time_s", round(elapsed, 4)),
        ):
            self.points[key].append(value)
        if self.target["steps_to_target"] is None and acc >= self.target_acc:
            self.target = {"steps_to_target": step, "time_to_target_s": round(elapsed, 4)}
        for listen in self.listeners:
            listen({"train/loss": loss, "train/tf_token_acc": acc, "train/time_s": elapsed}, step)

    @property
    def loss(self) -> list[float]:
        return self.points["loss"]

    def summary(self) -> dict[str, object]:
        return {
            "final_loss": self.loss[-1] if self.loss else None,
            "curve": self.points,
            "target_metric": "train_tf_token_acc",
            "target_value": self.target_acc,
            **self.target,
        }


class PeakMemory:
    """Peak memory of this process during a block of work.

    CUDA: ``max_memory_allocated``/``reserved`` after a reset. CPU: peak RSS above the RSS at
    ``start()`` (the kernel's high-water mark is reset through /proc/self/clear_refs where
    Linux allows; otherwise the lifetime peak is used and the row says so).
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.baseline_mb = 0.0
        self.kind = ""

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self.kind = "cuda_max_allocated"
            return
        self.kind = "cpu_rss_above_baseline" if _reset_rss_peak() else "cpu_lifetime_rss_peak"
        self.baseline_mb = _rss_mb("VmRSS") or 0.0

    def summary(self) -> dict[str, float | str]:
        if self.device.type == "cuda":
            return {
                "peak_mem_mb": torch.cuda.max_memory_allocated(self.device) / 2**20,
                "peak_mem_reserved_mb": torch.cuda.max_memory_reserved(self.device) / 2**20,
                "peak_mem_kind": self.kind,
            }
        peak = _rss_mb("VmHWM")
        if peak is None:  # not Linux: ru_maxrss is KiB on Linux, bytes on macOS
            scale = 2**20 if sys.platform == "darwin" else 2**10
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
        return {
            "peak_mem_mb": round(max(peak - self.baseline_mb, 0.0), 2),
            "baseline_mem_mb": round(self.baseline_mb, 2),
            "peak_mem_kind": self.kind,
        }


def _reset_rss_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _rss_mb(field: str) -> float | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    m = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    return int(m.group(1)) / 1024 if m else None
