"""Report sections on quality: Long range, Training, Translation and Attention."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reports.attention import (
    MAX_CELLS,
    alignment_frame,
    chosen_maps,
    example_artefacts,
    heatmaps,
    intervention_frame,
    load_artefacts,
)
from reports.claims.cost import measured_cost, paper_cost
from reports.document import Figure, Paragraph, Section, Table
from reports.plots import accuracy_vs_distance, alignment_bars, learning_curves
from reports.rows import long_range, preset_hint, primary_metric, sort_models
from reports.tables_evidence import evidence_frame, evidence_table
from reports.tables_quality import (
    examples_table,
    failed_rows_table,
    failures_table,
    long_range_table,
    time_to_target_table,
    translation_table,
)


def long_range_section(df: pd.DataFrame) -> Section:
    """Accuracy against dependency distance per model and task, spread over seeds."""
    sec = Section("Long range")
    rows = long_range(df)
    if rows.empty:
        return sec.add(
            Paragraph(
                "No long-range rows (dependency, recall, or copy with a delay): "
                f"{preset_hint('longrange')}."
            )
        )
    cells = evidence_frame(rows)
    for task, g in cells.groupby("task", sort=True) if len(cells) else []:
        g = g.set_index("model").loc[sort_models(g["model"].unique().tolist())].reset_index()
        metric = primary_metric(str(task))
        png = accuracy_vs_distance(g, str(task), metric)
        sec.add(Figure(f"longrange_{task}", png, f"{task}: {metric} against distance."))
    sec.add(
        Table(
            evidence_table(rows, tuple(rows["task"].unique())),
            "Score with its 95% interval (bootstrap over examples and seeds; a failed seed "
            "scores chance), the best floor (chance or a shortcut on the same examples), and "
            "whether the cell is evidence: learned (interval above the floor) and not "
            "saturated (every model's interval reaching 0.98).",
            "long_range_evidence",
        ),
        Table(long_range_table(df), "Median [min–max] over ok seeds per cell.", "long_range"),
    )
    return sec


def _has_curve(c: object) -> bool:
    return isinstance(c, dict) and bool(c.get("loss"))


def training_section(df: pd.DataFrame) -> Section:
    """Learning curves, time to target, and failed runs per model."""
    sec = Section("Training")
    if df.empty:
        return sec.add(Paragraph(f"No rows: {preset_hint('quick')}."))
    with_curves = df[df["curve"].map(_has_curve)]
    for task, g in with_curves.groupby("task", sort=True):
        png = learning_curves(g, str(task))
        sec.add(Figure(f"curves_{task}", png, f"{task}: training loss against step and time."))
    if with_curves.empty:
        sec.add(Paragraph("No loss curves recorded in these rows."))
    sec.add(
        Table(
            time_to_target_table(df),
            "Time to target: first logged step at the target.",
            "time_to_target",
        ),
        Table(
            failures_table(df),
            "Runs per model by outcome (diverged = non-finite loss).",
            "failures",
        ),
    )
    failed = failed_rows_table(df)
    sec.add(
        Table(failed, "Every failed cell.", "failed_rows")
        if len(failed)
        else Paragraph("No failed runs.")
    )
    return sec


def translation_section(df: pd.DataFrame) -> Section:
    """BLEU and chrF per model with the sacrebleu signature, examples, training cost."""
    sec = Section("Translation")
    table = translation_table(df)
    if table.empty:
        return sec.add(Paragraph(f"No translation rows: {preset_hint('translate')}."))
    sec.add(Table(table, "BLEU and chrF: median [min–max] over ok seeds.", "translation"))
    evidence = evidence_table(df, ("translate",))
    if len(evidence):
        sec.add(
            Table(
                evidence,
                "BLEU and chrF of the pooled seeds with 95% intervals (sacrebleu sentence "
                "statistics, bootstrap over sentences and seeds) against copy-the-source: a "
                "model counts only when both intervals clear it.",
                "translation_evidence",
            )
        )
    else:
        sec.add(Paragraph("No per-example outputs (cells/<key>/eval.jsonl): no intervals."))
    examples = examples_table(df)
    if len(examples):
        sec.add(
            Table(
                examples, "Example translations (lowest ok seed per model).", "translation_examples"
            )
        )
    cost = measured_cost(df)
    sec.add(
        Paragraph(
            "Training cost. The paper's Table 2 figures are time × GPUs × an assumed "
            "sustained 9.5 TFLOPS per P100; ours are FLOPs per target token × tokens trained."
        ),
        Table(paper_cost(), "The paper's training FLOPs, recomputed.", "paper_cost"),
        Table(cost, "Ours: medians over ok seeds.", "measured_cost")
        if len(cost)
        else Paragraph("No translate rows with both FLOPs and BLEU."),
    )
    return sec


def attention_section(directory: Path, df: pd.DataFrame) -> Section:
    """Does attention look at the right input? Hit rate and gold mass per model, task and
    layer, the intervention result, and heatmaps of a correct and a wrong example per model
    (older runs: the recorded attention.json maps)."""
    sec = Section("Attention")
    frame = alignment_frame(df) if "attention" in df else pd.DataFrame()
    if frame.empty:
        return _legacy_attention(sec, directory, df)
    sec.add(
        Paragraph(
            "Cross-attention (Transformer per layer and head, the LSTM's alignment, ConvS2S "
            "per layer) of up to 64 held-out examples per cell, teacher-forced, against the "
            "gold source position of each target step (copy: t; reverse: L−1−t; recall: the "
            "queried value; EOS steps excluded). Hit rate: the argmax is the gold position; "
            "gold mass: the weight on it, in multiples of uniform (1/S). 95% intervals "
            "bootstrap examples and seeds; the best head is chosen on the same examples."
        ),
        Table(_shown(frame), "Hit rate and gold mass per model, cell and layer.", "attention"),
        Figure("attention_hit_rate", alignment_bars(frame), "Best-unit hit rate per cell."),
    )
    inter = intervention_frame(df)
    if len(inter):
        sec.add(
            Paragraph(
                "Intervention (Jain & Wallace 2019): decoding with the best unit's weights "
                "shifted one source position (or made uniform), against the same done to a "
                "randomly chosen other unit; drops per target step of greedy accuracy and of "
                "the correct token's teacher-forced probability. Focus that matters costs "
                "accuracy when moved; decoration does not."
            ),
            Table(inter, "Accuracy drop per condition (95% intervals).", "attention_intervention"),
        )
    examples = example_artefacts(directory, df)
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
