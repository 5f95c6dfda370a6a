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
        arr = np.asarray(arr, float)  # a column at a time: 10x faster than arr[idx] (N, n, 2)
        sums.append(np.stack([arr[:, 0][idx].sum(1), arr[:, 1][idx].sum(1)], axis=1))
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


def seed_interval(
    values: Sequence[float], confidence: float = 1 - ALPHA
) -> tuple[float, float] | None:
    """t interval of the mean of per-seed values (``mean_interval``); None with fewer than two
    seeds or no spread between them (then the caller falls back to its example bootstrap)."""
    low, high = mean_interval(values, confidence)
    return None if not np.isfinite(low) else (low, high)


@dataclass(frozen=True)
class CensoredFit:
    """A right-censored log-normal regression (accelerated failure time): coefficients of
    log(time) on ``X`` with t intervals, and how many runs were censored."""

    coef: np.ndarray
    low: np.ndarray
    high: np.ndarray
    sigma: float
    n: int
    n_censored: int
    df: int


_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
MIN_SIGMA = 0.05  # log-time spread floor: times are logged every few steps, never exact
COEF_BOUND = 50.0  # |coefficient| cap: an all-censored group's slope runs off to infinity


@dataclass(frozen=True)
class CensoredMLE:
    """The maximum-likelihood point of a right-censored log-normal regression."""

    coef: np.ndarray
    sigma: float
    loglik: float
    theta: np.ndarray  # (coef, log(σ − MIN_SIGMA)): the optimiser's coordinates


def _censored_nll(y: np.ndarray, obs: np.ndarray, X: np.ndarray):  # noqa: ANN202
    from scipy.special import log_ndtr

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log-likelihood and its gradient in (b, log(σ − MIN_SIGMA))."""
        b, log_s = theta[:-1], theta[-1]
        s = MIN_SIGMA + np.exp(log_s)
        z = (y - X @ b) / s
        log_pdf = -0.5 * z**2 - _LOG_SQRT_2PI  # scipy.stats.norm.logpdf, without its overhead
        log_sf = log_ndtr(-z)  # scipy.stats.norm.logsf
        ll = np.where(obs, log_pdf - np.log(s), log_sf)
        mills = np.exp(log_pdf - log_sf)  # φ/(1 − Φ), censored runs
        d_mu = np.where(obs, z, mills) / s  # d ll / d (X·b)
        d_s = np.where(obs, (z**2 - 1), mills * z) / s  # d ll / d σ
        grad = np.append(X.T @ d_mu, d_s.sum() * np.exp(log_s))
        return -float(ll.sum()), -grad

    return nll


def censored_mle(
    log_t: Sequence[float], censored: Sequence[bool], X: np.ndarray
) -> CensoredMLE | None:
    """Maximum-likelihood fit of log(t) = X·b + σ·ε, ε ~ N(0, 1), where a censored run only
    says log(t) > its value (the normal log survival function in the likelihood).

    Hand-rolled because scipy has censored *distribution* fits (``CensoredData`` with
    ``rv_continuous.fit``) but no censored regression: a slope against distance, or a model
    effect within settings, needs covariates. ``scipy.optimize.minimize`` (L-BFGS-B with the
    analytic gradient; coefficients bounded by ±COEF_BOUND so that a group whose runs are all
    censored at its larger distances cannot run off to infinity). None without an
    uncensored run or when the optimum is not finite.
    """
    from scipy.optimize import minimize

    y = np.asarray(log_t, float)
    obs = ~np.asarray(censored, bool)
    X = np.asarray(X, float)
    if not obs.any():
        return None
    nll = _censored_nll(y, obs, X)
    b0 = np.linalg.lstsq(X, y, rcond=None)[0].clip(-COEF_BOUND, COEF_BOUND)
    s0 = max(float(np.std(y - X @ b0)), 0.1)
    bounds = [(-COEF_BOUND, COEF_BOUND)] * X.shape[1] + [(np.log(1e-4), np.log(20.0))]
    res = minimize(nll, np.append(b0, np.log(s0)), jac=True, method="L-BFGS-B", bounds=bounds)
    if not np.all(np.isfinite(res.x)) or not np.isfinite(res.fun):
        return None
    p = X.shape[1]
    return CensoredMLE(res.x[:p], MIN_SIGMA + float(np.exp(res.x[-1])), -float(res.fun), res.x)


def censored_regression(
    log_t: Sequence[float],
    censored: Sequence[bool],
    X: np.ndarray,
    confidence: float = 1 - ALPHA,
) -> CensoredFit | None:
    """``censored_mle`` with Wald t intervals: standard errors from the Hessian of the
    negative log-likelihood (central differences of its analytic gradient), a t quantile with
    (uncensored runs − parameters) degrees of freedom: a small-sample correction, since a
    censored run carries less information than an observed one. None when fewer uncensored
    runs than parameters + 1, or when the optimum is not finite and positive-definite.
    """
    y = np.asarray(log_t, float)
    cens = np.asarray(censored, bool)
    X = np.asarray(X, float)
    n, p = X.shape
    obs = ~cens
    df = int(obs.sum()) - p
    if df < 1 or np.linalg.matrix_rank(X[obs]) < p:
        return None
    mle = censored_mle(y, cens, X)
    if mle is None:
        return None
    nll = _censored_nll(y, obs, X)
    h = np.empty((p + 1, p + 1))  # Hessian: central differences of the analytic gradient
    for k in range(p + 1):
        e = np.zeros(p + 1)
        e[k] = 1e-5
        h[k] = (nll(mle.theta + e)[1] - nll(mle.theta - e)[1]) / 2e-5
    h = (h + h.T) / 2
    try:
        cov = np.linalg.inv(h)
    except np.linalg.LinAlgError:
        return None
    var = np.diag(cov)[:p]
    if not np.all(np.isfinite(var)) or np.any(var <= 0):
        return None
    se = np.sqrt(var)
    t = sps.t.ppf(0.5 + confidence / 2, df)
    coef = mle.coef
    return CensoredFit(coef, coef - t * se, coef + t * se, mle.sigma, n, int(cens.sum()), df)


def km_median(times: Sequence[float], censored: Sequence[bool]) -> float:
    """Kaplan–Meier median time (``scipy.stats.ecdf`` of ``CensoredData``); inf when more
    than half the runs never got there."""
    t = np.asarray(times, float)
    c = np.asarray(censored, bool)
    if not len(t):
        return float("nan")
    data = sps.CensoredData(uncensored=t[~c], right=t[c])
    sf = sps.ecdf(data).sf
    below = sf.quantiles[sf.probabilities <= 0.5]
    return float(below.min()) if below.size else float("inf")


def logrank_p(
    a: tuple[Sequence[float], Sequence[bool]], b: tuple[Sequence[float], Sequence[bool]]
) -> float:
    """Two-sided p of the log-rank test (``scipy.stats.logrank``) of two censored samples."""

    def data(x: tuple[Sequence[float], Sequence[bool]]) -> sps.CensoredData:
        t, c = np.asarray(x[0], float), np.asarray(x[1], bool)
        return sps.CensoredData(uncensored=t[~c], right=t[c])

    if all(np.asarray(a[1], bool)) and all(np.asarray(b[1], bool)):
        return 1.0
    with np.errstate(invalid="ignore", divide="ignore"):  # no variance: no evidence
        p = float(sps.logrank(data(a), data(b)).pvalue)
    return p if np.isfinite(p) else 1.0
