"""Size a model to a target parameter count by scaling its width (equal-parameter comparisons)."""

from __future__ import annotations

import torch

from models import build_model, model_entry

TOLERANCE = 0.10  # sized models land within +-10% of the target


def count_params(name: str, cfg: object, vocab_size: int) -> int:
    """Parameter count of model ``name`` (built on the meta device: no memory, no init cost)."""
    with torch.device("meta"):
        model = build_model(name, cfg, vocab_size)
    return sum(p.numel() for p in model.parameters())


def size_to_params(name: str, target: int, vocab_size: int, base: object | None = None) -> object:
    """Config of ``name`` (``base`` with its width scaled) whose size is nearest ``target``.

    Depth, heads and width ratios stay as in ``base``; only the width moves. Raises
    ValueError when no width reaches ``target`` within +-10%.
    """
    base = base if base is not None else model_entry(name).config()
    step = base.width_step

    def size(units: int) -> int:
        return count_params(name, base.with_width(units * step), vocab_size)

    lo, hi = 1, 1
    while size(hi) < target and hi < 1 << 16:
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # parameter count grows monotonically with width
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if size(mid) < target else (lo, mid)
    units = min((lo, hi), key=lambda u: abs(size(u) - target))
    got = size(units)
    if abs(got - target) > TOLERANCE * target:
        raise ValueError(
            f"cannot size {name} to {target:,} parameters (+-10%): nearest is {got:,} at width "
            f"{units * step}; change the depth or vocabulary, or choose another target"
        )
    return base.with_width(units * step)
