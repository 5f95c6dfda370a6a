"""Greedy and beam search: the standard search (fairseq / tensor2tensor), limits, no PAD/BOS."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import pytest
import torch
from torch import Tensor

from models import beam_search, greedy_decode, prefix_greedy_decode
from models.decoding import gnmt_penalty
from models.seq2seq import Seq2Seq
from tests.conftest import random_pair

PAD, BOS, EOS, A, B, C = range(6)
Table = Callable[[tuple[int, ...]], dict[int, float]]


class Scripted(Seq2Seq):
    """A decoder whose next-token probabilities are a fixed function of the prefix so far."""

    def __init__(self, vocab: int, table: Table) -> None:
        super().__init__(PAD)
        self.vocab, self.table = vocab, table

    def encode(self, src: Tensor) -> dict:
        return {"src": src}

    def init_state(self, enc: dict) -> dict:
        return {"prefix": enc["src"].new_zeros(enc["src"].size(0), 0)}

    def decode_step(self, enc: dict, state: dict, tokens: Tensor, step: int) -> tuple[Tensor, dict]:
        prefix = torch.cat([state["prefix"], tokens.unsqueeze(1)], dim=1)  # BOS first
        logits = torch.full((prefix.size(0), self.vocab), -1e9)
        for i, row in enumerate(prefix.tolist()):
            for token, p in self.table(tuple(row[1:])).items():
                logits[i, token] = math.log(p)
        return logits, {"prefix": prefix}


def toy(prefix: tuple[int, ...]) -> dict[int, float]:
    """EOS is likeliest first, A next but a dead end; B leads to a sure 11-token output."""
    if not prefix:
        return {EOS: 0.4, A: 0.3093, B: 0.2907}
    if prefix[0] == B and all(t == C for t in prefix[1:]):
        return {C: 0.99, EOS: 0.005, A: 0.005} if len(prefix) < 10 else {EOS: 0.99, C: 0.01}
    return {EOS: 0.25, A: 0.25, B: 0.25, C: 0.25}


def score(table: Table, hyp: list[int], alpha: float) -> float:
    """Log-probability of ``hyp`` (up to and including its EOS) / GNMT penalty of its length."""
    hyp = hyp[: hyp.index(EOS) + 1] if EOS in hyp else [t for t in hyp if t != PAD]
    logp = sum(math.log(table(tuple(hyp[:i]))[t]) for i, t in enumerate(hyp))
    return logp / gnmt_penalty(float(len(hyp)), alpha)


def decode_toy(alpha: float, beam: int = 2) -> list[int]:
    src = torch.full((1, 3), A)
    return beam_search(Scripted(6, toy), src, beam, 20, BOS, EOS, alpha)[0].tolist()


def test_beam_finished_hypotheses_leave_the_beam():
    """Beam 2, alpha 0.6: the 11-token output (-0.742) beats the empty one (-0.916).

    A search that keeps finished hypotheses in their beam slots returns the empty output
    here: EOS holds one slot, the dead end A the other, and B is lost at the first step.
    """
    long = [B] + [C] * 9 + [EOS]
    assert score(toy, [EOS], 0.6) == pytest.approx(-0.916, abs=1e-3)
    assert score(toy, long, 0.6) == pytest.approx(-0.742, abs=1e-3)
    assert decode_toy(0.6) == long


def test_beam_length_penalty_changes_the_choice():
    """Without the penalty the empty output is likelier; alpha 0.6 and 1.0 prefer the long one."""
    assert decode_toy(0.0) == [EOS]
    assert decode_toy(1.0) == [B] + [C] * 9 + [EOS]


def markov(seed: int, vocab: int = 7) -> Table:
    """Random next-token probabilities depending on the last token and the step."""
    g = torch.Generator().manual_seed(seed)
    table = torch.rand(vocab, 8, vocab, generator=g) ** 4
    table[..., [PAD, BOS]] = 0.0
    table = table / table.sum(-1, keepdim=True)

    def probs(prefix: tuple[int, ...]) -> dict[int, float]:
        last = prefix[-1] if prefix else BOS
        return {t: float(p) for t, p in enumerate(table[last, len(prefix)]) if p > 0}

    return probs


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_wide_enough_is_exact(seed, alpha):
    """A beam holding every hypothesis returns the best of all outputs of length <= 3."""
    table, limit, real = markov(seed), 3, range(3, 7)
    outputs = [
        [*body, last]
        for n in range(limit)
        for body in itertools.product(real, repeat=n)
        for last in ([EOS, *real] if n == limit - 1 else [EOS])
    ]
    best = max(score(table, h, alpha) for h in outputs)
    hyp = beam_search(
        Scripted(7, table), torch.ones(1, 2, dtype=torch.long), 100, limit, BOS, EOS, alpha
    )
    assert score(table, hyp[0].tolist(), alpha) == pytest.approx(best, abs=1e-9)


def test_beam_batched_equals_per_sentence(tiny_model):
    """Each sentence decodes the same alone (pads stripped) as in a padded batch."""
    _, model = tiny_model
    src, _ = random_pair(b=4, s=9, seed=3)
    src[2, 4:] = PAD
    lengths = src.ne(PAD).sum(1)
    batched = beam_search(model, src, 3, lengths + 4, BOS, EOS, 0.6)
    for i in range(src.size(0)):
        alone = beam_search(
            model, src[i : i + 1, : lengths[i]], 3, lengths[i : i + 1] + 4, BOS, EOS, 0.6
        )
        row = batched[i][: alone.size(1)]
        assert torch.equal(row, alone[0]) and not batched[i][alone.size(1) :].ne(PAD).any()


class Tempted(Seq2Seq):
    """A real model whose PAD and BOS logits are pushed far above every other token."""

    def __init__(self, model: Seq2Seq) -> None:
        super().__init__(model.pad_id)
        self.model = model

    def encode(self, src: Tensor) -> dict:
        return self.model.encode(src)

    def init_state(self, enc: dict) -> dict:
        return self.model.init_state(enc)

    def decode_step(self, enc: dict, state: dict, tokens: Tensor, step: int) -> tuple[Tensor, dict]:
        logits, state = self.model.decode_step(enc, state, tokens, step)
        return logits.index_add(
            1, torch.tensor([PAD, BOS]), torch.full((logits.size(0), 2), 50.0)
        ), state


def check_output(hyp: Tensor, limits: Tensor) -> None:
    """No PAD or BOS before EOS, only PAD after it, and no row longer than its limit."""
    for row, limit in zip(hyp.tolist(), limits.tolist(), strict=True):
        end = row.index(EOS) + 1 if EOS in row else sum(t != PAD for t in row)
        assert end >= 1 and end <= limit, row
        assert PAD not in row[:end] and BOS not in row[:end], row
        assert all(t == PAD for t in row[end:]), row
        if EOS not in row:
            assert end == limit, row  # only the limit stops a hypothesis without EOS


@pytest.mark.parametrize("beam", [1, 3])
def test_beam_and_greedy_never_emit_pad_or_bos_before_eos(tiny_model, beam):
    _, model = tiny_model
    src, _ = random_pair(b=4, seed=4)
    limits = src.ne(PAD).sum(1) - 2
    for m in (model, Tempted(model)):
        check_output(greedy_decode(m, src, limits, BOS, EOS), limits)
        check_output(beam_search(m, src, beam, limits, BOS, EOS, 0.6), limits)


def test_beam_tempted_model_still_ends_with_eos():
    """The scripted model's likeliest tokens are PAD and BOS; EOS ends every output."""

    def table(prefix: tuple[int, ...]) -> dict[int, float]:
        return {PAD: 0.5, BOS: 0.3, A: 0.12, EOS: 0.08} if len(prefix) < 2 else {PAD: 0.9, EOS: 0.1}

    model, src = Scripted(6, table), torch.ones(2, 3, dtype=torch.long)
    assert greedy_decode(model, src, 5, BOS, EOS).tolist() == [[A, A, EOS]] * 2
    assert beam_search(model, src, 2, 5, BOS, EOS, 0.6).tolist() == [[EOS]] * 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"beam": 0}, "beam must be >= 1, got 0"),
        ({"length_penalty": -0.5}, "length_penalty must be >= 0, got -0.5"),
        ({"max_len": torch.tensor([3, 0])}, "max_len must be >= 1 for every sentence, got 0"),
        ({"max_len": torch.tensor([3, 3, 3])}, r"max_len must be an int or a \(2,\) tensor"),
    ],
)
def test_beam_bad_arguments_are_named(kwargs, message):
    args = {"beam": 2, "max_len": 4, "length_penalty": 0.6} | kwargs
    with pytest.raises(ValueError, match=message):
        beam_search(Scripted(6, toy), torch.ones(2, 3, dtype=torch.long), bos=BOS, eos=EOS, **args)


def test_cached_greedy_equals_recomputing_the_prefix(tiny_model):
    _, model = tiny_model
    src, _ = random_pair()
    cached = greedy_decode(model, src, max_len=7, bos=1, eos=-1)
    recomputed = prefix_greedy_decode(model, src, max_len=7, bos=1, eos=-1)
    assert cached.shape == (3, 7) and torch.equal(cached, recomputed)


def test_greedy_decoding_calls_decode_step_once_per_token(tiny_model):
    """Cached decoding: each step sees only the new token, never the prefix."""
    _, model = tiny_model
    seen = []
    step = model.decode_step

    def spy(enc, state, tokens, t):
        seen.append(tokens.shape)
        return step(enc, state, tokens, t)

    model.decode_step = spy
    greedy_decode(model, random_pair()[0], max_len=5, bos=1, eos=-1)
    assert seen == [torch.Size([3])] * 5
