"""Attention maps recorded by cells (``cells/<key>/attention.json``) and their heatmaps."""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from reports.plots import figure, to_png

# Map kinds in order of interest: the encoder-decoder alignment first (Transformer cross
# attention, the LSTM's alignment, ConvS2S's attention), then encoder self-attention.
# Per-layer names end in _l<N>; the last layer is shown.
PREFERRED = ("dec_cross", "alignment", "dec_attn", "enc_self", "dec_self")
MAX_MAPS = 2  # per cell
MAX_CELLS = 6
MAX_TICKS = 40  # token labels beyond this are dropped


@dataclass(frozen=True)
class Artefact:
    """One cell's attention maps with the row fields that identify the cell."""

    key: str
    label: str  # e.g. "transformer / copy, length 64, seed 0"
    model: str
    src_tokens: list[str]
    tgt_tokens: list[str]
    maps: dict[str, list[list[float]]]


def load_artefacts(directory: Path, df: pd.DataFrame) -> list[Artefact]:
    """Readable attention.json files of the rows' cells, Transformer and LSTM first."""
    out = []
    for r in df.dropna(subset=["key"]).to_dict("records"):
        path = Path(directory) / "cells" / str(r["key"]) / "attention.json"
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            maps = {k: v for k, v in data["maps"].items() if _is_matrix(v)}
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            warnings.warn(f"{path}: unreadable attention artefact, skipped", stacklevel=2)
            continue
        if not maps:
            continue
        where = ", ".join(
            f"{name} {int(r[name])}" for name in ("length", "distance") if pd.notna(r.get(name))
        )
        label = f"{r['model']} / {r['task']}" + (f", {where}" if where else "")
        out.append(
            Artefact(
                str(r["key"]),
                f"{label}, seed {r['seed']}",
                str(data.get("model", r["model"])),
                [str(t) for t in data.get("src_tokens", [])],
                [str(t) for t in data.get("tgt_tokens", [])],
                maps,
            )
        )
    rank = {"transformer": 0, "lstm": 1}
    return sorted(out, key=lambda a: rank.get(a.model, 2))


def _is_matrix(v: object) -> bool:
    return (
        isinstance(v, list)
        and len(v) > 0
        and all(isinstance(row, list) and len(row) == len(v[0]) > 0 for row in v)
    )


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


def heatmaps(art: Artefact) -> bytes:
    """The cell's chosen maps side by side, rows = queries (target), columns = keys."""
    names = chosen_maps(art)
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
