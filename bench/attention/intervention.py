"""Intervene on attention itself (Jain & Wallace 2019): decode with one unit's weights
replaced, and measure what the output loses.

A *unit* is one head of a Transformer cross-attention layer (``dec_cross_l1_h2``), the
LSTM's ``alignment`` or one ConvS2S layer's attention (``dec_attn_l0``). Conditions: the
unit's weights made uniform over the source, or shifted one source position on (cyclic
within the real source: every weight lands on a wrong position); for the best-aligned unit
and for a randomly chosen other unit, and for all heads of the best-aligned layer (its head
average hits most: heads can be redundant, so moving one may cost nothing) and all heads of
a randomly chosen other layer (none when the model has one). Per example: correct tokens of
the greedy output (EOS excluded), their total, and the summed probability of the correct
token (teacher forced). ``cells/<key>/intervention.json``; reports.claims.attention turns
it into drops.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from bench.attention.alignment import summarise
from bench.attention.record import is_cross, map_name
from bench.rundir.atomic import atomic_write_text
from bench.rundir.layout import INTERVENTION_FILE
from models.decoding import greedy_decode
from tasks import BOS, EOS, PAD, Task

N_EXAMPLES = 64
SHIFT = 1  # source positions the shifted weights move by


@dataclass(frozen=True)
class Unit:
    """One attention unit: its name, the module (named_modules name) and head (None: all)."""

    name: str
    module: str
    head: int | None


def cross_units(model: nn.Module, per_head: bool = True) -> list[Unit]:
    """Every head of every encoder-decoder attention that has an ``override`` hook (or, not
    ``per_head``, every such attention layer with all its heads: ``dec_cross_l1``)."""
    out = []
    for module_name, m in model.named_modules():
        if not hasattr(m, "override"):
            continue
        name = map_name(module_name)
        if not is_cross(name):
            continue
        heads = getattr(m, "h", 1)
        if heads == 1 or not per_head:
            out.append(Unit(name, module_name, None))
        else:
            out += [Unit(f"{name}_h{h}", module_name, h) for h in range(heads)]
    return out


def _valid(w: Tensor, keep: Tensor | None) -> Tensor:
    return torch.ones_like(w, dtype=torch.bool) if keep is None else keep.expand_as(w)


def uniform(w: Tensor, keep: Tensor | None) -> Tensor:
    """Equal weight on every real source position."""
    valid = _valid(w, keep).to(w.dtype)
    return valid / valid.sum(-1, keepdim=True).clamp(min=1)


def shifted(w: Tensor, keep: Tensor | None, k: int = SHIFT) -> Tensor:
    """Each weight moved ``k`` positions on, cyclically within the real (unpadded) source."""
    valid = _valid(w, keep)
    n = valid.sum(-1, keepdim=True).clamp(min=1)  # (...,1) real source length
    j = torch.arange(w.size(-1), device=w.device).expand_as(w)
    return w.gather(-1, (j - k) % n) * valid.to(w.dtype)  # w'[j] = w[j - k]


KINDS: dict[str, Callable[[Tensor, Tensor | None], Tensor]] = {
    "uniform": uniform,
    "shift": shifted,
}


def head_override(kind: str, head: int | None) -> Callable[[Tensor, Tensor | None], Tensor]:
    """The override for one head (dim 1 of (B,h,T,S) weights), or all weights (None)."""
    fn = KINDS[kind]

    def override(w: Tensor, keep: Tensor | None) -> Tensor:
        if head is None:
            return fn(w, keep)
        out = w.clone()
        out[:, head] = fn(w, keep)[:, head]
        return out

    return override


@contextmanager
def overridden(model: nn.Module, unit: Unit | None, kind: str) -> Iterator[None]:
    """Inside the block ``unit``'s weights pass through the ``kind`` override (None: none)."""
    if unit is None:
        yield
        return
    module = dict(model.named_modules())[unit.module]
    module.override = head_override(kind, unit.head)
    try:
        yield
    finally:
        module.override = None


@torch.inference_mode()
def outcomes(
    model: nn.Module, batch: tuple[Tensor, Tensor, Tensor], max_len: int
) -> dict[str, np.ndarray]:
    """Per example: correct greedy tokens before EOS, their number, summed p(correct)."""
    src, tgt_in, tgt_out = batch
    model.eval()
    steps = tgt_out.ne(PAD) & tgt_out.ne(EOS)  # (B,T)
    hyp = greedy_decode(model, src, max_len, BOS, EOS)
    T = tgt_out.size(1)
    hyp = nn.functional.pad(hyp[:, :T], (0, max(0, T - hyp.size(1))), value=PAD)
    probs = model(src, tgt_in).float().softmax(-1).gather(-1, tgt_out.unsqueeze(-1))[..., 0]
    return {
        "correct": (hyp.eq(tgt_out) & steps).sum(1).cpu().numpy().astype(float),
        "total": steps.sum(1).cpu().numpy().astype(float),
        "prob": (probs * steps).sum(1).cpu().numpy().astype(float),
    }


def choose_units(units: list[Unit], best: str | None, seed: int) -> tuple[Unit | None, Unit | None]:
    """(the named best unit, a seeded random other unit or None when there is no other)."""
    by_name = {u.name: u for u in units}
    best_unit = by_name.get(best) if best else None
    if best_unit is None:
        return None, None
    others = [u for u in units if u.name != best]
    pick = others[int(np.random.default_rng(seed).integers(len(others)))] if others else None
    return best_unit, pick


def intervention_study(
    model: nn.Module,
    batch: tuple[Tensor, Tensor, Tensor],
    best: str | None,
    max_len: int,
    seed: int = 0,
    layer: str | None = None,
) -> dict[str, Any]:
    """Baseline and the conditions (best/random unit and, with ``layer``, best/random layer,
    each × uniform/shift) on one batch."""
    best_unit, other = choose_units(cross_units(model), best, seed)
    best_layer, other_layer = choose_units(cross_units(model, False), layer, seed)
    who_units = {"best": best_unit, "random": other}
    if layer is not None:
        who_units |= {"best_layer": best_layer, "random_layer": other_layer}
    conditions: dict[str, Any] = {"none": outcomes(model, batch, max_len)}
    for who, unit in who_units.items():
        for kind in KINDS:
            if unit is None:
                conditions[f"{who}_{kind}"] = None
                continue
            with overridden(model, unit, kind):
                conditions[f"{who}_{kind}"] = outcomes(model, batch, max_len)
    return {
        **{who: unit.name if unit else None for who, unit in who_units.items()},
        "shift": SHIFT,
        "n_examples": int(batch[0].size(0)),
        "conditions": {
            k: None if v is None else {f: np.round(a, 6).tolist() for f, a in v.items()}
            for k, v in conditions.items()
        },
    }


def best_aligned(attention: dict[str, Any]) -> str | None:
    """The single head with the highest hit rate in a cell's recorded attention."""
    s = summarise(attention)
    if s is None:
        return None
    heads = [i for i, h in enumerate(s["is_head"]) if h]
    return s["units"][max(heads, key=lambda i: s["hits"][:, i].sum())] if heads else None


def best_aligned_layer(attention: dict[str, Any]) -> str | None:
    """The cross-attention layer whose head average (single head: that head) hits most."""
    s = summarise(attention)
    if s is None:
        return None
    maps = attention["maps"]
    unit = {n: n if maps[n].shape[1] == 1 else f"{n}_mean" for n in maps}  # layer -> unit
    hits = {n: s["hits"][:, s["units"].index(u)].sum() for n, u in unit.items()}
    return max(sorted(hits), key=lambda n: hits[n]) if hits else None


def run_intervention(
    model: nn.Module,
    task: Task,
    attention: dict[str, Any],
    batch_size: int,
    device: torch.device,
    cell_dir: Path,
    seed: int = 0,
) -> Path | None:
    """The study on the first held-out examples, written to ``cell_dir/intervention.json``;
    None (nothing written) when the task has no gold position."""
    best = best_aligned(attention)
    if best is None:
        return None
    batch = task.eval_batches(batch_size)[0]
    n = min(N_EXAMPLES, batch.src.size(0))
    tensors = tuple(x[:n].to(device) for x in (batch.src, batch.tgt_in, batch.tgt_out))
    layer = best_aligned_layer(attention)
    result = intervention_study(model, tensors, best, task.max_target_len, seed, layer)
    path = Path(cell_dir) / INTERVENTION_FILE
    atomic_write_text(path, json.dumps(result))
    return path
