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
