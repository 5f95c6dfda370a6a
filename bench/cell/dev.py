"""Dev-split evaluation: the periodic dev curve during training and the final dev metrics.

At fixed fractions of the budget (``RUNGS``: ¼, ½, ¾ and the end) every cell also keeps
per-example teacher-forced outcomes on dev, so a verdict can be judged at each rung with
intervals (reports.claims: a verdict must hold across the budget, not at one stopping point).
A task whose quality is a decoding metric (``rung_metrics``: translation's BLEU and chrF)
also greedy-decodes dev at each rung, so its quality can be drawn against training cost.

Every choice a benchmark makes (tuned learning rate, plateau schedule) is made on dev;
the test split is decoded once, at the end of the cell (bench/cell/execute.py ``evaluate``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn.functional as F

from bench.cell.measure import StepTimer
from models.decoding import greedy_decode
from tasks import BOS, EOS, Batch, Task

# per-run inference speed and bookkeeping fields that make no sense with a dev_ prefix
NOT_DEV = (
    "infer_",
    "decode",
    "examples",
    "sacrebleu_signature",
    "direction",
    "train_pairs",
    "test_",
)

RUNGS = (0.25, 0.5, 0.75, 1.0)  # fractions of the budget with per-example dev evidence


def rung_steps(steps: int) -> list[int]:
    """The training steps at which dev outcomes are kept: ``RUNGS`` of ``steps``."""
    return sorted({max(1, round(f * steps)) for f in RUNGS})  # as reports.claims.rungs


@torch.no_grad()
def dev_outcomes(
    model: torch.nn.Module, batches: list[Batch], device: torch.device
) -> list[dict[str, float]]:
    """Per dev example, teacher-forced: target tokens, correct tokens and summed cross-entropy."""
    was_training = model.training
    model.eval()
    out: list[dict[str, float]] = []
    for batch in batches:
        batch = batch.to(device)
        logits = model(batch.src, batch.tgt_in)  # (B,T,V)
        ce = F.cross_entropy(
            logits.flatten(0, 1).float(),
            batch.tgt_out.flatten(),
            ignore_index=model.pad_id,
            reduction="none",
        ).view_as(batch.tgt_out)  # (B,T), 0 at padding
        real = batch.tgt_out.ne(model.pad_id)  # (B,T)
        correct = (logits.argmax(-1).eq(batch.tgt_out) & real).sum(1)  # (B,)
        sums = zip(real.sum(1).tolist(), correct.tolist(), ce.sum(1).tolist(), strict=True)
        for n, c, loss in sums:
            out.append({"tokens": n, "correct": c, "loss": round(loss, 6)})
    model.train(was_training)
    return out


@torch.no_grad()
def decoded_metrics(
    model: torch.nn.Module, task: Task, batches: list[Batch], device: torch.device
) -> dict[str, float]:
    """The task's ``rung_metrics`` (none: {}) of greedy decodes of ``batches``, each as
    ``dev_greedy_<metric>`` (greedy, not the task's beam: the same decoder at every rung)."""
    names = getattr(task, "rung_metrics", ())
    if not names:
        return {}
    was_training = model.training
    model.eval()
    parts = []
    for batch in batches:
        src = batch.src.to(device)
        hyp = greedy_decode(model, src, task.max_output_len(src), BOS, EOS)
        parts.append(task.score(hyp.cpu(), batch))
    model.train(was_training)
    metrics = task.summarise(parts)
    return {f"dev_greedy_{n}": round(float(metrics[n]), 4) for n in names}


def rung_summary(outcomes: list[dict[str, float]]) -> dict[str, float]:
    """Dev loss per token, teacher-forced token accuracy and exact-match rate of outcomes."""
    tokens = max(sum(o["tokens"] for o in outcomes), 1)
    return {
        "dev_loss": round(sum(o["loss"] for o in outcomes) / tokens, 6),
        "dev_tf_token_acc": round(sum(o["correct"] for o in outcomes) / tokens, 6),
        "dev_tf_seq_acc": round(
            sum(o["correct"] == o["tokens"] for o in outcomes) / max(len(outcomes), 1), 6
        ),
    }


@torch.no_grad()
def dev_loss(
    model: torch.nn.Module, batches: list[Batch], device: torch.device
) -> dict[str, float]:
    """Teacher-forced cross-entropy per target token (no label smoothing) and token accuracy."""
    was_training = model.training
    model.eval()
    total_loss, correct, tokens = 0.0, 0, 0
    for batch in batches:
        batch = batch.to(device)
        logits = model(batch.src, batch.tgt_in)  # (B,T,V)
        total_loss += float(
            F.cross_entropy(
                logits.flatten(0, 1).float(),
                batch.tgt_out.flatten(),
                ignore_index=model.pad_id,
                reduction="sum",
            )
        )
        real = batch.tgt_out.ne(model.pad_id)
        correct += int((logits.argmax(-1).eq(batch.tgt_out) & real).sum())
        tokens += int(real.sum())
    model.train(was_training)
    return {"dev_loss": total_loss / max(tokens, 1), "dev_tf_token_acc": correct / max(tokens, 1)}


def dev_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """``evaluate(..., split="dev")`` output -> the dev_ fields of a row (scores only)."""
    return {
        f"dev_{k}": v
        for k, v in metrics.items()
        if not k.startswith(NOT_DEV) and isinstance(v, (int, float)) and not isinstance(v, bool)
    }


class DevCurve(pl.Callback):
    """Every ``every`` steps: dev loss and teacher-forced accuracy, for the row's dev curve,
    W&B (``listeners``) and the module's plateau schedule; at the ``RUNGS`` of ``steps``:
    per-example dev outcomes (``rung_examples``) and their summary (the row's ``dev_rungs``).
    Its time is kept out of the training-speed blocks (``timer.exclude``). With ``stop_at``,
    training ends at the first dev point whose teacher-forced accuracy reaches it
    (``stopped_at``); the rungs still ahead get the stopped model's outcomes."""

    def __init__(
        self,
        task: Task,
        batch_size: int,
        every: int,
        timer: StepTimer | None = None,
        listeners: list[Callable[[dict[str, float], int], None]] | None = None,
        steps: int = 0,
        stop_at: float | None = None,
    ) -> None:
        self.stop_at = stop_at
        self.task = task
        self.stopped_at: int | None = None
        self.batches = task.eval_batches(batch_size, "dev") if every or steps else []
        self.every = every
        self.rungs = rung_steps(steps) if steps else []
        self.rung_points: dict[str, list] = {
            "step": [], "dev_loss": [], "dev_tf_token_acc": [], "dev_tf_seq_acc": []
        }  # fmt: skip
        self.rung_examples: list[dict[str, Any]] = []  # {"step", "i", "tokens", "correct", "loss"}
        self.timer = timer
        self.listeners = listeners or []
        self.points: dict[str, list] = {
            "step": [],
            "dev_loss": [],
            "dev_tf_token_acc": [],
            "lr": [],
        }

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        step = trainer.global_step
        if step in self.rungs and self.batches:
            self._rung(step, pl_module)
        if not self.every or not self.batches or step % self.every:
            return
        t0 = time.perf_counter()
        scores = dev_loss(pl_module.model, self.batches, pl_module.device)
        lr = pl_module.current_lr()
        pl_module.on_dev_loss(scores["dev_loss"])
        self.points["step"].append(step)
        self.points["dev_loss"].append(round(scores["dev_loss"], 6))
        self.points["dev_tf_token_acc"].append(round(scores["dev_tf_token_acc"], 6))
        self.points["lr"].append(lr)
        for listen in self.listeners:
            listen(
                {
                    "dev/loss": scores["dev_loss"],
                    "dev/tf_token_acc": scores["dev_tf_token_acc"],
                    "train/lr": lr,
                },
                step,
            )
        if self.timer is not None:
            self.timer.exclude(time.perf_counter() - t0)
        if self.stop_at is not None and scores["dev_tf_token_acc"] >= self.stop_at:
            self._stop(trainer, pl_module, step)

    def _stop(self, trainer: pl.Trainer, pl_module: pl.LightningModule, step: int) -> None:
        """End training after this step; the rungs ahead get this model's dev outcomes
        (it no longer changes), so every rung keeps its per-example evidence."""
        trainer.should_stop = True
        self.stopped_at = step
        if self.timer is not None:
            self.timer.stopped_early = True
        ahead = [r for r in self.rungs if r > step]
        if ahead and self.batches:
            t0 = time.perf_counter()
            outcomes = dev_outcomes(pl_module.model, self.batches, pl_module.device)
            decoded = decoded_metrics(pl_module.model, self.task, self.batches, pl_module.device)
            for rung in ahead:
                self._record_rung(rung, outcomes, decoded)
            if self.timer is not None:
                self.timer.exclude(time.perf_counter() - t0)

    def _rung(self, step: int, pl_module: pl.LightningModule) -> None:
        """Per-example dev outcomes at a rung of the budget (teacher-forced), and the task's
        decoding metrics (``rung_metrics``)."""
        t0 = time.perf_counter()
        model, device = pl_module.model, pl_module.device
        self._record_rung(
            step,
            dev_outcomes(model, self.batches, device),
            decoded_metrics(model, self.task, self.batches, device),
        )
        if self.timer is not None:
            self.timer.exclude(time.perf_counter() - t0)

    def _record_rung(
        self, step: int, outcomes: list[dict[str, float]], decoded: dict[str, float]
    ) -> None:
        summary = rung_summary(outcomes) | decoded
        self.rung_points["step"].append(step)
        for name, value in summary.items():
            self.rung_points.setdefault(name, []).append(value)
        self.rung_examples.extend({"step": step, "i": i, **o} for i, o in enumerate(outcomes))
        for listen in self.listeners:
            listen({f"dev_rung/{k[4:]}": v for k, v in summary.items()}, step)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dev_curve": self.points} if self.points["step"] else {}
        if self.rung_points["step"]:
            out["dev_rungs"] = self.rung_points
        if self.stop_at is not None:
            out["stopped_at_step"] = self.stopped_at
        return out
