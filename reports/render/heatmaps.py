"""Attention heatmaps: a cell's chosen maps side by side (queries down, keys across), as PNG.

The maps come from ``reports.attention_files`` (an ``Artefact`` per cell or example)."""

from __future__ import annotations

import re

from reports.attention_files import Artefact
from reports.render.plots import figure, to_png

# Map kinds in order of interest: the encoder-decoder alignment first (Transformer cross
# attention, the LSTM's alignment, ConvS2S's attention), then encoder self-attention.
# Per-layer names end in _l<N>; the last layer is shown.
PREFERRED = ("dec_cross", "alignment", "dec_attn", "enc_self", "dec_self")
MAX_MAPS = 2  # per cell
MAX_TICKS = 40  # token labels beyond this are dropped


def _kind_and_layer(name: str) -> tuple[str, int]:
    """``dec_cross_l3`` -> (``dec_cross``, 3); ``dec_cross_last_mean`` -> (``dec_cross``, big)."""
    m = re.fullmatch(r"(.+?)_(?:l(\d+)|last\w*)(?:_h\d+)?", name)
    if not m:
        return name, 0
    return m.group(1), int(m.group(2)) if m.group(2) else 10**6


def chosen_maps(art: Artefact) -> list[str]:
    """The last layer of each kind in PREFERRED order (alignment first), at most MAX_MAPS."""
    best: dict[str, tuple[int, str]] = {}
    for name in sorted(art.maps):
        kind, layer = _kind_and_layer(name)
        if kind not in best or layer > best[kind][0]:
            best[kind] = (layer, name)
    rank = {k: i for i, k in enumerate(PREFERRED)}
    kinds = sorted(best, key=lambda k: (rank.get(k, len(rank)), k))
    return [best[k][1] for k in kinds][:MAX_MAPS]


def heatmaps(art: Artefact, names: list[str] | None = None) -> bytes:
    """The cell's chosen maps (or ``names``) side by side, rows = queries (target), columns
    = keys."""
    names = names or chosen_maps(art)
    fig = figure(4.8 * len(names), 4.2)
    axes = fig.subplots(1, len(names), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        m = art.maps[name]
        im = ax.imshow(m, aspect="auto", cmap="viridis", vmin=0.0)
        ax.set_title(name, fontsize=9)
        rows, cols = _axis_tokens(art, name)
        if len(cols) == len(m[0]) <= MAX_TICKS:
            ax.set_xticks(range(len(cols)), cols, fontsize=7, rotation=90)
        if len(rows) == len(m) <= MAX_TICKS:
            ax.set_yticks(range(len(m)), rows, fontsize=7)
        side = "source" if name.startswith("enc") else "target"
        ax.set_xlabel(f"key ({'target' if name.startswith('dec_self') else 'source'}) token")
        ax.set_ylabel(f"query ({side}) token")
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle(art.label, fontsize=10)
    return to_png(fig)


def _axis_tokens(art: Artefact, name: str) -> tuple[list[str], list[str]]:
    """(query tokens, key tokens) of a map: encoder maps are source x source, decoder
    self-attention target x target, everything else (cross attention, alignment) target x
    source."""
    if name.startswith("enc"):
        return art.src_tokens, art.src_tokens
    if name.startswith("dec_self"):
        return art.tgt_tokens, art.tgt_tokens
    return art.tgt_tokens, art.src_tokens
