"""``attnbench perf``: is the harness free, and are the models as fast as they should be?

Every section measures its candidates side by side in this process, interleaved (A, B, A,
B, ... with the order swapped every round), on the same batches and configuration, and
reports ratios: absolute times on a shared machine drift, ratios measured this way do not.
Sections (``SECTIONS``): harness overhead, Transformer vs ``nn.Transformer``, LSTM decoder
variants, cached vs recomputed greedy decoding, the data pipeline, and (opt-in, minutes)
the scaling sweep. ``run_perf`` returns plain dicts; the CLI prints them and can save JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from perf.architecture import decode_section, lstm_section, transformer_section
from perf.harness import data_section, harness_section
from perf.machine import load_note, machine
from perf.options import PerfOptions, Section
from perf.scaling import scaling_section

SECTIONS: dict[str, Callable[[PerfOptions, Callable[[str], None]], Section]] = {
    "harness": harness_section,
    "transformer": transformer_section,
    "lstm": lstm_section,
    "decode": decode_section,
    "data": data_section,
    "scaling": scaling_section,  # opt-in: minutes
}
DEFAULT_SECTIONS = tuple(name for name in SECTIONS if name != "scaling")


PRECISIONS = ("32-true", "bf16-mixed")


def check_sections(names: tuple[str, ...]) -> None:
    """Raise ValueError naming the valid sections if one of ``names`` is unknown."""
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown perf section {unknown[0]!r}; choose from: {', '.join(SECTIONS)}")


def check_device(cuda: bool, precision: str) -> None:
    """Raise ValueError when CUDA is asked for but absent, or the precision is unknown."""
    if cuda:
        import torch

        if not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for but no CUDA device is available")
    if precision not in PRECISIONS:
        raise ValueError(f"--precision {precision!r} is not one of: {', '.join(PRECISIONS)}")


def run_perf(
    opts: PerfOptions,
    names: tuple[str, ...] = DEFAULT_SECTIONS,
    log: Callable[[str], None] = print,
    on_section: Callable[[Section], None] | None = None,
    out: Path | None = None,
) -> dict[str, Any]:
    """Run the named sections; return {"machine", "options", "sections": {name: Section}}.

    With ``out``, the JSON is rewritten after every section (a killed run keeps its numbers).
    """
    check_sections(names)
    results: dict[str, Section] = {}
    result = {"machine": machine(), "options": asdict(opts), "sections": results}
    for name in names:
        log(f"running perf section {name} ...")
        load_before = load_note()
        results[name] = SECTIONS[name](opts, log)
        results[name].notes.append(f"{load_before} (start); {load_note()} (end)")
        if on_section is not None:
            on_section(results[name])
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(to_json(result))
    return result


def to_json(result: dict[str, Any]) -> str:
    """The result of :func:`run_perf` as JSON."""
    data = {**result, "sections": {k: asdict(v) for k, v in result["sections"].items()}}
    return json.dumps(data, indent=1, default=str)
