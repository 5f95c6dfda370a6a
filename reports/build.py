"""Write ``DIR/report.md`` (+ ``DIR/report_figures/*.png``) and a self-contained ``report.html``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.rundir.atomic import atomic_write_bytes
from bench.rundir.layout import results_path
from reports.document import Figure, Section
from reports.render.html_page import render_html
from reports.render.markdown import render_markdown
from reports.rows import load_results
from reports.sections import build_sections, intro

FIGURE_DIR = "report_figures"


@dataclass(frozen=True)
class Written:
    """Paths of what ``write_report`` wrote, its sections and the claim verdicts."""

    markdown: Path
    html: Path
    figures: list[Path]
    sections: list[Section]
    claims: pd.DataFrame  # reports.claims.claims_table


def write_report(directory: Path) -> Written:
    """Read ``directory/results.jsonl`` (and cell artefacts); write the report files atomically."""
    directory = Path(directory)
    df = load_results(directory)
    if df.empty:
        raise ValueError(f"{results_path(directory)} holds no complete rows")
    sections, claims = build_sections(directory, df)
    title = f"attnbench report: {directory.resolve().name}"
    text = intro(directory, df)
    figures = []
    fig_dir = directory / FIGURE_DIR
    for block in (b for s in sections for b in s.blocks if isinstance(b, Figure)):
        fig_dir.mkdir(exist_ok=True)
        path = fig_dir / f"{block.name}.png"
        atomic_write_bytes(path, block.png)
        figures.append(path)
    for stale in set(fig_dir.glob("*.png")) - set(figures):  # figures of an earlier report
        stale.unlink()
    md = directory / "report.md"
    atomic_write_bytes(md, render_markdown(title, text, sections, FIGURE_DIR).encode("utf-8"))
    page = directory / "report.html"
    atomic_write_bytes(page, render_html(title, text, sections).encode("utf-8"))
    return Written(md, page, figures, sections, claims)
