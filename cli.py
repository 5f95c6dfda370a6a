"""attnbench command line: thin — parse, validate, call ``bench`` or ``reports``."""

from __future__ import annotations

import dataclasses
import os
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


class WandbMode(str, Enum):
    offline = "offline"
    online = "online"
    disabled = "disabled"


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
        WandbMode.offline
    ),
    device: Annotated[DeviceChoice, typer.Option(help="Where to train.")] = DeviceChoice.auto,
    progress: Annotated[bool, typer.Option(help="Show the training progress bar.")] = True,
) -> None:
    """Train and evaluate one MODEL on one TASK; append a row to OUT/results.jsonl."""
    from bench.cell import make_spec, run_cell
    from bench.config import ConfigError

    try:
        spec = make_spec(model, task, set_ or [], seed, device.value)
    except ConfigError as err:
        raise typer.BadParameter(str(err)) from err
    if spec.model == "transformer" and spec.device == "cpu" and spec.model_cfg.attn_dropout > 0:
        console.print(
            f"[yellow]note:[/] model.attn_dropout={spec.model_cfg.attn_dropout} forces "
            "PyTorch's slow math attention on CPU (recorded as attn_math_forced)"
        )
    os.environ.setdefault("WANDB_SILENT", "true")
    row = run_cell(spec, out, wandb.value, progress)
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
    from models import DESCRIPTIONS, MODELS
    from models.sizing import count_params

    table = Table(title="models")
    for col in ("name", "description", "params (vocab 32)", "default config"):
        table.add_column(col)
    for name, (_, cfg_cls) in MODELS.items():
        cfg = cfg_cls()
        table.add_row(
            name, DESCRIPTIONS[name], f"{count_params(name, cfg, 32):,}", _config_text(cfg)
        )
    console.print(table)


@app.command()
def tasks() -> None:
    """List the registered tasks with their default configuration."""
    from tasks import DESCRIPTIONS, TASKS

    table = Table(title="tasks")
    for col in ("name", "description", "default config"):
        table.add_column(col)
    for name, (_, cfg_cls) in TASKS.items():
        table.add_row(name, DESCRIPTIONS[name], _config_text(cfg_cls()))
    console.print(table)


@app.command()
def report(
    directory: Annotated[Path, typer.Argument(help="Run directory holding results.jsonl.")],
) -> None:
    """Summarise DIRECTORY/results.jsonl into DIRECTORY/report.md."""
    from reports.summary import write_summary

    if not (directory / "results.jsonl").exists():
        raise typer.BadParameter(f"no results.jsonl in {directory}", param_hint="DIRECTORY")
    path, text = write_summary(directory)
    console.print(text)
    console.print(f"written {path}")


def _config_text(cfg: object) -> str:
    return ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(cfg).items())


if __name__ == "__main__":
    app()
