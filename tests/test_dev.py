"""The dev split: apart from train and test for every task, evaluated at the end, on a curve
and, with per-example outcomes, at the rungs of the budget."""

from __future__ import annotations

import json

import pytest
import torch

from bench.cell.dev import dev_metrics, rung_steps
from bench.cell.execute import run_cell
from bench.cell.spec import make_spec
from bench.rundir.layout import DEV_RUNGS_FILE, cell_file
from tasks import build_task, task_entry

SYNTHETIC = ("copy", "reverse", "dependency", "recall")


@pytest.mark.parametrize("name", SYNTHETIC)
def test_dev_is_fixed_and_apart_from_test_and_training(name):
    cfg_cls = task_entry(name).config
    task = build_task(name, cfg_cls(), 3)
    dev, dev2, test = (
        task.eval_batches(64, "dev"),
        task.eval_batches(64, "dev"),
        task.eval_batches(64),
    )
    assert all(torch.equal(a.src, b.src) for a, b in zip(dev, dev2, strict=True))
    assert sum(b.src.size(0) for b in dev) == sum(b.src.size(0) for b in test)
    train = task.sample(64, torch.Generator().manual_seed(3))  # the cell's training stream
    rows = lambda bs: {tuple(r.tolist()) for b in bs for r in b.src}  # noqa: E731
    assert not rows(dev) & rows(test) and not rows(dev) & rows([train])
    with pytest.raises(ValueError, match="unknown split 'val'; choose one of: dev, test"):
        task.eval_batches(64, "val")


def test_dev_metrics_keep_scores_only():
    metrics = {"bleu": 3.0, "token_acc": 0.5, "infer_tgt_tokens_per_s": 9.0, "examples": [],
               "decode": "beam4", "test_sentences": 3, "ok": True}  # fmt: skip
    out = dev_metrics(metrics)
    assert out == {"dev_bleu": 3.0, "dev_token_acc": 0.5}


def test_cell_row_has_dev_metrics_and_a_dev_curve(tmp_path):
    sets = ["model.d_model=16", "model.n_layers=1", "task.length=6", "task.min_length=3",
            "task.eval_size=32", "train.steps=12", "train.batch_size=8", "train.log_every=4",
            "train.eval_every=4", "train.timing_warmup=2", "train.timing_blocks=2",
            "train.schedule=plateau", "train.warmup=0", "train.optimizer=sgd",
            "train.lr=0.5"]  # fmt: skip
    row = run_cell(make_spec("lstm", "copy", sets, device="cpu"), tmp_path, "disabled", False)
    assert row["status"] == "ok", row.get("error")
    saved = json.loads((tmp_path / "results.jsonl").read_text().splitlines()[-1])
    for key in ("dev_loss", "dev_tf_token_acc", "dev_token_acc", "dev_seq_acc", "token_acc"):
        assert 0.0 <= saved[key] < 10.0, key
    curve = saved["dev_curve"]
    assert curve["step"] == [4, 8, 12] and len(curve["dev_loss"]) == 3
    assert all(lr <= 0.5 for lr in curve["lr"])  # plateau only ever lowers it
    assert curve["dev_loss"][-1] == pytest.approx(saved["dev_loss"], rel=1e-4)
    rungs = saved["dev_rungs"]  # ¼, ½, ¾ and the end of 12 steps, with or without eval_every
    assert rungs["step"] == [3, 6, 9, 12] == rung_steps(12)
    assert rungs["dev_loss"][-1] == pytest.approx(saved["dev_loss"], rel=1e-4)
    assert rungs["dev_tf_token_acc"][-1] == pytest.approx(saved["dev_tf_token_acc"], abs=1e-6)
    outcomes = [json.loads(line) for line in cell_file(tmp_path, row["key"], DEV_RUNGS_FILE)
                .read_text().splitlines()]  # fmt: skip
    assert len(outcomes) == 4 * 32 and {o["step"] for o in outcomes} == {3, 6, 9, 12}
    last = [o for o in outcomes if o["step"] == 12]
    assert sum(o["correct"] for o in last) / sum(o["tokens"] for o in last) == pytest.approx(
        rungs["dev_tf_token_acc"][-1], abs=1e-6
    )


def test_rungs_are_quarters_of_the_budget():
    assert rung_steps(200) == [50, 100, 150, 200]
    assert rung_steps(2) == [1, 2] and rung_steps(1) == [1]


def test_a_cell_stops_at_its_dev_target_and_keeps_every_rung(tmp_path):
    """``train.stop_at_target``: training ends at the first dev point at the target; the
    rungs ahead hold the stopped model's outcomes, and its steps are still timed."""
    sets = ["model.d_model=16", "model.n_layers=1", "task.length=6", "task.min_length=3",
            "task.eval_size=32", "train.steps=12", "train.batch_size=8", "train.log_every=2",
            "train.eval_every=4", "train.timing_warmup=1", "train.timing_blocks=2",
            "train.target_acc=0.01", "train.stop_at_target=true"]  # fmt: skip
    row = run_cell(make_spec("lstm", "copy", sets, device="cpu"), tmp_path, "disabled", False)
    assert row["status"] == "ok", row.get("error")
    assert row["stopped_at_step"] == 4 and row["dev_curve"]["step"] == [4]
    assert max(row["curve"]["step"]) <= 4  # no training after the stop
    rungs = row["dev_rungs"]
    assert rungs["step"] == [3, 6, 9, 12]
    assert rungs["dev_loss"][1] == rungs["dev_loss"][2] == rungs["dev_loss"][3]
    assert rungs["dev_loss"][-1] == pytest.approx(row["dev_loss"], rel=1e-4)  # the same model
    assert row["train_step_s"] > 0 and row["timing_n_blocks"] >= 1  # a partial block counts
    outcomes = [json.loads(line) for line in cell_file(tmp_path, row["key"], DEV_RUNGS_FILE)
                .read_text().splitlines()]  # fmt: skip
    assert {o["step"] for o in outcomes} == {3, 6, 9, 12} and len(outcomes) == 4 * 32


def test_a_cell_without_stop_at_target_trains_its_whole_budget(tmp_path):
    sets = ["model.d_model=16", "model.n_layers=1", "task.length=6", "task.min_length=3",
            "task.eval_size=16", "train.steps=8", "train.batch_size=8", "train.log_every=2",
            "train.eval_every=4", "train.timing_warmup=1", "train.timing_blocks=2",
            "train.target_acc=0.01"]  # fmt: skip
    row = run_cell(make_spec("lstm", "copy", sets, device="cpu"), tmp_path, "disabled", False)
    assert row["status"] == "ok", row.get("error")
    assert "stopped_at_step" not in row and row["dev_curve"]["step"] == [4, 8]


def test_stop_at_target_needs_a_dev_curve():
    with pytest.raises(ValueError, match=r"stop_at_target .* set train.eval_every > 0"):
        make_spec("lstm", "copy", ["train.stop_at_target=true"], device="cpu")
