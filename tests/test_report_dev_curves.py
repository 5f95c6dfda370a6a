"""Dev learning curves: per-model mean and t band over seeds, one panel per setting, the
rungs, and the figures (or the sentence saying why there are none) in each quality section."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from reports.build import write_report
from reports.dev_curves import NO_DEV, bands, caption, dev_panels, dev_points
from reports.rows import normalise
from tests.fixtures.report_rows import row, translate_rows, write_run

STEPS = [25, 50, 75, 100]


def curve(model: str, seed: int, setting: int) -> dict:
    """A dev curve that rises with step; the Transformer higher, seeds apart by 0.02."""
    base = 0.3 if model == "transformer" else 0.2
    acc = [min(1.0, base + 0.1 * i + 0.02 * seed - 0.01 * setting) for i in range(len(STEPS))]
    return {"step": STEPS, "dev_tf_token_acc": acc, "dev_loss": [1.0] * len(STEPS)}


def dev_rows(task: str = "dependency", seeds: int = 2, dev: bool = True) -> list[dict]:
    """2 models × ``seeds`` seeds × 2 settings (distance 8 and 32, or copy length 16 and 32)."""
    rows = []
    for model in ("lstm", "transformer"):  # not in report order: the bands put them in order
        for k, setting in enumerate((8, 32) if task == "dependency" else (16, 32)):
            for seed in range(seeds):
                where = {"distance": setting} if task == "dependency" else {"length": setting}
                extra = {"dev_curve": curve(model, seed, k)} if dev else {}
                rows.append(row(model, task, seed, answer_acc=0.9, token_acc=0.9, **where, **extra))
    return rows


def frame(rows: list[dict]) -> pd.DataFrame:
    return normalise(pd.DataFrame(rows))


def test_band_is_the_mean_and_t_interval_over_seeds():
    b = bands(dev_points(frame(dev_rows(seeds=2)[:2])))  # lstm at distance 8, seeds 0 and 1
    assert b["model"].unique().tolist() == ["lstm"] and b["step"].tolist() == STEPS
    v = np.array([curve("lstm", s, 0)["dev_tf_token_acc"][0] for s in (0, 1)])
    ci = sps.t.interval(0.95, 1, loc=v.mean(), scale=sps.sem(v))
    first = b.iloc[0]
    assert first["n"] == 2 and first["mean"] == pytest.approx(v.mean())
    assert (first["low"], first["high"]) == pytest.approx(ci)


def test_one_seed_has_no_band_and_agreeing_seeds_a_zero_width_one():
    for p in dev_panels(frame(dev_rows(seeds=1))):
        b = p.bands
        assert b["n"].eq(1).all() and b["low"].isna().all() and b["high"].isna().all()
    same = dev_rows(seeds=2)[:2]
    same[1]["dev_curve"] = same[0]["dev_curve"]
    b = bands(dev_points(frame(same)))
    assert (b["low"] == b["mean"]).all() and (b["high"] == b["mean"]).all()


def test_one_panel_per_setting_with_its_rungs_and_models_in_report_order():
    panels = dev_panels(frame(dev_rows()))
    assert [p.label for p in panels] == ["distance=8", "distance=32"]
    assert panels[0].rungs == [("¼", 25), ("½", 50), ("¾", 75), ("end", 100)]
    for p in panels:
        assert p.bands["model"].unique().tolist() == ["transformer", "lstm"]
        assert p.bands.groupby("model")["n"].max().tolist() == [2, 2]


def test_failed_rows_and_rows_without_dev_points_are_left_out():
    rows = dev_rows(seeds=1) + [row("lstm", "dependency", 5, status="failed:nan", distance=8)]
    rows.append(row("transformer", "dependency", 6, distance=8))  # ok, no dev curve
    rungs_only = row("transformer", "dependency", 7, distance=8)
    rungs_only["dev_rungs"] = {"step": [50, 100], "dev_tf_token_acc": [0.5, 0.9]}
    points = dev_points(frame([*rows, rungs_only]))
    assert sorted(points["seed"].unique()) == [0, 7]  # dev_rungs alone are points too


def _report(directory, rows):
    write_run(directory, rows, attention=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fixture's truncated last line
        return write_report(directory)


def test_each_quality_section_gets_its_dev_figure(tmp_path):
    rows = dev_rows() + dev_rows("copy") + translate_rows()
    for r in rows:
        if r["task"] == "translate":
            r["dev_curve"] = curve(r["model"], r["seed"], 0)
    written = _report(tmp_path, rows)
    names = sorted(p.name for p in written.figures if p.name.startswith("dev_"))
    assert names == ["dev_copy.png", "dev_longrange_dependency.png", "dev_translate.png"]
    sections = {s.title: s for s in written.sections}
    for title, name in (("Long range", "dev_longrange_dependency"), ("Training", "dev_copy")):
        (fig,) = [b for b in sections[title].blocks if getattr(b, "name", "") == name]
        assert "95% t interval over seeds" in fig.caption and "2 ok seeds" in fig.caption
        assert "rungs (¼, ½, ¾, end)" in fig.caption
    md = written.markdown.read_text()
    assert "report_figures/dev_longrange_dependency.png" in md and NO_DEV not in md


def test_rows_without_dev_curves_give_no_figure_and_say_why(tmp_path):
    written = _report(tmp_path, dev_rows(dev=False))
    assert not [p for p in written.figures if p.name.startswith("dev_")]
    assert NO_DEV in " ".join(written.markdown.read_text().split())  # prose is wrapped


def test_runs_stopped_at_the_dev_target_are_marked_and_counted(tmp_path):
    rows = dev_rows()  # 2 models × 2 settings × 2 seeds, 16 dev points each
    rows[0]["stopped_at_step"] = 75  # lstm, distance 8, seed 0
    rows[5]["stopped_at_step"] = 50  # transformer, distance 8, seed 1
    panels = dev_panels(frame(rows))
    assert [p.runs for p in panels] == [4, 4]
    near = panels[0].stops.sort_values("step")
    assert near.to_dict("records") == [
        {"model": "transformer", "seed": 1, "step": 50},
        {"model": "lstm", "seed": 0, "step": 75},
    ]
    assert panels[1].stops.empty
    assert "Crosses: a run that ended at its dev target" in caption(panels, "dependency")
    assert "(`train.stop_at_target`; 2 of 8 runs)" in caption(panels, "dependency")
    assert "Crosses" not in caption(dev_panels(frame(dev_rows())), "dependency")
    written = _report(tmp_path, rows)  # the figure draws the crosses
    assert "report_figures/dev_longrange_dependency.png" in written.markdown.read_text()


def test_a_stopped_run_holds_its_value_so_every_step_averages_the_same_runs():
    rows = dev_rows()[:2]  # lstm at distance 8, seeds 0 and 1, dev at 25 ... 100
    rows[0]["dev_curve"] = {k: v[:2] for k, v in rows[0]["dev_curve"].items()}  # 25, 50
    rows[0]["stopped_at_step"] = 50
    points = dev_points(frame(rows))
    held = points[points["seed"].eq(0)].sort_values("step")
    at_stop = rows[0]["dev_curve"]["dev_tf_token_acc"][1]
    assert held["step"].tolist() == STEPS and held["value"].tolist()[1:] == [at_stop] * 3
    assert bands(points)["n"].tolist() == [2, 2, 2, 2]
    rows[0].pop("stopped_at_step")  # an unstopped short curve is not extended
    assert dev_points(frame(rows))["seed"].eq(0).sum() == 2
