"""Every bad input of issue 14: refused with a non-zero exit naming the bad value, before any
model is built, with no row written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import bench.cell.execute
import bench.cell.spec
import bench.matrix.local
from bench.cell.config import ConfigError
from bench.matrix.load import Matrix, load_matrix
from cli import app

runner = CliRunner()
TINY_TRAIN = ["--set", "train.steps=2", "--set", "train.eval_batch_size=8"]


@pytest.fixture
def no_build(monkeypatch):
    """Fail the test if a model is built or a cell starts (refusals must come first)."""

    def built(*args, **kwargs):
        raise AssertionError("a model was built for a refused input")

    monkeypatch.setattr(bench.cell.execute, "build_model", built)
    monkeypatch.setattr(bench.cell.execute, "run_cell", built)
    monkeypatch.setattr(bench.matrix.local, "run_in_subprocess", built)


def _refused(result, out: Path, *named: str) -> None:
    text = " ".join(result.output.split())  # rich wraps the error box
    text = text.replace("│", "").replace(" ", "")
    assert result.exit_code != 0, result.output
    for word in named:
        assert word.replace(" ", "") in text, (word, result.output)
    assert not (out / "results.jsonl").exists()
    assert "Traceback" not in result.output


RUN_CASES = [  # (model, task, arguments, words the refusal must name)
    ("transformer", "copy", ["--set", "train.lr=nan"], ["train.lr", "nan"]),
    ("transformer", "copy", ["--set", "train.lr=inf"], ["train.lr", "inf"]),
    ("transformer", "copy", ["--set", "train.lr=-.inf"], ["train.lr", "-inf"]),
    ("transformer", "copy", ["--set", "train.lr=1e999"], ["train.lr", "inf"]),
    ("lstm", "copy", ["--set", "model.dropout=.nan"], ["model.dropout", "nan"]),
    ("transformer", "copy", ["--set", "train.clip=nan"], ["train.clip", "nan"]),
    ("transformer", "copy", ["--set", "train.weight_decay=inf"], ["train.weight_decay"]),
    ("transformer", "copy", ["--set", "train.label_smoothing=nan"], ["train.label_smoothing"]),
    ("transformer", "copy", ["--set", "train.target_acc=nan"], ["train.target_acc"]),
    ("transformer", "copy", ["--set", "train.target_acc=2"], ["train.target_acc", "2"]),
    ("convs2s", "copy", ["--set", "model.dropout=inf"], ["model.dropout", "inf"]),
    ("transformer", "dependency", ["--set", "task.attractor_prob=nan"], ["attractor_prob"]),
    ("transformer", "copy", ["--set", "task.length=99999999999"], ["task.length", "99999999999"]),
    ("transformer", "copy", ["--set", "model.d_model=1000000"], ["width 1000000", "--force"]),
    ("transformer", "copy", ["--set", "task.n_symbols=100000000"], ["too large", "--force"]),
    ("transformer", "copy", ["--set", "train.batch_size=10000000"], ["batch 10000000"]),
    ("transformer", "copy", ["--set", "model.n_enc_layers=100000"], ["n_enc_layers", "100000"]),
    ("convs2s", "copy", ["--set", "task.length=2000"], ["2000", "max_positions=1024"]),
    ("transformer", "copy", ["--seed", "-1"], ["seed", "-1"]),
    ("transformer", "copy", ["--seed", "4294967296"], ["seed", "4294967296"]),
    ("transformer", "copy", ["--set", "train.lr=1", "--set", "train.lr=2"], ["train.lr", "twice"]),
]


@pytest.mark.parametrize("model,task,args,named", RUN_CASES, ids=[str(c[2]) for c in RUN_CASES])
def test_finite_bad_run_inputs_are_refused(tmp_path, no_build, model, task, args, named):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["run", model, task, *args, "--out", str(out), "--device", "cpu", "--wandb", "disabled"],
    )
    _refused(result, out, *named)


def _matrix(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return path


TINY = """name: t
models: [transformer]
seeds: [0]
train: {steps: 2, eval_batch_size: 8}
model: {transformer: {d_model: 8, n_heads: 2, d_ff: 16, n_enc_layers: 1, n_dec_layers: 1}}
"""
MATRIX_CASES = {  # name: (matrix text, extra arguments, words the refusal must name)
    "yaml_duplicate_top_key": (
        "name: m\n" + TINY + "tasks:\n  - name: copy\n",
        [],
        ["duplicate key 'name'", "line 2", "line 1"],
    ),
    "yaml_duplicate_task_knob": (
        TINY + "tasks:\n  - name: copy\n    task:\n      length: 4\n      length: 8\n",
        [],
        ["duplicate key 'length'", "line 10", "line 9"],
    ),
    "yaml_duplicate_in_flow_mapping": (
        TINY + "tasks:\n  - name: copy\n    train: {steps: 2, steps: 3}\n",
        [],
        ["duplicate key 'steps'", "line 8"],
    ),
    "yaml_empty_axis": (
        TINY + "tasks:\n  - name: copy\n    task: {length: []}\n",
        [],
        ["task.length", "empty axis"],
    ),
    "yaml_empty_train_axis": (
        TINY.replace("steps: 2", "steps: []") + "tasks:\n  - name: copy\n",
        [],
        ["train.steps"],
    ),
    "finite_nan_in_axis": (
        TINY + "tasks:\n  - name: copy\n    train: {lr: [0.1, .nan]}\n",
        [],
        ["train.lr", "nan"],
    ),
    "finite_timeout_inf": (
        TINY + "timeout_s: .inf\ntasks:\n  - name: copy\n",
        [],
        ["timeout_s", "inf"],
    ),
    "finite_negative_seed": (
        TINY.replace("seeds: [0]", "seeds: [-1]") + "tasks:\n  - name: copy\n",
        [],
        ["seed", "-1"],
    ),
    "finite_cli_timeout_nan": (
        TINY + "tasks:\n  - name: copy\n",
        ["--timeout", "nan"],
        ["timeout", "nan"],
    ),
    "finite_cli_timeout_negative": (
        TINY + "tasks:\n  - name: copy\n",
        ["--timeout", "-5"],
        ["timeout", "-5"],
    ),
    "yaml_only_matches_nothing": (
        TINY + "tasks:\n  - name: copy\n",
        ["--only", "model=lstm"],
        ["model=lstm", "transformer"],
    ),
    "yaml_only_value_typo": (
        TINY + "tasks:\n  - name: copy\n",
        ["--only", "task=copy,revrse"],
        ["revrse", "copy"],
    ),
    "finite_too_large_for_device": (
        TINY + "tasks:\n  - name: copy\n    task: {n_symbols: 100000000}\n",
        [],
        ["--force"],
    ),
}


@pytest.mark.parametrize("case", sorted(MATRIX_CASES))
def test_bad_matrix_inputs_are_refused(tmp_path, no_build, case):
    text, extra, named = MATRIX_CASES[case]
    out = tmp_path / "out"
    path = _matrix(tmp_path, text)
    result = runner.invoke(
        app,
        ["matrix", "run", str(path), "--out", str(out), "--device", "cpu", "--wandb", "disabled"]
        + extra,
    )
    _refused(result, out, *named)
    assert not (out / "runner.lock").exists()  # nothing written at all


def test_yaml_readme_mode_key_is_accepted(tmp_path):
    path = _matrix(tmp_path, "mode: repro\n" + TINY + "tasks:\n  - name: copy\n")
    assert {c.mode for c in load_matrix(str(path)).cells("cpu")} == {"repro"}


def test_yaml_merge_keys_may_override(tmp_path):
    text = (
        TINY
        + "tasks:\n  - &c {name: copy, task: {length: 4, min_length: 1}}\n"
        + "  - {<<: *c, task: {length: 6, min_length: 1}}\n"
    )
    cells = load_matrix(str(_matrix(tmp_path, text))).cells("cpu")
    assert sorted(c.task_cfg.length for c in cells) == [4, 6]


def test_yaml_matrix_of_zero_cells_is_an_error():
    matrix = Matrix("m", "", "m.yaml", 60.0, ())
    with pytest.raises(ConfigError, match="0 cells"):
        matrix.cells("cpu")


def test_finite_force_runs_a_refused_cell_and_records_it(tmp_path, monkeypatch):
    """--force skips the memory refusal: the cell runs and its failure is a row (data)."""
    ran = []
    monkeypatch.setattr(
        bench.cell.execute,
        "run_cell",
        lambda spec, out, *a: (
            ran.append(spec)
            or {
                "status": "failed:oom",
                "model": spec.model,
                "task": spec.task,
                "seed": spec.seed,
                "key": spec.key,
                "error_class": "OutOfMemoryError",
                "error": "oom",
            }
        ),
    )
    result = runner.invoke(
        app,
        [
            "run",
            "transformer",
            "copy",
            "--set",
            "task.n_symbols=100000000",
            "--force",
            "--out",
            str(tmp_path),
            "--device",
            "cpu",
            "--wandb",
            "disabled",
            "--no-progress",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "--force" in result.output and len(ran) == 1


def test_yaml_validate_refuses_what_run_would(tmp_path):
    path = _matrix(tmp_path, TINY + "tasks:\n  - name: copy\n    task: {n_symbols: 100000000}\n")
    refused = runner.invoke(app, ["matrix", "validate", str(path), "--device", "cpu"])
    forced = runner.invoke(app, ["matrix", "validate", str(path), "--device", "cpu", "--force"])
    assert refused.exit_code == 2 and "--force" in refused.output
    assert forced.exit_code == 0, forced.output


def test_finite_accepts_large_but_finite_values():
    """Finite values pass the number check; their own bounds decide (here: all fine)."""
    spec = bench.cell.spec.make_spec("transformer", "copy", ["train.lr=1e308"], device="cpu")
    assert spec.train.lr == 1e308
    assert yaml.safe_load(".nan") != yaml.safe_load(".nan")  # why NaN needs its own check
