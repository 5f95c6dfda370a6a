"""reports/expected_max.py: Dodge et al.'s expected best dev score against trials."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.expected_max import expected_best


def test_matches_enumerating_every_draw_with_replacement():
    values = [0.2, 0.9, 0.5]
    curve = expected_best(values)
    for n in (1, 2, 3):
        draws = [max(d) for d in itertools.product(values, repeat=n)]
        assert curve.loc[n - 1, "expected_best"] == pytest.approx(np.mean(draws))
        assert curve.loc[n - 1, "std"] == pytest.approx(np.std(draws))
    assert curve.loc[0, "expected_best"] == pytest.approx(np.mean(values))


def test_lower_is_better_gives_the_expected_minimum_and_failures_count_as_worst():
    curve = expected_best([3.0, float("nan"), 1.0], higher_is_better=False)
    draws = [min(d) for d in itertools.product([3.0, 3.0, 1.0], repeat=2)]
    assert curve.loc[1, "expected_best"] == pytest.approx(np.mean(draws))


@given(st.lists(st.floats(0, 100), min_size=1, max_size=12))
def test_the_curve_rises_from_the_mean_towards_the_best(values):
    curve = expected_best(values)["expected_best"].to_numpy()
    assert np.all(np.diff(curve) >= -1e-9)
    assert curve[0] == pytest.approx(np.mean(values)) and curve[-1] <= max(values) + 1e-9
