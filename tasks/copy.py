"""Copy task: reproduce a random sequence of symbols (the annotated-transformer smoke test)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from tasks.base import BOS, EOS, N_SPECIAL, PAD, Batch, sequence_scores, summarise_scores

EVAL_SEED_OFFSET = 1_000_003  # eval data come from a stream disjoint from training batches


@dataclass(frozen=True)
class CopyConfig:
    """Copy task knobs."""

    length: int = 16
    """Longest sequence to copy."""
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


class CopyTask:
    """Seeded, vectorised copy data and sequence metrics."""

    name = "copy"
    beam_size = 1
    distance = None

    def __init__(self, cfg: CopyConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = seed
        self.vocab_size = N_SPECIAL + cfg.n_symbols
        self.max_target_len = cfg.length + 1

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        """n examples; padded to this batch's longest sequence, not the task maximum."""
        c = self.cfg
        shortest = c.min_length or c.length  # 0: fixed length (speed and memory sweeps)
        lengths = torch.randint(shortest, c.length + 1, (n,), generator=generator)
        S = int(lengths.max())
        symbols = torch.randint(N_SPECIAL, self.vocab_size, (n, S), generator=generator)
        real = torch.arange(S).unsqueeze(0) < lengths.unsqueeze(1)  # (n,S)
        src = symbols.masked_fill(~real, PAD)
        return Batch.from_tensors(src, *teacher_forcing_pair(src, lengths))

    def eval_batches(self, batch_size: int) -> list[Batch]:
        g = torch.Generator().manual_seed(self.seed + EVAL_SEED_OFFSET)
        sizes = [batch_size] * (self.cfg.eval_size // batch_size)
        if self.cfg.eval_size % batch_size:
            sizes.append(self.cfg.eval_size % batch_size)
        return [self.sample(n, g) for n in sizes]

    def score(self, hyp: Tensor, batch: Batch) -> dict[str, float]:
        return sequence_scores(hyp, batch.tgt_out)

    def summarise(self, parts: list[dict[str, float]]) -> dict[str, float]:
        return summarise_scores(parts)


def teacher_forcing_pair(target: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """PAD-padded targets (n,T) with lengths -> (BOS+target, target+EOS), each (n,T+1)."""
    n = target.size(0)
    pad_col = target.new_full((n, 1), PAD)
    tgt_in = torch.cat([target.new_full((n, 1), BOS), target], dim=1)
    tgt_out = torch.cat([target, pad_col], dim=1)
    tgt_out[torch.arange(n), lengths] = EOS
    return tgt_in, tgt_out
