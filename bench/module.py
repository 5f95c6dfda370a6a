"""LightningModule wrapping any attnbench model: loss, optimiser, schedule. Loop hooks only."""

from __future__ import annotations

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import Tensor

from bench.config import TrainConfig
from models import Seq2Seq
from tasks import Batch


def inverse_sqrt_schedule(warmup: int):  # noqa: ANN201
    """LR multiplier: linear warm-up to 1, then 1/sqrt decay (Vaswani et al. eq. 3, normalised)."""

    def factor(step: int) -> float:
        s = step + 1
        return min(s / warmup, (warmup / s) ** 0.5) if warmup > 0 else s**-0.5

    return factor


class Seq2SeqModule(pl.LightningModule):
    """Trains a :class:`Seq2Seq` with label-smoothed cross-entropy and AdamW."""

    def __init__(self, model: Seq2Seq, train: TrainConfig) -> None:
        super().__init__()
        self.model = model
        self.train_cfg = train

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

    def configure_optimizers(self):  # noqa: ANN201
        t = self.train_cfg
        opt = torch.optim.AdamW(
            self.model.parameters(),
            lr=t.lr,
            betas=(0.9, 0.98),
            eps=1e-9,
            weight_decay=t.weight_decay,
        )
        sched = torch.optim.lr_scheduler.LambdaLR(opt, inverse_sqrt_schedule(t.warmup))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
