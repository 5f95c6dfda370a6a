"""Copy task: reproduce a random sequence of symbols (the annotated-transformer smoke test).

With ``delay > 0`` it is the copy-memory task: the source is the sequence, then ``delay``
filler tokens; the target is the sequence alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from tasks.base import (
    EVAL_SEED_OFFSET,
    N_SPECIAL,
    PAD,
    Batch,
    fixed_budget,
    seeded_eval_batches,
    sequence_examples,
    sequence_scores,
    summarise_scores,
    teacher_forcing_pair,
)

__all__ = ["EVAL_SEED_OFFSET", "CopyConfig", "CopyTask", "teacher_forcing_pair"]


@dataclass(frozen=True)
class CopyConfig:
    """Copy task knobs."""

    length: int = 16
    """Longest sequence to copy."""
    min_length: int = 8
    """Shortest sequence; lengths are uniform in [min_length, length]. 0: always ``length``."""
    n_symbols: int = 16
    """Alphabet size (the vocabulary adds PAD, BOS and EOS, and a filler when delay > 0)."""
    delay: int = 0
    """Filler tokens after the sequence in the source (copy-memory); distance = length + delay."""
    eval_size: int = 512
    """Held-out examples scored by greedy decoding after training."""

    def __post_init__(self) -> None:
        if self.length < 1:
            raise ValueError(f"task.length must be >= 1, got {self.length}")
        if not 0 <= self.min_length <= self.length:
            raise ValueError(
                f"task.min_length must be in [0, length={self.length}], got {self.min_length}"
            )
        if self.n_symbols < 2:
            raise ValueError(f"task.n_symbols must be >= 2, got {self.n_symbols}")
        if self.delay < 0:
            raise ValueError(f"task.delay must be >= 0, got {self.delay}")
        if self.eval_size < 1:
            raise ValueError(f"task.eval_size must be >= 1, got {self.eval_size}")

    def max_lengths(self) -> tuple[int, int]:
        """(source, target incl. EOS) lengths of the longest example: memory sizing."""
        return self.length + self.delay, self.length + 1


class CopyTask:
    """Seeded, vectorised copy data and sequence metrics.

    ``distance`` = length + delay: read source and output as one stream, and source symbol i
    (of a full-length sequence) is produced ``length + delay`` positions later, after the
    rest of the sequence, the fillers and the i symbols already copied.
    """

    name = "copy"
    floor_metric = "token_acc"
    beam_size = 1
    length_penalty = 0.0  # greedy decoding: no length penalty

    def __init__(self, cfg: CopyConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed
        self.filler = N_SPECIAL + cfg.n_symbols if cfg.delay else None
        self.vocab_size = N_SPECIAL + cfg.n_symbols + (1 if cfg.delay else 0)
        self.max_target_len = cfg.length + 1
        self.distance = cfg.length + cfg.delay

    def max_output_len(self, src: Tensor) -> Tensor:
        """The task's longest target (EOS included) for every example: known a priori."""
        return fixed_budget(src, self.max_target_len)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        """n examples; padded to this batch's longest sequence, not the task maximum."""
        symbols, lengths = self._sequences(n, generator)
        src = symbols
        if self.cfg.delay:  # sequence, then `delay` fillers, then pads
            pos = torch.arange(symbols.size(1) + self.cfg.delay).unsqueeze(0)  # (1, S+delay)
            end = lengths.unsqueeze(1)
            src = torch.nn.functional.pad(symbols, (0, self.cfg.delay), value=PAD)
            src = src.masked_fill((pos >= end) & (pos < end + self.cfg.delay), self.filler)
        return Batch.from_tensors(src, *teacher_forcing_pair(symbols, lengths))

    def _sequences(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """(n, S) PAD-padded random symbol sequences and their lengths (n,)."""
        c = self.cfg
        shortest = c.min_length or c.length  # 0: fixed length (speed and memory sweeps)
        lengths = torch.randint(shortest, c.length + 1, (n,), generator=generator)
        S = int(lengths.max())
        symbols = torch.randint(N_SPECIAL, N_SPECIAL + c.n_symbols, (n, S), generator=generator)
        real = torch.arange(S).unsqueeze(0) < lengths.unsqueeze(1)  # (n,S)
        return symbols.masked_fill(~real, PAD), lengths

    def eval_batches(self, batch_size: int, split: str = "test") -> list[Batch]:
        return seeded_eval_batches(self, self.seed, self.cfg.eval_size, batch_size, split)

    def score(self, hyp: Tensor, batch: Batch) -> dict[str, float]:
        return sequence_scores(hyp, batch.tgt_out)

    def summarise(self, parts: list[dict[str, float]]) -> dict[str, float]:
        return summarise_scores(parts)

    def examples(self, hyp: Tensor, batch: Batch) -> list[dict[str, Any]]:
        return sequence_examples(hyp, batch.tgt_out, self.cfg.n_symbols)
