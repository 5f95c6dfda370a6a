"""Test-only models that fail on purpose, registered through ATTNBENCH_PLUGINS.

Each is a tiny LSTM whose forward pass, in the worker process, raises, returns NaN, raises
an out-of-memory error, hangs, or kills its own process.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace

import torch

from models import MODELS, Entry
from models.lstm import LSTMConfig, LSTMSeq2Seq


@dataclass(frozen=True)
class FaultConfig:
    d_model: int = 16
    fail_at_step: int = 3

    @property
    def width(self) -> int:
        return self.d_model

    @property
    def width_step(self) -> int:
        return 2

    def with_width(self, width: int) -> FaultConfig:
        return replace(self, d_model=width)

    def lstm(self) -> LSTMConfig:
        """The LSTM this fault model is."""
        return LSTMConfig(d_model=self.d_model, n_layers=1)

    def forward_flops(self, src_len: int, tgt_len: int, vocab_size: int, batch: int = 1) -> float:
        return self.lstm().forward_flops(src_len, tgt_len, vocab_size, batch)

    @property
    def flops_countable(self) -> bool:
        return False

    @property
    def math_attention_on_cpu(self) -> bool:
        return False


def _fault_model(kind: str) -> type:
    class Fault(LSTMSeq2Seq):
        def __init__(self, cfg: FaultConfig, vocab_size: int, pad_id: int = 0) -> None:
            super().__init__(cfg.lstm(), vocab_size, pad_id)
            self.fail_at = cfg.fail_at_step
            self.calls = 0

        def forward(self, src, tgt_in):  # noqa: ANN001, ANN201
            self.calls += 1
            out = super().forward(src, tgt_in)
            if self.calls < self.fail_at or not self.training:
                return out
            if kind == "raise":
                raise RuntimeError("fault model: deliberate exception")
            if kind == "nan":
                return out * float("nan")
            if kind == "oom":
                raise torch.OutOfMemoryError("fault model: deliberate out of memory")
            if kind == "hang":
                time.sleep(3600)
            if kind == "exit":
                os._exit(7)
            return out

    Fault.__name__ = f"Fault_{kind}"
    return Fault


for _kind in ("raise", "nan", "oom", "hang", "exit"):
    MODELS[f"fault_{_kind}"] = Entry(
        _fault_model(_kind), FaultConfig, f"test only: a tiny LSTM that fails by {_kind}"
    )
