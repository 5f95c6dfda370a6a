"""The claims preset itself: a fair search (the same knobs and an equal number of trials per
model, the Transformer's norm placement among them), Long-range on match tuned where every
model learns, and an estimate inside the 2-hour budget on the reference machine."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.cell.config import ConfigError
from bench.matrix.duration import cell_seconds
from bench.matrix.load import load_matrix

BUDGET_S = 2 * 3600


@pytest.fixture(scope="module")
def claims():  # noqa: ANN201
    return load_matrix("claims")


@pytest.fixture(scope="module")
def plan(claims):  # noqa: ANN001, ANN201
    """Every cell of the preset, planned once (translation needs the Bible corpus)."""
    try:
        return claims.plan("cpu")
    except ConfigError as err:  # the corpus is a Debian package (make corpus-packages)
        pytest.skip(str(err))


def test_every_tuned_block_searches_lr_and_warmup_with_equal_trials(claims, plan):
    blocks = [b for b in claims.blocks if b.tune is not None]
    assert {b.name for b in blocks} == {"match", "translate"}
    for b in blocks:
        trials = {m: len(b.tune.points(m)) for m in b.models}
        assert len(set(trials.values())) == 1, trials  # equal trials per model
        assert set(b.models) == {"transformer", "lstm", "convs2s"}
        for m in b.models:
            space = {k for k, _ in b.tune.grid_of(m)}
            assert {"lr", "warmup"} <= space
            assert ("model.norm_first" in space) == (m == "transformer")
        assert b.tune.size("transformer") > b.tune.size("lstm")  # hence trials: N
        # match is judged on steps to the dev target, and its runs stop there
        judged_on_steps = b.name == "match"
        assert b.tune.tie_break == ("dev_steps_to_target" if judged_on_steps else "dev_loss")
        assert b.tune.extend
        cells = [c for c in [*plan.sweep, *plan.seeds] if c.task == b.name]
        assert cells and all(c.train.stop_at_target == judged_on_steps for c in cells)


def test_long_range_runs_match_at_the_design_sized_by_power(claims):
    """Match at the design the Long-range rule decides >= 80% of the time at the reference's
    effect (tests/test_claims_calibration.py: PRESET_DESIGN), tuned at distance 4."""
    from tests.test_claims_calibration import PRESET_DESIGN

    (match,) = [b for b in claims.blocks if b.name == "match"]
    assert dict(match.tune.at) == {"distance": 4}
    distances = match.values["task"]["distance"]
    assert tuple(distances) == PRESET_DESIGN.distances and 4 in distances
    assert match.values["train"]["eval_every"] == PRESET_DESIGN.eval_every  # steps to target
    assert match.values["train"]["steps"] == PRESET_DESIGN.steps
    assert len(match.seeds) == PRESET_DESIGN.seeds


def test_the_sweep_has_equal_cells_per_model(plan):
    per_model = Counter((c.task, c.model) for c in plan.sweep)
    for task in ("match", "translate"):
        counts = {n for (t, _), n in per_model.items() if t == task}
        assert len(counts) == 1, per_model


def test_the_estimate_fits_the_two_hour_budget(plan):
    cells = plan.sweep + plan.seeds + [w.stand_in for w in plan.waiting if w.stand_in]
    total = sum(cell_seconds(c) or 0.0 for c in cells)
    assert 0.5 * BUDGET_S < total <= BUDGET_S, total / 60


def test_the_speed_sweep_has_five_runs_per_model_and_length(plan):
    """Issue "Designed to decide": >= 5 timing runs per model per length, >= 4 lengths over
    >= 8x with two below d (T1-crossover's regression), blocks of several steps."""
    speed = [c for c in plan.seeds if c.task == "copy" and c.train.batch_size == 8]
    runs = Counter((c.model, c.task_cfg.length) for c in speed)
    assert runs and min(runs.values()) >= 5, runs
    lengths = sorted({n for _, n in runs})
    assert len(lengths) >= 4 and lengths[-1] >= 8 * lengths[0]
    assert sum(n < 128 for n in lengths) >= 2  # d_model = 128: the analytic crossover
    t = speed[0].train
    assert (t.steps - t.timing_warmup) // t.timing_blocks >= 4  # steps per timed block
