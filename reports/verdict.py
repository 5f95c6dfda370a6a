"""The outcome of checking one claim: PASS, FAIL or INCONCLUSIVE, with the numbers behind it."""

from __future__ import annotations

from dataclasses import dataclass

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"


@dataclass(frozen=True)
class Outcome:
    """A verdict, the measured numbers that decided it, and what evidence is missing (if any)."""

    verdict: str
    numbers: str
    missing: str = ""  # for INCONCLUSIVE: which evidence is missing

    def __post_init__(self) -> None:
        if self.verdict not in (PASS, FAIL, INCONCLUSIVE):
            raise ValueError(f"unknown verdict {self.verdict!r}")


def inconclusive(missing: str, numbers: str = "-") -> Outcome:
    """Not enough evidence: say what is missing."""
    return Outcome(INCONCLUSIVE, numbers, missing)


def decide(ok: bool, numbers: str) -> Outcome:
    """PASS when the predicate holds, else FAIL."""
    return Outcome(PASS if ok else FAIL, numbers)
