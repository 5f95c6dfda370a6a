"""Intervals for compared numbers: bootstrap over seeds and examples, sacrebleu, regressions.

Every interval is a two-sided percentile (bootstrap) or t (regression) interval at
``confidence``; verdicts that combine k comparisons use ``confidence = 1 - ALPHA / k``
(Bonferroni) so the claim as a whole keeps its 5% error rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

ALPHA = 0.05
N_BOOT = 2000
SEED = 12345  # bootstrap draws are reproducible: the same run directory, the same intervals


def rng(salt: int = 0) -> np.random.Generator:
    return np.random.default_rng(SEED + salt)


def bonferroni(k: int) -> float:
    """Confidence of each of ``k`` comparisons that together keep the family error at ALPHA."""
    return 1.0 - ALPHA / max(k, 1)


def percentile_interval(draws: np.ndarray, confidence: float = 1 - ALPHA) -> tuple[float, float]:
    """The central ``confidence`` interval of bootstrap ``draws`` (NaN draws dropped)."""
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        return (float("nan"), float("nan"))
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return (float(low), float(high))


def ratio_draws(
    seeds: Sequence[np.ndarray], n_boot: int = N_BOOT, generator: np.random.Generator | None = None
) -> np.ndarray:
    """Bootstrap draws of sum(correct) / sum(total) over seeds and their examples.

    ``seeds``: one (n_examples, 2) array of (correct, total) per seed. Each draw resamples
    the seeds with replacement, then each picked seed's examples with replacement (a
    two-level bootstrap: neither scipy nor sacrebleu has one). One seed: examples only.
    """
    g = generator or rng()
    sums = []
    for arr in seeds:
        idx = g.integers(0, len(arr), (n_boot, len(arr)))
        sums.append(arr[idx].sum(axis=1))  # (n_boot, 2)
    per_seed = np.stack(sums, axis=1)  # (n_boot, n_seeds, 2)
    pick = (
        np.arange(len(seeds))[None].repeat(n_boot, 0)
        if len(seeds) == 1
        else g.integers(0, len(seeds), (n_boot, len(seeds)))
    )
    chosen = np.take_along_axis(per_seed, pick[..., None], axis=1).sum(axis=1)  # (n_boot, 2)
    return chosen[:, 0] / np.maximum(chosen[:, 1], 1e-12)


def corpus_metric_draws(
    seeds: Sequence[np.ndarray],
    metric: object,
    sentence_draws: np.ndarray,
    generator: np.random.Generator | None = None,
) -> np.ndarray:
    """Draws of a sacrebleu corpus metric over seeds and sentences.

    ``seeds``: one (n_sentences, k) array of the metric's sentence statistics per seed (from
    ``metric._extract_corpus_statistics``, as sacrebleu's own bootstrap uses). All seeds
    score the same test sentences; ``sentence_draws`` (n_boot, n_sentences) are shared by
    the systems being compared, which makes differences paired over sentences (as
    ``sacrebleu.significance.PairedTest``). Each draw sums the picked seeds' statistics
    over the picked sentences and scores them with ``metric._compute_score_from_stats``.
    """
    g = generator or rng()
    n_boot = sentence_draws.shape[0]
    per_seed = np.stack([s[sentence_draws].sum(axis=1) for s in seeds], axis=1)  # (B, S, k)
    if len(seeds) > 1:
        pick = g.integers(0, len(seeds), (n_boot, len(seeds)))
        per_seed = np.take_along_axis(per_seed, pick[..., None], axis=1)
    totals = per_seed.sum(axis=1)  # (B, k)
    compute = metric._compute_score_from_stats  # type: ignore[attr-defined]
    return np.array([compute(list(t)).score for t in totals])


@dataclass(frozen=True)
class Slope:
    """A least-squares slope (scipy.stats.linregress) with its t interval."""

    slope: float
    low: float
    high: float
    stderr: float
    n: int
    r2: float

    @property
    def interval(self) -> tuple[float, float]:
        return (self.low, self.high)

    def text(self, digits: int = 2) -> str:
        return f"{self.slope:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def slope(x: Sequence[float], y: Sequence[float], confidence: float = 1 - ALPHA) -> Slope | None:
    """Slope of y on x with its t interval; None with fewer than 3 points or 2 distinct x."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 3 or len(np.unique(x)) < 2:
        return None
    fit = sps.linregress(x, y)
    t = sps.t.ppf(0.5 + confidence / 2, len(x) - 2)
    return Slope(
        float(fit.slope),
        float(fit.slope - t * fit.stderr),
        float(fit.slope + t * fit.stderr),
        float(fit.stderr),
        len(x),
        float(fit.rvalue**2),
    )


def slope_difference(a: Slope, b: Slope, confidence: float = 1 - ALPHA) -> tuple[float, float]:
    """Interval of a.slope − b.slope for independent fits (t with the smaller df)."""
    se = float(np.hypot(a.stderr, b.stderr))
    t = sps.t.ppf(0.5 + confidence / 2, max(min(a.n, b.n) - 2, 1))
    d = a.slope - b.slope
    return (d - t * se, d + t * se)


def fisher_greater(a_events: int, a_n: int, b_events: int, b_n: int) -> float:
    """One-sided p of Fisher's exact test that group a has the higher event rate."""
    table = [[a_events, a_n - a_events], [b_events, b_n - b_events]]
    return float(sps.fisher_exact(table, alternative="greater").pvalue)


def mean_interval(values: Sequence[float], confidence: float = 1 - ALPHA) -> tuple[float, float]:
    """t interval of a mean (scipy ``ttest_1samp``): honest with few values, where a
    bootstrap of 2–5 values would be far too narrow."""
    v = np.asarray(values, float)
    if len(v) < 2 or np.ptp(v) == 0:  # no spread: no interval (scipy would warn and give NaN)
        return (float("nan"), float("nan"))
    ci = sps.ttest_1samp(v, 0.0).confidence_interval(confidence)
    return (float(ci.low), float(ci.high))


def welch_interval(
    a: Sequence[float], b: Sequence[float], confidence: float = 1 - ALPHA
) -> tuple[float, float]:
    """Welch t interval of mean(a) − mean(b) (scipy ``ttest_ind(equal_var=False)``)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2 or np.ptp(a) + np.ptp(b) == 0:
        return (float("nan"), float("nan"))
    ci = sps.ttest_ind(a, b, equal_var=False).confidence_interval(confidence)
    return (float(ci.low), float(ci.high))
