"""Two run directories side by side (``attnbench compare RUN REF``): per setting the
difference of its headline metric with an interval, every claim whose verdict changed, and
the settings only one of them ran. Rows only, as every report: no torch, no W&B."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from reports.claims import claims_records
from reports.claims.stats import welch_interval
from reports.records import records
from reports.rows import load_results, primary_value


@dataclass(frozen=True)
class Comparison:
    """What differs between ``run`` and ``ref``."""

    settings: pd.DataFrame  # model, task, setting, metric, run, ref, difference, interval
    changed: pd.DataFrame  # claim, ref verdict, run verdict, ref interval, run interval
    only_run: list[str]
    only_ref: list[str]

    @property
    def unchanged(self) -> bool:
        return self.changed.empty and not self.only_run and not self.only_ref


def _label(row: dict) -> str:
    task = (row.get("config") or {}).get("task") or {}
    knobs = ", ".join(f"{k}={v}" for k, v in sorted(task.items()) if k in ("distance", "length"))
    return f"{row['model']} {row['task']}" + (f" ({knobs})" if knobs else "")


def _per_setting(df: pd.DataFrame) -> dict[str, tuple[str, str, list[float]]]:
    """config_id -> (label, metric, headline values of its ok seeds)."""
    out: dict[str, tuple[str, str, list[float]]] = {}
    for r in records(df):
        label, metric, values = out.get(r["config_id"], (_label(r), "", []))
        value = primary_value(r) if r.get("ok") else None
        if value is not None and np.isfinite(value):
            values = [*values, float(value)]
        metric = metric or {"translate": "bleu"}.get(str(r["task"]), "headline accuracy")
        out[r["config_id"]] = (label, metric, values)
    return out


def _interval_text(a: list[float], b: list[float]) -> str:
    if min(len(a), len(b)) < 2:
        return "- (needs 2 seeds each)"
    lo, hi = welch_interval(a, b)
    return "- (no spread)" if not np.isfinite(lo) else f"[{lo:+.3g}, {hi:+.3g}]"


def compare_runs(run: Path, ref: Path) -> Comparison:
    """Compare run directory ``run`` with the reference ``ref``."""
    a, b = load_results(run), load_results(ref)
    sa, sb = _per_setting(a), _per_setting(b)
    rows = []
    for cid in sorted(set(sa) & set(sb), key=lambda c: sa[c][0]):
        label, metric, va = sa[cid]
        _, _, vb = sb[cid]
        if not va or not vb:
            continue
        rows.append(
            {
                "setting": label,
                "metric": metric,
                "run": f"{np.mean(va):.4g} ({len(va)} seeds)",
                "ref": f"{np.mean(vb):.4g} ({len(vb)} seeds)",
                "run − ref": float(np.mean(va) - np.mean(vb)),
                "95% interval (Welch)": _interval_text(va, vb),
            }
        )
    ra = {r["claim"]: r for r in claims_records(a)}
    rb = {r["claim"]: r for r in claims_records(b)}
    changed = [
        {
            "claim": c,
            "ref": rb[c]["verdict"],
            "run": ra[c]["verdict"],
            "ref interval": rb[c]["interval"],
            "run interval": ra[c]["interval"],
        }
        for c in ra
        if c in rb and ra[c]["verdict"] != rb[c]["verdict"]
    ]
    return Comparison(
        pd.DataFrame(rows),
        pd.DataFrame(changed, columns=["claim", "ref", "run", "ref interval", "run interval"]),
        sorted(sa[c][0] for c in set(sa) - set(sb)),
        sorted(sb[c][0] for c in set(sb) - set(sa)),
    )
