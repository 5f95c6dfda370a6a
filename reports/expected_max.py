"""Expected best dev score against the number of tuning trials (Dodge et al. 2019, "Show
Your Work: Improved Reporting of Experimental Results", Sec. 3).

From one model's N sweep results v_(1) <= ... <= v_(N), the best of n trials drawn with
replacement is v_(i) with probability (i/N)^n - ((i-1)/N)^n, so

    E[max_n] = sum_i v_(i) [(i/N)^n - ((i-1)/N)^n],  Var[max_n] = E[max_n^2] - E[max_n]^2.

A curve that is still rising at n = N says the model needs more tuning than it got; two
models compared at equal n are compared at an equal tuning budget. A lower-is-better metric
(dev loss) gives the expected minimum.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def expected_best(values: list[float], higher_is_better: bool = True) -> pd.DataFrame:
    """E[best of n] and its standard deviation for n = 1 .. len(values) (failed trials,
    given as NaN, count as the worst)."""
    v = np.asarray(values, float)
    worst = np.nanmin(v) if higher_is_better else np.nanmax(v)
    v = np.where(np.isnan(v), worst, v)
    v = np.sort(v if higher_is_better else -v)  # (N,) ascending: the best last
    n_total = len(v)
    cdf = np.arange(n_total + 1) / n_total  # (N+1,)
    rows = []
    for n in range(1, n_total + 1):
        weight = cdf[1:] ** n - cdf[:-1] ** n  # (N,) P(best of n is v_(i))
        mean = float(weight @ v)
        std = float(np.sqrt(max(weight @ v**2 - mean**2, 0.0)))
        rows.append({"trials": n, "expected_best": mean if higher_is_better else -mean,
                     "std": std})  # fmt: skip
    return pd.DataFrame(rows)
