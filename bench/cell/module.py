"""LightningModule wrapping any attnbench model: loss, optimiser, schedule. Loop hooks only."""

from __future__ import annotations

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from bench.cell.config import TrainConfig
from models import Seq2Seq
from tasks import Batch


def inverse_sqrt_schedule(warmup: int):  # noqa: ANN201
    """LR multiplier: linear warm-up to 1, then 1/sqrt decay (Vaswani et al. eq. 3, normalised)."""

    def factor(step: int) -> float:
        s = step + 1
        return min(s / warmup, (warmup / s) ** 0.5) if warmup > 0 else s**-0.5

    return factor


def warmup_schedule(warmup: int, after):  # noqa: ANN001, ANN201
    """LR multiplier: linear warm-up to 1 over ``warmup`` steps, then ``after(step)``."""

    def factor(step: int) -> float:
        s = step + 1
        return s / warmup if s < warmup else after(step)

    return factor


def schedule_factor(t: TrainConfig, plateau_scale=lambda: 1.0):  # noqa: ANN001, ANN201
    """The multiplier of ``t.lr`` at each step for ``t.schedule`` (see TrainConfig.schedule)."""
    if t.schedule == "inverse_sqrt":
        return inverse_sqrt_schedule(t.warmup)
    if t.schedule == "linear":
        span = max(t.steps - t.warmup + 1, 1)  # 1 at the end of warm-up, 1/span at the last step
        return warmup_schedule(t.warmup, lambda step: max(0.0, (t.steps - step) / span))
    if t.schedule == "plateau":
        return warmup_schedule(t.warmup, lambda step: plateau_scale())
    return warmup_schedule(t.warmup, lambda step: 1.0)  # constant


def make_optimizer(params, t: TrainConfig) -> torch.optim.Optimizer:  # noqa: ANN001
    """The optimiser named by ``t.optimizer`` with ``t``'s hyperparameters."""
    if t.optimizer in ("adamw", "adam"):
        cls = torch.optim.AdamW if t.optimizer == "adamw" else torch.optim.Adam
        return cls(params, lr=t.lr, betas=t.betas, eps=t.eps, weight_decay=t.weight_decay)
    return torch.optim.SGD(
        params,
        lr=t.lr,
        momentum=t.momentum,
        nesterov=t.optimizer == "nesterov",
        weight_decay=t.weight_decay,
    )


class PlateauScale:
    """Learning-rate scale that drops by ``factor`` when the dev loss stops improving.

    torch's ReduceLROnPlateau decides (on a one-parameter dummy optimiser whose lr is the
    scale), so the warm-up LambdaLR and the plateau rule compose without fighting.
    """

    def __init__(self, factor: float, patience: int) -> None:
        self._dummy = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        self._rule = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self._dummy, mode="min", factor=factor, patience=patience, min_lr=0.0
        )

    def __call__(self) -> float:
        return self._dummy.param_groups[0]["lr"]

    def step(self, dev_loss: float) -> None:
        self._rule.step(dev_loss)


class Seq2SeqModule(pl.LightningModule):
    """Trains a :class:`Seq2Seq` with label-smoothed cross-entropy and the configured optimiser."""

    def __init__(self, model: Seq2Seq, train: TrainConfig) -> None:
        super().__init__()
        self.model = model
        self.train_cfg = train
        self.plateau = PlateauScale(train.plateau_factor, train.plateau_patience)

    def loss(self, batch: Batch) -> Tensor:
        return self._loss_and_logits(batch)[0]

    def _loss_and_logits(self, batch: Batch) -> tuple[Tensor, Tensor]:
        logits = self.model(batch.src, batch.tgt_in)  # (B,T,V)
        loss = F.cross_entropy(
            logits.flatten(0, 1).float(),
            batch.tgt_out.flatten(),
            ignore_index=self.model.pad_id,
            label_smoothing=self.train_cfg.label_smoothing,
        )
        return loss, logits

    def training_step(self, batch: Batch, batch_idx: int) -> dict[str, Tensor]:
        loss, logits = self._loss_and_logits(batch)
        step = self.global_step + 1  # the step this batch completes
        if step % self.train_cfg.log_every and step != self.train_cfg.steps:
            return {"loss": loss}
        # the progress bar's loss, on logging steps only: self.log costs ~1 ms a call, and
        # showing a CUDA tensor every step would synchronise every step
        self.log("loss", loss.detach(), prog_bar=True, on_step=True, batch_size=batch.src.size(0))
        with torch.no_grad():  # teacher-forced token accuracy, only on logging steps
            real = batch.tgt_out.ne(self.model.pad_id)
            correct = (logits.argmax(-1).eq(batch.tgt_out) & real).sum()
        return {"loss": loss, "correct": correct}

    def on_dev_loss(self, dev_loss: float) -> None:
        """Called with each periodic dev loss (bench.cell.dev.DevCurve): the plateau schedule."""
        if self.train_cfg.schedule == "plateau":
            self.plateau.step(dev_loss)

    def current_lr(self) -> float:
        return float(self.optimizers().param_groups[0]["lr"])

    def configure_optimizers(self):  # noqa: ANN201
        t = self.train_cfg
        opt = make_optimizer(self.model.parameters(), t)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule_factor(t, self.plateau))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
