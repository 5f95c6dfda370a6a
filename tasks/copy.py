"""Copy task: reproduce a random sequence of symbols (the annotated-transformer smoke test).

With ``delay > 0`` it is the copy-memory task: the source is the sequence, then ``delay``
filler tokens; the target is the sequence alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from checks import check_values
from tasks.base import (
    EVAL_SEED_OFFSET,
    N_SPECIAL,
    PAD,
    Batch,
    SequenceTask,
    check_sequence_config,
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
        check_sequence_config(self)
        check_values(self, "task", delay=">= 0")

    def max_lengths(self) -> tuple[int, int]:
        """(source, target incl. EOS) lengths of the longest example: memory sizing."""
        return self.length + self.delay, self.length + 1


class CopyTask(SequenceTask):
    """Seeded, vectorised copy data and sequence metrics.

    ``distance`` = length + delay: read source and output as one stream, and source symbol i
    (of a full-length sequence) is produced ``length + delay`` positions later, after the
    rest of the sequence, the fillers and the i symbols already copied.
    """

    name = "copy"

    def __init__(self, cfg: CopyConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed
        self.filler = N_SPECIAL + cfg.n_symbols if cfg.delay else None
        self.vocab_size = N_SPECIAL + cfg.n_symbols + (1 if cfg.delay else 0)
        self.max_target_len = cfg.length + 1
        self.distance = cfg.length + cfg.delay

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        """n examples; padded to this batch's longest sequence, not the task maximum."""
        symbols, lengths = self.random_sequences(n, generator)
        src = symbols
        if self.cfg.delay:  # sequence, then `delay` fillers, then pads
            pos = torch.arange(symbols.size(1) + self.cfg.delay).unsqueeze(0)  # (1, S+delay)
            end = lengths.unsqueeze(1)
            src = torch.nn.functional.pad(symbols, (0, self.cfg.delay), value=PAD)
            src = src.masked_fill((pos >= end) & (pos < end + self.cfg.delay), self.filler)
        return Batch.from_tensors(src, *teacher_forcing_pair(symbols, lengths))
