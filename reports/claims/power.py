"""Power: how often a rule decides when the measured effect is real, and which larger design
would decide it at least 80% of the time.

Two estimators, both at the rule's own confidence:
- Long-range (censored steps to target, ``longrange``): simulation. Each model's arrivals are
  drawn from the censored log-normal fitted to its runs (intercept, slope on log2 distance,
  σ), rounded up to the dev-check spacing and censored at the budget; the rule (end of the
  budget, and the ¾ rung must not decide the other way) runs on every draw.
- Interval rules (t, Welch, censored regressions, bootstraps): the noncentral t. The
  interval gives the effect and its standard error; n times the units (seeds, runs) divide
  the standard error by √n and multiply the degrees of freedom by n. An approximation, said
  so in every reason that uses it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats as sps

from reports.claims.longrange import judge_comparison, long_range_runs
from reports.claims.stats import censored_mle
from reports.claims.verdict import FAIL, INCONCLUSIVE, PASS, Verdict

TARGET = 0.8  # a preset is sized so that what it aims to decide is decided this often
DRAWS = 100  # simulated run directories per design in a report (± 4-5 points of power)
SEED = 2024


@dataclass(frozen=True)
class Arrival:
    """log(steps to target) = intercept + slope · log2(distance) + sigma · ε."""

    intercept: float
    slope: float
    sigma: float


@dataclass(frozen=True)
class Design:
    """What a long-range matrix runs: seeds per cell, distances, budget, dev-check spacing."""

    seeds: int
    distances: tuple[float, ...]
    steps: int
    eval_every: int

    def text(self) -> str:
        ds = "/".join(f"{d:g}" for d in self.distances)
        return f"{self.seeds} seeds × distances {ds}, {self.steps} steps"


def fit_arrivals(runs: pd.DataFrame) -> dict[str, Arrival]:
    """Each model's arrival law fitted to its runs (censored MLE); models whose runs never
    arrived, or ran at one distance, are left out."""
    out = {}
    for m, g in runs.groupby("model"):
        x = np.log2(g["distance"].to_numpy(float))
        if len(np.unique(x)) < 2:
            continue
        fit = censored_mle(
            np.log(g["t"].to_numpy(float)),
            g["censored"].to_numpy(bool),
            np.column_stack([np.ones(len(x)), x]),
        )
        if fit is not None:
            out[str(m)] = Arrival(float(fit.coef[0]), float(fit.coef[1]), fit.sigma)
    return out


def simulate(
    laws: dict[str, Arrival], design: Design, g: np.random.Generator, task: str = "match"
) -> pd.DataFrame:
    """Runs drawn from ``laws`` under ``design``: arrivals rounded up to the next dev check,
    censored at the budget's last check."""
    recs = []
    every = design.eval_every
    last = every * (design.steps // every)
    for m, law in laws.items():
        for d in design.distances:
            raw = np.exp(
                law.intercept + law.slope * np.log2(d) + law.sigma * g.standard_normal(design.seeds)
            )
            steps = every * np.ceil(raw / every)
            for s, t in enumerate(steps):
                censored = bool(t > last)
                recs.append(
                    {"task": task, "model": m, "seed": s, "distance": float(d),
                     "t": float(last if censored else t), "censored": censored}
                )  # fmt: skip
    return pd.DataFrame(recs)


def decide(runs: pd.DataFrame, other: str, confidence: float, steps: int) -> str:
    """The rule's verdict on one simulated run directory: the end of the budget, unless the
    ¾ rung decides the other way (then budget-dependent: INCONCLUSIVE)."""
    end = judge_comparison(runs, other, confidence, interval=False).verdict
    if end == INCONCLUSIVE:
        return end
    three_q = judge_comparison(runs, other, confidence, at=0.75 * steps, interval=False).verdict
    return INCONCLUSIVE if three_q not in (end, INCONCLUSIVE) else end


def long_range_verdicts(
    laws: dict[str, Arrival],
    design: Design,
    other: str,
    confidence: float,
    draws: int = DRAWS,
    seed: int = SEED,
) -> Counter:
    """Verdicts of the Transformer-vs-``other`` rule over ``draws`` simulated designs."""
    g = np.random.default_rng(seed)
    pair = {m: laws[m] for m in ("transformer", other)}
    return Counter(
        decide(simulate(pair, design, g), other, confidence, design.steps) for _ in range(draws)
    )


def expected_verdict(laws: dict[str, Arrival], other: str) -> str:
    """The verdict the laws' own slopes point to."""
    return PASS if laws["transformer"].slope < laws[other].slope else FAIL


def long_range_power(
    runs: pd.DataFrame, other: str, confidence: float, design: Design, draws: int = DRAWS
) -> dict:
    """Power of the comparison at the measured effect, at ``design`` and at larger designs
    (more seeds, a longer budget, both) until one reaches TARGET: a dict for ``claims --json``
    (``effect``, ``power``, ``design``, ``decides_with``: the cheapest design found, or None)."""
    laws = fit_arrivals(runs[runs["model"].isin(["transformer", other])])
    if set(laws) != {"transformer", other}:
        return {"method": "simulation", "power": None, "why": "no arrival law for every model"}
    want = expected_verdict(laws, other)

    def power(d: Design) -> float:
        return long_range_verdicts(laws, d, other, confidence, draws)[want] / draws

    candidates = [
        Design(s, design.distances, k * design.steps, design.eval_every)
        for s, k in ((5, 1), (8, 1), (design.seeds, 2), (5, 2), (8, 2), (12, 2))
        if s >= design.seeds and (s, k) != (design.seeds, 1)
    ]
    here = power(design)
    found = None
    if here < TARGET:
        for d in sorted(candidates, key=lambda d: d.seeds * d.steps):
            p = power(d)
            if p >= TARGET:
                found = {**asdict(d), "power": p, "text": d.text()}
                break
    slopes = {m: round(law.slope, 3) for m, law in laws.items()}
    return {
        "method": f"simulation, {draws} draws per design",
        "effect": f"slopes per doubling {slopes} (censored log-normal fits to these runs)",
        "expected": want,
        "power": here,
        "design": {**asdict(design), "text": design.text()},
        "decides_with": found,
    }


def t_power(effect: float, se: float, df: float, confidence: float) -> float:
    """P(a two-sided t test at ``confidence`` decides) when the true effect is ``effect`` and
    its estimate has standard error ``se`` on ``df`` degrees of freedom (noncentral t)."""
    if not (se > 0 and df >= 1 and math.isfinite(effect)):
        return float("nan")
    crit = sps.t.ppf(0.5 + confidence / 2, df)
    nc = abs(effect) / se
    p = float(sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc))
    if not math.isfinite(p):  # scipy's series fails at 1-2 df with a large nc: draw instead
        t = sps.nct.rvs(df, nc, size=20000, random_state=np.random.default_rng(SEED))
        p = float(np.mean(np.abs(t) > crit))
    return p


def pass_and_contain_power(
    effect: float, se: float, df: float, confidence: float, contain: float
) -> float:
    """P(the interval lies above the threshold *and* contains ``contain``), for a rule that
    needs both (T1-complexity: above linear, and holding the exponent the FLOPs predict);
    ``effect`` and ``contain`` are measured from the threshold, the estimate normal around
    the measured effect with standard error ``se``."""
    crit = sps.t.ppf(0.5 + confidence / 2, df)
    low = max(crit * se, contain - crit * se)  # the estimate must exceed both
    high = contain + crit * se
    if high <= low:
        return 0.0
    return float(sps.norm.cdf((high - effect) / se) - sps.norm.cdf((low - effect) / se))


def interval_power(
    interval: tuple[float, float],
    threshold: float,
    confidence: float,
    n: int,
    df: float,
    unit: str,
    log: bool = False,
    contain: float | None = None,
) -> dict:
    """Power of an interval rule at its measured effect, now and with more ``unit``: the
    estimate is the interval's midpoint (on the log scale when ``log``), its standard error
    the half-width over the t quantile; ``n`` units give ``df`` degrees of freedom. A rule
    whose interval must also contain ``contain`` uses ``pass_and_contain_power``: more runs
    narrow the interval away from a value the estimate is not near."""
    lo, hi = (math.log(v) if log else v for v in interval)
    thr = math.log(threshold) if log else threshold
    if not (math.isfinite(lo) and math.isfinite(hi)) or n < 1 or df < 1:
        return {"method": "noncentral t", "power": None, "why": "no finite interval"}
    se = (hi - lo) / 2 / sps.t.ppf(0.5 + confidence / 2, df)
    effect = (lo + hi) / 2 - thr

    def power(se_k: float, df_k: float) -> float:
        if contain is None:
            return t_power(effect, se_k, df_k, confidence)
        return pass_and_contain_power(effect, se_k, df_k, confidence, contain - thr)

    here = power(se, df)
    found = None
    for k in range(n + 1, 20 * n + 1) if here < TARGET else ():
        p = power(se * math.sqrt(n / k), df * k / n)
        if p >= TARGET:
            found = {unit: k, "power": p, "text": f"{k} {unit}"}
            break
    method = "noncentral t (approximation: standard error ∝ 1/√n)"
    if contain is not None:
        method = f"normal approximation; the interval must also contain {contain:.3g}"
    out = {
        "method": method,
        "effect": f"{'log ' if log else ''}estimate − threshold {effect:+.3g} (se {se:.3g})",
        "power": here,
        "design": {unit: n, "df": df},
        "decides_with": found,
    }
    if contain is not None and found is None and here < TARGET:
        out["why_none"] = (
            f"the estimate is not near {contain:.3g}, which the interval must contain: more "
            f"{unit} narrow it away from that value"
        )
    return out


def power_text(p: dict, decided: bool = False) -> str:
    """The sentence a design-limited INCONCLUSIVE ends with (``decided``: the one a PASS or
    FAIL's numbers carry: how often a rerun of the same design would decide it again)."""
    if p.get("power") is None:
        return f"power not estimated ({p.get('why', 'no estimate')})"
    lead = "a rerun of this design decides it again" if decided else "this design decides it"
    here = f"at the measured effect {lead} {p['power']:.0%} of the time ({p['method']})"
    found = p.get("decides_with")
    if p["power"] >= TARGET:
        return here
    if found is None:
        why = p.get("why_none", "the measured effect may be too small")
        return here + f"; no design tried reaches 80%: {why}"
    return here + f"; {found['text']} would decide it {found['power']:.0%} of the time"


DESIGN_LIMITED = ("straddles", "arrivals")  # INCONCLUSIVE because the design is too small


def annotate(claim: str, df: pd.DataFrame, v: Verdict) -> Verdict:
    """``v`` with its power at the measured effect. An INCONCLUSIVE because the design is too
    small (an interval straddling its threshold, too few arrivals) says it in its reason,
    with the design that would decide it; a PASS or FAIL in its numbers (how often a rerun
    decides it again). INCONCLUSIVE for lack of rows, learning or hardware: returned as is."""
    if claim == "Long-range" and "comparisons" in v.details:
        return _annotate_long_range(df, v)
    design = v.details.get("design")
    if not design or v.interval is None or v.threshold is None:
        return v
    straddles = v.interval[0] <= v.threshold <= v.interval[1]
    if v.verdict == INCONCLUSIVE and not straddles:  # undecided by another part of the rule
        return v
    p = interval_power(
        v.interval,
        float(v.threshold),
        design["confidence"],
        design["n"],
        design["df"],
        design["unit"],
        design.get("log", False),
        design.get("contain"),
    )
    return _with_power(v, p)


def _with_power(v: Verdict, p: dict) -> Verdict:
    details = {**v.details, "power": p}
    if v.verdict == INCONCLUSIVE:
        return replace(v, reason=f"{v.reason}; {power_text(p)}", details=details)
    numbers = f"{v.numbers}; {power_text(p, decided=True)}" if v.numbers not in ("", "-") else (
        power_text(p, decided=True)
    )  # fmt: skip
    return replace(v, numbers=numbers, details=details)


def _annotate_long_range(df: pd.DataFrame, v: Verdict) -> Verdict:
    runs = long_range_runs(df)
    conf = v.details["confidence"]
    lines, notes, decided = dict(v.details["comparisons"]), [], []
    for m, line in lines.items():
        limited = line.verdict == INCONCLUSIVE and line.details.get("why") in DESIGN_LIMITED
        if not limited and line.verdict == INCONCLUSIVE:
            continue
        g = runs[runs["model"].isin(["transformer", m])]
        task = g["task"].mode().iloc[0]
        g = g[g["task"].eq(task)]
        design = Design(
            seeds=int(g.groupby(["model", "distance"]).size().min()),
            distances=tuple(sorted(g["distance"].unique())),
            steps=int(g["steps"].max()),
            eval_every=int(g["eval_every"].min()),
        )
        p = long_range_power(g, m, conf, design)
        lines[m] = _with_power(line, p)
        text = power_text(p, decided=not limited)
        (notes if limited else decided).append(f"vs {m}: {text}")
    head = lines.get("lstm") or next(iter(lines.values()))
    reason = v.reason + ("; " + "; ".join(notes) if notes else "")
    numbers = v.numbers + ("; " + "; ".join(decided) if decided else "")
    details = {**v.details, "comparisons": lines, "power": head.details.get("power")}
    return replace(v, reason=reason, numbers=numbers, details=details)
