"""bench/matrix/rekey.py: after a code move, a run directory's rows get today's keys (tuned
cells after their sweep), so status finds them done; a row whose key does not hash is refused."""

from __future__ import annotations

import json

import pytest
import yaml

import bench.cell.key
import bench.matrix.local
import bench.matrix.rekey
from bench.cell.key import bench_version
from bench.matrix.rekey import rekey
from bench.matrix.run import MatrixRun, RunSettings
from bench.rundir.layout import cell_dir, results_path
from bench.rundir.rows import read_rows
from tests.test_matrix_run import TUNED, _fake_cell


def _cell_with_files(cell, attempt, opts, on_progress=None, stop=None):  # noqa: ANN001, ANN202
    cell_dir(opts.out_dir, cell.key).mkdir(parents=True, exist_ok=True)
    (cell_dir(opts.out_dir, cell.key) / "eval.jsonl").write_text("{}\n")
    return _fake_cell(cell, attempt, opts)


@pytest.fixture
def old_run(tmp_path, monkeypatch):
    """A tuned matrix run under today's version, which then 'moves' to version v2."""
    monkeypatch.setattr(bench.matrix.local, "run_in_subprocess", _cell_with_files)
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(TUNED))
    out = tmp_path / "out"
    MatrixRun(str(path), out, device="cpu").run(RunSettings(wandb="disabled"))
    old = bench_version()
    monkeypatch.setattr(bench.cell.key, "bench_version", lambda: "v2")
    monkeypatch.setattr(bench.matrix.rekey, "bench_version", lambda: "v2")
    return path, out, old


def test_rekey_makes_a_moved_run_current_again(old_run):
    path, out, old = old_run
    cells, stale = MatrixRun(str(path), out, device="cpu").status()
    assert stale == 12 and {c.status for c in cells} == {"pending", "waiting"}
    mapping = rekey(out, old)
    assert len(mapping) == 12 and len(set(mapping.values())) == 12
    cells, stale = MatrixRun(str(path), out, device="cpu").status()
    assert [c.status for c in cells] == ["ok"] * 12 and stale == 0
    rows = read_rows(results_path(out))
    assert all(r["bench_version"] == old and r["rekeyed"]["to_version"] == "v2" for r in rows)
    assert all((cell_dir(out, r["key"]) / "eval.jsonl").is_file() for r in rows)
    assert rekey(out, old) == {}  # once only: the rewritten keys no longer hash under `old`


def test_a_row_that_does_not_hash_to_its_key_is_refused(old_run):
    _, out, old = old_run
    lines = results_path(out).read_text().splitlines()
    row = json.loads(lines[0])
    row["config"]["train"]["lr"] = 0.5  # edited after the run
    results_path(out).write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n")
    with pytest.raises(ValueError, match="does not hash to its key"):
        rekey(out, old)
    assert (
        json.loads(results_path(out).read_text().splitlines()[1])["key"]
        == json.loads(lines[1])["key"]
    )  # nothing rewritten
