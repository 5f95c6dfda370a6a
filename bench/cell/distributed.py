"""Multi-device cells (Lightning DDP): per-rank data streams and cross-rank summaries."""

from __future__ import annotations

import lightning.pytorch as pl
import torch


def data_rank() -> int:
    """This process's rank in the initialised process group (0 without one)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank()
    return 0


class RankSummary(pl.Callback):
    """At the end of training, combine each rank's speed and memory.

    Global tokens/s is the sum over ranks of each rank's median tokens/s; per-device
    tokens/s is their mean; peak memory is the maximum over ranks.
    """

    def __init__(self, speed_fn, memory_fn) -> None:  # noqa: ANN001
        self.speed_fn, self.memory_fn = speed_fn, memory_fn
        self.summary: dict[str, float | int] = {}

    def on_train_end(self, trainer, pl_module) -> None:  # noqa: ANN001
        speed = self.speed_fn().get("train_tgt_tokens_per_s", 0.0)
        memory = self.memory_fn().get("peak_mem_mb", 0.0)
        local = torch.tensor([speed, memory], dtype=torch.float64, device=pl_module.device)
        gathered = trainer.strategy.all_gather(local).view(-1, 2).cpu()  # (world, 2)
        self.summary = {
            "world_size": trainer.world_size,
            "train_tgt_tokens_per_s_global": float(gathered[:, 0].sum()),
            "train_tgt_tokens_per_s_per_device": float(gathered[:, 0].mean()),
            "peak_mem_mb_max_over_ranks": float(gathered[:, 1].max()),
        }
