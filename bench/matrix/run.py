"""One matrix in one run directory, from plan to rows: the ``MatrixRun``.

``run`` holds the directory's lock, checks the cells before anything trains (preflight),
runs the tuning sweep, re-plans so the seed cells get the values chosen on dev, runs them,
and keeps ``matrix.json`` current; ``status`` rebuilds the cells of a run directory and says
which are done, failed or pending. The CLI calls these and only prints.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from bench.cell.config import ConfigError
from bench.cell.preflight import check_cells
from bench.cell.spec import CellSpec, setting_label
from bench.matrix.dev_evidence import dev_evidence
from bench.matrix.load import Matrix, Plan, Waiting, load_matrix
from bench.matrix.local import CellState, RunOptions, cell_states, filter_cells, pending_cells
from bench.matrix.tuning import without_seed_filter
from bench.rundir.layout import read_matrix_meta, results_path, write_matrix_meta
from bench.rundir.lock import run_lock

LAUNCHERS = ("local", "ray")
Notify = Callable[[str, CellSpec, dict[str, Any]], None]  # (kind, cell, info) -> None


@dataclass(frozen=True)
class RunSettings:
    """How a matrix runs (not what it computes: that is the matrix)."""

    wandb: str = "offline"
    timeout_s: float | None = None  # per cell; None: the matrix's
    retry_failed: bool = False  # run failed cells again as a new attempt
    launcher: str = "local"  # one of LAUNCHERS
    address: str | None = None  # Ray cluster address (None: a local one)
    cpus_per_cell: float | None = None  # Ray: CPUs a cell reserves (None: a whole node)
    force: bool = False  # run cells over the memory estimate (an OOM becomes a row)
    jobs: int = 1  # local: cells at once
    wait: bool = False  # wait for another runner holding the directory
    fork_server: bool = True  # local: fork cells from a pre-imported parent; off: fresh processes
    sweep_jobs: int | None = None  # local: tuning-sweep cells at once (None: the matrix's)

    def __post_init__(self) -> None:
        if self.launcher not in LAUNCHERS:
            raise ConfigError(
                f"unknown launcher {self.launcher!r}; choose one of: {', '.join(LAUNCHERS)}"
            )
        if self.jobs < 1:
            raise ConfigError(f"--jobs must be at least 1, got {self.jobs}")
        if self.sweep_jobs is not None and self.sweep_jobs < 1:
            raise ConfigError(f"--sweep-jobs must be at least 1, got {self.sweep_jobs}")
        for flag, n in (("--jobs", self.jobs), ("--sweep-jobs", self.sweep_jobs or 1)):
            if n > 1 and self.launcher == "ray":
                raise ConfigError(
                    f"{flag} {n} is for --launcher local; Ray schedules by --cpus-per-cell"
                )
        if self.launcher == "ray" and importlib.util.find_spec("ray") is None:
            raise ConfigError("--launcher ray needs Ray: pip install -e '.[ray]'")


@dataclass(frozen=True)
class Stage:
    """One stage of a run: its cells, and those still to run."""

    label: str  # "", " (tuning sweep)" or " (seeds)"
    cells: list[CellSpec]
    todo: list[CellSpec]


@dataclass
class MatrixResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)  # seed cells whose sweep all failed

    @property
    def failed(self) -> int:
        return sum(r["status"] != "ok" for r in self.rows)


@dataclass(frozen=True)
class CellStatus:
    """A cell of a run directory: the cell (or a seed cell waiting for its sweep), its status
    (``pending``, ``waiting`` or the latest row's), its attempts, and the latest row's
    ``wall_s`` and ``overhead_s`` (None before a row, or in a row older than the field)."""

    cell: CellSpec | Waiting
    status: str
    attempts: int
    wall_s: float | None = None
    overhead_s: float | None = None


StageView = Callable[[Stage], AbstractContextManager[Notify]]


def _quiet(stage: Stage) -> AbstractContextManager[Notify]:
    return nullcontext(lambda kind, cell, info: None)


def tuning_notes(plan: Plan) -> list[str]:
    """One line per model and setting whose sweep chose on a tie or at its floor."""
    lines = {}
    for cell in plan.seeds:
        tuned = cell.tuned or {}
        where = f"{cell.model} {cell.task}{setting_label(cell.task_cfg)}"
        if tuned.get("at_floor"):
            lines[where + "f"] = (
                f"tuning {where}: {tuned['at_floor']}; tune at a setting where every model "
                "learns (tune.at), or per setting"
            )
        if tuned.get("tie"):
            tie = tuned["tie"]
            lines[where + "t"] = (
                f"tuning {where}: {len(tie['points'])} grid points tie on {tuned['metric']} "
                f"(overlapping dev intervals); broken by {tie['broken_by']}: {tuned['chosen']}"
            )
    return list(lines.values())


class MatrixRun:
    """A matrix (preset name or YAML path) bound to a run directory and a device."""

    def __init__(
        self, ref: str, out: Path | None = None, only: list[str] | None = None, device: str = "auto"
    ) -> None:
        self.ref, self.only, self.device = ref, list(only or []), device
        self.matrix: Matrix = load_matrix(ref)
        self.out = Path(out) if out is not None else Path("runs") / self.matrix.name

    @classmethod
    def of_directory(cls, directory: Path) -> MatrixRun:
        """The matrix run recorded in ``directory/matrix.json``."""
        meta = read_matrix_meta(directory)
        if meta is None:
            raise ConfigError(f"{directory} holds no matrix.json (not a matrix run directory)")
        return cls(meta["ref"], directory, meta.get("only"), meta["device"])

    def plan(self, read_rows: bool = True) -> Plan:
        """Every cell by stage, ``--only`` applied; tuned seed cells are resolved from the
        directory's sweep rows. Bad values raise ConfigError."""
        states = self.states() if read_rows else {}
        latest = {k: st.latest for k, st in states.items() if st.latest is not None}
        try:
            plan = self.matrix.plan(self.device, latest, partial(dev_evidence, self.out))
            filter_cells(plan.sweep + plan.seeds + plan.waiting, self.only)  # type: ignore[operator]
            sweep_only = without_seed_filter(self.only)  # a seed's sweep runs at the tuning seed
            plan.sweep = filter_cells(plan.sweep, sweep_only, strict=False)
            plan.seeds = filter_cells(plan.seeds, self.only, strict=False)
            plan.waiting = filter_cells(plan.waiting, self.only, strict=False)  # type: ignore[arg-type]
        except ValueError as err:  # a bad --only
            raise ConfigError(str(err)) from err
        return plan

    def states(self) -> dict[str, CellState]:
        """Key -> attempts and latest row, from the directory's results (empty if none)."""
        return cell_states(self.out) if results_path(self.out).exists() else {}

    def preflight(self, cells: list[CellSpec], force: bool = False) -> str | None:
        """Refuse (PreflightError) cells whose data or memory rules them out; a note for
        cells let through by ``force``."""
        return check_cells(cells, force)

    def run(
        self,
        settings: RunSettings,
        stage_view: StageView = _quiet,
        note: Callable[[str], None] = lambda msg: None,
    ) -> MatrixResult:
        """Run every cell not yet done: the sweep, then the seed cells at the values chosen
        on dev. Checks every pending cell before the lock is taken or anything is written."""
        from bench.tracking import resolve_mode

        plan = self.plan()
        first_note = self.preflight(
            pending_cells(plan.sweep + plan.seeds, self.out, settings.retry_failed), settings.force
        )
        if first_note:
            note(first_note)
        mode, why = resolve_mode(settings.wandb)
        if why:
            note(f"W&B: {why}")

        def waiting(pid: str) -> None:
            note(f"waiting for the runner with pid {pid} to finish with {self.out} ...")

        with run_lock(self.out, settings.wait, waiting):
            opts = RunOptions(
                self.out, mode, settings.timeout_s or self.matrix.timeout_s,
                settings.retry_failed, self.matrix.name, settings.jobs, settings.fork_server,
            )  # fmt: skip
            plan = self.plan()  # again, under the lock
            result = MatrixResult()
            label, tried = " (tuning sweep)", set()
            sweep_opts = replace(opts, jobs=max(opts.jobs, self.sweep_jobs(settings)))
            while cells := [c for c in plan.sweep if c.key not in tried]:
                result.rows += self._stage(plan, cells, label, sweep_opts, settings, stage_view)
                tried |= {c.key for c in cells}
                plan = self.plan()  # choose on the sweep's dev rows; an edge choice extends
                label = " (grid extension)"  # the grid once: one more trial per model
            if plan.sweep:
                for line in tuning_notes(plan):
                    note(line)
            label = " (seeds)" if plan.sweep else ""
            result.rows += self._stage(plan, plan.seeds, label, opts, settings, stage_view)
            result.waiting = plan.waiting
        return result

    def sweep_jobs(self, settings: RunSettings) -> int:
        """Tuning-sweep cells at once: ``--sweep-jobs``, else the matrix's ``sweep_jobs``
        (Ray schedules by CPUs instead)."""
        if settings.launcher == "ray":
            return 1
        return settings.sweep_jobs or self.matrix.sweep_jobs

    def _stage(
        self,
        plan: Plan,
        cells: list[CellSpec],
        label: str,
        opts: RunOptions,
        settings: RunSettings,
        stage_view: StageView,
    ) -> list[dict[str, Any]]:
        todo = pending_cells(cells, self.out, settings.retry_failed)
        self.preflight(todo, settings.force)
        self.write_meta(plan)
        with stage_view(Stage(label, cells, todo)) as notify:
            if settings.launcher == "ray":
                from bench.matrix.ray import run_cells_ray

                outcome = run_cells_ray(
                    todo, opts, notify, settings.address, settings.cpus_per_cell
                )
            else:
                from bench.matrix.local import run_cells

                outcome = run_cells(todo, opts, notify)
        return outcome.rows

    def write_meta(self, plan: Plan) -> None:
        """``matrix.json``: what ``status`` needs to rebuild the cells."""
        write_matrix_meta(
            self.out,
            {
                "ref": self.ref,
                "name": self.matrix.name,
                "device": self.device,
                "only": self.only,
                "keys": [c.key for c in plan.sweep + plan.seeds],
            },
        )

    def status(self) -> tuple[list[CellStatus], int]:
        """Each cell's status, and how many cells of the original run have other keys now
        (the code or the matrix changed since: they will run again)."""
        plan = self.plan()
        states = self.states()
        cells = []
        for cell in plan.sweep + plan.seeds:
            st = states.get(cell.key, CellState())
            row = st.latest or {}
            cells.append(
                CellStatus(cell, st.status, st.attempts, row.get("wall_s"), row.get("overhead_s"))
            )
        cells += [CellStatus(w, "waiting", 0) for w in plan.waiting]
        meta = read_matrix_meta(self.out) or {}
        stale = set(meta.get("keys", [])) - {c.key for c in plan.sweep + plan.seeds}
        return cells, len(stale)

    def resume_command(self, settings: RunSettings) -> str:
        """The command that resumes this run where it stopped."""
        ray = settings.launcher == "ray"
        return (
            f"attnbench matrix run {self.ref} --out {self.out}"
            + "".join(f" --only {o}" for o in self.only)
            + (f" --jobs {settings.jobs}" if settings.jobs > 1 else "")
            + (f" --sweep-jobs {settings.sweep_jobs}" if settings.sweep_jobs else "")
            + (" --no-fork-server" if not settings.fork_server else "")
            + (" --launcher ray" + (f" --address {settings.address}" if settings.address else ""))
            * ray
        )
