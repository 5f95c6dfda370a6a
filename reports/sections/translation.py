"""The Translation section: BLEU and chrF per model with the sacrebleu signature, intervals
against copy-the-source, dev learning curves, example translations, and training cost next
to the paper's."""

from __future__ import annotations

import pandas as pd

from reports.claims.cost import measured_cost, paper_cost
from reports.claims.evidence import seed_stats
from reports.dev_curves import dev_figures
from reports.document import Figure, Paragraph, Section, Table
from reports.evidence_table import evidence_table
from reports.numbers import count, spread
from reports.render.plots import quality_against_cost
from reports.rows import group_table, order_by_model, preset_hint, sort_models
from reports.translation_cost import (
    BLEU_AT_RUNGS,
    LABELS,
    compared_rows,
    cost_curves,
    gap_trend,
)


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
    sec.add(*dev_figures(df[df["task"].eq("translate")], "dev"))
    sec.add(*cost_figure(df))
    examples = examples_table(df)
    if len(examples):
        n = examples["sentence"].nunique()
        sec.add(
            Table(
                examples,
                f"Sample translations: the same {n} sentences, each with its source, its "
                "reference and every model's output (each model's lowest ok seed).",
                "translation_examples",
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


def cost_figure(df: pd.DataFrame) -> list[Paragraph | Figure]:
    """Dev quality against training FLOPs and seconds at the budget rungs (what T2-cost
    weighs), and the Transformer's gap to each other model per doubling of steps."""
    curves, metric = cost_curves(compared_rows(df))
    if curves.empty:
        return []
    label = LABELS[metric]
    unit = "BLEU" if metric == BLEU_AT_RUNGS else "token accuracy"
    others = [m for m in sort_models(curves["model"].unique().tolist()) if m != "transformer"]
    trends = [t for t in (gap_trend(curves, m) for m in others) if t is not None]
    note = (
        ""
        if metric == BLEU_AT_RUNGS
        else " These rows predate BLEU at the rungs (cells now greedy-decode dev there), so "
        "the figure draws the teacher-forced dev token accuracy instead."
    )
    out: list[Paragraph | Figure] = [
        Figure(
            "translate_cost",
            quality_against_cost(curves, label),
            f"translate: {label} at each budget rung against the training FLOPs and the "
            "training seconds spent to reach it, one thin line per run, each model's mean "
            f"bold: quality for its cost, what T2-cost weighs.{note}",
        )
    ]
    if trends:
        out.append(
            Paragraph(
                f"The Transformer's gap in {label} as the budget grows (a trend over the "
                "rungs, not a verdict, and no extrapolation beyond the budget): "
                + "; ".join(t.text(unit) for t in trends)
                + "."
            )
        )
    return out


def translation_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per model on translate: BLEU and chrF median [min–max] over ok seeds, sizes, signature."""
    rows = df[df["task"].eq("translate")]
    if rows.empty:
        return pd.DataFrame()
    out = group_table(
        rows,
        ["model"],
        params=("n_params", "median"),
        eq=("equal_params", "first"),
        sig=("sacrebleu_signature", lambda s: " / ".join(sorted(set(s.dropna())))),
        decode=("decode", "first"),
    )
    bleu = seed_stats(rows, ["model"], "bleu")
    chrf = seed_stats(rows, ["model"], "chrf")
    out["BLEU [min–max]"] = [
        spread(m, a, b) for m, a, b in zip(bleu["median"], bleu["min"], bleu["max"], strict=True)
    ]
    out["chrF [min–max]"] = [
        spread(m, a, b) for m, a, b in zip(chrf["median"], chrf["min"], chrf["max"], strict=True)
    ]
    out["params"] = out["params"].map(count)
    out["equal_params"] = out["eq"].map(
        lambda x: f"{int(x):,}" if x == x and x is not None else "-"
    )
    out["decode"] = out["decode"].fillna("-")
    out["sacrebleu signature"] = out["sig"].fillna("").replace("", "not recorded")
    cols = ["model", "ok/total", "BLEU [min–max]", "chrF [min–max]", "params", "equal_params"]
    return order_by_model(out, [])[[*cols, "decode", "sacrebleu signature", "failures", "valid"]]


def examples_table(df: pd.DataFrame, sentences: int = 5) -> pd.DataFrame:
    """The same sentences side by side: for each, its source, its reference and every
    model's output, one line each (a table that fits a terminal), from each model's
    lowest-seed ok row; only sentences every model decoded."""
    rows = df[df["task"].eq("translate") & df["ok"]].sort_values("seed")
    outputs: dict[str, dict[str, dict]] = {}
    for model in sort_models(rows["model"].dropna().unique().tolist()):
        r = rows[rows["model"].eq(model)].iloc[0]
        examples = r["examples"] if isinstance(r["examples"], list) else []
        outputs[model] = {ex.get("source", ""): ex for ex in examples if ex.get("source")}
    if not outputs:
        return pd.DataFrame()
    first = next(iter(outputs.values()))
    shared = [src for src in first if all(src in o for o in outputs.values())][:sentences]
    out = []
    for i, src in enumerate(shared, 1):
        out.append({"sentence": i, "text of": "source", "text": src})
        out.append({"sentence": i, "text of": "reference", "text": first[src].get("reference", "")})
        for model, o in outputs.items():
            out.append({"sentence": i, "text of": model, "text": o[src].get("hypothesis", "")})
    return pd.DataFrame(out)
