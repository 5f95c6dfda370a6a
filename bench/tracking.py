"""The only module that imports wandb. Offline by default; W&B never fails or hangs a cell."""

from __future__ import annotations

import hashlib
import json
import netrc
import os
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from bench.rundir.layout import (
    ATTENTION_SUMMARY_FILE,
    DEV_EVAL_FILE,
    DEV_RUNGS_FILE,
    EVAL_FILE,
    GZIP_SUFFIX,
    INTERVENTION_FILE,
    cell_dir,
    matrix_path,
    results_path,
)

WANDB_MODES = ("offline", "online", "disabled")
CHECK_TIMEOUT_S = 3.0


def resolve_mode(mode: str) -> tuple[str, str | None]:
    """The W&B mode a matrix will use, and a note when ``online`` falls back to ``offline``.

    ``online`` needs a key and a reachable server; one quick check is made, so a matrix
    never hangs on W&B. Chosen before any ``wandb.init``.
    """
    if mode not in WANDB_MODES:
        raise ValueError(f"unknown W&B mode {mode!r}; choose one of: {', '.join(WANDB_MODES)}")
    if mode != "online":
        return mode, None
    if not (os.environ.get("WANDB_API_KEY") or _netrc_has_key()):
        return "offline", "no W&B API key (WANDB_API_KEY or `wandb login`): running offline"
    url = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=CHECK_TIMEOUT_S).close()
    except OSError as err:
        return "offline", f"W&B server {url.hostname}:{port} unreachable ({err}): running offline"
    return "online", None


@contextmanager
def shared_service(mode: str) -> Iterator[None]:
    """One W&B service for every cell started inside (``wandb.setup``, which W&B documents
    for a parent of many processes): a cell's ``init`` connects to it instead of starting
    its own, about a second less per cell. Cells learn of it from ``WANDB_SERVICE`` in the
    environment they inherit; it is shut down (``wandb.teardown``) on the way out. A
    service that cannot start leaves each cell to start its own."""
    if mode == "disabled":
        yield
        return
    try:
        import wandb

        wandb.setup()
    except Exception as err:  # W&B must never stop a matrix
        warnings.warn(f"no shared W&B service, each cell starts its own: {err}", stacklevel=3)
        yield
        return
    try:
        yield
    finally:
        try:
            wandb.teardown()
        except Exception as err:
            warnings.warn(f"W&B teardown failed: {err}", stacklevel=3)


def _netrc_has_key() -> bool:
    try:
        auth = netrc.netrc().authenticators("api.wandb.ai")
    except (OSError, netrc.NetrcParseError):
        return False
    return bool(auth and auth[2])


def log_report_tables(mode: str, directory: Path, tables: dict[str, Any]) -> str | None:
    """Log report tables (name -> DataFrame) as ``wandb.Table``s to the matrix's summary run.

    Returns the W&B error, if any; never raises for W&B problems.
    """
    if mode == "disabled" or not tables:
        return None
    name = Path(directory).resolve().name
    run_id = "summary-" + hashlib.sha256(str(Path(directory).resolve()).encode()).hexdigest()[:10]
    tracker = Tracker.start(
        mode, Path(directory), f"{name}-summary", {"directory": name}, run_id=run_id, group=name
    )
    if tracker.run is not None:
        try:
            import wandb

            tracker.run.log({f"report/{k}": wandb.Table(dataframe=v) for k, v in tables.items()})
            tracker.run.log_artifact(evidence_artifact(Path(directory), name))
        except Exception as err:
            tracker._fail(f"W&B table or artifact logging failed: {err}")
    return tracker.finish({"status": "ok"})


EVIDENCE_FILES = (EVAL_FILE, DEV_EVAL_FILE, DEV_RUNGS_FILE, INTERVENTION_FILE)
EVIDENCE_NAMES = {
    *EVIDENCE_FILES,
    *(f + GZIP_SUFFIX for f in EVIDENCE_FILES),
    ATTENTION_SUMMARY_FILE,
}  # a slimmed run's forms too (reports.slim)
REPORT_FILES = ("report.md", "report.html")  # reports.build writes them


def evidence_artifact(directory: Path, name: str) -> Any:
    """The run directory's source of truth as one W&B Artifact (type ``run-results``): its
    results file and matrix metadata, every cell's per-example evidence (eval, dev and
    intervention files) and the report (markdown and HTML)."""
    import wandb

    art = wandb.Artifact(f"{name}-results", type="run-results")
    for path in (results_path(directory), matrix_path(directory)):
        if path.is_file():
            art.add_file(str(path), name=path.name)
    for top in REPORT_FILES:
        if (directory / top).is_file():
            art.add_file(str(directory / top), name=top)
    cells = cell_dir(directory, "_").parent
    for path in sorted(cells.glob("*/*")):
        if path.name in EVIDENCE_NAMES:
            art.add_file(str(path), name=str(path.relative_to(directory)))
    return art


def setting_group(matrix: str | None, config: dict[str, Any]) -> tuple[str | None, str | None]:
    """(group, job_type) of a cell's W&B run: its setting, the matrix and the cell's config
    without its seed (so W&B's charts draw one band over the seeds of a setting), and
    ``sweep`` or ``seed``; a run that is not a cell (no model and seed in its config) keeps
    ``matrix`` as its group."""
    if not {"model", "seed", "config"} <= set(config):
        return matrix, None
    setting = {k: v for k, v in config.items() if k not in ("seed", "key")}
    digest = hashlib.sha256(json.dumps(setting, sort_keys=True, default=str).encode())
    task = config.get("task")
    group = f"{matrix or 'attnbench'}/{config['model']}-{task}-{digest.hexdigest()[:8]}"
    return group, "sweep" if config.get("sweep") else "seed"


def sync_offline_runs(directory: Path) -> int:
    """Upload ``directory/wandb/offline-run-*`` with ``wandb sync``; return how many."""
    runs = sorted((Path(directory) / "wandb").glob("offline-run-*"))
    if not runs:
        raise RuntimeError(f"no offline W&B runs under {Path(directory) / 'wandb'}")
    mode, note = resolve_mode("online")
    if mode != "online":
        raise RuntimeError(f"cannot sync: {note}")
    cmd = [sys.executable, "-m", "wandb", "sync", *map(str, runs)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"wandb sync failed: {(done.stderr or done.stdout)[-800:]}")
    return len(runs)


def examples_table(examples: list[dict[str, Any]]) -> Any:
    """Example decodings (source, reference, hypothesis dicts) as a ``wandb.Table``."""
    import wandb

    columns = list(dict.fromkeys(k for e in examples for k in e))
    return wandb.Table(columns=columns, data=[[e.get(c) for c in columns] for e in examples])


class Tracker:
    """A W&B run, or a no-op when disabled or when W&B cannot start."""

    def __init__(self, run: Any = None, error: str | None = None) -> None:
        self.run = run
        self.error = error  # the first W&B error, recorded in the row

    @classmethod
    def start(
        cls,
        mode: str,
        out_dir: Path,
        name: str,
        config: dict[str, Any],
        run_id: str | None = None,
        group: str | None = None,
    ) -> Tracker:
        if mode not in WANDB_MODES:
            raise ValueError(f"unknown W&B mode {mode!r}; choose one of: {', '.join(WANDB_MODES)}")
        if mode == "disabled":
            return cls(None)  # no import, no files
        group, job_type = setting_group(group, config)
        try:
            import wandb

            out_dir.mkdir(parents=True, exist_ok=True)
            run = wandb.init(
                project=os.environ.get("WANDB_PROJECT", "attnbench"),
                mode=mode,
                dir=str(out_dir),
                name=name,
                id=run_id,
                group=group,
                job_type=job_type,
                resume="allow" if run_id else None,
                config=config,
                reinit="finish_previous",
                settings=wandb.Settings(
                    init_timeout=60,
                    silent=True,
                    console="off",
                    # the installed packages' list, read anew by every init (0.4-0.7 s of a
                    # cell's start); the row's `versions` has the libraries that matter
                    x_save_requirements=False,
                ),
            )
            return cls(run)
        except Exception as err:  # W&B must never fail a benchmark cell
            message = f"W&B ({mode}) could not start, continuing without it: {err}"
            warnings.warn(message, stacklevel=2)
            return cls(None, message)

    def log(self, metrics: dict[str, Any], step: int) -> None:
        if self.run is not None:
            try:
                self.run.log(metrics, step=step)
            except Exception as err:
                self._fail(f"W&B log failed: {err}")

    def _fail(self, message: str) -> None:
        warnings.warn(message, stacklevel=3)
        self.error = self.error or message

    def finish(self, summary: dict[str, Any]) -> str | None:
        """Close the run with the row as its summary; return the first W&B error, if any."""
        if self.run is None:
            return self.error
        try:
            for key, value in summary.items():
                if isinstance(value, (int, float, str, bool)) or value is None:
                    self.run.summary[key] = value
            if summary.get("examples"):
                self.run.log({"examples": examples_table(summary["examples"])})
            self.run.finish(exit_code=0 if summary.get("status") == "ok" else 1)
        except Exception as err:
            self._fail(f"W&B finish failed: {err}")
        self.run = None
        return self.error
