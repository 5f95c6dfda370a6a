"""The match task: the query names one item's key, a jittered distance later; the answer is
that item's value; the pair sits inside random items (or at the ends, the shortcut probe)."""

from __future__ import annotations

import torch

from tasks.base import PAD
from tasks.match import MatchConfig, MatchTask


def batch(cfg: MatchConfig, n: int = 256, seed: int = 0):  # noqa: ANN201
    task = MatchTask(cfg, seed=0)
    return task, task.sample(n, torch.Generator().manual_seed(seed))


def decode(task: MatchTask, src: torch.Tensor) -> tuple[list[int], list[int], list[int]]:
    """Per example: the query's position, the one item with the queried key, its value."""
    c = task.cfg
    queries, items, values = [], [], []
    for row in src.tolist():
        q_pos = next(i for i, t in enumerate(row) if task.query0 <= t < task.item0)
        q = row[q_pos] - task.query0
        named = [
            i
            for i, t in enumerate(row)
            if task.item0 <= t < task.answer0 and (t - task.item0) // c.n_values == q
        ]
        assert len(named) == 1, "one item has the queried key"
        queries.append(q_pos)
        items.append(named[0])
        values.append((row[named[0]] - task.item0) % c.n_values)
    return queries, items, values


def test_the_answer_is_the_value_of_the_one_item_the_query_names():
    cfg = MatchConfig(distance=20, jitter=0.25, context=30)
    task, b = batch(cfg)
    queries, items, values = decode(task, b.src)
    dist = torch.tensor(items) - torch.tensor(queries)
    assert dist.min() >= 15 and dist.max() <= 25 and dist.unique().numel() > 5
    assert torch.equal(torch.tensor(values) + task.answer0, b.tgt_out[:, 0])
    is_query = (b.src >= task.query0) & (b.src < task.item0)
    assert is_query.sum(1).eq(1).all()  # one query each
    assert b.src.lt(task.answer0).all()  # answers never appear in a source


def test_the_pair_sits_inside_its_context_away_from_both_ends():
    task, b = batch(MatchConfig(distance=16, context=40))
    queries, items, _ = decode(task, b.src)
    lengths = b.src.ne(PAD).sum(1)
    left = torch.tensor(queries)  # items before the query
    right = lengths - (torch.tensor(items) + 1)  # items after the named one
    assert left.min() >= 10 and right.min() >= 10  # a quarter of the context at least
    assert torch.equal(left + right, torch.full_like(left, 40))
    assert left.unique().numel() > 10  # a random offset


def test_ends_placement_opens_with_the_query_and_closes_with_the_item():
    task, b = batch(MatchConfig(distance=16, placement="ends"))
    queries, items, _ = decode(task, b.src)
    assert set(queries) == {0}
    assert torch.equal(torch.tensor(items) + 1, b.src.ne(PAD).sum(1))


def test_floors_chance_offset_and_most_frequent_value():
    cfg = MatchConfig(distance=8, jitter=0.25, context=16, n_values=9)
    task, b = batch(cfg, n=3000)
    ex = task.examples(b.tgt_out, b)
    assert all(abs(e["floor_chance"] - 1 / 9) < 1e-5 for e in ex)
    queries, items, _ = decode(task, b.src)
    nominal = [i - q == 8 for q, i in zip(queries, items, strict=True)]
    offset = [e["floor_offset"] for e in ex]
    assert all(o == 1.0 for o, hit in zip(offset, nominal, strict=True) if hit)
    expected = 1 / 5 + 4 / 5 * 1 / 9  # P(nominal distance among 6..10) + a lucky value
    assert abs(sum(offset) / len(offset) - expected) < 0.03
    frequent = sum(e["floor_frequent"] for e in ex) / len(ex)
    assert 1 / 9 < frequent < 0.3  # the answer's own item tips the count


def test_no_jitter_makes_the_offset_shortcut_exact():
    task, b = batch(MatchConfig(distance=8, jitter=0.0, context=16))
    assert all(e["floor_offset"] == 1.0 for e in task.examples(b.tgt_out, b))


def test_max_lengths_bound_every_source():
    for cfg in (MatchConfig(distance=30, context=50), MatchConfig(distance=30, placement="ends")):
        _, b = batch(cfg)
        assert b.src.size(1) <= cfg.max_lengths()[0]


def test_offset_relation_answers_the_item_a_fixed_distance_after_the_query():
    cfg = MatchConfig(distance=7, jitter=0.0, context=12, relation="offset", n_values=5)
    task, b = batch(cfg)
    query = ((b.src >= task.query0) & (b.src < task.item0)).long().argmax(1)
    item = b.src[torch.arange(b.src.size(0)), query + 7]
    assert torch.equal((item - task.item0) % 5 + task.answer0, b.tgt_out[:, 0])
    assert b.src.eq(task.query0).sum(1).eq(1).all()  # one query, naming no key
    assert "floor_offset" not in task.examples(b.tgt_out, b)[0]  # the offset is the rule
