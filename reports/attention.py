"""Attention recorded by cells and its report views: heatmaps of a correct and a wrong
example per model (``cells/<key>/attention.npz``; older runs' ``attention.json`` too), the
alignment table (hit rate and gold mass per model, task and layer) and the intervention
table, with intervals (reports.claims.attention)."""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.rundir.layout import cell_file
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
        path = cell_file(directory, str(r["key"]), "attention.json")
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


# --- attention.npz: examples, alignment and intervention tables ---------------------------


def example_artefacts(directory: Path, df: pd.DataFrame) -> list[tuple[Artefact, list[str]]]:
    """Per model: its first correctly answered and its first wrong example (over its recorded
    copy/reverse/recall cells and seeds, in order), each with the cell's best unit's map and
    the last layer's head mean."""
    from reports.claims.attention import attention_cells

    out = []
    wanted = {(m, label) for m in df["model"].dropna().unique() for label in ("correct", "wrong")}
    for cell in attention_cells(df):
        for key in cell.keys:
            for label in ("correct", "wrong"):
                if (cell.model, label) in wanted:
                    found = _example(directory, df, cell, key, label)
                    if found is not None:
                        out.append(found)
                        wanted.discard((cell.model, label))
    return out


def _example(directory: Path, df: pd.DataFrame, cell, key: str, label: str):  # noqa: ANN001, ANN202
    """The first ``label`` (correct/wrong) example of cell ``key`` as an Artefact, or None."""
    from bench.attention.alignment import load_npz, units
    from bench.rundir.layout import ATTENTION_FILE

    rows = df[df["key"] == key]
    data = load_npz(cell_file(directory, key, ATTENTION_FILE)) if len(rows) else None
    if data is None or not data["maps"]:
        return None
    correct = np.asarray(data["correct"], bool)
    pick = np.flatnonzero(correct if label == "correct" else ~correct)
    if not len(pick):
        return None
    maps = {name: w for name, w, _ in units(data["maps"])}
    last = sorted(data["maps"])[-1]
    show = list(dict.fromkeys(n for n in (cell.best, f"{last}_mean") if n in maps))
    i = int(pick[0])
    S, T = int(data["src_len"][i]), int(data["out_len"][i]) + 1
    words = {k: data[k][i] if k in data else [] for k in ("src_words", "tgt_words")}
    art = Artefact(
        key,
        f"{cell.model} / {cell.label}, seed {rows.iloc[0]['seed']}, example {i} ({label})",
        cell.model,
        [str(t) for t in words["src_words"][:S]],
        [str(t) for t in words["tgt_words"][:T]],
        {n: maps[n][i, :T, :S].tolist() for n in show},
    )
    return art, show


def _iv(e) -> str:  # noqa: ANN001
    return "-" if e is None else f"{e.estimate:.3f} [{e.interval[0]:.3f}, {e.interval[1]:.3f}]"


def alignment_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Per model, cell and unit (each layer's head mean, and the best head): hit rate and
    gold mass (× uniform) on all examples and on correct ones, with 95% intervals."""
    from reports.claims.attention import attention_cells, unit_estimate

    rows = []
    for i, cell in enumerate(attention_cells(df)):
        names = cell.units()
        shown = [u for u in names if u.endswith("_mean") or u == cell.best]
        shown += [u for u in names if u not in shown and not any(v.startswith(u) for v in shown)
                  and "_h" not in u]  # single-head layers (LSTM, ConvS2S)  # fmt: skip
        for u in sorted(set(shown), key=names.index):
            est = {
                (what, only): unit_estimate(cell.summaries, u, what, only, salt=1000 * i)
                for what in ("hits", "mass_x")
                for only in (False, True)
            }
            hit = est[("hits", False)]
            rows.append(
                {
                    "model": cell.model,
                    "cell": cell.label + ("" if cell.learned else " (not learned)"),
                    "unit": u + (" (best)" if u == cell.best else ""),
                    "hit rate": _iv(hit),
                    "hit rate (correct ex.)": _iv(est[("hits", True)]),
                    "gold mass × uniform": _iv(est[("mass_x", False)]),
                    "gold mass × uniform (correct ex.)": _iv(est[("mass_x", True)]),
                    "examples": int(sum(len(s["steps"]) for s in cell.summaries)),
                    "_estimate": hit.estimate if hit else np.nan,
                    "_low": hit.interval[0] if hit else np.nan,
                    "_high": hit.interval[1] if hit else np.nan,
                    "_best": u == cell.best,
                }
            )
    return pd.DataFrame(rows)


def intervention_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Per cell: accuracy and correct-token probability drop per target step when the best
    unit's (or a random other unit's) weights are shifted one position or made uniform."""
    from reports.claims.attention import attention_cells, intervention_drop

    rows = []
    for i, cell in enumerate(attention_cells(df)):
        if not cell.interventions:
            continue
        first = cell.interventions[0]
        row = {
            "model": cell.model,
            "cell": cell.label,
            "best unit": first.get("best"),
            "random unit": first.get("random") or "- (no other)",
        }
        for j, cond in enumerate(("best_shift", "random_shift", "best_uniform", "random_uniform")):
            row[f"acc drop {cond}"] = _iv(
                intervention_drop(cell.interventions, cond, salt=100 * i + j)
            )
        row["p(correct) drop best_shift"] = _iv(
            intervention_drop(cell.interventions, "best_shift", "prob", salt=100 * i + 9)
        )
        rows.append(row)
    return pd.DataFrame(rows)
