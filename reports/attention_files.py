"""The attention files of a run directory, read for the report: each cell's attention.npz
summarised as row columns (``bench.attention.alignment``: format, gold positions, hit rate and
gold mass) with its intervention.json, and example maps (``Artefact``) for the heatmaps;
older runs' attention.json too. A slimmed run (reports.slim) keeps the summary as
attention_summary.json, which is read first. numpy and pandas only."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.attention.alignment import GOLD_TASKS, load_npz, summarise, units
from bench.rundir.atomic import atomic_write_text
from bench.rundir.layout import (
    ATTENTION_FILE,
    ATTENTION_SUMMARY_FILE,
    INTERVENTION_FILE,
    cell_dir,
    cell_file,
)
from catalog import model_order
from reports.records import records

SUMMARY_BOOLS = ("is_head", "correct")  # summarise()'s boolean arrays; the others are floats


def read_intervention(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        conds = data["conditions"]
        data["conditions"] = {
            k: {f: np.asarray(v[f], float) for f in ("correct", "total", "prob")}
            for k, v in conds.items()
            if v is not None
        }
        return data
    except (OSError, ValueError, KeyError, TypeError) as err:
        warnings.warn(f"{path}: unreadable intervention file ({err}), skipped", stacklevel=2)
        return None


def attach_attention(df: pd.DataFrame, directory: Path) -> pd.DataFrame:
    """``df`` with ``attention`` (summarise() of the cell's attention.npz) and
    ``intervention`` (its intervention.json) columns, None where a cell has neither."""
    att, inter = [], []
    for key, task in zip(df["key"], df["task"], strict=True):
        cell = cell_dir(directory, str(key))
        summary = None
        if isinstance(key, str) and task in GOLD_TASKS:
            summary = cell_summary(cell)
        att.append(summary)
        inter.append(read_intervention(cell / INTERVENTION_FILE) if isinstance(key, str) else None)
    return df.assign(attention=att, intervention=inter)


def cell_summary(cell: Path) -> dict[str, Any] | None:
    """summarise() of the cell's attention: its attention_summary.json when slimmed (the
    attention.npz beside it may then hold only the examples a heatmap draws), else its
    attention.npz; None when it has neither (or they are unreadable)."""
    if (cell / ATTENTION_SUMMARY_FILE).is_file():
        return read_summary(cell / ATTENTION_SUMMARY_FILE)
    if (cell / ATTENTION_FILE).is_file():
        data = load_npz(cell / ATTENTION_FILE)
        return summarise(data) if data else None
    return None


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """summarise()'s dict as JSON (floats exact: JSON keeps a float64's shortest repr)."""
    plain = {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in summary.items()}
    atomic_write_text(path, json.dumps(plain, separators=(",", ":")))


def read_summary(path: Path) -> dict[str, Any] | None:
    """write_summary's file as summarise() returned it (arrays), None if unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {
            k: v if k in ("task", "units") else np.asarray(v, bool if k in SUMMARY_BOOLS else float)
            for k, v in data.items()
        }
    except (OSError, ValueError, AttributeError) as err:
        warnings.warn(f"{path}: unreadable attention summary ({err}), skipped", stacklevel=2)
        return None


# --- example maps for the heatmaps ---------------------------------------------------------


@dataclass(frozen=True)
class Artefact:
    """One cell's attention maps with the row fields that identify the cell."""

    key: str
    label: str  # e.g. "transformer / copy, length 64, seed 0"
    model: str
    src_tokens: list[str]
    tgt_tokens: list[str]
    maps: dict[str, list[list[float]]]
    example: int | None = None  # its index in the cell's attention.npz (None: attention.json)


def load_artefacts(directory: Path, df: pd.DataFrame) -> list[Artefact]:
    """Readable attention.json files of the rows' cells, Transformer and LSTM first."""
    out = []
    for r in records(df.dropna(subset=["key"])):
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
    rank = {m: i for i, m in enumerate(model_order({a.model for a in out}))}
    return sorted(out, key=lambda a: rank[a.model])


def _is_matrix(v: object) -> bool:
    return (
        isinstance(v, list)
        and len(v) > 0
        and all(isinstance(row, list) and len(row) == len(v[0]) > 0 for row in v)
    )


def example_artefacts(
    directory: Path, df: pd.DataFrame, cells: list
) -> list[tuple[Artefact, list[str]]]:
    """Per model: its first correctly answered and its first wrong example (over its recorded
    copy/reverse/recall ``cells`` — reports.claims.attention.attention_cells of ``df``, in
    order — and their seeds), each with the cell's best unit's map and the best layer's head
    mean."""
    out = []
    wanted = {(m, label) for m in df["model"].dropna().unique() for label in ("correct", "wrong")}
    for cell in cells:
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
    rows, path = df[df["key"] == key], cell_file(directory, key, ATTENTION_FILE)
    data = load_npz(path) if len(rows) and path.is_file() else None  # a slimmed run keeps few
    if data is None or not data["maps"]:
        return None
    correct = np.asarray(data["correct"], bool)
    pick = np.flatnonzero(correct if label == "correct" else ~correct)
    if not len(pick):
        return None
    maps = {name: w for name, w, _ in units(data["maps"])}
    layer = cell.best_layer or f"{sorted(data['maps'])[-1]}_mean"
    show = list(dict.fromkeys(n for n in (cell.best, layer) if n in maps))
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
        i,
    )
    return art, show
