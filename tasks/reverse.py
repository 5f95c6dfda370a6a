"""Reverse task: output the source sequence back to front."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from tasks.base import (
    N_SPECIAL,
    Batch,
    SequenceTask,
    check_sequence_config,
    teacher_forcing_pair,
)


@dataclass(frozen=True)
class ReverseConfig:
    """Reverse task knobs."""

    length: int = 16
    """Longest sequence; the dependency distance (see ReverseTask)."""
    min_length: int = 8
    """Shortest sequence; lengths are uniform in [min_length, length]. 0: always ``length``."""
    n_symbols: int = 16
    """Alphabet size (the vocabulary adds PAD, BOS and EOS)."""
    eval_size: int = 512
    """Held-out examples scored by greedy decoding after training."""

    def __post_init__(self) -> None:
        check_sequence_config(self)

    def max_lengths(self) -> tuple[int, int]:
        """(source, target incl. EOS) lengths of the longest example: memory sizing."""
        return self.length, self.length + 1


class ReverseTask(SequenceTask):
    """Seeded, vectorised reversal data and sequence metrics.

    ``distance`` = length. Reading source then output as one stream, source symbol i of a
    length-L sequence is produced 2(L - i) - 1 positions later: from 1 (the last symbol, output
    first) to 2L - 1 (the first symbol, output last), L on average. It grows with the length
    by construction.
    """

    name = "reverse"

    def __init__(self, cfg: ReverseConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed
        self.vocab_size = N_SPECIAL + cfg.n_symbols
        self.max_target_len = cfg.length + 1
        self.distance = cfg.length

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        """n examples; padded to this batch's longest sequence, not the task maximum."""
        src, lengths = self.random_sequences(n, generator)
        return Batch.from_tensors(src, *teacher_forcing_pair(reverse_rows(src, lengths), lengths))


def reverse_rows(seqs: Tensor, lengths: Tensor) -> Tensor:
    """Reverse the first ``lengths[i]`` entries of each row of ``seqs`` (n,S); pads stay put."""
    pos = torch.arange(seqs.size(1)).unsqueeze(0)  # (1,S)
    end = lengths.unsqueeze(1)  # (n,1)
    index = torch.where(pos < end, end - 1 - pos, pos)  # (n,S)
    return seqs.gather(1, index)
