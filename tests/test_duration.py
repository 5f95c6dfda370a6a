"""`matrix validate` estimates each cell's duration from FLOPs and fitted overheads."""

from __future__ import annotations

import dataclasses

import pytest
from typer.testing import CliRunner

from bench.cell.spec import spec_from_values
from bench.matrix.duration import cell_seconds, human_seconds
from cli import app


def spec(model: str = "transformer", task: str = "copy", **train):  # noqa: ANN201
    values = {"task": {"length": 16, "min_length": 16}, "train": {"steps": 100, **train}}
    return spec_from_values(model, task, values, 0, "cpu")


def test_estimate_grows_with_steps_and_length_and_is_positive():
    base = cell_seconds(spec())
    assert base is not None and base > 0
    assert cell_seconds(spec(steps=200)) > base
    longer = spec()
    longer = dataclasses.replace(
        longer, task_cfg=dataclasses.replace(longer.task_cfg, length=256, min_length=256)
    )
    assert cell_seconds(longer) > 2 * base - 10  # attention and recurrences grow with length
    for model in ("lstm", "convs2s"):
        assert cell_seconds(spec(model)) > 0


def test_greedy_decoding_costs_one_step_per_target_token_per_batch():
    """Held-out decodes of long targets (the speed sweeps' 8 examples of 512 tokens) cost a
    step per token per batch: halving the eval batch size doubles that part."""
    from bench.matrix.duration import DECODE_STEP_S

    def cell(batch: int):  # noqa: ANN202
        s = spec(steps=1, eval_batch_size=batch)
        return dataclasses.replace(
            s, task_cfg=dataclasses.replace(s.task_cfg, length=512, min_length=0, eval_size=8)
        )

    extra = cell_seconds(cell(4)) - cell_seconds(cell(8))
    tokens = 2 * 513  # dev and test, one extra batch each, 512 symbols and EOS
    assert abs(extra - tokens * DECODE_STEP_S["cpu"]["transformer"]) < 1e-6


def test_a_task_without_lengths_has_no_estimate():
    s = spec()
    assert cell_seconds(dataclasses.replace(s, task_cfg=object())) is None


def test_human_seconds():
    assert human_seconds(40) == "40 s"
    assert human_seconds(720) == "12 min"
    assert human_seconds(3900) == "1 h 05 min"


def test_validate_prints_each_cells_estimate_and_the_total():
    out = CliRunner().invoke(
        app, ["matrix", "validate", "quick", "--device", "cpu"], env={"COLUMNS": "200"}
    )
    assert out.exit_code == 0, out.output
    assert "est." in out.output and "estimated duration:" in out.output
    total = out.output.split("estimated duration:")[1].split(" on cpu")[0]
    assert "min" in total  # quick is minutes, not seconds or hours, on the reference machine


def test_tuned_seed_cells_are_estimated_like_their_sweep(tmp_path):
    matrix = tmp_path / "m.yaml"
    matrix.write_text(
        "name: tuned\nmodels: [transformer, lstm]\nseeds: [0, 1]\n"
        "train: {steps: 50}\ntune: {lr: [0.001, 0.003], metric: dev_loss, seed: 100}\n"
        "tasks:\n  - name: copy\n    task: {length: 8, min_length: 8}\n"
    )
    out = CliRunner().invoke(
        app, ["matrix", "validate", str(matrix), "--device", "cpu"], env={"COLUMNS": "200"}
    )
    assert out.exit_code == 0, out.output
    assert "after the sweep" in out.output and "cells without an estimate" not in out.output


def test_validate_adds_the_most_a_grid_extension_can_cost(tmp_path):
    """A numeric grid of 3+ values may extend past both ends (one trial per model each): the
    estimate says how much that can add; a 2-value grid never extends and adds nothing."""
    from bench.matrix.duration import extension_seconds
    from bench.matrix.load import load_matrix

    outputs = {}
    for name, lrs in (("three", "[0.001, 0.003, 0.01]"), ("two", "[0.001, 0.003]")):
        matrix = tmp_path / f"{name}.yaml"
        matrix.write_text(
            f"name: {name}\nmodels: [transformer, lstm]\nseeds: [0]\ntrain: {{steps: 50}}\n"
            f"tune: {{lr: {lrs}, metric: dev_loss, seed: 100}}\n"
            "tasks:\n  - name: copy\n    task: {length: 8, min_length: 8}\n"
        )
        out = CliRunner().invoke(
            app, ["matrix", "validate", str(matrix), "--device", "cpu"], env={"COLUMNS": "200"}
        )
        assert out.exit_code == 0, out.output
        outputs[name] = out.output
    assert "extends it once for every model: up to" in outputs["three"]
    assert "up to" not in outputs["two"]
    plan = load_matrix(str(tmp_path / "three.yaml")).plan("cpu")
    secs = [cell_seconds(c) for c in plan.sweep]
    per_model = {
        m: [s for c, s in zip(plan.sweep, secs, strict=True) if c.model == m]
        for m in ("transformer", "lstm")
    }
    want = sum(2 * sum(v) / len(v) for v in per_model.values())  # both ends, one trial each
    assert extension_seconds(plan.sweep, secs) == pytest.approx(want)


def test_sweep_cells_that_share_the_machine_are_priced_at_its_measured_speedup(tmp_path):
    """``sweep_jobs: 2`` runs the sweep's cells two at a time: the estimate divides the
    sweep's seconds (not the seed cells') by the measured speedup of sharing the cores."""
    from bench.matrix.duration import SHARED_SPEEDUP, shared_seconds
    from bench.matrix.load import load_matrix

    assert shared_seconds(100.0, 1, "cpu") == 100.0
    assert shared_seconds(100.0, 2, "cpu") == pytest.approx(100.0 / SHARED_SPEEDUP["cpu"])
    assert 1.0 < SHARED_SPEEDUP["cpu"] <= 2.0  # never better than the cores allow
    totals = {}
    for jobs in (1, 2):
        matrix = tmp_path / f"j{jobs}.yaml"
        matrix.write_text(
            f"name: j{jobs}\nmodels: [transformer]\nseeds: [0]\nsweep_jobs: {jobs}\n"
            "train: {steps: 50}\ntune: {lr: [0.001, 0.003], metric: dev_loss, seed: 100}\n"
            "tasks:\n  - name: copy\n    task: {length: 8, min_length: 8}\n"
        )
        plan = load_matrix(str(matrix)).plan("cpu")
        sweep_s = sum(cell_seconds(c) for c in plan.sweep)
        seed_s = cell_seconds(plan.waiting[0].stand_in)
        out = CliRunner().invoke(
            app, ["matrix", "validate", str(matrix), "--device", "cpu"], env={"COLUMNS": "200"}
        )
        assert out.exit_code == 0, out.output
        totals[jobs] = out.output.split("estimated duration: ")[1].split(" on cpu")[0]
        want = shared_seconds(sweep_s, jobs, "cpu") + seed_s
        assert totals[jobs] == human_seconds(want)
    assert "sweep cells 2 at a time" in out.output


def test_a_control_is_priced_as_the_model_it_runs():
    """lstm_uni and convs2s_last run their base model's code: its fitted constants price
    them; a name the registry does not know keeps its own (the defaults)."""
    from bench.matrix.duration import FLOP_RATE, fitted_as

    assert fitted_as("lstm_uni") == "lstm" and fitted_as("convs2s_last") == "convs2s"
    assert fitted_as("transformer") == "transformer" and fitted_as("gru_plugin") == "gru_plugin"
    assert set(FLOP_RATE["cpu"]) == {"transformer", "lstm", "convs2s"}
