"""W&B: modes resolved before any init, online falls back quickly, errors never fail a cell."""

from __future__ import annotations

import pytest

from bench.tracking import Tracker, resolve_mode


def test_offline_and_disabled_pass_through():
    assert resolve_mode("offline") == ("offline", None)
    assert resolve_mode("disabled") == ("disabled", None)
    with pytest.raises(ValueError, match="choose one of: offline, online, disabled"):
        resolve_mode("sometimes")


def test_online_without_key_falls_back_to_offline(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path))
    mode, note = resolve_mode("online")
    assert mode == "offline" and "no W&B API key" in note


def test_online_with_unreachable_server_falls_back(monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # closed port
    mode, note = resolve_mode("online")
    assert mode == "offline" and "unreachable" in note


def test_disabled_tracker_imports_nothing_and_writes_nothing(tmp_path):
    tracker = Tracker.start("disabled", tmp_path, "x", {})
    tracker.log({"a": 1.0}, step=1)
    assert tracker.finish({"status": "ok"}) is None
    assert not any(tmp_path.iterdir())


def test_wandb_failure_is_recorded_not_raised(monkeypatch, tmp_path):
    import wandb

    def broken_init(**kwargs):
        raise RuntimeError("simulated W&B outage")

    monkeypatch.setattr(wandb, "init", broken_init)
    with pytest.warns(UserWarning, match="simulated W&B outage"):
        tracker = Tracker.start("offline", tmp_path, "x", {})
    tracker.log({"a": 1.0}, step=1)
    assert "simulated W&B outage" in tracker.finish({"status": "ok"})


def test_report_tables_go_to_an_offline_summary_run(tmp_path, monkeypatch):
    import pandas as pd

    from bench.tracking import log_report_tables

    monkeypatch.setenv("WANDB_MODE", "offline")
    tables = {"counts": pd.DataFrame({"model": ["lstm"], "ok/total": ["2/2"]})}
    assert log_report_tables("offline", tmp_path, tables) is None
    assert list((tmp_path / "wandb").glob("offline-run-*summary-*"))
    assert log_report_tables("disabled", tmp_path / "none", tables) is None
    assert not (tmp_path / "none").exists()


def test_translation_examples_are_logged_as_a_wandb_table():
    import wandb

    logged: list[dict] = []

    class FakeRun:
        summary: dict = {}

        def log(self, data, step=None):
            logged.append(data)

        def finish(self, exit_code=0):
            pass

    examples = [{"source": "In the beginning", "reference": "En el principio", "hypothesis": "En"}]
    assert Tracker(FakeRun()).finish({"status": "ok", "bleu": 1.5, "examples": examples}) is None
    table = logged[-1]["examples"]
    assert isinstance(table, wandb.Table)
    assert table.columns == ["source", "reference", "hypothesis"]
    assert table.data == [["In the beginning", "En el principio", "En"]]


def _offline_log(directory, expect: bytes = b"", wait_s: float = 20.0) -> bytes:  # noqa: ANN001
    """The bytes of every offline run's transaction log under ``directory/wandb``, once they
    hold ``expect`` (W&B's service may still be flushing when a loaded machine returns from
    ``finish``), or as they are after ``wait_s``."""
    import time

    deadline = time.monotonic() + wait_s
    while True:
        log = b"".join(p.read_bytes() for p in directory.glob("wandb/offline-run-*/run-*.wandb"))
        if expect in log or time.monotonic() > deadline:
            return log
        time.sleep(0.2)


def test_cell_runs_are_grouped_by_setting_with_a_job_type(tmp_path, monkeypatch):
    """Seeds of one setting share a W&B group (the matrix and the config without the seed),
    so W&B's own charts draw seed bands; sweep cells say so in their job type."""
    from bench.tracking import Tracker, setting_group

    spec = {"model": "lstm", "task": "copy", "seed": 0, "config": {"train": {"lr": 1e-3}}}
    g0, kind = setting_group("claims", spec)
    g1, _ = setting_group("claims", {**spec, "seed": 1})
    other, _ = setting_group("claims", {**spec, "config": {"train": {"lr": 3e-3}}})
    assert g0 == g1 != other and g0.startswith("claims/lstm-copy-") and kind == "seed"
    assert setting_group("claims", {**spec, "sweep": {"lr": 1e-3}})[1] == "sweep"
    assert setting_group("claims", {"directory": "x"}) == ("claims", None)  # not a cell

    monkeypatch.setenv("WANDB_MODE", "offline")
    tracker = Tracker.start("offline", tmp_path, "lstm-copy-s0", spec, group="claims")
    assert tracker.finish({"status": "ok"}) is None
    log = _offline_log(tmp_path, g0.encode())
    assert g0.encode() in log and b"seed" in log


def test_the_summary_run_saves_rows_evidence_and_report_as_an_artifact(tmp_path, monkeypatch):
    import pandas as pd

    from bench.tracking import log_report_tables

    (tmp_path / "results.jsonl").write_text('{"key": "k1", "status": "ok"}\n')
    (tmp_path / "report.md").write_text("# report\n")
    (tmp_path / "cells" / "k1").mkdir(parents=True)
    (tmp_path / "cells" / "k1" / "eval.jsonl").write_text('{"correct": 1, "total": 1}\n')
    (tmp_path / "cells" / "k2").mkdir()  # a slimmed cell (reports.slim) saves its forms
    (tmp_path / "cells" / "k2" / "eval.jsonl.gz").write_bytes(b"")
    (tmp_path / "cells" / "k2" / "attention_summary.json").write_text("{}")
    monkeypatch.setenv("WANDB_MODE", "offline")
    tables = {"counts": pd.DataFrame({"model": ["lstm"], "ok/total": ["1/1"]})}
    assert log_report_tables("offline", tmp_path, tables) is None
    log = _offline_log(tmp_path, b"cells/k2/attention_summary.json")
    assert f"{tmp_path.name}-results".encode() in log and b"run-results" in log
    assert b"cells/k1/eval.jsonl" in log and b"results.jsonl" in log
    assert b"cells/k2/eval.jsonl.gz" in log and b"cells/k2/attention_summary.json" in log
