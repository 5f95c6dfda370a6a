"""The command line: clear errors before training, one row per run, listings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
TINY_RUN = [
    "--set",
    "model.d_model=32",
    "--set",
    "model.n_layers=1",
    "--set",
    "task.length=5",
    "--set",
    "task.min_length=2",
    "--set",
    "task.eval_size=32",
    "--set",
    "train.steps=12",
    "--set",
    "train.timing_warmup=2",
    "--set",
    "train.timing_blocks=5",
    "--set",
    "train.log_every=4",
    "--no-progress",
]


def flat(text: str) -> str:
    """Output without rich's box borders and line wrapping."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["run", "gru", "copy"],
            "unknown model 'gru'; choose one of: convs2s, convs2s_last, lstm, lstm_uni, "
            "transformer",
        ),
        (["run", "lstm", "sorting"], "unknown task 'sorting'; choose one of: copy"),
        (["run", "lstm", "copy", "--set", "model.width=3"], "unknown key model.width; valid keys"),
        (["run", "lstm", "copy", "--device", "tpu"], "'tpu' is not one of"),
        (["run", "lstm", "copy", "--wandb", "maybe"], "'maybe' is not one of"),
        (
            ["run", "lstm", "translate", "--set", "task.source=tsv:/no/such/pairs.tsv"],
            "missing or unreadable data: task.source='tsv:/no/such/pairs.tsv': no such file",
        ),
    ],
)
def test_bad_input_is_rejected_before_anything_is_written(tmp_path, args, message):
    out = tmp_path / "out"
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert message in flat(result.output)
    assert not out.exists()


def test_run_appends_ok_row_and_report(tmp_path):
    out = tmp_path / "out"
    for seed in ("0", "1"):
        result = runner.invoke(
            app,
            [
                "run",
                "lstm",
                "copy",
                *TINY_RUN,
                "--seed",
                seed,
                "--out",
                str(out),
                "--wandb",
                "disabled",
            ],
        )
        assert result.exit_code == 0, result.output
        assert "token accuracy" in result.output
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "ok"] and [r["seed"] for r in rows] == [0, 1]
    assert not (out / "wandb").exists()
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text()
    assert "| copy   | lstm    | 2/2" in report


def test_wandb_offline_writes_a_local_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["run", "lstm", "copy", *TINY_RUN, "--out", str(out), "--wandb", "offline"]
    )
    assert result.exit_code == 0, result.output
    assert list((out / "wandb").glob("offline-run-*")), "no offline W&B run directory"


def test_failed_run_exits_nonzero_with_failed_row(tmp_path, monkeypatch):
    monkeypatch.setattr("bench.cell.execute.build_model", lambda *a, **k: 1 / 0)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["run", "lstm", "copy", *TINY_RUN, "--out", str(out), "--wandb", "disabled"]
    )
    assert result.exit_code == 1
    row = json.loads((out / "results.jsonl").read_text())
    assert row["status"] == "failed:exception" and row["error_class"] == "ZeroDivisionError"


def test_report_on_missing_directory(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "no results.jsonl" in flat(result.output)


def test_listings():
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    for name in ("transformer", "lstm", "convs2s"):
        assert name in result.output
    result = runner.invoke(app, ["tasks"])
    assert result.exit_code == 0 and "copy" in result.output


def test_listings_show_plugin_models_and_tasks(tmp_path):
    """`attnbench models` / `tasks` read each entry's own description: a plugin lists too."""
    plugin = tmp_path / "extra_task.py"
    plugin.write_text(
        "from tasks import TASKS, Entry\n"
        "from tasks.copy import CopyConfig, CopyTask\n"
        "TASKS['copy_again'] = Entry(CopyTask, CopyConfig, 'a plugin task: copy once more')\n"
    )
    env = {
        **os.environ,
        "ATTNBENCH_PLUGINS": "tests.fault_models,extra_task",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
        "COLUMNS": "250",
    }
    for command, expected in (
        ("models", ("fault_raise", "a tiny LSTM that fails by raise", "transformer")),
        ("tasks", ("copy_again", "a plugin task: copy once more", "translate")),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "cli", command], cwd=ROOT, env=env, capture_output=True,
            text=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        for text in expected:
            assert text in flat(done.stdout), (command, text)


def test_a_plugin_entry_that_is_not_an_entry_is_named(monkeypatch):
    import models

    monkeypatch.setitem(models.MODELS, "bad", (object, object))
    result = runner.invoke(app, ["run", "bad", "copy", "--device", "cpu"])
    assert result.exit_code == 2
    assert "models.MODELS['bad'] must be an Entry(cls, config, description)" in flat(result.output)


def test_matrix_with_missing_data_is_refused_before_anything_is_written(tmp_path):
    spec = tmp_path / "m.yaml"
    spec.write_text(
        "name: m\nmodels: [lstm]\nseeds: [0]\ntasks:\n"
        "  - name: copy\n"
        "  - name: translate\n    task: {source: 'tsv:/no/such/pairs.tsv'}\n"
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["matrix", "run", str(spec), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "no such file /no/such/pairs.tsv" in flat(result.output)
    assert "--only task=copy" in flat(result.output)
    assert not out.exists()
    result = runner.invoke(app, ["matrix", "validate", str(spec)])
    assert result.exit_code == 2 and "missing or unreadable data" in flat(result.output)
