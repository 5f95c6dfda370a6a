"""reports/slim.py (`attnbench slim`): a run directory cut to what its verdicts and report read.
The committed references are slim, small, and judge as they did before slimming."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.attention.alignment import load_npz
from bench.rundir.layout import (
    ATTENTION_FILE,
    ATTENTION_SUMMARY_FILE,
    EVAL_FILE,
    PER_EXAMPLE_FILES,
    cell_dir,
    read_per_example,
)
from bench.rundir.lock import run_lock
from cli import app
from reports.build import write_report
from reports.claims import claims_records
from reports.rows import load_results
from reports.slim import slim
from tests.test_attention_alignment import _run

ROOT = Path(__file__).resolve().parent.parent
REFERENCES = json.loads((ROOT / "tests/fixtures/reference_verdicts.json").read_text())
RESULTS_MB = 25  # issue "A lean house": the committed references, all together


def _report(directory: Path) -> tuple[str, dict[str, bytes]]:
    written = write_report(directory)
    figures = {p.name: p.read_bytes() for p in sorted(written.figures)}
    return written.markdown.read_text(encoding="utf-8"), figures


def _verdicts(records: list[dict]) -> list[dict]:
    return [
        {
            "claim": r["claim"],
            "verdict": r["verdict"],
            "interval": r["interval"],
            "comparisons": [
                {"vs": c["vs"], "verdict": c["verdict"], "interval": c["interval"]}
                for c in r.get("comparisons") or []
            ],
        }
        for r in records
    ]


def test_slim_keeps_every_verdict_the_report_and_the_drawn_maps(tmp_path):
    directory = _run(tmp_path, acc=0.9, sharp=True, layer_drop=0.8)
    (cell_dir(directory, "c0") / "dev_rungs.jsonl").write_text('{"step": 1, "loss": 2.0}\n')
    claims_before = claims_records(load_results(directory))
    markdown_before, figures_before = _report(directory)
    plain_eval = read_per_example(directory, "c0", EVAL_FILE)

    done = slim(directory)

    assert done.after < done.before and done.gzipped == 3 and done.summarised == 2
    for key in ("c0", "c1"):
        cell = cell_dir(directory, key)
        assert not any((cell / name).exists() for name in PER_EXAMPLE_FILES)
        assert (cell / (EVAL_FILE + ".gz")).is_file() and (cell / ATTENTION_SUMMARY_FILE).is_file()
    assert read_per_example(directory, "c0", EVAL_FILE) == plain_eval
    assert gzip.decompress((cell_dir(directory, "c0") / "dev_rungs.jsonl.gz").read_bytes())
    kept = [k for k in ("c0", "c1") if (cell_dir(directory, k) / ATTENTION_FILE).is_file()]
    assert done.maps_kept == len(kept) >= 1 and done.maps_removed == 2 - len(kept)
    for key in kept:  # cut to the examples up to the last drawn one
        assert len(load_npz(cell_dir(directory, key) / ATTENTION_FILE)["correct"]) < 64

    assert claims_records(load_results(directory)) == claims_before
    markdown_after, figures_after = _report(directory)
    assert markdown_after == markdown_before
    assert figures_after == figures_before
    assert any(name.startswith("attention_") for name in figures_after)

    again = slim(directory)  # slimming twice changes nothing more
    assert again.before == again.after and again.gzipped == again.summarised == 0


def test_slim_refuses_a_directory_a_runner_holds(tmp_path):
    directory = _run(tmp_path, acc=0.9, sharp=True)
    with run_lock(directory):
        result = CliRunner().invoke(app, ["slim", str(directory)])
    assert result.exit_code == 2 and "in use by another runner" in _plain(result.output)
    assert (cell_dir(directory, "c0") / EVAL_FILE).is_file()  # nothing touched


def test_slim_names_a_directory_without_results():
    result = CliRunner().invoke(app, ["slim", "no-such-run"])
    assert result.exit_code == 2 and "no results.jsonl in no-such-run" in _plain(result.output)


def _plain(text: str) -> str:
    """CLI output without rich's error box and line wraps."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


def test_the_committed_references_are_slim_and_small(tmp_path):
    total = sum(p.stat().st_size for p in (ROOT / "results").rglob("*") if p.is_file())
    assert total <= RESULTS_MB * 1e6, f"results/ holds {total / 1e6:.1f} MB"
    assert not list((ROOT / "results").rglob("*.jsonl.tmp"))
    for name in REFERENCES:
        copy = shutil.copytree(ROOT / "results" / name, tmp_path / name)
        done = slim(copy)
        assert done.before == done.after, f"results/{name} is not slimmed: attnbench slim it"


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_a_reference_judges_as_it_did_before_slimming(name):
    """Verdicts and intervals of each committed reference, recorded before it was slimmed.
    A change of a claim's rule changes these on purpose: record them again then."""
    result = CliRunner().invoke(app, ["claims", str(ROOT / "results" / name), "--json"])
    assert result.exit_code == 0, result.output
    got = _verdicts(json.loads(result.stdout))
    _assert_same(got, REFERENCES[name])


def _same_interval(got: list | None, want: list | None) -> bool:
    """Equal to 1e-6, bound by bound; an open bound (None: -inf or +inf) only to itself."""
    if got is None or want is None:
        return got is want
    return len(got) == len(want) and all(
        g is w if g is None or w is None else g == pytest.approx(w, rel=1e-6)
        for g, w in zip(got, want, strict=True)
    )


def _assert_same(got: list[dict], want: list[dict]) -> None:
    assert [(g["claim"], g["verdict"]) for g in got] == [(w["claim"], w["verdict"]) for w in want]
    for g, w in zip(got, want, strict=True):
        assert _same_interval(g["interval"], w["interval"]), g["claim"]
        assert [(c["vs"], c["verdict"]) for c in g["comparisons"]] == [
            (c["vs"], c["verdict"]) for c in w["comparisons"]
        ]
        for c, d in zip(g["comparisons"], w["comparisons"], strict=True):
            assert _same_interval(c["interval"], d["interval"]), (g["claim"], c["vs"])
