"""The report builds from hand-made rows: every section, counts, failures, hints, CLI, tables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from reports.build import write_report
from reports.claims import CLAIMS
from reports.document import Section, Table
from reports.rows import load_results
from reports.tables import report_tables, tables_of
from tests.fixtures.report_rows import full_rows, row, write_run

SECTIONS = (
    "Summary",
    "Speed",
    "Memory",
    "Long range",
    "Training",
    "Translation",
    "Tuning",
    "Attention",
    "Sizes",
    "Counts",
)
runner = CliRunner()


@pytest.fixture(scope="module")
def full_report(tmp_path_factory):
    directory = write_run(tmp_path_factory.mktemp("full"), full_rows())
    with pytest.warns(UserWarning, match="truncated or corrupt"):
        written = write_report(directory)
    return directory, written


def test_every_section_in_markdown_and_html(full_report):
    directory, written = full_report
    md = written.markdown.read_text()
    page = written.html.read_text()
    headings = [line[3:] for line in md.splitlines() if line.startswith("## ")]
    assert headings == list(SECTIONS)
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in page
    for claim in ("T1-complexity", "T1-crossover", "T1-sequential", "Parallel-speed"):
        assert f"| {claim}" in md and claim in page
    # summary first: verdicts before the environment
    assert md.index("| T1-complexity") < md.index("| torch") < md.index("## Speed")
    assert "2.13.0" in md and "0123456789ab" in md and "abc123def456" in md


def test_html_is_self_contained(full_report):
    _, written = full_report
    page = written.html.read_text()
    n_figures = len(written.figures)
    assert n_figures >= 8  # speed, latency, memory, long range, 3 curves, attention
    assert page.count('src="data:image/png;base64,') == n_figures
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert all(p.is_file() and p.read_bytes()[:4] == b"\x89PNG" for p in written.figures)
    md = written.markdown.read_text()
    assert all(f"report_figures/{p.name}" in md for p in written.figures)


def test_counts_failures_and_fits_are_shown(full_report):
    _, written = full_report
    md = written.markdown.read_text()
    assert "| copy   | transformer | 4096     | 0/1        |" in md  # the OOM cell is a row
    assert "oom×1" in md and "nan×1" in md and "failed:nan" in md
    assert "(R² 1.000, 4 pts)" in md  # fitted exponents with their fit quality
    assert "transformer vs lstm" in md  # crossover
    assert "nrefs:1" in md and "a house" in md  # sacrebleu signature, examples
    assert "`dec_cross_l1`, `enc_self_l1`" in md  # last layers, alignment first
    assert "`alignment`" in md and "`dec_attn_l1`" in md
    assert "yes: every model sized to 1,000,000 parameters" in md


def test_invalid_cells_marked_and_latest_attempt_used(tmp_path):
    rows = [row("lstm", "dependency", s, distance=64, answer_acc=0.9) for s in range(3)]
    rows += [row("lstm", "dependency", s, status="failed:nan", distance=128) for s in (0, 1)]
    rows.append(row("lstm", "dependency", 2, distance=128, answer_acc=0.5))
    retried = row("transformer", "copy", length=64, status="failed:timeout")
    rows += [retried, dict(row("transformer", "copy", length=64, token_acc=1.0), attempt=2)]
    with pytest.warns(UserWarning, match="truncated"):
        df = load_results(write_run(tmp_path, rows, attention=False))
    assert len(df[df["model"].eq("transformer")]) == 1  # attempt 2 replaced attempt 1
    with pytest.warns(UserWarning):
        md = " ".join(write_report(tmp_path).markdown.read_text().split(" \n"))  # unwrap prose
    assert "| dependency | lstm    | 128        | 1/3        |" in md
    assert "INVALID" in md
    assert "| copy       | transformer | 1/1" in md


def test_missing_sections_name_their_preset(tmp_path):
    write_run(tmp_path, [row("lstm", "copy", length=16, token_acc=0.5)], attention=False)
    with pytest.warns(UserWarning):
        md = write_report(tmp_path).markdown.read_text()
    prose = " ".join(md.split())  # prose is wrapped at 100 columns
    for preset in ("scaling", "longrange", "translate"):
        assert f"run `attnbench matrix run {preset}`" in prose
    assert "No attention maps were recorded" in prose
    assert md.count("| INCONCLUSIVE ") == len(CLAIMS)  # every claim, in the verdict table


def test_cli_report_and_claims(tmp_path):
    write_run(tmp_path, full_rows(), attention=False)
    result = runner.invoke(app, ["claims", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for word in ("T1-sequential", "T2-cost", "Parallel-10×", "why:", "numbers:", "truncated"):
        assert word in result.output
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.md").is_file() and (tmp_path / "report.html").is_file()
    result = runner.invoke(app, ["claims", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "no results.jsonl" in result.output


def test_cli_report_rejects_a_file_without_rows(tmp_path):
    (tmp_path / "results.jsonl").write_text('{"key": "trunc')
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "no complete rows" in result.output


def test_report_tables_for_wandb(tmp_path):
    write_run(tmp_path, full_rows(), attention=False)
    with pytest.warns(UserWarning):
        tables = report_tables(tmp_path)
    assert {"claims", "environment", "counts", "speed", "long_range", "translation"} <= set(tables)
    for name, table in tables.items():
        assert isinstance(table, pd.DataFrame) and len(table), name
        for col in table.columns:  # one Python type per column (W&B tables need it)
            kinds = {type(v) for v in table[col].tolist()}
            assert len(kinds) == 1 or kinds <= {int, float}, (name, col, kinds)
    assert json.dumps(tables["claims"].to_dict("records"))  # plain values


def test_wandb_tables_are_the_report_tables(full_report):
    """One list: every table the report shows has a name, and W&B gets exactly those."""
    _, written = full_report
    shown = [b for s in written.sections for b in s.blocks if isinstance(b, Table)]
    assert len(shown) >= 15 and all(b.name for b in shown), [b.caption for b in shown]
    tables = tables_of(written.sections)
    assert list(tables) == [b.name for b in shown if len(b.frame)]
    assert {"claims", "speed_exponents", "recipes", "counts"} <= set(tables)


def test_two_tables_of_one_name_are_refused():
    frame = pd.DataFrame({"a": [1]})
    sections = [Section("A").add(Table(frame, name="x")), Section("B").add(Table(frame, name="x"))]
    with pytest.raises(ValueError, match="two report tables are named 'x'"):
        tables_of(sections)


def test_reports_import_neither_torch_nor_wandb():
    code = (
        "import sys, reports.build, reports.tables, reports.claims; "
        "assert not {'torch', 'wandb', 'lightning'} & set(sys.modules), 'heavy import'"
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_long_range_rows_are_chosen_by_task_not_by_a_distance_field():
    """Long range: match (pair inside), dependency, recall. Copy-memory and the
    pair-at-the-ends probe are their own blocks, and plain copy rows belong to no block."""
    from reports.long_range_rows import copy_memory, long_range, shortcut_probe
    from reports.rows import normalise

    plain = row("lstm", "copy", length=16, distance=16)  # copy records distance = length
    delayed = row("lstm", "copy", length=16, token_acc=0.5)
    delayed["config"]["task"]["delay"] = 48
    failed = row("lstm", "dependency", 1, status="failed:timeout", distance=64)
    failed["distance"] = None  # a failed row may lack the field: the config supplies it
    inside = row("lstm", "match", 2, distance=32)
    ends = row("lstm", "match", 3, distance=32)
    ends["config"]["task"]["placement"] = "ends"
    df = normalise(pd.DataFrame([plain, delayed, failed, inside, ends]))
    lr = long_range(df)
    assert sorted(lr["distance"].tolist()) == [32, 64]
    assert set(lr["task"]) == {"match", "dependency"}
    assert shortcut_probe(df)["seed"].tolist() == [3]
    assert copy_memory(df)["distance"].tolist() == [64]


def test_group_table_joins_ok_medians_to_the_counts():
    """rows.group_table: ok/total, failures and validity per group, aggregates over ok rows
    only; a group without an ok row keeps its counts."""
    from reports.rows import group_table, normalise

    rows = [
        row("lstm", "copy", 0, token_acc=0.5),
        row("lstm", "copy", 1, token_acc=0.7),
        row("lstm", "copy", 2, status="failed:oom", token_acc=0.0),
        row("transformer", "copy", 0, status="failed:nan"),
    ]
    out = group_table(normalise(pd.DataFrame(rows)), ["model"], acc=("token_acc", "median"))
    assert list(out.columns) == ["model", "ok/total", "failures", "valid", "acc"]
    lstm, tf = out.set_index("model").loc["lstm"], out.set_index("model").loc["transformer"]
    assert (lstm["ok/total"], lstm["failures"], lstm["acc"]) == ("2/3", "oom×1", 0.6)
    assert tf["ok/total"] == "0/1" and pd.isna(tf["acc"])


def test_counts_give_the_runners_total_overhead():
    from reports.sections.counts import time_totals

    df = pd.DataFrame({"wall_s": [10.0, 20.0, 5.0], "overhead_s": [0.5, 1.5, None]})
    assert time_totals(df).startswith("Time: 30 s in 2 cells and 2 s of runner overhead")
    assert "not recorded" in time_totals(df.assign(overhead_s=None))


def test_long_range_section_shows_the_probe_and_copy_memory_as_their_own_blocks(tmp_path):
    """match inside (with the lstm_uni control column) is the Long-range evidence; the
    pair-at-the-ends probe and copy-memory get their own tables, and the claim reads only
    the first."""
    from reports.claims import evaluate_claims

    rows = []
    for model in ("transformer", "lstm", "lstm_uni", "convs2s"):
        for placement, acc in (("inside", 0.6), ("ends", 0.99)):
            for d in (8, 32, 128):
                r = row(model, "match", 0, distance=d, answer_acc=acc, token_acc=acc)
                r["config"]["task"]["placement"] = placement
                r["key"] += placement
                rows.append(r)
    memory = row("lstm", "copy", length=8, token_acc=0.9)
    memory["config"]["task"]["delay"] = 64
    write_run(tmp_path, [*rows, memory], attention=False)
    with pytest.warns(UserWarning):
        report = write_report(tmp_path)
    md = report.markdown.read_text()
    for title in ("Long range", "Shortcut probe", "Position addressing: copy-memory"):
        assert f"**{title}" in md
    tables = tables_of(report.sections)
    assert {"long_range", "shortcut_probe", "position_addressing"} <= set(tables)
    assert "lstm_uni" in set(tables["long_range"]["model"])
    assert set(tables["shortcut_probe"]["distance"]) == {8, 32, 128}
    verdicts = evaluate_claims(load_results(tmp_path))
    verdict = next(v for c, v in verdicts if c.id == "Long-range")
    slopes = verdict.numbers.split("accuracy at the end")[0]
    assert "match/transformer" in slopes and "copy" not in slopes


def test_report_opens_with_the_verdict_figure_and_fits_the_screen(full_report):
    """The Summary's first figure is every verdict's interval against its threshold; the
    verdict table has short reasons (the full ones follow as wrapped prose), and no line of
    report.md runs past 400 characters."""
    directory, written = full_report
    md = written.markdown.read_text()
    assert (directory / "report_figures" / "verdicts.png").stat().st_size > 1000
    assert md.index("report_figures/verdicts.png") < md.index("| T1-complexity")
    assert max(len(line) for line in md.splitlines()) <= 400
    assert "Each verdict in full" in md and "*Numbers:*" in md


def test_long_range_section_draws_steps_to_target(tmp_path):
    """What Long-range judges is drawn: steps to the dev target against distance, one point
    per run, censored runs marked (the simulated match rows of the calibration tests)."""
    import numpy as np

    from tests import claims_sim as sim

    rows = sim.reach_rows(
        {"transformer": 0.0, "lstm": 1.0, "convs2s": 0.5}, np.random.default_rng(0), steps=400
    )
    for r in rows:
        r.pop("_per_example", None)
    with pytest.warns(UserWarning, match="truncated or corrupt"):  # write_run adds one
        written = write_report(write_run(tmp_path, rows, attention=False))
    md = written.markdown.read_text()
    assert "report_figures/longrange_steps_dependency.png" in md
    assert "never got there" in md


def test_sample_translations_show_the_same_sentences_for_every_model(full_report):
    """The Translation section's samples: per sentence its source, its reference and each
    model's output, one line each, for the sentences every model decoded."""
    _, written = full_report
    (table,) = [
        b for s in written.sections for b in s.blocks
        if isinstance(b, Table) and b.name == "translation_examples"
    ]  # fmt: skip
    frame = table.frame
    for _, g in frame.groupby("sentence"):
        kinds = g["text of"].tolist()
        assert kinds[:2] == ["source", "reference"] and len(kinds) == len(set(kinds)) > 3


def test_steps_figure_keeps_its_axis_on_the_runs():
    """A model that arrived at one distance only gets a fit that climbs past every run: the
    steps-to-target figure's y range stays on the runs' own steps (budgets included)."""
    import pandas as pd

    from reports.render.verdicts import step_limits

    low, high = step_limits(pd.Series([100.0, 150.0, 1200.0, None]))
    assert low == pytest.approx(100 / 1.5) and high == pytest.approx(1800.0)
    assert step_limits(pd.Series([None, 0.0])) == (1.0, 10.0)
