"""Every claim's verdict on hand-made rows: PASS, FAIL and INCONCLUSIVE each."""

from __future__ import annotations

import pandas as pd
import pytest

from reports.checks_cost import paper_cost
from reports.claims import CLAIMS, claims_table, evaluate_claims
from reports.rows import normalise
from tests.fixtures.report_rows import (
    full_rows,
    long_range_rows,
    row,
    scaling_rows,
    translate_rows,
)


def verdict(claim_id: str, rows: list[dict]) -> str:
    outcomes = {c.id: o for c, o in evaluate_claims(normalise(pd.DataFrame(rows)))}
    return outcomes[claim_id].verdict


def only(rows: list[dict], **where: object) -> list[dict]:
    """Rows whose fields are not those in ``where`` (drop the matching ones)."""
    return [r for r in rows if not all(r.get(k) == v for k, v in where.items())]


def short(rows: list[dict], max_len: int) -> list[dict]:
    return [r for r in rows if (r.get("seq_len") or 0) <= max_len]


def long_only(rows: list[dict], min_len: int) -> list[dict]:
    return [r for r in rows if (r.get("seq_len") or 0) >= min_len]


def nan_rows(model: str, seeds: range) -> list[dict]:
    return [row(model, "dependency", s, status="failed:nan", distance=128) for s in seeds]


FAST_LSTM = {"transformer": 2000.0, "lstm": 3000.0, "convs2s": 8000.0}
EVEN = {"transformer": 14.0, "lstm": 15.0, "convs2s": 18.0}
CASES = {
    "T1-complexity": {
        "PASS": scaling_rows(),
        "FAIL": scaling_rows(t_quadratic=0.0, t_mem_power=1.0),  # Transformer linear
        "INCONCLUSIVE": short(scaling_rows(), 256),  # one length with n >= 2d
    },
    "T1-crossover": {
        "PASS": scaling_rows(),
        "FAIL": scaling_rows(t_slope=2e-2),  # Transformer slower than the LSTM at n = 64 < d
        "INCONCLUSIVE": long_only(scaling_rows(), 128),  # no length below d = 128
    },
    "T1-sequential": {
        "PASS": scaling_rows(t_const=0.05, t_quadratic=2e-7),  # flat: parallel over positions
        "FAIL": scaling_rows(),  # Transformer step time grows faster than the LSTM's
        "INCONCLUSIVE": only(scaling_rows(), model="transformer"),
    },
    "Parallel-speed": {
        "PASS": translate_rows(),
        "FAIL": translate_rows(speed=FAST_LSTM),
        "INCONCLUSIVE": only(translate_rows(), model="lstm"),
    },
    "Long-range": {
        "PASS": long_range_rows(),
        "FAIL": long_range_rows({"transformer": 0.5, "lstm": 0.9, "convs2s": 0.8}),
        "INCONCLUSIVE": long_range_rows(seeds=1),  # one seed per model is too little
    },
    "Training-ease": {
        "PASS": long_range_rows() + nan_rows("lstm", range(3, 5)),
        "FAIL": long_range_rows() + nan_rows("transformer", range(3, 5)),
        "INCONCLUSIVE": long_range_rows(seeds=1),  # no seed spread to compare
    },
    "Translation": {
        "PASS": translate_rows(),
        "FAIL": translate_rows(EVEN),  # Transformer below the LSTM
        "INCONCLUSIVE": translate_rows(equal_params=None, n_params={"lstm": 3_000_000}),
    },
    "T2-cost": {
        "PASS": translate_rows(),  # same FLOPs per token and tokens, higher BLEU
        "FAIL": translate_rows(EVEN),  # lower BLEU for the same FLOPs
        "INCONCLUSIVE": translate_rows(flops={"transformer": 9e7}),  # more BLEU for more FLOPs
    },
}


@pytest.mark.parametrize(
    "claim_id,expected", [(c, v) for c in CASES for v in ("PASS", "FAIL", "INCONCLUSIVE")]
)
def test_claim_verdicts(claim_id, expected):
    assert verdict(claim_id, CASES[claim_id][expected]) == expected


def test_every_required_claim_is_data():
    ids = [c.id for c in CLAIMS]
    assert len(set(ids)) == len(ids) and set(CASES) <= set(ids)
    for c in CLAIMS:
        assert all([c.source, c.measurement, c.predicate, c.min_evidence, c.caveat, c.preset])
        assert c.preset in ("quick", "scaling", "longrange", "translate", "paper")


def test_no_evidence_is_inconclusive_and_names_the_preset():
    table = claims_table(normalise(pd.DataFrame([row("lstm", "copy", length=16)])))
    assert set(table["verdict"]) == {"INCONCLUSIVE"}
    assert table["missing"].str.contains("run `attnbench matrix run ").all()


def test_numbers_are_stated():
    outcomes = {c.id: o for c, o in evaluate_claims(normalise(pd.DataFrame(full_rows())))}
    assert "4.00×" in outcomes["Parallel-speed"].numbers  # 12000 / 3000 tokens/s
    assert "'>10×' claim not met" in outcomes["Parallel-speed"].numbers
    assert "transformer time exp 1.9" in outcomes["T1-complexity"].numbers
    assert "lstm 1/" in outcomes["Training-ease"].numbers  # one diverged LSTM run


def test_long_range_uses_largest_shared_distance():
    rows = long_range_rows({"transformer": 0.95, "lstm": 0.6, "convs2s": 0.8})
    # the LSTM fails twice at distance 128: that cell is invalid, so 32 is compared
    rows += nan_rows("lstm", range(3, 5))
    outcomes = {c.id: o for c, o in evaluate_claims(normalise(pd.DataFrame(rows)))}
    assert "distance 128" in outcomes["Long-range"].numbers  # ConvS2S still valid at 128
    assert "lstm" not in outcomes["Long-range"].numbers


def test_paper_cost_recomputed_from_stated_figures():
    cost = paper_cost().set_index("model")
    base = cost.loc["Transformer (base), paper", "recomputed FLOPs"]
    big = cost.loc["Transformer (big), paper", "recomputed FLOPs"]
    assert base == pytest.approx(12 * 3600 * 8 * 9.5e12) and base == pytest.approx(3.3e18, rel=0.01)
    assert big == pytest.approx(3.5 * 86400 * 8 * 9.5e12) and big == pytest.approx(2.3e19, rel=0.01)
    assert cost["agree"].all()
