"""bench/matrix/ray.py: a cell's files travel with its row from the node that ran it to the
driver's run directory, and a row whose files did not arrive is not ok."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import bench.matrix.ray as ray_launcher
from bench.matrix.ray import bring_home, evidence
from tests.test_runner import ROOT, env, rows, write_matrix


def _cell_files(out: Path, key: str) -> None:
    cell = out / "cells" / key
    cell.mkdir(parents=True)
    (cell / "eval.jsonl").write_text('{"correct": true}\n')
    (cell / "attention.npz").write_bytes(b"\x00npz")
    (cell / "progress").write_text("{}")
    run = out / "wandb" / f"offline-run-20260101_000000-{key}-1" / "files"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("a: 1\n")
    (run.parent / f"run-{key}-1.wandb").write_bytes(b"history")


def test_the_files_of_a_cell_and_its_wandb_run_come_home(tmp_path):
    node, driver = tmp_path / "node", tmp_path / "driver"
    _cell_files(node, "k1")
    files = evidence(node, "k1", 1)
    assert files is not None and "cells/k1/progress" not in files
    row = bring_home(driver, {"key": "k1", "status": "ok"}, files)
    assert row["status"] == "ok"
    assert (driver / "cells/k1/eval.jsonl").read_text() == '{"correct": true}\n'
    assert (driver / "wandb/offline-run-20260101_000000-k1-1/run-k1-1.wandb").read_bytes() == (
        b"history"
    )


def test_a_row_whose_files_did_not_arrive_is_not_ok(tmp_path, monkeypatch):
    row = bring_home(tmp_path, {"key": "k1", "status": "ok"}, {})
    assert row["status"] == "failed:exception" and "eval.jsonl did not arrive" in row["error"]
    monkeypatch.setattr(ray_launcher, "EVIDENCE_CAP_BYTES", 4)
    _cell_files(tmp_path / "node", "k1")
    assert evidence(tmp_path / "node", "k1", 1) is None
    row = bring_home(tmp_path, {"key": "k1", "status": "ok"}, None)
    assert row["status"] == "failed:exception" and "cap" in row["error"]
    escaped = bring_home(tmp_path, {"key": "k1", "status": "ok"}, {"../x": b""})
    assert escaped["status"] == "failed:exception" and not (tmp_path.parent / "x").exists()


@pytest.mark.slow
def test_ray_on_two_nodes_brings_every_cells_files_home(tmp_path):
    """A head node with no CPUs and a worker node with one: every cell runs on the worker
    node, in a scratch directory of its own, and the driver's directory gets every file a
    local run writes, the same per-example outcomes, and the W&B offline runs."""
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    matrix = write_matrix(tmp_path / "m.yaml", ["lstm", "fault_raise"], [0], timeout=120)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    try:
        cluster.add_node(num_cpus=1)
        outs = {}
        for launcher in ("local", "ray"):
            out = outs[launcher] = tmp_path / launcher
            args = ["matrix", "run", str(matrix), "--out", str(out), "--wandb", "offline"]
            args += ["--launcher", launcher]
            if launcher == "ray":
                args += ["--address", cluster.address, "--cpus-per-cell", "1"]
            done = subprocess.run(
                [sys.executable, "-m", "cli", *args], cwd=ROOT, env=env(), capture_output=True,
                text=True, timeout=400,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
    finally:
        cluster.shutdown()
    local, remote = rows(outs["local"]), rows(outs["ray"])
    assert {(r["key"], r["status"]) for r in remote} == {(r["key"], r["status"]) for r in local}
    for row in remote:
        cell = Path("cells") / row["key"]
        names = {p.name for p in (outs["local"] / cell).iterdir()} - {"progress"}
        assert names <= {p.name for p in (outs["ray"] / cell).iterdir()}, row["model"]
        if row["status"] == "ok":
            got, want = (json.loads((o / cell / "eval.jsonl").read_text().splitlines()[0])
                         for o in (outs["ray"], outs["local"]))  # fmt: skip
            assert got == want
    assert len(list((outs["ray"] / "wandb").glob("offline-run-*/run-*.wandb"))) == 2
    # the verdicts computed on the driver are a local run's (timed claims measure the machine)
    from reports.claims import CLAIMS

    untimed = {c.id for c in CLAIMS if not c.timed}
    verdicts = {}
    for launcher, out in outs.items():
        done = subprocess.run(
            [sys.executable, "-m", "cli", "claims", str(out), "--json"], cwd=ROOT, env=env(),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        # the scale names the hardware and the measured tokens per run, which differ by
        # design between a 1-CPU ray cell and a local one; everything else must agree
        verdicts[launcher] = {
            r["claim"]: (r["verdict"], r["interval"], r["reason"].split(" (scale: ")[0])
            for r in json.loads(done.stdout)
            if r["claim"] in untimed
        }
    assert verdicts["ray"] == verdicts["local"] and verdicts["ray"]
