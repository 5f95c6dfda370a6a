"""Paired timing: the Transformer's and the LSTM's runs of one setting and seed, made back to
back (the runner orders a setting's models next to each other), compared as one log ratio
per pair, so that what drifts between pairs (the machine, its other load, thermal state)
cancels instead of widening the interval.

- ``paired_ratio``: the mean log ratio over pairs with its t interval (scipy
  ``ttest_1samp``); Welch over the unpaired runs when fewer than two pairs exist.
- ``crossover_fit``: one regression of the log ratio on log n over the lengths n < d
  (scipy ``linregress``), judged at both ends of that range: a line positive at both ends is
  positive in between.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from reports.claims.stats import ALPHA, mean_interval, welch_interval
from reports.records import records

BLOCKS = "train_tgt_tokens_per_s_blocks"
MIN_PAIRS = 2


def log_speed(row: dict) -> float | None:
    """log tokens/s of one run: the median of its timing blocks (else its summary value)."""
    blocks = row.get(BLOCKS)
    value = np.median(blocks) if isinstance(blocks, list) and blocks else None
    value = value if value is not None else row.get("train_tgt_tokens_per_s")
    if value is None or pd.isna(value) or value <= 0:
        return None
    return float(np.log(float(value)))


def by_seed(rows: pd.DataFrame) -> dict:
    """seed -> log speed of the ok runs in ``rows`` (one setting of one model)."""
    out = {}
    for r in records(rows):
        v = log_speed(r)
        if v is not None and r.get("ok", True):
            out[r.get("seed")] = v
    return out


@dataclass(frozen=True)
class Ratio:
    """A Transformer/other speed ratio: estimate and interval (as ratios), how it was formed."""

    estimate: float
    interval: tuple[float, float]
    pairs: int  # pairs of runs (0: unpaired Welch)
    runs: tuple[int, int]
    df: float

    @property
    def paired(self) -> bool:
        return self.pairs >= MIN_PAIRS

    def text(self) -> str:
        how = f"{self.pairs} pairs of runs by seed" if self.paired else (
            f"{self.runs[0]}+{self.runs[1]} unpaired runs (Welch)"
        )  # fmt: skip
        lo, hi = self.interval
        return f"{self.estimate:.2f}× [{lo:.2f}, {hi:.2f}] ({how})"


def paired_ratio(a: pd.DataFrame, b: pd.DataFrame, confidence: float = 1 - ALPHA) -> Ratio | None:
    """Speed ratio a/b from runs of one setting: paired by seed when at least MIN_PAIRS seeds
    ran both, else Welch over the runs; None without two runs of each (or no spread)."""
    sa, sb = by_seed(a), by_seed(b)
    common = sorted(set(sa) & set(sb), key=str)
    if len(common) >= MIN_PAIRS:
        d = np.array([sa[s] - sb[s] for s in common])
        lo, hi = mean_interval(d, confidence)
        if not np.isfinite(lo):
            return None
        est = float(np.exp(d.mean()))
        return Ratio(
            est, (float(np.exp(lo)), float(np.exp(hi))), len(d), (len(sa), len(sb)), len(d) - 1
        )
    va, vb = np.array(list(sa.values())), np.array(list(sb.values()))
    if min(len(va), len(vb)) < 2:
        return None
    lo, hi = welch_interval(va, vb, confidence)
    if not np.isfinite(lo):
        return None
    est = float(np.exp(va.mean() - vb.mean()))
    return Ratio(
        est, (float(np.exp(lo)), float(np.exp(hi))), 0, (len(va), len(vb)), len(va) + len(vb) - 2
    )


@dataclass(frozen=True)
class CrossoverFit:
    """log(Transformer/LSTM tokens/s) against log n over n < d, at both ends of the range."""

    slope: float
    ends: tuple[float, float]  # the lengths judged
    estimates: tuple[float, float]  # fitted ratios there
    intervals: tuple[tuple[float, float], tuple[float, float]]  # as ratios
    pairs: int
    df: int

    def worst(self) -> tuple[float, float]:
        """The end interval nearest to (or furthest below) a ratio of 1."""
        return min(self.intervals, key=lambda iv: iv[0])


def crossover_fit(
    pairs: list[tuple[float, float]], confidence: float = 1 - ALPHA
) -> CrossoverFit | None:
    """One regression of the paired log ratio on log n (``pairs``: (n, log ratio)); each
    end's interval at ``confidence`` (the mean response's t interval: scipy's ``linregress``
    gives the slope and its error, the standard formula the rest). None with fewer than 3
    pairs or one length."""
    x = np.log([n for n, _ in pairs])
    y = np.array([v for _, v in pairs])
    if len(x) < 3 or len(np.unique(x)) < 2:
        return None
    fit = sps.linregress(x, y)
    df = len(x) - 2
    resid = y - (fit.intercept + fit.slope * x)
    s2 = float(resid @ resid) / df
    sxx = float(((x - x.mean()) ** 2).sum())
    t = sps.t.ppf(0.5 + confidence / 2, df)
    ends = (float(np.exp(x.min())), float(np.exp(x.max())))
    est, ivs = [], []
    for x0 in (x.min(), x.max()):
        mu = fit.intercept + fit.slope * x0
        se = np.sqrt(s2 * (1 / len(x) + (x0 - x.mean()) ** 2 / sxx))
        est.append(float(np.exp(mu)))
        ivs.append((float(np.exp(mu - t * se)), float(np.exp(mu + t * se))))
    return CrossoverFit(float(fit.slope), ends, tuple(est), tuple(ivs), len(x), df)
