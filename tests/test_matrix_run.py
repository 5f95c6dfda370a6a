"""bench/matrix/run.py: a tuned matrix runs through MatrixRun without the CLI (sweep, choice
on dev, seeds at the choice, matrix.json, status), and bad settings are refused first."""

from __future__ import annotations

import json

import pytest
import yaml

import bench.matrix.local
from bench.cell.config import ConfigError
from bench.cell.preflight import PreflightError
from bench.cell.spec import base_row
from bench.matrix.run import MatrixRun, RunSettings
from bench.rundir.layout import matrix_path, results_path
from bench.rundir.rows import read_rows
from ui.matrix_view import status_table

TUNED = {
    "name": "tuned",
    "models": ["transformer", "lstm"],
    "seeds": [0, 1],
    "train": {"steps": 4, "batch_size": 4, "warmup": 1, "log_every": 2, "timing_blocks": 1,
              "timing_warmup": 0, "eval_batch_size": 8},
    "model": {"transformer": {"d_model": 8, "n_heads": 2, "d_ff": 16, "n_enc_layers": 1,
                              "n_dec_layers": 1}, "lstm": {"d_model": 8, "n_layers": 1}},
    "tune": {"lr": [0.001, 0.01, 0.1], "metric": "dev_loss", "seed": 7},
    "tasks": [{"name": "copy", "task": {"length": 4, "min_length": 2, "eval_size": 8}}],
}  # fmt: skip
BEST = {"transformer": 0.01, "lstm": 0.1}  # the fake cells' dev loss is lowest here


def _fake_cell(cell, attempt, opts, on_progress=None, stop=None):  # noqa: ANN001, ANN202
    """run_in_subprocess without a process: a dev loss that is lowest at the model's BEST lr."""
    loss = 1.0 + abs(cell.train.lr - BEST[cell.model])
    return {**base_row(cell, attempt, opts.matrix_name), "status": "ok", "wall_s": 0.1,
            "dev_loss": loss}  # fmt: skip


@pytest.fixture
def tuned(tmp_path, monkeypatch):
    monkeypatch.setattr(bench.matrix.local, "run_in_subprocess", _fake_cell)
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(TUNED))
    return path


def test_a_tuned_matrix_sweeps_then_runs_the_seeds_at_each_models_choice(tuned, tmp_path):
    out = tmp_path / "out"
    stages = []

    def view(stage):  # noqa: ANN001, ANN202
        from contextlib import nullcontext

        stages.append((stage.label, len(stage.cells), len(stage.todo)))
        return nullcontext(lambda kind, cell, info: None)

    result = MatrixRun(str(tuned), out, device="cpu").run(RunSettings(wandb="disabled"), view)
    # the LSTM's best (0.1) is the grid's edge: one more trial (lr 1.0) for each model
    assert stages == [(" (tuning sweep)", 6, 6), (" (grid extension)", 2, 2), (" (seeds)", 4, 4)]
    assert len(result.rows) == 12 and result.failed == 0 and result.waiting == []
    seeds = [r for r in read_rows(results_path(out)) if "tuned" in r]
    assert {(r["model"], r["seed"], r["config"]["train"]["lr"]) for r in seeds} == {
        (m, s, BEST[m]) for m in BEST for s in (0, 1)
    }
    meta = json.loads(matrix_path(out).read_text())
    assert meta["name"] == "tuned" and len(meta["keys"]) == 12
    cells, stale = MatrixRun.of_directory(out).status()
    assert [c.status for c in cells] == ["ok"] * 12 and stale == 0
    assert all(r["overhead_s"] >= 0 for r in read_rows(results_path(out)))
    assert {c.wall_s for c in cells} == {0.1} and all(c.overhead_s >= 0 for c in cells)
    _, counts = status_table("t", cells)
    assert counts.startswith("ok: 12\ntime: 1 s in 12 cells, 0 s overhead")
    again = MatrixRun(str(tuned), out, device="cpu").run(RunSettings(wandb="disabled"))
    assert again.rows == []  # resumed: nothing left


@pytest.mark.parametrize(("in_matrix", "flag", "at_once"), [(2, None, 2), (None, 3, 3), (2, 1, 1)])
def test_sweep_cells_run_sweep_jobs_at_a_time_and_seed_cells_jobs(
    tuned, tmp_path, in_matrix, flag, at_once
):
    data = {**TUNED, **({"sweep_jobs": in_matrix} if in_matrix else {})}
    tuned.write_text(yaml.safe_dump(data))
    MatrixRun(str(tuned), tmp_path / "out", device="cpu").run(
        RunSettings(wandb="disabled", sweep_jobs=flag)
    )
    rows = read_rows(results_path(tmp_path / "out"))
    assert {r["parallel_cells"] for r in rows if r.get("sweep")} == {at_once}
    assert {r["parallel_cells"] for r in rows if not r.get("sweep")} == {1}  # speed evidence


@pytest.mark.parametrize("bad", [0, 1.5, True, "two"])
def test_a_bad_sweep_jobs_is_refused_with_its_value(tuned, tmp_path, bad):
    tuned.write_text(yaml.safe_dump({**TUNED, "sweep_jobs": bad}))
    with pytest.raises(ConfigError, match=f"sweep_jobs must be a whole number .* got {bad!r}"):
        MatrixRun(str(tuned), tmp_path / "out", device="cpu").plan()


def test_status_before_the_sweep_lists_seed_cells_as_waiting(tuned, tmp_path):
    run = MatrixRun(str(tuned), tmp_path / "out", ["seed=0"], "cpu")
    run.write_meta(run.plan())
    cells, _ = MatrixRun.of_directory(tmp_path / "out").status()
    assert sorted({c.status for c in cells}) == ["pending", "waiting"]
    assert sum(c.status == "waiting" for c in cells) == 2  # seed 0 of each model


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"launcher": "slurm"}, "unknown launcher 'slurm'; choose one of: local, ray"),
        ({"launcher": "ray", "jobs": 2}, "--jobs 2 is for --launcher local"),
        ({"jobs": 0}, "--jobs must be at least 1, got 0"),
        ({"sweep_jobs": 0}, "--sweep-jobs must be at least 1, got 0"),
        ({"launcher": "ray", "sweep_jobs": 2}, "--sweep-jobs 2 is for --launcher local"),
    ],
)
def test_bad_settings_name_the_value_and_the_choices(settings, message):
    with pytest.raises(ConfigError, match=message):
        RunSettings(**settings)


def test_bad_only_and_missing_data_are_refused_before_anything_is_written(tuned, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="--only model=gru matches no cell"):
        MatrixRun(str(tuned), out, ["model=gru"], "cpu").plan()
    data = {**TUNED, "tasks": [{"name": "translate", "task": {"source": "tsv:/no/such.tsv"}}]}
    tuned.write_text(yaml.safe_dump(data))
    with pytest.raises(PreflightError, match="no such file /no/such.tsv"):
        MatrixRun(str(tuned), out, device="cpu").run(RunSettings(wandb="disabled"))
    assert not out.exists()


def test_resume_command_keeps_the_options(tuned, tmp_path):
    run = MatrixRun(str(tuned), tmp_path / "o", ["seed=0"], "cpu")
    assert run.resume_command(RunSettings(jobs=2)) == (
        f"attnbench matrix run {tuned} --out {tmp_path / 'o'} --only seed=0 --jobs 2"
    )
    assert run.resume_command(RunSettings(fork_server=False)).endswith(" --no-fork-server")
    assert run.resume_command(RunSettings(sweep_jobs=2)).endswith(" --sweep-jobs 2")
