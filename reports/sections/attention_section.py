"""The Attention section: does attention look at the right input? Hit rate and gold mass per
model, cell and layer, the intervention table (both with intervals from
``reports.claims.attention``), and heatmaps of a correct and a wrong example per model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench.attention.alignment import CONDITIONS
from reports.attention_files import example_artefacts, load_artefacts
from reports.claims.measured_scale import length_sweep
from reports.document import Figure, Paragraph, Section, Table
from reports.records import records
from reports.render.heatmaps import chosen_maps, heatmaps
from reports.render.plots import alignment_bars
from reports.rows import preset_hint, sort_models

MAX_CELLS = 6  # older runs' attention.json: cells whose maps are drawn


def trained_rows(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without the speed sweep's cells (timed for a few steps, never learned). Judge
    the whole frame once: the rows left may hold a smaller sweep of their own."""
    return df.drop(index=length_sweep(df, min_lengths=2).index, errors="ignore")


def heatmap_examples(directory: Path, trained: pd.DataFrame) -> list:
    """The example maps the section draws: per model a correct and a wrong example of the
    ``trained`` cells (``trained_rows``). reports.slim keeps exactly these maps."""
    from reports.claims.attention import attention_cells

    return example_artefacts(directory, trained, attention_cells(trained))


def attention_section(directory: Path, df: pd.DataFrame) -> Section:
    """Does attention look at the right input? Hit rate and gold mass per model, task and
    layer, the intervention result, and heatmaps of a correct and a wrong example per model
    (older runs: the recorded attention.json maps)."""
    sec = Section("Attention")
    trained = trained_rows(df)
    sweep = df.drop(index=trained.index)  # speed cells: timed, not learned
    recorded = [r for r in records(sweep) if isinstance(r.get("attention"), dict)]
    timed_only = sorted({_cell_label(r) for r in recorded}, key=_natural)
    full = alignment_frame(trained) if "attention" in df else pd.DataFrame()
    if full.empty:  # older runs' attention.json: whatever cells recorded it
        return _legacy_attention(sec, directory, df)
    df = trained
    learned = ~full["cell"].str.endswith("(not learned)")
    frame = full[learned] if learned.any() else full
    unlearned = sorted(set(full.loc[~learned, "cell"].str.removesuffix(" (not learned)")))
    sec.add(
        Paragraph(
            "Cross-attention (Transformer per layer and head, the LSTM's alignment, ConvS2S "
            "per layer) of up to 64 held-out examples per cell, teacher-forced, against the "
            "gold source position of each target step (copy: t; reverse: L−1−t; recall: the "
            "queried value; EOS steps excluded). Hit rate: the argmax is the gold position; "
            "gold mass: the weight on it, in multiples of uniform (1/S). Per layer: its head "
            "average (`_mean`; the heads' own hit rates beside it) and its best head. The claim "
            "judges two readings, the best head and the best layer's head average: heads can "
            "be redundant, each noisy where their average is sharp. 95% intervals over "
            "examples and seeds; the best head and layer are chosen on the same examples."
        ),
        Table(
            _shown(frame),
            "Hit rate and gold mass per model, cell and layer"
            + (" (learned cells; the others are listed below)." if learned.any() else "."),
            "attention",
        ),
        Figure("attention_hit_rate", alignment_bars(frame), "Best-unit hit rate per cell."),
    )
    if learned.any() and unlearned:
        sec.add(Paragraph("Not learned (attention recorded, not shown): " + "; ".join(unlearned)))
    if timed_only:
        sec.add(
            Paragraph(
                "Speed-sweep cells recorded attention too; they train a few steps to be timed, "
                "not to learn, and are left out: " + ", ".join(timed_only) + "."
            )
        )
    inter = intervention_frame(df)
    if len(inter):
        sec.add(
            Paragraph(
                "Intervention (Jain & Wallace 2019): decoding with the best unit's weights "
                "shifted one source position (or made uniform), against the same done to a "
                "randomly chosen other unit, and with all heads of the best layer against all "
                "heads of a random other layer (redundant heads make moving one head cheap); "
                "drops per target step of greedy accuracy and of the correct token's "
                "teacher-forced probability. Focus that matters costs accuracy when moved; "
                "decoration does not."
            ),
            Table(
                inter[[c for c in inter.columns if not c.startswith(("acc drop", "p(correct)"))]],
                "The units each cell's interventions moved, and the claim's contrast (accuracy "
                "drop of the best unit or layer minus a random other's, 95% interval).",
                "attention_intervention",
            ),
            Table(
                drops_long(inter),
                "Accuracy drop per condition (95% intervals), one line per cell and condition.",
                "attention_intervention_drops",
            ),
        )
    examples = heatmap_examples(directory, df)
    for i, (art, names) in enumerate(examples):
        caption = f"{art.label}: " + ", ".join(f"`{n}`" for n in names)
        sec.add(Figure(f"attention_{i}", heatmaps(art, names), caption))
    shown = {(a.model, a.label.rsplit("(", 1)[-1].rstrip(")")) for a, _ in examples}
    missing = [
        f"{m}: no {label} example"
        for m in sort_models(list(frame["model"].unique()))
        for label in ("correct", "wrong")
        if (m, label) not in shown
    ]
    if missing:
        sec.add(Paragraph("Heatmaps not drawn: " + "; ".join(missing) + " was recorded."))
    return sec


def _natural(label: str) -> tuple:
    """Sort "transformer copy L=64" before "transformer copy L=128"."""
    head, _, n = label.rpartition("L=")
    return (head, int(n)) if n.isdigit() else (label, 0)


def _cell_label(row: dict) -> str:
    length = row.get("length")
    n = f" L={int(length)}" if length is not None and pd.notna(length) else ""
    return f"{row['model']} {row['task']}{n}"


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[c for c in frame.columns if not c.startswith("_")]]


def _legacy_attention(sec: Section, directory: Path, df: pd.DataFrame) -> Section:
    """Runs recorded before attention.npz: heatmaps of the attention.json maps."""
    arts = load_artefacts(directory, df)
    if not arts:
        return sec.add(
            Paragraph(
                "No attention maps were recorded: no `cells/<key>/attention.npz` (or older "
                "`attention.json`) exists for these rows. Copy, reverse and recall cells save "
                f"them ({preset_hint('quick')})."
            )
        )
    models = sorted({a.model for a in arts})
    sec.add(Paragraph(f"{len(arts)} cells recorded attention maps ({', '.join(models)})."))
    for i, art in enumerate(arts[:MAX_CELLS]):
        caption = f"{art.label}: " + ", ".join(f"`{n}`" for n in chosen_maps(art))
        sec.add(Figure(f"attention_{i}", heatmaps(art), caption))
    if len(arts) > MAX_CELLS:
        sec.add(Paragraph(f"{len(arts) - MAX_CELLS} more cells' maps are not shown."))
    return sec


def _iv(e) -> str:  # noqa: ANN001
    return "-" if e is None else f"{e.estimate:.3f} [{e.interval[0]:.3f}, {e.interval[1]:.3f}]"


def alignment_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Per model, cell and unit (each layer's head mean with its heads' hit rates, each
    layer's best head, single-head layers): hit rate and gold mass (× uniform) on all
    examples and on correct ones, with 95% intervals."""
    from reports.claims.attention import attention_cells, unit_estimate

    rows = []
    for i, cell in enumerate(attention_cells(df)):
        names = cell.units()
        layers = {u.removesuffix("_mean"): u for u in names if u.endswith("_mean")}
        heads = {k: [u for u in names if u.startswith(f"{k}_h")] for k in layers}
        shown = [*layers.values()] + [
            u for u in names if "_h" not in u and u not in layers.values()
        ]
        rate = {u: _rate(cell.summaries, u) for hs in heads.values() for u in hs}
        shown += [max(hs, key=rate.__getitem__) for hs in heads.values() if hs]
        for u in sorted(set(shown), key=names.index):
            own = heads.get(u.removesuffix("_mean"), []) if u.endswith("_mean") else []
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
                    "unit": u + _mark(u, cell.best, cell.best_layer),
                    "hit rate": _iv(hit),
                    "hit rate (correct ex.)": _iv(est[("hits", True)]),
                    "gold mass × uniform": _iv(est[("mass_x", False)]),
                    "gold mass × uniform (correct ex.)": _iv(est[("mass_x", True)]),
                    "heads' hit rates": ", ".join(f"{rate[h]:.2f}" for h in own),
                    "examples": int(sum(len(s["steps"]) for s in cell.summaries)),
                    "_estimate": hit.estimate if hit else np.nan,
                    "_low": hit.interval[0] if hit else np.nan,
                    "_high": hit.interval[1] if hit else np.nan,
                    "_best": u == cell.best,
                }
            )
    return pd.DataFrame(rows)


def _mark(u: str, best: str | None, best_layer: str | None) -> str:
    return " (best)" if u == best else " (best layer)" if u == best_layer else ""


def _rate(summaries: list[dict], unit: str) -> float:
    """Pooled hit rate of ``unit`` over the seeds (no interval)."""
    hits = sum(float(s["hits"][:, s["units"].index(unit)].sum()) for s in summaries)
    return hits / max(sum(float(s["steps"].sum()) for s in summaries), 1e-12)


def _shift_first(conditions: tuple[str, ...]) -> list[str]:
    return sorted(conditions, key=lambda c: c.endswith("uniform"))  # stable: best, random, ...


def drops_long(inter: pd.DataFrame) -> pd.DataFrame:
    """The intervention frame's drop columns as rows (model, cell, condition, drop): a table
    that fits a terminal however many conditions were recorded."""
    cols = [c for c in inter.columns if c.startswith(("acc drop", "p(correct)"))]
    long = inter.melt(id_vars=["model", "cell"], value_vars=cols, var_name="condition")
    return long.rename(columns={"value": "drop [95% interval]"})


def intervention_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Per cell: accuracy and correct-token probability drop per target step when the best
    unit's (or a random other unit's) weights, or all heads of the best layer (a random other
    layer), are shifted one position or made uniform; conditions no cell recorded left out."""
    from reports.claims.attention import attention_cells, contrast, intervention_drop

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
            "best layer": first.get("best_layer") or "-",
            "random layer": (first.get("random_layer") or "- (no other)")
            if first.get("best_layer")
            else "-",
        }
        for j, cond in enumerate(_shift_first(CONDITIONS)):
            row[f"acc drop {cond}"] = _iv(
                intervention_drop(cell.interventions, cond, salt=100 * i + j)
            )
        row["p(correct) drop best_shift"] = _iv(
            intervention_drop(cell.interventions, "best_shift", "prob", salt=100 * i + 9)
        )
        what, diff = contrast(cell.interventions, salt=100 * i + 10)
        row["contrast (acc drop difference)"] = f"{what}: {_iv(diff)}"
        rows.append(row)
    frame = pd.DataFrame(rows)
    unrecorded = [c for c in frame.columns if (frame[c] == "-").all()]
    return frame.drop(columns=unrecorded)
