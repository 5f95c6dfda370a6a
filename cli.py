"""attnbench command line: thin — parse, validate, call ``bench``, ``perf`` or ``reports``."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bench.rundir.layout import results_path
from ui.options import (
    CLAIMS_JSON_HELP,
    FORK_SERVER_HELP,
    LONG_RANGE_HELP,
    SWEEP_JOBS_HELP,
    DeviceChoice,
    Launcher,
    LongRangeRows,
    RunMode,
    WandbMode,
    default_wandb,
    finite_positive,
)
from ui.rundir_args import results_dir, with_warnings

app = typer.Typer(
    help="Transformer vs LSTM vs ConvS2S: train on shared tasks, measure, report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()


@app.callback()
def _main() -> None:
    """Load extra models/tasks named by ATTNBENCH_PLUGINS before any command."""
    from bench.cell.plugins import load_plugins

    load_plugins()


DEFAULT_WANDB = default_wandb()


@app.command()
def run(
    model: Annotated[str, typer.Argument(help="Model name (see `attnbench models`).")],
    task: Annotated[str, typer.Argument(help="Task name (see `attnbench tasks`).")],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Override a config value: model.KEY=V, task.KEY=V, train.KEY=V."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for data, initialisation and dropout.")] = 0,
    out: Annotated[Path, typer.Option(help="Directory that receives results.jsonl.")] = Path(
        "runs/single"
    ),
    wandb: Annotated[WandbMode, typer.Option(help="W&B mode (offline: sync later).")] = (
        DEFAULT_WANDB
    ),
    device: Annotated[DeviceChoice, typer.Option(help="Where to train.")] = DeviceChoice.auto,
    progress: Annotated[bool, typer.Option(help="Show the training progress bar.")] = True,
    mode: Annotated[
        RunMode, typer.Option(help="speed, or repro: deterministic kernels and one thread.")
    ] = RunMode.speed,
    force: Annotated[
        bool, typer.Option(help="Run even if the memory estimate exceeds the device's memory.")
    ] = False,
) -> None:
    """Train and evaluate one MODEL on one TASK; append a row to OUT/results.jsonl."""
    from bench.cell.execute import run_cell
    from bench.cell.preflight import check_cells
    from bench.cell.spec import make_spec, math_attention_forced, math_attention_note

    with _refusing():
        spec = make_spec(model, task, set_ or [], seed, device.value, mode.value)
        note = check_cells([spec], force)
    if note:
        console.print(f"[yellow]{escape(note)}[/]", soft_wrap=True)
    if math_attention_forced(spec):
        console.print(f"[yellow]note:[/] {math_attention_note(spec)}")
    os.environ.setdefault("WANDB_SILENT", "true")
    with _stop_when_disk_full(f"the same attnbench run {model} {task} command (--out {out})"):
        row = run_cell(spec, out, wandb.value, progress)
    from bench.cell.rank import is_rank_zero
    from ui.display import cell_summary

    if not is_rank_zero():
        return  # a DDP worker process: rank 0 reports
    console.print(cell_summary(row, results_path(out)))
    if row["status"] != "ok":
        raise typer.Exit(1)


@app.command()
def models() -> None:
    """List the registered models with their default configuration."""
    from ui.listing import models_table

    console.print(models_table())


@app.command()
def tasks() -> None:
    """List the registered tasks with their default configuration."""
    from ui.listing import tasks_table

    console.print(tasks_table())


@app.command()
def report(
    directory: Annotated[Path, typer.Argument(help="Run directory holding results.jsonl.")],
    wandb: Annotated[
        WandbMode, typer.Option(help="Also log the tables to the matrix's W&B summary run.")
    ] = DEFAULT_WANDB,
) -> None:
    """Write DIRECTORY/report.md and a self-contained DIRECTORY/report.html from its rows."""
    from bench.tracking import log_report_tables, resolve_mode
    from reports.build import write_report
    from reports.tables import tables_of
    from ui.claims import print_claims_frame

    written = with_warnings(console, write_report, results_dir(directory))
    print_claims_frame(console, written.claims)
    mode, note = resolve_mode(wandb.value)
    if note:
        console.print(f"[yellow]W&B:[/] {note}")
    error = log_report_tables(mode, directory, tables_of(written.sections))
    if error:
        console.print(f"[yellow]W&B:[/] {error}", soft_wrap=True)
    console.print(
        f"written {written.markdown} (figures in {written.markdown.parent / 'report_figures'}) "
        f"and {written.html}",
        soft_wrap=True,
    )


@app.command()
def claims(
    directory: Annotated[Path, typer.Argument(help="Run directory holding results.jsonl.")],
    as_json: Annotated[bool, typer.Option("--json", help=CLAIMS_JSON_HELP)] = False,
    long_range: Annotated[
        LongRangeRows, typer.Option(help=LONG_RANGE_HELP)
    ] = LongRangeRows.default,
) -> None:
    """Judge the paper's claims on DIRECTORY's rows: PASS, FAIL or INCONCLUSIVE, with the
    judged interval and the reason."""

    from reports.claims import claims_records
    from reports.long_range_rows import count_as_long_range
    from reports.rows import load_results
    from ui.claims import print_claims

    df = with_warnings(console, load_results, results_dir(directory))
    df = count_as_long_range(df, long_range.value)
    if long_range is not LongRangeRows.default and not as_json:
        console.print(f"[yellow]Long-range is judged on the {long_range.value} rows[/]")
    records = claims_records(df)
    if as_json:
        typer.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    print_claims(console, records)


@app.command()
def compare(
    run: Annotated[Path, typer.Argument(help="Run directory holding results.jsonl.")],
    ref: Annotated[Path, typer.Argument(help="The run directory to compare it with.")],
) -> None:
    """RUN against REF side by side: per setting the headline metric's difference with its
    interval, every claim whose verdict changed, the settings only one of them ran."""
    from reports.compare import compare_runs
    from ui.compare import print_comparison

    result = with_warnings(console, compare_runs, results_dir(run, "RUN"), results_dir(ref, "REF"))
    print_comparison(console, result, run, ref)


@app.command()
def slim(
    directory: Annotated[Path, typer.Argument(help="Run directory holding results.jsonl.")],
) -> None:
    """Cut DIRECTORY to what its verdicts and report read, to commit it as a reference (the
    same verdicts and intervals; docs/layout.md#committed-references-slimmed)."""
    from reports.slim import slim as slim_dir

    done = with_warnings(console, slim_dir, results_dir(directory))
    console.print(f"{directory}: {done.text()}", soft_wrap=True)


matrix_app = typer.Typer(
    help="Benchmark matrices: validate, run (resumable), status.", no_args_is_help=True
)
app.add_typer(matrix_app, name="matrix")


def _matrix_run(ref: str, out: Path | None, only: list[str] | None, device: str):  # noqa: ANN202
    """A MatrixRun, or a BadParameter naming what is wrong with the matrix or ``--only``."""
    from bench.cell.config import ConfigError
    from bench.matrix.run import MatrixRun

    try:
        return MatrixRun(ref, out, only, device)
    except ConfigError as err:
        raise typer.BadParameter(str(err)) from err


@contextmanager
def _refusing():  # noqa: ANN202
    """ConfigError (bad values, preflight) -> BadParameter; another runner -> exit 1."""
    from bench.cell.config import ConfigError
    from bench.rundir.lock import LockedError

    try:
        yield
    except ConfigError as err:
        raise typer.BadParameter(str(err)) from err
    except LockedError as err:
        typer.echo(f"refused: {err}")
        raise typer.Exit(1) from None


@contextmanager
def _stop_when_disk_full(resume: str):  # noqa: ANN202
    """A full disk stops the command with one line (what, free space, resume), exit 1."""
    from bench.rundir.diskfull import DiskFullError, free_bytes, human_bytes, is_full

    try:
        yield
    except OSError as err:
        if not is_full(err):
            raise
        path = err.path if isinstance(err, DiskFullError) else Path(err.filename or ".")
        free = err.free_bytes if isinstance(err, DiskFullError) else free_bytes(path)
        typer.echo(
            f"disk full: could not write {path} ({'unknown' if free is None else human_bytes(free)}"
            f" free); free some space, then resume with: {resume}"
        )
        raise typer.Exit(1) from None


@matrix_app.command("validate")
def matrix_validate(
    ref: Annotated[str, typer.Argument(help="Preset name or path to a matrix YAML file.")],
    device: Annotated[DeviceChoice, typer.Option(help="Device the cells would run on.")] = (
        DeviceChoice.auto
    ),
    force: Annotated[
        bool, typer.Option(help="Accept cells whose memory estimate exceeds the device's.")
    ] = False,
) -> None:
    """Parse and validate a matrix; print its cells and an estimate of how long they take."""
    from ui.matrix_view import validate_table

    matrix_run = _matrix_run(ref, None, None, device.value)
    with _refusing():
        plan = matrix_run.plan(read_rows=False)
        table, summary = validate_table(matrix_run.matrix, plan)
        console.print(table)
        console.print(summary, soft_wrap=True)
        note = matrix_run.preflight(plan.sweep + plan.seeds, force)  # what `run` would refuse
    if note:
        console.print(f"[yellow]{note}[/]", soft_wrap=True)


@matrix_app.command("run")
def matrix_run(
    ref: Annotated[str, typer.Argument(help="Preset name or path to a matrix YAML file.")],
    out: Annotated[Path | None, typer.Option(help="Run directory (default runs/<name>).")] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Run only cells with FIELD=V[,V] (model, task, seed).")
    ] = None,
    wandb: Annotated[WandbMode, typer.Option(help="W&B mode (offline: sync later).")] = (
        DEFAULT_WANDB
    ),
    device: Annotated[DeviceChoice, typer.Option(help="Where to train.")] = DeviceChoice.auto,
    timeout: Annotated[
        float | None,
        typer.Option(
            help="Per-cell timeout in seconds (default: the matrix's).", callback=finite_positive
        ),
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option(help="Run failed cells again as a new attempt.")
    ] = False,
    launcher: Annotated[
        Launcher, typer.Option(help="local: cells one by one here; ray: Ray tasks on a cluster.")
    ] = Launcher.local,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster: auto or HOST:PORT (default: a local one).")
    ] = None,
    cpus_per_cell: Annotated[
        float | None,
        typer.Option(
            help="Ray: CPUs each cell reserves (default: a whole node).", callback=finite_positive
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Run cells whose memory estimate exceeds the device's memory.")
    ] = False,
    wait: Annotated[
        bool, typer.Option(help="If another runner holds the directory, wait for it to end.")
    ] = False,
    jobs: Annotated[
        int,
        typer.Option(
            min=1,
            help="local: cells run at once (a GPU that one small model leaves idle); their "
            "timings share the device and do not count as speed evidence.",
        ),
    ] = 1,
    fork_server: Annotated[bool, typer.Option(help=FORK_SERVER_HELP)] = True,
    sweep_jobs: Annotated[int | None, typer.Option(min=1, help=SWEEP_JOBS_HELP)] = None,
) -> None:
    """Run every cell not yet done; a killed or interrupted matrix resumes where it stopped."""
    from bench.matrix.run import RunSettings
    from ui.matrix_view import stage_view

    run_ = _matrix_run(ref, out, only, device.value)
    with _refusing():
        settings = RunSettings(
            wandb.value, timeout, retry_failed, launcher.value, address, cpus_per_cell,
            force, jobs, wait, fork_server, sweep_jobs,
        )  # fmt: skip
    resume = run_.resume_command(settings)

    def note(msg: str) -> None:
        console.print(f"[yellow]{escape(msg)}[/]", soft_wrap=True)

    try:
        with _stop_when_disk_full(resume), _refusing():
            result = run_.run(settings, stage_view(console, run_.matrix.name, run_.out), note)
    except KeyboardInterrupt:
        console.print(
            "[yellow]interrupted:[/] the running cell was stopped and wrote no row. Resume with:"
        )
        typer.echo(f"  {resume}")  # plain, unwrapped: copy-pasteable
        raise typer.Exit(130) from None
    console.print(
        f"done: {len(result.rows) - result.failed} ok, {result.failed} failed; "
        f"results in {results_path(run_.out)}",
        soft_wrap=True,
    )
    for waiting in result.waiting:
        console.print(f"[red]not run:[/] {waiting.label()}: every sweep cell failed (see status)")


@matrix_app.command("status")
def matrix_status(
    directory: Annotated[Path, typer.Argument(help="Run directory of a matrix.")],
) -> None:
    """Show done, failed and pending cells of a matrix run directory."""
    from bench.cell.config import ConfigError
    from bench.matrix.run import MatrixRun
    from ui.matrix_view import status_table

    try:
        run_ = MatrixRun.of_directory(directory)
    except ConfigError as err:
        raise typer.BadParameter(str(err), param_hint="DIRECTORY") from err
    with _refusing():
        cells, stale = run_.status()
    table, counts = status_table(f"matrix {run_.matrix.name} in {directory}", cells)
    console.print(table)
    console.print(counts)
    if stale:
        console.print(
            f"[yellow]{stale} cells of the original run have other keys now "
            "(the code or matrix changed): they will run again[/]"
        )


@app.command()
def sync(
    directory: Annotated[Path, typer.Argument(help="Run directory holding wandb/ offline runs.")],
) -> None:
    """Upload the offline W&B runs of DIRECTORY (needs a network and a W&B key)."""
    from bench.tracking import sync_offline_runs

    try:
        n = sync_offline_runs(directory)
    except RuntimeError as err:
        console.print(f"[red]{err}[/]")
        raise typer.Exit(1) from None
    console.print(f"synced {n} offline runs from {directory}")


@app.command()
def perf(
    section: Annotated[
        list[str] | None,
        typer.Option(
            help="Section to run (repeatable): harness, transformer, lstm, decode, data, "
            "scaling. Default: all but scaling (minutes)."
        ),
    ] = None,
    device: Annotated[DeviceChoice, typer.Option(help="Where to measure.")] = DeviceChoice.cpu,
    rounds: Annotated[
        int | None, typer.Option(min=1, help="Interleaved rounds per comparison (default 3).")
    ] = None,
    tiny: Annotated[
        bool, typer.Option(help="Tiny models and lengths: check that it runs, in seconds.")
    ] = False,
    wandb: Annotated[WandbMode, typer.Option(help="W&B mode of the harness runs.")] = (
        WandbMode.offline
    ),
    precision: Annotated[
        str, typer.Option(help="32-true, or bf16-mixed (autocast; for GPUs).")
    ] = "32-true",
    out: Annotated[Path | None, typer.Option(help="Also write the numbers to this JSON.")] = None,
) -> None:
    """Measure harness overhead and model efficiency as ratios, interleaved in one process."""
    from perf.display import print_section
    from perf.options import PerfOptions, tiny_options
    from perf.run import DEFAULT_SECTIONS, check_device, check_sections, run_perf

    names = tuple(section or DEFAULT_SECTIONS)
    try:
        check_sections(names)
        check_device(device is DeviceChoice.cuda, precision)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from err
    opts = (tiny_options if tiny else PerfOptions)(
        device="cuda" if device is DeviceChoice.cuda else "cpu",
        wandb=wandb.value,
        precision=precision,
        **({"rounds": rounds} if rounds else {}),
    )
    os.environ.setdefault("WANDB_SILENT", "true")
    result = run_perf(
        opts,
        names,
        log=lambda msg: console.print(f"[dim]{msg}[/]"),
        on_section=lambda sec: print_section(console, sec),
        out=out,
    )
    if out is not None:
        console.print(f"written {out} ({', '.join(result['sections'])})")


if __name__ == "__main__":
    app()
