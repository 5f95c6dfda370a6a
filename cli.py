"""attnbench command line: thin — parse, validate, call ``bench``, ``perf`` or ``reports``."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

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


class WandbMode(str, Enum):
    offline = "offline"
    online = "online"
    disabled = "disabled"


class RunMode(str, Enum):
    speed = "speed"
    repro = "repro"


def _default_wandb() -> WandbMode:
    """WANDB_MODE from the environment when it names a mode, else offline."""
    env = os.environ.get("WANDB_MODE", "offline")
    return WandbMode(env) if env in WandbMode.__members__ else WandbMode.offline


DEFAULT_WANDB = _default_wandb()


class Launcher(str, Enum):
    local = "local"
    ray = "ray"


class DeviceChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


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
    from bench.cell.config import ConfigError
    from bench.cell.execute import run_cell
    from bench.cell.spec import make_spec, math_attention_forced

    try:
        spec = make_spec(model, task, set_ or [], seed, device.value, mode.value)
    except ConfigError as err:
        raise typer.BadParameter(str(err)) from err
    _check_data([spec])
    _check_budget([spec], force)
    if math_attention_forced(spec):
        dropout = getattr(spec.model_cfg, "attn_dropout", None)
        cause = f"model.attn_dropout={dropout}" if dropout else f"this {spec.model} configuration"
        console.print(
            f"[yellow]note:[/] {cause} forces "
            "PyTorch's slow math attention on CPU (recorded as attn_math_forced)"
        )
    os.environ.setdefault("WANDB_SILENT", "true")
    with _stop_when_disk_full(f"the same attnbench run {model} {task} command (--out {out})"):
        row = run_cell(spec, out, wandb.value, progress)
    from bench.cell.rank import is_rank_zero

    if not is_rank_zero():
        return  # a DDP worker process: rank 0 reports
    _print_summary(row, out)
    if row["status"] != "ok":
        raise typer.Exit(1)


def _print_summary(row: dict, out: Path) -> None:
    table = Table(title=f"{row['model']} on {row['task']} (seed {row['seed']}): {row['status']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    fields = [
        ("parameters", "n_params", "{:,}"),
        ("token accuracy", "token_acc", "{:.4f}"),
        ("exact-sequence accuracy", "seq_acc", "{:.4f}"),
        ("final train loss", "final_loss", "{:.4f}"),
        ("dev loss", "dev_loss", "{:.4f}"),
        ("dev token accuracy", "dev_token_acc", "{:.4f}"),
        ("BLEU (test)", "bleu", "{:.2f}"),
        ("dev BLEU", "dev_bleu", "{:.2f}"),
        ("train target tokens/s (median)", "train_tgt_tokens_per_s", "{:,.0f}"),
        ("train step (s, median)", "train_step_s", "{:.4f}"),
        ("greedy decode tokens/s", "infer_tgt_tokens_per_s", "{:,.0f}"),
        ("peak memory (MB)", "peak_mem_mb", "{:,.1f}"),
        ("wall time (s)", "wall_s", "{:.1f}"),
    ]
    for label, key, fmt in fields:
        if row.get(key) is not None:
            table.add_row(label, fmt.format(row[key]))
    console.print(table)
    if row.get("train_speed_noisy"):
        console.print("[yellow]speed is noisy:[/] IQR/median of block speeds > 0.10")
    if row["status"] != "ok":
        console.print(f"[red]{row.get('error_class')}[/]: {row.get('error', '')[-800:]}")
    console.print(f"row appended to {out / 'results.jsonl'} (key {row['key']})")


@app.command()
def models() -> None:
    """List the registered models with their default configuration."""
    from models import MODELS
    from models.sizing import count_params

    table = Table(title="models")
    for col in ("name", "description", "params (vocab 32)", "default config"):
        table.add_column(col)
    for name, entry in MODELS.items():
        cfg = entry.config()
        table.add_row(
            name, entry.description, f"{count_params(name, cfg, 32):,}", _config_text(cfg)
        )
    console.print(table)


@app.command()
def tasks() -> None:
    """List the registered tasks with their default configuration."""
    from tasks import TASKS

    table = Table(title="tasks")
    for col in ("name", "description", "default config"):
        table.add_column(col)
    for name, entry in TASKS.items():
        table.add_row(name, entry.description, _config_text(entry.config()))
    console.print(table)


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

    written = _with_warnings(write_report, _results_dir(directory))
    console.print(_claims_table(written.claims))
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
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print a JSON list: claim, verdict, interval, threshold, reason, numbers.",
        ),
    ] = False,
) -> None:
    """Judge the paper's claims on DIRECTORY's rows: PASS, FAIL or INCONCLUSIVE, with the
    judged interval and the reason."""
    import json

    from reports.claims import claims_records
    from reports.rows import load_results

    df = _with_warnings(load_results, _results_dir(directory))
    records = claims_records(df)
    if as_json:
        typer.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    _print_claims(records)


def _results_dir(directory: Path) -> Path:
    if not (directory / "results.jsonl").is_file():
        raise typer.BadParameter(f"no results.jsonl in {directory}", param_hint="DIRECTORY")
    return directory


def _with_warnings(fn, *args):  # noqa: ANN001, ANN202
    """Call fn, printing its warnings (e.g. a truncated results line) instead of hiding them."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn(*args)
        except ValueError as err:  # e.g. no complete rows
            raise typer.BadParameter(str(err), param_hint="DIRECTORY") from err
    for w in caught:
        console.print(f"[yellow]warning:[/] {w.message}", soft_wrap=True)
    return out


VERDICT_STYLE = {"PASS": "bold green", "FAIL": "bold red", "INCONCLUSIVE": "yellow"}


def _print_claims(records: list[dict]) -> None:
    """Verdict and reason first, one block per claim; the numbers below, never squeezed."""
    from rich.markup import escape

    console.rule("claims of 'Attention Is All You Need', judged on these rows")
    for r in records:
        style = VERDICT_STYLE.get(r["verdict"], "default")
        interval = r["interval"]
        shown = f"  [{interval[0]:.3g}, {interval[1]:.3g}]" if interval else ""
        threshold = f" vs {r['threshold']:g}" if r["threshold"] is not None else ""
        console.print(
            f"[bold]{escape(r['claim'])}[/]  [{style}]{r['verdict']}[/]{shown}{threshold}",
            soft_wrap=False,
        )
        console.print(f"  [italic]why:[/] {escape(r['reason'])}")
        console.print(f"  [dim]numbers:[/] {escape(r['numbers'])}\n")


def _claims_table(frame) -> Table:  # noqa: ANN001
    """A rich table of ``reports.claims.claims_table`` rows: verdict and reason first."""
    from rich.markup import escape

    table = Table(title="claims of 'Attention Is All You Need', judged on these rows", expand=True)
    table.add_column("claim", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("interval", no_wrap=True)
    table.add_column("reason", overflow="fold", ratio=2)
    for r in frame.itertuples(index=False):
        verdict = f"[{VERDICT_STYLE.get(r.verdict, 'default')}]{r.verdict}[/]"
        table.add_row(r.claim, verdict, f"{r.interval} vs {r.threshold}", escape(r.reason))
    return table


matrix_app = typer.Typer(
    help="Benchmark matrices: validate, run (resumable), status.", no_args_is_help=True
)
app.add_typer(matrix_app, name="matrix")


def _load_plan(ref: str, device: str, only: list[str] | None, out: Path | None):  # noqa: ANN202
    """Matrix and its cells by stage (tuned seed cells resolved from ``out``'s rows), or a
    BadParameter naming the problem. ``--only seed=`` selects seed cells; a sweep runs at
    its tuning seed for every selected model and task."""
    from bench.cell.config import ConfigError
    from bench.matrix.load import load_matrix
    from bench.matrix.local import cell_states, filter_cells
    from bench.matrix.tuning import without_seed_filter

    latest = {}
    if out is not None and (out / "results.jsonl").exists():
        latest = {k: st.latest for k, st in cell_states(out).items() if st.latest is not None}
    try:
        matrix = load_matrix(ref)
        plan = matrix.plan(device, latest)
        filter_cells(plan.sweep + plan.seeds + plan.waiting, only or [])  # type: ignore[operator]
        plan.sweep = filter_cells(plan.sweep, without_seed_filter(only or []), strict=False)
        plan.seeds = filter_cells(plan.seeds, only or [], strict=False)
        plan.waiting = filter_cells(plan.waiting, only or [], strict=False)  # type: ignore[arg-type]
    except (ConfigError, ValueError) as err:
        raise typer.BadParameter(str(err)) from err
    return matrix, plan


def _check_data(specs: list) -> None:
    """Refuse, before anything trains or is written, when a task cannot get its data."""
    from tasks import data_problem

    problems = [(s.task, data_problem(s.task, s.task_cfg)) for s in specs]
    missing = dict.fromkeys(p for _, p in problems if p is not None)
    if missing:
        fine = sorted({t for t, _ in problems} - {t for t, p in problems if p is not None})
        hint = f" (or run only the other tasks: --only task={','.join(fine)})" if fine else ""
        raise typer.BadParameter("missing data: " + "; ".join(missing) + hint)


def _check_budget(specs: list, force: bool) -> None:
    """Refuse, before any model is built, cells whose memory estimate exceeds the device's."""
    from bench.cell.budget import over_budget
    from bench.cell.config import ConfigError

    try:
        problems = over_budget(specs)
    except ConfigError as err:
        raise typer.BadParameter(str(err)) from err
    if not problems:
        return
    more = f" (and {len(problems) - 3} more cells)" if len(problems) > 3 else ""
    if force:
        console.print(
            f"[yellow]--force:[/] running {len(problems)} cells that may not fit; an OOM is "
            f"recorded as a failed:oom row. {problems[0]}{more}",
            soft_wrap=True,
        )
        return
    raise typer.BadParameter(
        "too large for this device: "
        + "; ".join(problems[:3])
        + more
        + ". Use smaller sizes, or --force to run anyway and record the OOM as data."
    )


def _finite_positive(value: float | None) -> float | None:
    """Typer callback: a number option must be finite and > 0 (NaN passes every bound)."""
    import math

    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be a finite number > 0, got {value}")
    return value


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


def _resume_command(  # noqa: ANN202
    ref: str,
    out: Path,
    only: list[str] | None,
    launcher,
    address,
    jobs: int = 1,  # noqa: ANN001
):
    return (
        f"attnbench matrix run {ref} --out {out}"
        + "".join(f" --only {o}" for o in only or [])
        + (f" --jobs {jobs}" if jobs > 1 else "")
        + (" --launcher ray" + (f" --address {address}" if address else ""))
        * (launcher is Launcher.ray)
    )


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
    from bench.matrix.duration import cell_seconds, human_seconds
    from ui.display import cell_label

    matrix, plan = _load_plan(ref, device.value, None, None)
    cells = plan.sweep + plan.seeds
    n = len(cells) + len(plan.waiting)
    table = Table(title=f"matrix {matrix.name}: {n} cells")
    for col in ("#", "stage", "cell", "key", "params target", "steps", "est."):
        table.add_column(col)
    est = [cell_seconds(cell) for cell in cells]
    ran = list(zip(cells, est, strict=True))
    for i, (cell, secs) in enumerate(ran):
        stage = "sweep" if cell.sweep is not None else "seed"
        table.add_row(
            str(i),
            stage,
            cell_label(cell),
            cell.key,
            str(cell.equal_params or "-"),
            str(cell.train.steps),
            "?" if secs is None else human_seconds(secs),
        )
    for i, wait in enumerate(plan.waiting, len(cells)):
        secs = cell_seconds(wait.stand_in) if wait.stand_in is not None else None
        est.append(secs)
        shown = "?" if secs is None else human_seconds(secs)
        table.add_row(str(i), "seed", wait.label(), "after the sweep", "", "", shown)
    console.print(table)
    if plan.sweep:
        console.print(
            f"{len(plan.sweep)} sweep cells choose each model's values on dev; "
            f"{len(plan.waiting)} seed cells then run at the chosen values."
        )
    known = [s for s in est if s is not None]
    where = "cuda" if any(c.device == "cuda" for c in cells) else "cpu"
    console.print(
        f"estimated duration: {human_seconds(sum(known))} on {where} (a rough estimate from "
        f"the reference machine's 2 CPU cores, see bench/matrix/duration.py)"
        + (f"; {len(est) - len(known)} cells without an estimate" if len(known) < len(est) else "")
    )
    if matrix.description:
        console.print(matrix.description)
    _check_data(cells)  # a matrix whose data is missing would be refused by `matrix run`
    _check_budget(cells, force)  # and so would cells too large for the device


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
            help="Per-cell timeout in seconds (default: the matrix's).", callback=_finite_positive
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
            help="Ray: CPUs each cell reserves (default: a whole node).", callback=_finite_positive
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
) -> None:
    """Run every cell not yet done; a killed or interrupted matrix resumes where it stopped."""
    from bench.matrix.local import pending_cells
    from bench.tracking import resolve_mode

    if jobs > 1 and launcher is Launcher.ray:
        raise typer.BadParameter(
            f"--jobs {jobs} is for --launcher local; Ray schedules by --cpus-per-cell"
        )
    if launcher is Launcher.ray and importlib.util.find_spec("ray") is None:
        raise typer.BadParameter("--launcher ray needs Ray: pip install -e '.[ray]'")
    if out is None:
        out = Path("runs") / _load_plan(ref, device.value, only, None)[0].name
    matrix, plan = _load_plan(ref, device.value, only, out)
    todo = pending_cells(plan.sweep + plan.seeds, out, retry_failed)
    _check_data(todo)
    _check_budget(todo, force)
    mode, note = resolve_mode(wandb.value)
    if note:
        console.print(f"[yellow]W&B:[/] {note}")
    resume = _resume_command(ref, out, only, launcher, address, jobs)
    with _stop_when_disk_full(resume), _hold_run_dir(out, wait):
        out.mkdir(parents=True, exist_ok=True)
        _run_matrix(
            ref, matrix, out, only, device, mode, retry_failed, timeout, launcher, address,
            cpus_per_cell, resume, force, jobs,
        )  # fmt: skip


@contextmanager
def _hold_run_dir(out: Path, wait: bool):  # noqa: ANN202
    """The run directory's lock for the block; another live runner: exit 1 naming its pid."""
    from bench.rundir.lock import LockedError, run_lock

    def waiting(pid: str) -> None:
        console.print(f"waiting for the runner with pid {pid} to finish with {out} ...")

    try:
        with run_lock(out, wait, waiting):
            yield
    except LockedError as err:
        typer.echo(f"refused: {err}")
        raise typer.Exit(1) from None


def _run_matrix(  # noqa: PLR0913
    ref, matrix, out, only, device, mode, retry_failed, timeout, launcher, address,
    cpus_per_cell, resume, force, jobs=1,
):  # noqa: ANN001, ANN202  # fmt: skip
    """Run the sweep stage (if the matrix tunes), then the seed cells at the values chosen
    on dev; the caller holds the run directory's lock."""
    from bench.matrix.local import RunOptions, pending_cells, run_cells
    from ui.display import MatrixDisplay

    _, plan = _load_plan(ref, device.value, only, out)  # again: under the lock
    opts = RunOptions(out, mode, timeout or matrix.timeout_s, retry_failed, matrix.name, jobs)

    def run_stage(cells: list, stage: str):  # noqa: ANN202
        todo = pending_cells(cells, out, retry_failed)
        _check_data(todo)
        _check_budget(todo, force)
        _write_matrix_meta(out, ref, matrix.name, device.value, only, plan)
        console.print(
            f"matrix {matrix.name}{stage}: {len(cells)} cells, {len(cells) - len(todo)} "
            f"already done, {len(todo)} to run -> {out}",
            soft_wrap=True,
        )
        with MatrixDisplay(len(todo), console) as display:
            if launcher is Launcher.ray:
                from bench.matrix.ray import run_cells_ray

                return run_cells_ray(todo, opts, display.event, address, cpus_per_cell)
            return run_cells(todo, opts, display.event)

    try:
        rows = []
        if plan.sweep:
            rows += run_stage(plan.sweep, " (tuning sweep)").rows
            _, plan = _load_plan(ref, device.value, only, out)  # choose on the sweep's dev rows
        rows += run_stage(plan.seeds, " (seeds)" if plan.sweep else "").rows
    except KeyboardInterrupt:
        console.print(
            "[yellow]interrupted:[/] the running cell was stopped and wrote no row. Resume with:"
        )
        typer.echo(f"  {resume}")  # plain, unwrapped: copy-pasteable
        raise typer.Exit(130) from None
    failed = sum(r["status"] != "ok" for r in rows)
    console.print(
        f"done: {len(rows) - failed} ok, {failed} failed; results in {out / 'results.jsonl'}"
    )
    for wait in plan.waiting:
        console.print(f"[red]not run:[/] {wait.label()}: every sweep cell failed (see status)")


def _write_matrix_meta(out: Path, ref: str, name: str, device: str, only, plan) -> None:  # noqa: ANN001
    """``out/matrix.json``: what ``matrix status`` needs to rebuild the cells."""
    from bench.rundir.atomic import atomic_write_text

    atomic_write_text(
        out / "matrix.json",
        json.dumps(
            {
                "ref": ref,
                "name": name,
                "device": device,
                "only": only or [],
                "keys": [c.key for c in plan.sweep + plan.seeds],
            },
            indent=1,
        ),
    )


@matrix_app.command("status")
def matrix_status(
    directory: Annotated[Path, typer.Argument(help="Run directory of a matrix.")],
) -> None:
    """Show done, failed and pending cells of a matrix run directory."""
    from bench.matrix.local import cell_states
    from ui.display import cell_label

    meta_path = directory / "matrix.json"
    if not meta_path.exists():
        raise typer.BadParameter(
            f"{directory} holds no matrix.json (not a matrix run directory)", param_hint="DIRECTORY"
        )
    meta = json.loads(meta_path.read_text())
    _, plan = _load_plan(meta["ref"], meta["device"], meta.get("only"), directory)
    cells = plan.sweep + plan.seeds
    states = cell_states(directory)
    table = Table(title=f"matrix {meta['name']} in {directory}")
    for col in ("cell", "status", "attempts", "key"):
        table.add_column(col)
    counts: dict[str, int] = {}
    for cell in cells:
        st = states.get(cell.key)
        status = st.status if st else "pending"
        counts[status] = counts.get(status, 0) + 1
        style = {"ok": "green", "pending": "dim"}.get(status, "red")
        table.add_row(
            cell_label(cell), f"[{style}]{status}[/]", str(st.attempts if st else 0), cell.key
        )
    for wait in plan.waiting:
        counts["waiting"] = counts.get("waiting", 0) + 1
        table.add_row(wait.label(), "[dim]waiting[/]", "0", "after the sweep")
    console.print(table)
    stale = set(meta.get("keys", [])) - {c.key for c in cells}
    console.print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    if stale:
        console.print(
            f"[yellow]{len(stale)} cells of the original run have other keys now "
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
    from perf.run import DEFAULT_SECTIONS, check_sections, run_perf

    names = tuple(section or DEFAULT_SECTIONS)
    try:
        check_sections(names)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--section") from err

    if device is DeviceChoice.cuda:
        import torch

        if not torch.cuda.is_available():
            raise typer.BadParameter("--device cuda was asked for but no CUDA device is available")
    if precision not in ("32-true", "bf16-mixed"):
        raise typer.BadParameter(f"--precision {precision!r} is not one of: 32-true, bf16-mixed")
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


def _config_text(cfg: object) -> str:
    return ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(cfg).items())


if __name__ == "__main__":
    app()
