"""The match task: the query recurs once, a jittered distance later; the answer follows the
recurrence; the pair sits inside random context (or at the ends, the shortcut probe)."""

from __future__ import annotations

import torch

from tasks.base import N_SPECIAL, PAD
from tasks.match import MatchConfig, MatchTask


def batch(cfg: MatchConfig, n: int = 256, seed: int = 0):  # noqa: ANN201
    task = MatchTask(cfg, seed=0)
    return task, task.sample(n, torch.Generator().manual_seed(seed))


def pair_positions(task: MatchTask, src: torch.Tensor) -> tuple[list[int], list[int]]:
    """Per example: the query's position and where its one recurrence sits."""
    queries, recurs = [], []
    for row in src.tolist():
        q_pos = row.index(task.marker) + 1
        same = [i for i, t in enumerate(row) if t == row[q_pos] and i != q_pos]
        assert len(same) == 1, "the query symbol recurs exactly once"
        queries.append(q_pos)
        recurs.append(same[0])
    return queries, recurs


def test_the_answer_follows_the_one_recurrence_at_a_jittered_distance():
    cfg = MatchConfig(distance=20, jitter=0.25, context=30, n_symbols=8)
    task, b = batch(cfg)
    queries, recurs = pair_positions(task, b.src)
    dist = torch.tensor(recurs) - torch.tensor(queries)
    assert dist.min() >= 15 and dist.max() <= 25 and dist.unique().numel() > 5
    answers = b.src[torch.arange(b.src.size(0)), torch.tensor(recurs) + 1]
    assert torch.equal(answers, b.tgt_out[:, 0])
    assert (answers != b.src[torch.arange(b.src.size(0)), torch.tensor(queries)]).all()
    assert b.src.eq(task.marker).sum(1).eq(1).all()  # one marker each
    assert (b.src.ne(PAD) & b.src.ne(task.marker)).logical_or(b.src.le(N_SPECIAL)).all()


def test_the_pair_sits_inside_its_context_away_from_both_ends():
    cfg = MatchConfig(distance=16, context=40, n_symbols=8)
    task, b = batch(cfg)
    queries, recurs = pair_positions(task, b.src)
    lengths = b.src.ne(PAD).sum(1)
    left = torch.tensor(queries) - 1  # symbols before the marker
    right = lengths - (torch.tensor(recurs) + 2)  # symbols after the answer
    assert left.min() >= 10 and right.min() >= 10  # a quarter of the context at least
    assert torch.equal(left + right, torch.full_like(left, 40))
    assert left.unique().numel() > 10  # a random offset


def test_ends_placement_opens_with_the_query_and_closes_with_the_answer():
    task, b = batch(MatchConfig(distance=16, placement="ends", n_symbols=8))
    queries, recurs = pair_positions(task, b.src)
    lengths = b.src.ne(PAD).sum(1)
    assert set(queries) == {1}
    assert torch.equal(torch.tensor(recurs) + 2, lengths)  # the answer is the last symbol


def test_floors_chance_and_the_fixed_offset_shortcut():
    cfg = MatchConfig(distance=8, jitter=0.25, context=16, n_symbols=9)
    task, b = batch(cfg, n=2000)
    ex = task.examples(b.tgt_out, b)
    assert all(e["floor_chance"] == 1 / 8 for e in ex)
    queries, recurs = pair_positions(task, b.src)
    at_nominal = [r - q == 8 for q, r in zip(queries, recurs, strict=True)]
    offset = [e["floor_offset"] for e in ex]
    # the offset shortcut is right wherever the distance is the nominal one, else by luck
    assert all(o == 1.0 for o, hit in zip(offset, at_nominal, strict=True) if hit)
    expected = 1 / 5 + 4 / 5 * 1 / 8  # P(nominal distance among 6..10) + a lucky symbol
    assert abs(sum(offset) / len(offset) - expected) < 0.04


def test_no_jitter_makes_the_offset_shortcut_exact():
    task, b = batch(MatchConfig(distance=8, jitter=0.0, context=16))
    assert all(e["floor_offset"] == 1.0 for e in task.examples(b.tgt_out, b))


def test_max_lengths_bound_every_source():
    for cfg in (MatchConfig(distance=30, context=50), MatchConfig(distance=30, placement="ends")):
        task, b = batch(cfg)
        assert b.src.size(1) <= cfg.max_lengths()[0]
        assert int(b.src.ne(PAD).sum(1).max()) <= cfg.max_lengths()[0]
