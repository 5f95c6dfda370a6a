"""`attnbench compare RUN REF`: a run against itself has no change; two runs whose verdicts
differ list the changed verdicts and the settings only one ran; a bad directory is named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from cli import app
from reports.compare import compare_runs
from tests import claims_sim as sim

runner = CliRunner()


def write(directory: Path, rows: list[dict]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for r in rows:
        r.pop("_per_example", None)
    (directory / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return directory


def long_range(tmp: Path, name: str, slopes: dict, delays=(64, 128, 256)) -> Path:
    rows = sim.reach_rows(slopes, np.random.default_rng(0), steps=800, delays=delays)
    return write(tmp / name, rows)


def test_a_run_against_itself_has_no_change(tmp_path):
    run = long_range(tmp_path, "a", {"transformer": 0.0, "lstm": 1.5, "convs2s": 1.5})
    result = runner.invoke(app, ["compare", str(run), str(run)], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "no change" in result.output
    assert compare_runs(run, run).unchanged


def test_two_runs_list_changed_verdicts_and_settings_only_one_ran(tmp_path):
    ref = long_range(tmp_path, "ref", {m: 1.0 for m in sim.MODELS})  # equal slopes
    run = long_range(
        tmp_path, "run", {"transformer": 0.0, "lstm": 1.5, "convs2s": 1.5}, (64, 128, 256, 512)
    )
    c = compare_runs(run, ref)
    changed = c.changed.set_index("claim")
    assert changed.loc["Long-range", "run"] == "PASS" and changed.loc["Long-range", "ref"] != "PASS"
    assert any("distance" in s or "dependency" in s for s in c.only_run) and not c.only_ref
    result = runner.invoke(app, ["compare", str(run), str(ref)], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "verdicts that changed" in result.output and "Long-range" in result.output
    assert "only in run" in result.output


def test_compare_names_a_directory_without_results(tmp_path):
    run = long_range(tmp_path, "a", {m: 1.0 for m in sim.MODELS})
    result = runner.invoke(app, ["compare", str(run), str(tmp_path / "missing")])
    assert result.exit_code != 0
    assert "no results.jsonl" in result.output and "REF" in result.output
