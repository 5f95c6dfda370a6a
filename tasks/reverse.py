"""Reverse task: output the source sequence back to front."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from tasks.base import (
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
        if self.length < 1:
            raise ValueError(f"task.length must be >= 1, got {self.length}")
        if not 0 <= self.min_length <= self.length:
            raise ValueError(
                f"task.min_length must be in [0, length={self.length}], got {self.min_length}"
            )
        if self.n_symbols < 2:
            raise ValueError(f"task.n_symbols must be >= 2, got {self.n_symbols}")
        if self.eval_size < 1:
            raise ValueError(f"task.eval_size must be >= 1, got {self.eval_size}")

    def max_lengths(self) -> tuple[int, int]:
        """(source, target incl. EOS) lengths of the longest example: memory sizing."""
        return self.length, self.length + 1


class ReverseTask:
    """Seeded, vectorised reversal data and sequence metrics.

    ``distance`` = length. Reading source then output as one stream, source symbol i of a
    length-L sequence is produced 2(L - i) - 1 positions later: from 1 (the last symbol, output
    first) to 2L - 1 (the first symbol, output last), L on average. It grows with the length
    by construction.
    """

    name = "reverse"
    floor_metric = "token_acc"
    beam_size = 1
    length_penalty = 0.0  # greedy decoding: no length penalty

    def __init__(self, cfg: ReverseConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed
        self.vocab_size = N_SPECIAL + cfg.n_symbols
        self.max_target_len = cfg.length + 1
        self.distance = cfg.length

    def max_output_len(self, src: Tensor) -> Tensor:
        """The task's longest target (EOS included) for every example: known a priori."""
        return fixed_budget(src, self.max_target_len)

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        """n examples; padded to this batch's longest sequence, not the task maximum."""
        c = self.cfg
        shortest = c.min_length or c.length
        lengths = torch.randint(shortest, c.length + 1, (n,), generator=generator)
        S = int(lengths.max())
        symbols = torch.randint(N_SPECIAL, self.vocab_size, (n, S), generator=generator)
        pos = torch.arange(S).unsqueeze(0)  # (1,S)
        real = pos < lengths.unsqueeze(1)  # (n,S)
        src = symbols.masked_fill(~real, PAD)
        return Batch.from_tensors(src, *teacher_forcing_pair(reverse_rows(src, lengths), lengths))

    def eval_batches(self, batch_size: int, split: str = "test") -> list[Batch]:
        return seeded_eval_batches(self, self.seed, self.cfg.eval_size, batch_size, split)

    def score(self, hyp: Tensor, batch: Batch) -> dict[str, float]:
        return sequence_scores(hyp, batch.tgt_out)

    def summarise(self, parts: list[dict[str, float]]) -> dict[str, float]:
        return summarise_scores(parts)

    def examples(self, hyp: Tensor, batch: Batch) -> list[dict[str, Any]]:
        return sequence_examples(hyp, batch.tgt_out, self.cfg.n_symbols)


def reverse_rows(seqs: Tensor, lengths: Tensor) -> Tensor:
    """Reverse the first ``lengths[i]`` entries of each row of ``seqs`` (n,S); pads stay put."""
    pos = torch.arange(seqs.size(1)).unsqueeze(0)  # (1,S)
    end = lengths.unsqueeze(1)  # (n,1)
    index = torch.where(pos < end, end - 1 - pos, pos)  # (n,S)
    return seqs.gather(1, index)
