"""Claims as data, verdicts with reasons and intervals, the table, JSON and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bench.matrix.load import preset_names
from cli import app
from reports.claims import CLAIMS, claims_records, claims_table, evaluate_claims
from reports.claims.cost import paper_cost
from reports.claims.verdict import Verdict, against
from reports.rows import normalise
from tests import claims_sim as sim
from tests.fixtures.report_rows import row


def test_every_claim_is_data_with_one_check():
    ids = [c.id for c in CLAIMS]
    assert len(set(ids)) == len(ids)
    assert {"Parallel-speed", "Parallel-10×", "Long-range", "Translation"} <= set(ids)
    for c in CLAIMS:
        assert all([c.source, c.measurement, c.predicate, c.min_evidence, c.caveat, c.preset])
        assert c.preset in preset_names()  # every claim names a preset that exists
    assert {c.preset for c in CLAIMS} == {"claims"}  # one preset feeds every verdict


def test_no_evidence_is_inconclusive_with_a_reason_naming_the_preset():
    table = claims_table(normalise(pd.DataFrame([row("lstm", "copy", length=16)])))
    assert set(table["verdict"]) == {"INCONCLUSIVE"}
    missing = table[table["claim"] != "T1-sequential"]
    assert missing["reason"].str.contains("run `attnbench matrix run ").all(), missing["reason"]


def test_against_ties_are_not_wins():
    assert against((0.1, 0.2), 0.0, "", "x").verdict == "PASS"
    assert against((-0.2, -0.1), 0.0, "", "x").verdict == "FAIL"
    assert against((-0.1, 0.1), 0.0, "", "x").verdict == "INCONCLUSIVE"
    assert against((0.0, 0.1), 0.0, "", "x").verdict == "INCONCLUSIVE"  # touching is a tie
    assert against((-0.2, -0.1), 0.0, "", "x", claim_side="below").verdict == "PASS"
    with pytest.raises(ValueError, match="reason"):
        Verdict("PASS", "")


def test_parallel_speed_is_a_direction_and_ten_x_a_magnitude():
    df = sim.frame(sim.speed_rows(1.5, np.random.default_rng(0)))
    out = {c.id: v for c, v in evaluate_claims(df)}
    assert out["Parallel-speed"].verdict == "PASS"
    assert out["Parallel-10×"].verdict == "FAIL"
    assert out["Parallel-speed"].interval == out["Parallel-10×"].interval
    assert "translate only" in out["Parallel-speed"].numbers  # the scope is always said


def test_one_run_per_model_has_no_speed_interval():
    df = sim.frame(sim.speed_rows(1.5, np.random.default_rng(0), runs=1))
    v = {c.id: v for c, v in evaluate_claims(df)}["Parallel-speed"]
    assert v.verdict == "INCONCLUSIVE" and "too few runs" in v.reason


def test_cells_run_at_once_are_not_timing_evidence():
    """Rows of `matrix run --jobs 4` shared the device: a clear speed difference among them
    decides no timed claim, and the reason says why; quality claims still use them."""
    clear = sim.speed_rows(1.5, np.random.default_rng(0))
    shared = sim.frame([{**r, "parallel_cells": 4} for r in clear])
    out = {c.id: v for c, v in evaluate_claims(shared)}
    for claim in ("Parallel-speed", "Parallel-10×"):
        assert out[claim].verdict == "INCONCLUSIVE"
        assert "6 rows ran several cells at once (--jobs)" in out[claim].reason
    alone = sim.frame([{**r, "parallel_cells": 1} for r in clear])
    assert {c.id: v for c, v in evaluate_claims(alone)}["Parallel-speed"].verdict == "PASS"
    timed = {c.id for c in CLAIMS if c.timed}
    assert {"Parallel-speed", "T1-complexity", "Training-ease"} <= timed
    assert not {"Long-range", "Translation", "T2-cost"} & timed


def test_unequal_translate_sizes_are_named():
    rows = sim.speed_rows(1.5, np.random.default_rng(0))
    for r in rows:
        r["n_params"] = 3_000_000 if r["model"] == "lstm" else 1_000_000
    v = {c.id: v for c, v in evaluate_claims(sim.frame(rows))}["Parallel-speed"]
    assert "not at equal parameters" in v.reason and "3,000,000" in v.reason


def test_t1_sequential_is_judged_on_a_gpu_only():
    g = np.random.default_rng(0)
    cpu = sim.frame(sim.sweep_rows({"transformer": 0.1, "lstm": 1.0}, g))
    v = {c.id: v for c, v in evaluate_claims(cpu)}["T1-sequential"]
    assert v.verdict == "INCONCLUSIVE" and v.reason.startswith("hardware")
    gpu = sim.frame(sim.sweep_rows({"transformer": 0.1, "lstm": 1.0}, g, device="cuda"))
    assert {c.id: v for c, v in evaluate_claims(gpu)}["T1-sequential"].verdict == "PASS"


def test_translation_states_floors_and_paired_numbers():
    df = sim.frame(
        sim.translate_rows(
            {"transformer": 0.75, "convs2s": 0.6, "lstm": 0.45}, np.random.default_rng(0)
        )
    )
    v = {c.id: v for c, v in evaluate_claims(df)}["Translation"]
    assert v.verdict == "PASS"
    assert "copy-source" in v.numbers and "BLEU transformer − convs2s" in v.numbers


def test_claims_records_are_json_with_intervals():
    g = np.random.default_rng(0)
    df = sim.frame(sim.speed_rows(1.5, g))
    records = claims_records(df)
    assert json.loads(json.dumps(records)) == records
    speed = next(r for r in records if r["claim"] == "Parallel-speed")
    assert speed["verdict"] == "PASS" and speed["threshold"] == 1.0
    assert speed["interval"][0] > 1.0


def test_cli_claims_json(tmp_path):
    rows = sim.speed_rows(1.5, np.random.default_rng(0))
    for r in rows:
        r.pop("_per_example", None)
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = CliRunner().invoke(app, ["claims", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [r["claim"] for r in records] == [c.id for c in CLAIMS]
    human = CliRunner().invoke(app, ["claims", str(tmp_path)], terminal_width=60)
    assert human.exit_code == 0
    assert "why:" in human.output and "Parallel-10×" in human.output


def test_paper_cost_recomputed_from_stated_figures():
    cost = paper_cost().set_index("model")
    base = cost.loc["Transformer (base), paper", "recomputed FLOPs"]
    big = cost.loc["Transformer (big), paper", "recomputed FLOPs"]
    assert base == pytest.approx(12 * 3600 * 8 * 9.5e12) and base == pytest.approx(3.3e18, rel=0.01)
    assert big == pytest.approx(3.5 * 86400 * 8 * 9.5e12) and big == pytest.approx(2.3e19, rel=0.01)
    assert cost["agree"].all()


@pytest.mark.parametrize("command", ["claims", "report"])
def test_a_directory_without_one_readable_row_is_refused(tmp_path, command):
    (tmp_path / "results.jsonl").write_text('{"key": "a", "status": \n not json\n')
    result = CliRunner().invoke(app, [command, str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "no complete rows" in result.output
    assert not (tmp_path / "report.md").exists()


def test_report_ends_with_verdicts_readable_in_80_columns(tmp_path):
    rows = sim.speed_rows(1.5, np.random.default_rng(0))
    for r in rows:
        r.pop("_per_example", None)
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = CliRunner().invoke(app, ["report", str(tmp_path), "--wandb", "disabled"],
                                terminal_width=80)  # fmt: skip
    assert result.exit_code == 0, result.output
    verdicts = result.output[result.output.index("claims of") : result.output.index("written ")]
    lines = verdicts.splitlines()
    assert all(len(line) <= 80 for line in lines)
    for c in CLAIMS:  # each claim's verdict on the line that names it, its reason right below
        i = next(i for i, line in enumerate(lines) if line.startswith(c.id + "  "))
        assert lines[i + 1].startswith("  why: ")


def test_quality_claims_in_json_carry_rungs_stability_and_seeds(tmp_path):
    """Long-range from censored steps to target: four rungs of the 400-step budget, stable,
    with the seeds it rests on; the report's verdict table says whether it is stable."""
    rows = sim.reach_rows(
        {"transformer": 0.0, "lstm": 1.5, "convs2s": 1.5},
        np.random.default_rng(0),
        steps=800,
        spread=0.25,
    )
    for r in rows:
        r.pop("_per_example", None)
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = CliRunner().invoke(app, ["claims", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    by = {r["claim"]: r for r in json.loads(result.output)}
    lr = by["Long-range"]
    assert lr["verdict"] == "PASS" and lr["stable"] is True and lr["n_seeds"] == 3
    assert [r["step"] for r in lr["rungs"]] == [200, 400, 600, 800]
    assert {"step", "interval", "verdict"} <= set(lr["rungs"][0])
    assert "rungs" not in by["Parallel-speed"]
    table = claims_table(sim.frame(rows)).set_index("claim")
    assert table.loc["Long-range", "stable across budget"].startswith("yes")


def test_copy_memory_rows_are_judged_as_long_range_only_when_asked(tmp_path):
    """`claims --long-range copy-memory` runs the Long-range machinery on copy-memory rows,
    which by default are not Long-range evidence; a bad choice names the valid ones."""
    rows = sim.reach_rows(
        {"transformer": 0.0, "lstm": 1.5, "convs2s": 1.5}, np.random.default_rng(0), steps=800
    )
    for r in rows:
        r.pop("_per_example", None)
        r["task"] = "copy"
        r["config"]["task"] = {"length": 8, "min_length": 8, "delay": r["distance"]}
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    verdicts = {}
    for choice in ("default", "copy-memory"):
        result = CliRunner().invoke(
            app, ["claims", str(tmp_path), "--json", "--long-range", choice]
        )
        assert result.exit_code == 0, result.output
        verdicts[choice] = {r["claim"]: r for r in json.loads(result.output)}["Long-range"]
    assert verdicts["default"]["verdict"] == "INCONCLUSIVE"
    assert "no long-range rows" in verdicts["default"]["reason"]
    assert verdicts["copy-memory"]["verdict"] == "PASS"
    assert [r["step"] for r in verdicts["copy-memory"]["rungs"]] == [200, 400, 600, 800]
    shown = CliRunner().invoke(app, ["claims", str(tmp_path), "--long-range", "copy-memory"])
    assert "judged on the copy-memory rows" in shown.output
    bad = CliRunner().invoke(app, ["claims", str(tmp_path), "--long-range", "copy"])
    assert bad.exit_code != 0 and "copy-memory" in bad.output and "default" in bad.output


def test_long_range_never_reached_says_how_many_runs_were_censored():
    rows = sim.reach_rows({m: 1.0 for m in sim.MODELS}, np.random.default_rng(0), steps=20)
    v = {c.id: v for c, v in evaluate_claims(sim.frame(rows))}["Long-range"]
    assert v.verdict == "INCONCLUSIVE" and "transformer 9/9 runs censored" in v.reason, v.reason


def test_rungs_read_the_dev_rungs_every_cell_writes():
    from bench.cell.dev import rung_steps as bench_rungs
    from reports.claims.rungs import dev_at, rung_steps

    assert all(bench_rungs(n) == sorted(set(rung_steps(n))) for n in (1, 2, 7, 200, 250, 2000))
    rungs = {"step": [50, 100, 150, 200], "dev_tf_token_acc": [0.2, 0.4, 0.6, 0.8]}
    curve = {"step": [20, 40, 60], "dev_tf_token_acc": [0.1, 0.15, 0.25]}
    row = {"dev_rungs": rungs, "config": {"train": {"steps": 200}}}
    assert [dev_at(row, s) for s in rung_steps(200)] == [0.2, 0.4, 0.6, 0.8]
    assert dev_at({**row, "dev_curve": curve}, 60) == 0.25 and dev_at({"curve": {}}, 50) is None


def test_training_ease_times_a_run_on_its_dev_curve_not_its_dropout_training_batches():
    """Dev accuracy has no dropout: a run at the target on dev (eval_every curve) arrived,
    though its training batches never reached it; rung-only rows keep the training curve."""
    from reports.claims.censored import ease_runs
    from reports.claims.evidence import setting_id

    fields = dict(train_step_s=0.1, time_to_target_s=None, target_value=0.99, steps=300)
    on_dev = row("transformer", "copy", length=8, **fields)
    on_dev["dev_curve"] = {"step": [50, 100, 150], "dev_tf_token_acc": [0.5, 0.995, 1.0]}
    rungs_only = row("transformer", "copy", length=8, seed=1, **fields)
    rungs_only["dev_rungs"] = {"step": [75, 150, 225, 300], "dev_tf_token_acc": [1.0] * 4}
    trained = row("lstm", "copy", length=8, **{**fields, "time_to_target_s": 12.0})
    df = normalise(pd.DataFrame([on_dev, rungs_only, trained]))
    runs = ease_runs(df, [setting_id(r) for r in df.to_dict("records")])
    got = {
        (r["model"], r["seed"]): (r["t"], r["censored"], r["source"]) for _, r in runs.iterrows()
    }
    assert got[("transformer", 0)] == (pytest.approx(10.0), False, "dev")  # step 100 x 0.1 s
    assert got[("transformer", 1)] == (pytest.approx(30.0), True, "train")  # censored: 300 x 0.1
    assert got[("lstm", 0)] == (12.0, False, "train")


def test_each_verdict_states_the_scale_it_was_measured_at():
    """A verdict's reason ends with its scale, read from the rows it judged: parameters per
    model, steps and batch, target tokens per run (tokens/s × s/step × steps), hardware."""
    rows = sim.translate_rows(
        {"transformer": 0.75, "convs2s": 0.6, "lstm": 0.45}, np.random.default_rng(0)
    )
    for r in rows:
        r["config"]["train"] |= {"steps": 2000, "batch_size": 32}
        r["n_params"] = {"transformer": 1_320_000, "lstm": 1_290_000, "convs2s": 1_300_000}[
            r["model"]
        ]
        r |= {"device_name": "cpu", "threads": 2}
    records = {r["claim"]: r for r in claims_records(sim.frame(rows))}
    want = (
        "translate: parameters transformer 1.32M / lstm 1.29M / convs2s 1.3M, 2000 steps of 32, "
        "~200k target tokens per run; on CPU (2 threads)"  # 1000 tokens/s × 0.1 s × 2000
    )
    for claim in ("Translation", "T2-cost", "Parallel-speed"):
        assert records[claim]["scale"] == want
        assert records[claim]["reason"].endswith(f"(scale: {want})")
    assert records["Long-range"]["scale"] is None  # no long-range rows: nothing to scale
    assert "scale" not in records["Long-range"]["reason"]


def test_the_scale_counts_the_steps_a_stopped_run_trained():
    """Runs that stopped at their dev target (``stopped_at_step``) trained fewer steps and
    saw fewer tokens than the budget: the scale says so."""
    from reports.claims.measured_scale import scale_text

    rows = []
    for model, stopped in (("transformer", 150), ("lstm", None)):
        rows.append({"ok": True, "task": "match", "model": model, "n_params": 1_000_000,
                     "config": {"train": {"steps": 1200, "batch_size": 32}},
                     "stopped_at_step": stopped, "train_tgt_tokens_per_s": 1000.0,
                     "train_step_s": 0.1, "device_name": "cpu", "threads": 2})  # fmt: skip
    text = scale_text(pd.DataFrame(rows))
    assert "150–1200 steps of 32 (1/2 runs stopped at the dev target, budget 1200)" in text
    assert "~15k–120k target tokens per run" in text  # 1000 tokens/s × 0.1 s × steps
