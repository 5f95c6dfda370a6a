"""Scaling-exponent fits on synthetic power laws, crossovers, and per-model series from rows."""

from __future__ import annotations

import math
import random

import pandas as pd
import pytest

from reports.fit import crossovers, fit_power_law
from reports.length_series import series
from reports.rows import normalise
from reports.sections.speed_memory import crossover_table
from tests.fixtures.report_rows import LENGTHS, scaling_rows

NS = [64, 128, 256, 512, 1024, 2048, 4096]


@pytest.mark.parametrize("exponent", [-1.0, 0.5, 1.0, 2.0, 2.7])
@pytest.mark.parametrize("prefactor", [1e-6, 3.0])
def test_exact_power_law_is_recovered(exponent, prefactor):
    fit = fit_power_law(NS, [prefactor * n**exponent for n in NS])
    assert fit.exponent == pytest.approx(exponent, abs=1e-9)
    assert fit.prefactor == pytest.approx(prefactor, rel=1e-9)
    assert fit.r2 == pytest.approx(1.0) and fit.n_points == len(NS)
    assert (fit.x_min, fit.x_max) == (64, 4096)
    assert fit.predict(100) == pytest.approx(prefactor * 100**exponent)


def test_noisy_power_law_within_tolerance_and_r2_drops():
    rng = random.Random(0)
    ys = [2.0 * n**1.8 * math.exp(rng.gauss(0, 0.05)) for n in NS]
    fit = fit_power_law(NS, ys)
    assert fit.exponent == pytest.approx(1.8, abs=0.05)
    assert 0.99 < fit.r2 < 1.0


def test_quadratic_plus_linear_has_a_local_exponent():
    """n + n²/256: the fit over long lengths approaches 2, over short ones 1."""
    ys = [n + n**2 / 256 for n in NS]
    short = fit_power_law(NS[:3], ys[:3]).exponent
    long = fit_power_law(NS[-3:], ys[-3:]).exponent
    assert 1.0 < short < 1.5 and 1.8 < long < 2.0


def test_bad_points_are_ignored_and_too_few_give_none():
    fit = fit_power_law([0, 1, 2, 4, float("nan")], [5, 1, 4, 16, 3])
    assert fit.n_points == 3 and fit.exponent == pytest.approx(2.0)
    assert fit_power_law([8, 8, 8], [1, 2, 3]) is None
    assert fit_power_law([8], [1]) is None
    assert fit_power_law([1, 2, 3], [None, -1, 0]) is None


def test_crossovers_interpolate_on_log_axes():
    xs = [1, 2, 4, 8]
    a = [8.0, 4.0, 2.0, 1.0]  # a = 8/x, b = 2: they cross at x = 4 exactly
    b = [2.0, 2.0, 2.0, 2.0]
    assert crossovers(xs, a, b) == [(pytest.approx(4.0), "a", "b")]
    a = [8.0, 4.0, 3.0, 1.0]  # crosses between 4 and 8
    ((x, below, above),) = crossovers(xs, a, b)
    assert 4 < x < 8 and (below, above) == ("a", "b")
    assert crossovers(xs, [1, 1, 1, 1], b) == []


def test_series_use_medians_over_seeds_and_one_width():
    rows = scaling_rows()
    extra = [dict(r, seed=1, key=r["key"] + "-s1") for r in rows if r["model"] == "lstm"]
    for r in extra:  # a second seed, twice as fast: the median is the mean of both
        r["train_step_s"] = r["train_step_s"] / 2
    df = normalise(pd.DataFrame(rows + extra))
    ser = series(df, "train_step_s")
    assert list(ser) == ["transformer", "lstm", "convs2s"]
    lstm = ser["lstm"].points.set_index("length")
    assert lstm.loc[64, "n_ok"] == 2
    assert lstm.loc[64, "value"] == pytest.approx(0.75 * 1e-3 * 64 * 8)
    assert ser["lstm"].fit().exponent == pytest.approx(1.0)
    assert ser["transformer"].lengths == list(LENGTHS)  # the OOM at 4096 is not a point
    assert ser["transformer"].fit_long().n_points == 4  # n >= 2d = 256


def test_crossover_table_reports_who_overtakes():
    table = crossover_table(normalise(pd.DataFrame(scaling_rows())))
    row = table[table["models"].eq("transformer vs lstm")].iloc[0]
    assert row["faster below"] == "transformer" and row["faster above"] == "lstm"
    assert 256 < row["crossover length ≈"] < 1024
    assert row["ok/total"] == "12/13"
