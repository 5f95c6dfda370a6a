"""What every task shares: the token convention, the batch type, sequence metrics, config
checks, and the plumbing of generated tasks (``GeneratedTask``: symbol sequences in and
out, ``SequenceTask``; one answer token after a context, ``AnswerTask``)."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import torch
from torch import Tensor

from checks import check_values

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
    Optional ``rung_metrics``: ``summarise`` keys that training also measures on greedy dev
    decodes at each budget rung (translation: BLEU and chrF; bench/cell/dev.py).
    """

    name: str
    floor_metric: str  # the row metric that the floors (chance, shortcuts) are measured in
    vocab_size: int
    beam_size: int  # 1: greedy decoding
    length_penalty: float  # GNMT alpha of beam search
    distance: int | None  # dependency distance of a long-range task, recorded in the row

    def sample(self, n: int, generator: torch.Generator) -> Batch: ...

    def max_output_len(self, src: Tensor) -> Tensor:
        """(B,) longest output per example, EOS included: the decoding budget.

        Known from the task definition or the source alone, never from a reference.
        """
        ...

    def eval_batches(self, batch_size: int, split: str = "test") -> list[Batch]: ...

    def score(self, hyp: Tensor, batch: Batch) -> dict[str, Any]:
        """What ``summarise`` needs of decoded ``hyp`` (B, L) against ``batch`` (counts, text)."""
        ...

    def summarise(self, parts: list[dict[str, Any]]) -> dict[str, Any]:
        """Metrics (accuracies, BLEU, ...) from the ``score`` parts of all eval batches."""
        ...

    def examples(self, hyp: Tensor, batch: Batch) -> list[dict[str, Any]]:
        """Per-example outcomes of ``hyp`` (cells/<key>/eval.jsonl): for accuracy tasks the
        ``correct``/``total`` counts of the task's floor metric and each shortcut's expected
        ``floor_<name>`` count (see :func:`example_outcomes`); for translation the texts."""
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


def fixed_budget(src: Tensor, length: int) -> Tensor:
    """The same decoding budget ``length`` for every example of ``src`` (B, S) -> (B,)."""
    return torch.full((src.size(0),), length, dtype=torch.long, device=src.device)


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


def example_outcomes(
    correct: Tensor, total: Tensor, floors: dict[str, Tensor], hits: Tensor | None = None
) -> list[dict[str, Any]]:
    """One dict per example: ``correct`` of ``total`` scored units (tokens or the answer),
    ``floor_<name>``: the units a shortcut gets right in expectation on the same example,
    and ``hits``: a 0/1 string per reference position when ``hits`` (B, T) is given.
    """
    cols = {"correct": correct, "total": total} | {f"floor_{k}": v for k, v in floors.items()}
    lists = {k: v.double().tolist() for k, v in cols.items()}
    out = [{k: round(v[i], 6) for k, v in lists.items()} for i in range(correct.size(0))]
    if hits is not None:
        for d, row, n in zip(out, hits.int().tolist(), total.int().tolist(), strict=True):
            d["hits"] = "".join(map(str, row[:n]))
    return out


def floor_summary(examples: list[dict[str, Any]]) -> dict[str, float]:
    """Each shortcut's score on the whole eval set: sum of expected correct / sum of total."""
    total = sum(e["total"] for e in examples)
    names = [k for k in (examples[0] if examples else {}) if k.startswith("floor_")]
    return {k.removeprefix("floor_"): sum(e[k] for e in examples) / total for k in names}


def sequence_floors(total: Tensor, n_symbols: int) -> dict[str, Tensor]:
    """Expected correct tokens of two shortcuts on examples of ``total`` reference tokens
    (EOS included): ``chance`` guesses every position, ``length_known`` takes the output's
    length from the source (EOS right) and guesses the symbols."""
    return {"chance": total / n_symbols, "length_known": (total - 1) / n_symbols + 1}


def sequence_examples(hyp: Tensor, ref: Tensor, n_symbols: int) -> list[dict[str, Any]]:
    """Token outcomes per example of a symbol-sequence task (copy, reverse), with its
    shortcut floors (``sequence_floors``; EOS counted, as in ``token_acc``)."""
    T = max(hyp.size(1), ref.size(1))
    hyp = torch.nn.functional.pad(hyp, (0, T - hyp.size(1)), value=PAD)
    ref = torch.nn.functional.pad(ref, (0, T - ref.size(1)), value=PAD)
    real = ref.ne(PAD)
    hits = hyp.eq(ref) & real
    total = real.sum(1)
    return example_outcomes(hits.sum(1), total, sequence_floors(total, n_symbols), hits)


def check_sequence_config(cfg: Any) -> None:
    """The knobs of a symbol-sequence task: ``length``, ``min_length`` (0 or up to length),
    ``n_symbols`` and ``eval_size``."""
    check_values(cfg, "task", length=">= 1")
    if not 0 <= cfg.min_length <= cfg.length:
        raise ValueError(
            f"task.min_length must be in [0, length={cfg.length}], got {cfg.min_length}"
        )
    check_values(cfg, "task", n_symbols=">= 2", eval_size=">= 1")


class GeneratedTask:
    """Plumbing of a task whose data come from its seed: greedy decoding within a budget
    known a priori (``max_target_len``), and a seeded held-out set per split."""

    beam_size = 1
    length_penalty = 0.0  # greedy decoding: no length penalty
    cfg: Any
    seed: int
    max_target_len: int

    def max_output_len(self, src: Tensor) -> Tensor:
        """The task's longest target (EOS included) for every example: known a priori."""
        return fixed_budget(src, self.max_target_len)

    def eval_batches(self, batch_size: int, split: str = "test") -> list[Batch]:
        return seeded_eval_batches(self, self.seed, self.cfg.eval_size, batch_size, split)


class SequenceTask(GeneratedTask):
    """A symbol sequence in, a symbol sequence out (copy, reverse): token and exact-sequence
    accuracy, chance 1 / ``n_symbols`` per position. The config has ``length``,
    ``min_length``, ``n_symbols`` and ``eval_size``."""

    floor_metric = "token_acc"

    def random_sequences(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """(n, S) PAD-padded random symbol sequences and their lengths (n,), lengths uniform
        in [min_length, length] (min_length 0: always ``length``), S the longest drawn."""
        c = self.cfg
        shortest = c.min_length or c.length  # 0: fixed length (speed and memory sweeps)
        lengths = torch.randint(shortest, c.length + 1, (n,), generator=generator)
        S = int(lengths.max())
        symbols = torch.randint(N_SPECIAL, N_SPECIAL + c.n_symbols, (n, S), generator=generator)
        real = torch.arange(S).unsqueeze(0) < lengths.unsqueeze(1)  # (n,S)
        return symbols.masked_fill(~real, PAD), lengths

    def score(self, hyp: Tensor, batch: Batch) -> dict[str, float]:
        return sequence_scores(hyp, batch.tgt_out)

    def summarise(self, parts: list[dict[str, float]]) -> dict[str, float]:
        return summarise_scores(parts)

    def examples(self, hyp: Tensor, batch: Batch) -> list[dict[str, Any]]:
        return sequence_examples(hyp, batch.tgt_out, self.cfg.n_symbols)


class AnswerTask(GeneratedTask):
    """One answer token after a context (dependency, recall): ``answer_acc`` is the floor
    metric; sequence accuracy (answer then EOS) is reported beside it."""

    floor_metric = "answer_acc"
    max_target_len = 2  # the answer, then EOS

    @staticmethod
    def answer_batch(src: Tensor, answer: Tensor) -> Batch:
        """The batch of sources (n, S) and their one-token answers (n, 1)."""
        ones = torch.ones(answer.size(0), dtype=torch.long)
        return Batch.from_tensors(src, *teacher_forcing_pair(answer, ones))

    @staticmethod
    def answer_counts(hyp: Tensor, batch: Batch) -> dict[str, float]:
        """Sequence and answer counts of ``hyp`` (the task adds its own)."""
        return {**sequence_scores(hyp, batch.tgt_out), **answer_scores(hyp, batch.tgt_out)}

    @staticmethod
    def answer_outcomes(
        hyp: Tensor, batch: Batch, floors: dict[str, Tensor]
    ) -> list[dict[str, Any]]:
        """Per example: the answer right or not, and each floor's expected score."""
        return example_outcomes(hyp[:, 0].eq(batch.tgt_out[:, 0]), torch.ones(hyp.size(0)), floors)

    @staticmethod
    def answer_summary(parts: list[dict[str, float]]) -> dict[str, Any]:
        """Token, sequence and answer accuracy (the task adds its own)."""
        return {
            **summarise_scores(parts),
            "answer_acc": ratio(parts, "answer_correct", "answer_total"),
        }
