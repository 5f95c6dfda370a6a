"""Perf section: training time and peak memory against sequence length, and what dominates.

Each (model, length) point trains a few steps in its own process (peak memory is then the
point's own: RSS above the process's baseline on CPU, ``max_memory_allocated`` on CUDA),
on a fixed-length copy batch. Local exponents d log(y) / d log(n) between neighbouring
lengths show how time and memory grow; the longest point is profiled and its top
operators and attention kernel are reported, so an implementation accident (a math
attention kernel, an O(n^2) mask or buffer, a quadratic backward) shows up by name.

Run one point: ``python -m perf.scaling MODEL LENGTH BATCH STEPS DEVICE [PRECISION]
[--profile]``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from models import MODELS
from perf.options import PerfOptions, Section
from perf.timing import call_times, train_step

ROOT = Path(__file__).resolve().parents[1]
POINT_TIMEOUT_S = 600
# expected exponent of time and of memory in n, at fixed batch and width (large n)
EXPECTED = {
    "transformer": ("1 -> 2 (attention n^2 d overtakes n d^2)", "1 (fused attention)"),
    "lstm": ("1 -> 2 (its attention n^2 d overtakes the recurrence n d^2)", "1 (fused attention)"),
    "convs2s": ("1 -> 2 (attention n^2 e overtakes n k h^2)", "1 (fused attention)"),
}
MAX_EXPONENT = {"transformer": (2.2, 1.25), "lstm": (2.2, 1.25), "convs2s": (2.2, 1.25)}
ATTENTION_KERNELS = ("flash_attention", "efficient_attention", "cudnn_attention", "attention_math")


def measure_point(
    model: str,
    length: int,
    batch: int,
    steps: int,
    device: str,
    profile: bool = False,
    precision: str = "32-true",
) -> dict[str, Any]:
    """Train ``steps`` steps at ``length`` in this process: step time, peak memory, profile.

    Also the analytic training FLOP/s and, on a known GPU, model FLOPs utilisation.
    """
    from bench.cell.flops import flops_per_token, gpu_peak_flops
    from bench.cell.measure import PeakMemory
    from tasks.copy import CopyConfig, CopyTask

    dev = torch.device(device)
    memory = PeakMemory(dev)
    memory.start()
    task = CopyTask(CopyConfig(length=length, min_length=0, eval_size=8), 0)
    b = task.sample(batch, torch.Generator().manual_seed(0)).to(dev)
    torch.manual_seed(0)
    cfg, net, step = train_step(model, {}, b, task.vocab_size, precision)
    times = call_times(step, dev, steps)
    timed = sorted(times[1:] or times)
    step_s = timed[len(timed) // 2]
    fpt = flops_per_token(cfg, net, b, task.vocab_size, count=False)
    rate = fpt["flops_per_token_analytic"] * b.n_tgt_tokens / step_s
    peak = gpu_peak_flops(torch.cuda.get_device_name(dev)) if dev.type == "cuda" else None
    out: dict[str, Any] = {
        "model": model,
        "length": length,
        "batch": batch,
        "precision": precision,
        "step_s": step_s,
        **memory.summary(),
        "tflops_per_s": rate / 1e12,
        "mfu": rate / peak if peak else None,
    }
    if profile:
        out |= profile_step(step, dev)
    return out


def profile_step(step: Callable[[], None], device: torch.device, top: int = 6) -> dict[str, Any]:
    """Top operators of one step by self time, and which attention kernel ran."""
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=acts) as prof:
        step()
    events = prof.key_averages()
    key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    total = sum(getattr(e, key) for e in events) or 1.0
    ranked = sorted(events, key=lambda e: getattr(e, key), reverse=True)[:top]
    kernels = sorted(
        {k for e in events for k in ATTENTION_KERNELS if k in e.key and "backward" not in e.key}
    )
    return {
        "top_ops": [[e.key, round(getattr(e, key) / total, 3)] for e in ranked],
        "attention_kernels": kernels,
    }


def run_point(
    model: str,
    length: int,
    batch: int,
    steps: int,
    device: str,
    profile: bool,
    precision: str = "32-true",
) -> dict[str, Any]:
    """:func:`measure_point` with its own peak memory; failures (OOM, timeout) are rows.

    On CPU a fresh process per point (RSS has no reset); on CUDA in this process, after
    freeing the previous point (``max_memory_allocated`` is reset per point).
    """
    base = {"model": model, "length": length, "batch": batch}
    if device == "cuda":
        import gc

        gc.collect()
        torch.cuda.empty_cache()
        try:
            return measure_point(model, length, batch, steps, device, profile, precision)
        except torch.OutOfMemoryError as err:
            return base | {"error": f"out of memory: {str(err)[:200]}"}
    cmd = [sys.executable, "-m", "perf.scaling", model, str(length), str(batch)]
    cmd += [str(steps), device, precision] + (["--profile"] if profile else [])
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=POINT_TIMEOUT_S, cwd=ROOT, env=env
        )
    except subprocess.TimeoutExpired:
        return base | {"error": f"timeout after {POINT_TIMEOUT_S} s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        return base | {"error": (done.stderr or done.stdout).strip()[-300:]}
    return json.loads(lines[-1])


def exponents(points: list[dict[str, Any]], key: str) -> list[float | None]:
    """Local exponents d log(key) / d log(length) between neighbouring points."""
    out: list[float | None] = [None]
    for a, b in zip(points, points[1:], strict=False):
        ya, yb = a.get(key), b.get(key)
        if not ya or not yb or ya <= 0 or yb <= 0:
            out.append(None)
            continue
        out.append(math.log(yb / ya) / math.log(b["length"] / a["length"]))
    return out


def scaling_section(opts: PerfOptions, log: Callable[[str], None]) -> Section:
    sec = Section(
        "scaling",
        "Scaling: training step time and peak memory against length (local exponents)",
        ["model", "length", "step_s", "peak_mem_mb", "time_exp", "mem_exp"],
        goal="exponents as expected at the longest lengths; no accident among the top operators",
    )
    steps = 2 if opts.tiny else 3
    for model in opts.model_names:
        points = []
        for i, length in enumerate(opts.scaling_lengths):
            last = i == len(opts.scaling_lengths) - 1
            log(f"  scaling {model} length {length}")
            points.append(
                run_point(
                    model, length, opts.scaling_batch, steps, opts.device, last, opts.precision
                )
            )
        ok = [p for p in points if "error" not in p]
        for p, te, me in zip(
            ok, exponents(ok, "step_s"), exponents(ok, "peak_mem_mb"), strict=True
        ):
            p["time_exp"], p["mem_exp"] = te, me
        if len(ok) >= 2:  # the goal is judged at the longest length that ran
            t_max, m_max = MAX_EXPONENT[model]
            te, me = ok[-1]["time_exp"], ok[-1]["mem_exp"]
            ok[-1]["met"] = (te is None or te <= t_max) and (me is None or me <= m_max)
        for p in points:
            sec.rows.append({k: v for k, v in p.items() if k not in ("top_ops",)})
        top = ok[-1].get("top_ops") if ok else None
        if top:
            ops = ", ".join(f"{name} {share:.0%}" for name, share in top)
            kernels = ", ".join(ok[-1].get("attention_kernels") or ["none"])
            sec.notes.append(f"{model} @ {ok[-1]['length']}: top ops {ops}; attention: {kernels}")
        time_exp, mem_exp = EXPECTED[model]
        sec.notes.append(f"{model}: expected time exponent {time_exp}, memory {mem_exp}")
    sec.notes.append(
        f"batch {opts.scaling_batch}, fixed-length copy batches, default models, {steps} steps "
        "per point (median after the first), each point in its own process"
    )
    return sec


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("--")]
    model, length, batch, steps, device = args[:5]
    precision = args[5] if len(args) > 5 else "32-true"
    if model not in MODELS:
        raise SystemExit(f"unknown model {model!r}; choose one of: {', '.join(sorted(MODELS))}")
    point = measure_point(
        model, int(length), int(batch), int(steps), device, "--profile" in argv, precision
    )
    print(json.dumps(point), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
