"""What every task shares: the token convention, the batch type and sequence metrics."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import torch
from torch import Tensor

PAD, BOS, EOS = 0, 1, 2  # reserved ids at the start of every task vocabulary
N_SPECIAL = 3
EVAL_SEED_OFFSET = 1_000_003  # eval data come from a stream disjoint from training batches
DEV_SEED_OFFSET = 2_000_029  # the dev set's own stream, apart from training and test
SPLITS = ("dev", "test")  # held-out splits: dev for every choice, test reported once


class Batch(NamedTuple):
    """One padded batch. Token counts are plain ints so timing code never syncs a device."""

    src: Tensor  # (B, S) source tokens, PAD-padded
    tgt_in: Tensor  # (B, T) BOS + target, PAD-padded (decoder input)
    tgt_out: Tensor  # (B, T) target + EOS, PAD-padded (labels)
    n_src_tokens: int  # non-pad source tokens
    n_tgt_tokens: int  # non-pad target tokens (labels, EOS included)

    @classmethod
    def from_tensors(cls, src: Tensor, tgt_in: Tensor, tgt_out: Tensor) -> Batch:
        return cls(src, tgt_in, tgt_out, int(src.ne(PAD).sum()), int(tgt_out.ne(PAD).sum()))

    def to(self, device: torch.device | str) -> Batch:
        """The same batch with its tensors on ``device`` (token counts unchanged)."""
        return self._replace(
            src=self.src.to(device), tgt_in=self.tgt_in.to(device), tgt_out=self.tgt_out.to(device)
        )


class Task(Protocol):
    """A task generates seeded batches and scores decoded outputs.

    Evaluation decodes every batch of ``eval_batches`` (greedy, or beam search when
    ``beam_size > 1``), calls ``score`` per batch and ``summarise`` once on the list of parts.
    ``split`` is "test" (reported) or "dev" (for selection: tuning, plateau schedules).
    """

    name: str
    vocab_size: int
    max_target_len: int  # longest target incl. EOS: the decoding budget
    beam_size: int  # 1: greedy decoding
    distance: int | None  # dependency distance of a long-range task, recorded in the row

    def sample(self, n: int, generator: torch.Generator) -> Batch: ...

    def eval_batches(self, batch_size: int, split: str = "test") -> list[Batch]: ...

    def score(self, hyp: Tensor, batch: Batch) -> dict[str, Any]:
        """What ``summarise`` needs of decoded ``hyp`` (B, L) against ``batch`` (counts, text)."""
        ...

    def summarise(self, parts: list[dict[str, Any]]) -> dict[str, Any]:
        """Metrics (accuracies, BLEU, ...) from the ``score`` parts of all eval batches."""
        ...


def sequence_scores(hyp: Tensor, ref: Tensor) -> dict[str, float]:
    """Token and exact-match counts of decoded ``hyp`` (B, L) against labels ``ref`` (B, T).

    Both are PAD after their EOS. Token accuracy is over reference positions (EOS
    included); a sequence is exact when every reference position, EOS included, matches.
    """
    T = max(hyp.size(1), ref.size(1))
    hyp = torch.nn.functional.pad(hyp, (0, T - hyp.size(1)), value=PAD)
    ref = torch.nn.functional.pad(ref, (0, T - ref.size(1)), value=PAD)
    real = ref.ne(PAD)
    hit = hyp.eq(ref) & real
    return {
        "token_correct": float(hit.sum()),
        "token_total": float(real.sum()),
        "seq_correct": float((hit == real).all(1).sum()),
        "seq_total": float(ref.size(0)),
    }


def summarise_scores(parts: list[dict[str, float]]) -> dict[str, float]:
    """Accuracies from the per-batch counts of :func:`sequence_scores`."""
    totals = {k: sum(p[k] for p in parts) for k in parts[0]} if parts else {}
    totals = {
        k: totals.get(k, 0.0) for k in ("token_correct", "token_total", "seq_correct", "seq_total")
    }
    return {
        "token_acc": totals["token_correct"] / max(totals["token_total"], 1.0),
        "seq_acc": totals["seq_correct"] / max(totals["seq_total"], 1.0),
    }


def answer_scores(hyp: Tensor, ref: Tensor) -> dict[str, float]:
    """Counts for ``answer_acc``: the first decoded token against the single-token answer."""
    return {
        "answer_correct": float(hyp[:, 0].eq(ref[:, 0]).sum()),
        "answer_total": float(ref.size(0)),
    }


def ratio(parts: list[dict[str, Any]], correct: str, total: str) -> float | None:
    """sum(correct) / sum(total) over score parts; None when the total is 0."""
    den = sum(p[total] for p in parts)
    return sum(p[correct] for p in parts) / den if den else None


def eval_sizes(eval_size: int, batch_size: int) -> list[int]:
    """Batch sizes that split ``eval_size`` examples into batches of at most ``batch_size``."""
    sizes = [batch_size] * (eval_size // batch_size)
    return sizes + [eval_size % batch_size] if eval_size % batch_size else sizes


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")


def seeded_eval_batches(
    task: Task, seed: int, eval_size: int, batch_size: int, split: str = "test"
) -> list[Batch]:
    """A fixed held-out set of a generated task: test and dev each have their own seeded
    stream, apart from the training one (and from each other)."""
    check_split(split)
    offset = EVAL_SEED_OFFSET if split == "test" else DEV_SEED_OFFSET
    g = torch.Generator().manual_seed(seed + offset)
    return [task.sample(n, g) for n in eval_sizes(eval_size, batch_size)]


def teacher_forcing_pair(target: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
    """PAD-padded targets (n,T) with lengths -> (BOS+target, target+EOS), each (n,T+1)."""
    n = target.size(0)
    pad_col = target.new_full((n, 1), PAD)
    tgt_in = torch.cat([target.new_full((n, 1), BOS), target], dim=1)
    tgt_out = torch.cat([target, pad_col], dim=1)
    tgt_out[torch.arange(n), lengths] = EOS
    return tgt_in, tgt_out
