"""A claim's verdict: PASS, FAIL or INCONCLUSIVE, the judged interval, its threshold and why."""

from __future__ import annotations

from dataclasses import dataclass, field

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
VERDICTS = (PASS, FAIL, INCONCLUSIVE)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check.

    ``interval`` is the 95% interval of the judged effect (None without evidence) and
    ``threshold`` the value it is judged against; ``reason`` always says why, and for
    INCONCLUSIVE what evidence is missing; ``numbers`` are the measurements behind it.
    """

    verdict: str
    reason: str
    numbers: str = "-"
    interval: tuple[float, float] | None = None
    threshold: float | None = None
    details: dict = field(default_factory=dict, compare=False)  # machine-readable extras

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}; one of {', '.join(VERDICTS)}")
        if not self.reason:
            raise ValueError("every verdict needs a reason")


def inconclusive(
    reason: str,
    numbers: str = "-",
    interval: tuple[float, float] | None = None,
    threshold: float | None = None,
) -> Verdict:
    return Verdict(INCONCLUSIVE, reason, numbers, interval, threshold)


def against(
    interval: tuple[float, float],
    threshold: float,
    numbers: str,
    effect: str,
    claim_side: str = "above",
    confidence: float = 0.95,
) -> Verdict:
    """PASS when ``interval`` lies entirely on the claim's side of ``threshold``, FAIL when
    entirely on the other side, INCONCLUSIVE (straddles; ties are not wins) otherwise."""
    low, high = interval
    shown = f"{effect} {_fmt(low)}–{_fmt(high)} ({confidence:.1%})"
    above, below = low > threshold, high < threshold
    if claim_side == "below":
        above, below = below, above
    if above:
        return Verdict(
            PASS, f"{shown} lies {claim_side} {_fmt(threshold)}", numbers, interval, threshold
        )
    if below:
        other = "below" if claim_side == "above" else "above"
        return Verdict(
            FAIL, f"{shown} lies {other} {_fmt(threshold)}", numbers, interval, threshold
        )
    return Verdict(
        INCONCLUSIVE,
        f"interval straddles the threshold: {shown} contains {_fmt(threshold)}",
        numbers,
        interval,
        threshold,
    )


def combine(judged: list[Verdict], numbers: str, threshold: float) -> Verdict:
    """One verdict from k comparisons (each from ``against``, at a Bonferroni confidence):
    FAIL if any fails, PASS if all pass (stating the one nearest its threshold), else
    INCONCLUSIVE with the first comparison that does not pass; the stated comparison's
    ``details`` (its design, for the power estimate) come along."""
    fails = [v for v in judged if v.verdict == FAIL]
    if fails:
        return Verdict(
            FAIL, fails[0].reason, numbers, fails[0].interval, threshold, fails[0].details
        )
    if all(v.verdict == PASS for v in judged):
        near = min(judged, key=lambda v: min(abs(x - threshold) for x in v.interval or (0, 0)))
        return Verdict(PASS, near.reason, numbers, near.interval, threshold, near.details)
    mid = next(v for v in judged if v.verdict != PASS)
    return Verdict(INCONCLUSIVE, mid.reason, numbers, mid.interval, threshold, mid.details)


def _fmt(v: float) -> str:
    return f"{v:.3g}"
