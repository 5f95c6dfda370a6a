"""Greedy and beam-search decoding over the incremental interface of :mod:`models.seq2seq`.

Output convention of every decoder: (B, L) token ids, PAD after a hypothesis's EOS. ``max_len``
is the longest output, EOS included: an int for every sentence or a (B,) tensor per sentence
(translation: source length + 50, as in the paper). A hypothesis that reaches its limit
without EOS ends there, truncated. PAD and BOS are never emitted before EOS.
"""

from __future__ import annotations

import torch
from torch import Tensor

from models.seq2seq import Seq2Seq, select

NEG_INF = float("-inf")


def length_limits(max_len: int | Tensor, batch: int, device: torch.device) -> Tensor:
    """Per-sentence output limits (B,) from an int or a (B,) tensor; each must be >= 1."""
    limits = (
        max_len.to(device=device, dtype=torch.long)
        if isinstance(max_len, Tensor)
        else torch.full((batch,), int(max_len), dtype=torch.long, device=device)
    )
    if limits.shape != (batch,):
        raise ValueError(
            f"max_len must be an int or a ({batch},) tensor, got {tuple(limits.shape)}"
        )
    if batch and int(limits.min()) < 1:
        raise ValueError(f"max_len must be >= 1 for every sentence, got {int(limits.min())}")
    return limits


def forbid(scores: Tensor, pad: int, bos: int) -> Tensor:
    """``scores`` (N, V) with PAD and BOS set to -inf: a live hypothesis never emits them."""
    return scores.index_fill(1, torch.tensor([pad, bos], device=scores.device), NEG_INF)


def gnmt_penalty(length: Tensor | float, alpha: float) -> Tensor | float:
    """GNMT length penalty ((5 + length) / 6) ** alpha (Wu et al. 2016, eq. 14)."""
    return ((5.0 + length) / 6.0) ** alpha


@torch.no_grad()
def greedy_decode(model: Seq2Seq, src: Tensor, max_len: int | Tensor, bos: int, eos: int) -> Tensor:
    """Greedy decoding with cached state. Returns (B, L <= max(max_len)) tokens."""
    pad, B = model.pad_id, src.size(0)
    limits = length_limits(max_len, B, src.device)
    enc = model.encode(src)
    state = model.init_state(enc)
    tokens = torch.full((B,), bos, dtype=torch.long, device=src.device)
    finished = torch.zeros_like(tokens, dtype=torch.bool)
    out = []
    for t in range(int(limits.max())):
        logits, state = model.decode_step(enc, state, tokens, t)
        tokens = forbid(logits, pad, bos).argmax(-1).masked_fill(finished, pad)
        out.append(tokens)
        finished |= (tokens == eos) | (limits <= t + 1)
        if bool(finished.all()):
            break
    return torch.stack(out, dim=1)


@torch.no_grad()
def prefix_greedy_decode(
    model: Seq2Seq, src: Tensor, max_len: int | Tensor, bos: int, eos: int
) -> Tensor:
    """Greedy decoding that re-runs the decoder over the whole prefix at every step.

    No state is cached (the source is encoded once): the baseline that the cached
    :func:`greedy_decode` must equal and beat. Same output convention.
    """
    pad, B = model.pad_id, src.size(0)
    limits = length_limits(max_len, B, src.device)
    enc = model.encode(src)
    prefix = torch.full((B, 1), bos, dtype=torch.long, device=src.device)
    finished = torch.zeros(B, dtype=torch.bool, device=src.device)
    for t in range(int(limits.max())):
        logits = model.decode_all(enc, prefix)[:, -1]
        tokens = forbid(logits, pad, bos).argmax(-1).masked_fill(finished, pad)
        prefix = torch.cat([prefix, tokens.unsqueeze(1)], dim=1)
        finished |= (tokens == eos) | (limits <= t + 1)
        if bool(finished.all()):
            break
    return prefix[:, 1:]


@torch.no_grad()
def beam_search(
    model: Seq2Seq,
    src: Tensor,
    beam: int,
    max_len: int | Tensor,
    bos: int,
    eos: int,
    length_penalty: float = 0.6,
) -> Tensor:
    """Beam search as in fairseq / tensor2tensor. Returns (B, L) best hypotheses.

    Each sentence keeps ``beam`` live hypotheses, ranked by summed log-probability. Every
    step expands them, takes the 2*beam best candidates, moves those among the top ``beam``
    that end (EOS, or the sentence's length limit) to the sentence's finished set, and keeps
    the ``beam`` best candidates that did not end as the live ones (so EOS never takes a live
    slot). Finished hypotheses are compared by log-probability / GNMT penalty of their
    length (EOS counted); only the best is kept, as only the best is returned. A sentence
    stops when its best live hypothesis, scored at the most favourable length it could
    still reach (its limit), cannot beat that best finished one, or at its limit; stopped
    sentences leave the batch.
    """
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    if not length_penalty >= 0.0:
        raise ValueError(f"length_penalty must be >= 0, got {length_penalty}")
    pad, k, device = model.pad_id, beam, src.device
    B = src.size(0)
    limits = length_limits(max_len, B, device)
    best_tokens = torch.full((B, int(limits.max())), pad, dtype=torch.long, device=device)
    best_score = torch.full((B,), NEG_INF, device=device)  # penalised score of best finished
    sent = torch.arange(B, device=device)  # original index of each sentence still searched
    enc = select(model.encode(src), sent.repeat_interleave(k))  # rows: sentence-major, (n*k)
    state = model.init_state(enc)
    scores = torch.zeros(B, k, device=device)  # (n, k) log-prob of each live hypothesis
    scores[:, 1:] = NEG_INF  # all beams start identical: keep one alive
    tokens = torch.full((B * k,), bos, dtype=torch.long, device=device)
    history = torch.empty(B * k, 0, dtype=torch.long, device=device)  # (n*k, t)
    for t in range(best_tokens.size(1)):
        n = sent.size(0)
        logits, state = model.decode_step(enc, state, tokens, t)
        logp = forbid(torch.log_softmax(logits.float(), dim=-1), pad, bos)  # (n*k, V)
        V = logp.size(-1)
        cand, flat = (scores.view(-1, 1) + logp).view(n, k * V).topk(2 * k, dim=1)  # (n, 2k)
        origin, cand_tokens = flat // V, flat % V
        rows = torch.arange(n, device=device).unsqueeze(1) * k + origin  # (n, 2k) into n*k
        # finished: the top-k candidates that end here (EOS, or at the sentence's limit)
        last = limits[sent] <= t + 1  # (n,)
        ends = (cand_tokens == eos) | last.unsqueeze(1)
        ends[:, k:] = False
        normed = (cand / gnmt_penalty(t + 1.0, length_penalty)).masked_fill(~ends, NEG_INF)
        top, j = normed.max(1)  # (n,)
        better = top > best_score[sent]
        ended = torch.cat(
            [history[rows.gather(1, j[:, None])[:, 0]], cand_tokens.gather(1, j[:, None])], 1
        )
        best_tokens[sent, : t + 1] = torch.where(better[:, None], ended, best_tokens[sent, : t + 1])
        best_score[sent] = torch.where(better, top, best_score[sent])
        # live: the k best candidates that do not end with EOS
        scores, pick = cand.masked_fill(cand_tokens == eos, NEG_INF).topk(k, dim=1)  # (n, k)
        reorder = rows.gather(1, pick).view(-1)  # (n*k,)
        tokens = cand_tokens.gather(1, pick).view(-1)
        # stop: no live hypothesis can beat the best finished one, even at its longest
        bound = scores[:, 0] / gnmt_penalty(limits[sent].float(), length_penalty)
        done = last | (bound <= best_score[sent])
        if bool(done.all()):
            break
        if bool(done.any()):  # drop stopped sentences from the batch
            keep = (~done).nonzero().squeeze(1)
            keep_rows = (keep.unsqueeze(1) * k + torch.arange(k, device=device)).view(-1)
            sent, scores = sent[keep], scores[keep]
            reorder, tokens = reorder[keep_rows], tokens[keep_rows]
            enc = select(enc, keep_rows)
        history = torch.cat([history[reorder], tokens.unsqueeze(1)], dim=1)
        state = select(state, reorder)
    width = max(1, int(best_tokens.ne(pad).sum(1).max()))
    return best_tokens[:, :width]
