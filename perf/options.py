"""What ``attnbench perf`` measures (``PerfOptions``) and what a section returns (``Section``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PerfOptions:
    """What ``attnbench perf`` measures and how long it spends."""

    lengths: tuple[int, ...] = (64, 256)
    """Copy-task lengths (sequences uniform in [length/2, length]) for training sections."""
    batch_size: int = 16
    """Sequences per training batch (small: the harness's share of a step is largest)."""
    rounds: int = 3
    """Interleaved rounds per comparison; ratios are medians over rounds."""
    warmup: int = 3
    """Untimed steps at the start of each run."""
    blocks: int = 5
    """Timed blocks per run (median over blocks, as in a cell)."""
    block_steps: int = 3
    """Steps per timed block."""
    decode_lengths: tuple[int, ...] = (32, 64, 128, 256, 512)
    """Output lengths for greedy decoding, cached vs recomputing the prefix."""
    decode_batch: int = 8
    """Sequences decoded at once."""
    recompute_limit: dict[str, int] = field(default_factory=lambda: {"lstm": 128})
    """Longest output a model's recompute baseline is run for (quadratic Python loops)."""
    scaling_lengths: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048)
    """Sequence lengths of the scaling sweep (its own section, opt-in)."""
    scaling_batch: int = 8
    """Batch size of the scaling sweep."""
    device: str = "cpu"
    """cpu or cuda."""
    precision: str = "32-true"
    """32-true, or bf16-mixed (autocast; the harness passes it as train.precision)."""
    wandb: str = "offline"
    """W&B mode of the harness runs (the cell default: offline)."""
    tiny: bool = False
    """Tiny models and lengths: checks that every section runs, measures nothing useful."""
    seed: int = 0
    models: tuple[str, ...] = ()
    """Models to measure (default: every registered model)."""

    @property
    def model_names(self) -> tuple[str, ...]:
        from models import MODELS

        return self.models or tuple(MODELS)

    @property
    def steps(self) -> int:
        return self.warmup + self.blocks * self.block_steps


def tiny_options(**changes: Any) -> PerfOptions:
    """A configuration that runs every section in seconds (for tests)."""
    base = {
        "lengths": (8,),
        "batch_size": 4,
        "rounds": 1,
        "warmup": 1,
        "blocks": 2,
        "block_steps": 1,
        "decode_lengths": (4, 8),
        "decode_batch": 2,
        "scaling_lengths": (8, 16),
        "scaling_batch": 2,
        "wandb": "disabled",
        "tiny": True,
    }
    return PerfOptions(**{**base, **changes})


TINY_MODELS: dict[str, dict[str, Any]] = {  # `model` values of tiny perf runs
    "transformer": {"d_model": 32, "n_heads": 2, "d_ff": 64},
    "lstm": {"d_model": 32, "n_layers": 1},
    "convs2s": {"d_embed": 16, "d_hidden": 32, "n_enc_layers": 2, "n_dec_layers": 2},
}


def model_values(name: str, opts: PerfOptions, **extra: Any) -> dict[str, Any]:
    """The ``model`` section values of a perf run: defaults, or tiny ones."""
    return {**(TINY_MODELS.get(name, {}) if opts.tiny else {}), **extra}


@dataclass
class Section:
    """A section's result: a table (columns, rows) and notes, JSON-ready."""

    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    goal: str = ""
