"""Simulated run directories for claim checks: rows (and per-example outcomes) drawn from
models whose true behaviour is known, so calibration tests can count verdicts."""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np
import pandas as pd

from reports.rows import normalise

MODELS = ("transformer", "lstm", "convs2s")
_keys = itertools.count()


def base(model: str, task: str, seed: int, **fields: object) -> dict:
    cfg = fields.pop("config", {})
    return {
        "key": f"k{next(_keys)}",
        "attempt": 1,
        "status": fields.pop("status", "ok"),
        "model": model,
        "task": task,
        "seed": seed,
        "device": fields.pop("device", "cpu"),
        "mode": "speed",
        "config": {"model": {"d_model": 128}, "task": {}, "train": {"steps": 100}, **cfg},
        **fields,
    }


def frame(rows: list[dict], per_example: list | None = None) -> pd.DataFrame:
    """Normalised rows with their per-example outcomes attached (as load_results does)."""
    df = normalise(pd.DataFrame(rows))
    by_key = {r["key"]: r for r in rows}
    return df.assign(
        per_example=[by_key[k].get("_per_example") for k in df["key"]],
        attention=[by_key[k].get("_attention") for k in df["key"]],
        intervention=[by_key[k].get("_intervention") for k in df["key"]],
    )


SEED_SD = 0.03  # between-seed spread of a cell's accuracy (the reference's is larger: NULL_SD)
NULL_SD = (
    0.2  # the reference's: per-seed accuracy 0.32–0.72 at one setting (3 seeds' range ≈ 1.7 sd)
)


def accuracy_row(
    model: str,
    task: str,
    seed: int,
    p: float,
    g: np.random.Generator,
    n: int = 256,
    seed_sd: float = SEED_SD,
    floors: dict[str, float] | None = None,
    **kw,
) -> dict:
    """A dependency/recall-like row: n one-unit answers, each right with this seed's own
    probability (``p`` moved by the between-seed spread ``seed_sd``, as real seeds differ)."""
    p_seed = float(np.clip(p + g.normal(0, seed_sd), 0.0, 1.0)) if 0 < p < 1 else p
    correct = (g.random(n) < p_seed).astype(float)
    d = kw.pop("distance", 16)
    cfg = {"task": {"distance": d, "n_verbs": 4, "n_classes": 2}, "train": {"steps": 100}}
    cfg["train"] = {"steps": kw.pop("steps", 100)}
    status = kw.pop("status", "ok")
    row = base(model, task, seed, config=cfg, distance=d, status=status, **kw)
    if status == "ok":
        row |= {
            "answer_acc": correct.mean(),
            "eval_examples": n,
            "floors": floors or {"chance": 0.125, "lemma_only": 0.5},
            "floor_metric": "answer_acc",
            "_per_example": np.column_stack([correct, np.ones(n)]),
        }
    return row


def long_range_rows(
    acc: dict[str, list[float]], g: np.random.Generator, seeds: int = 3, **kw
) -> list[dict]:
    """Dependency rows at distances 16, 32, 64 with per-model accuracy per distance."""
    rows = []
    for model, ps in acc.items():
        for d, p in zip((16, 32, 64), ps, strict=True):
            rows += [
                accuracy_row(model, "dependency", s, p, g, distance=d, **kw) for s in range(seeds)
            ]
    return rows


def speed_rows(
    ratio: float, g: np.random.Generator, runs: int = 3, noise: float = 0.07, drift: float = 0.0
) -> list[dict]:
    """Translate rows of the Transformer and the LSTM at equal parameters: log speed per run
    with run-to-run noise, plus ``drift`` shared by the two runs of a seed (made back to back:
    the machine's state), ten timing blocks each with within-run noise."""
    rows = []
    shared = g.normal(0, drift, runs) if drift else np.zeros(runs)
    for model, mu in (("transformer", np.log(1000 * ratio)), ("lstm", np.log(1000.0))):
        for s in range(runs):
            run = mu + shared[s] + g.normal(0, noise)
            blocks = np.exp(run + g.normal(0, 0.03, 10))
            rows.append(
                base(
                    model,
                    "translate",
                    s,
                    n_params=1_000_000,
                    train_tgt_tokens_per_s=float(np.median(blocks)),
                    train_tgt_tokens_per_s_blocks=blocks.round(3).tolist(),
                )
            )
    return rows


def sweep_rows(
    exponents: dict[str, float],
    g: np.random.Generator,
    lengths: tuple[int, ...] = (32, 64, 128, 256, 512),
    seeds: int = 2,
    noise: float = 0.05,
    flops_exponent: dict[str, float] | None = None,
    device: str = "cpu",
    speed: dict[str, float] | None = None,
) -> list[dict]:
    """A copy-task length sweep at batch 8: step time ∝ n^exponent (log-normal noise)."""
    rows = []
    flops_exponent = flops_exponent or exponents
    for model, e in exponents.items():
        for n, s in itertools.product(lengths, range(seeds)):
            step = 0.01 * (n / 32) ** e * np.exp(g.normal(0, noise))
            step /= (speed or {}).get(model, 1.0)
            cfg = {
                "task": {"length": n, "min_length": 0},
                "train": {"batch_size": 8, "steps": 13},
            }
            rows.append(
                base(
                    model,
                    "copy",
                    s,
                    config=cfg,
                    device=device,
                    seq_len=n,
                    train_step_s=step,
                    train_tgt_tokens_per_s=8 * (n + 1) / step,
                    flops_per_token_analytic=1e6 * (n / 32) ** (flops_exponent[model] - 1),
                )
            )
    return rows


@lru_cache(maxsize=2)
def _translation_pool(
    n_sent: int = 60, variants: int = 12, levels: tuple[float, ...] = (0.3, 0.45, 0.6, 0.75)
) -> dict:
    """Sentence statistics of noisy hypotheses at several quality levels (sacrebleu)."""
    from sacrebleu.metrics import BLEU, CHRF

    g = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    refs = [" ".join(g.choice(words, size=g.integers(6, 14))) for _ in range(n_sent)]
    pool: dict = {"refs": refs}
    for q in levels:
        hyps = [
            [
                " ".join(w if g.random() < q else str(g.choice(words)) for w in r.split())
                for r in refs
            ]
            for _ in range(variants)
        ]
        pool[q] = {
            m: np.stack(
                [np.array(metric._extract_corpus_statistics(h, [refs]), float) for h in hyps]
            )
            for m, metric in (("bleu", BLEU()), ("chrf", CHRF()))
        }  # (variants, n_sent, k)
    copy = [" ".join(str(g.choice(words)) for _ in r.split()) for r in refs]
    pool["copy"] = {
        "bleu": BLEU().corpus_score(copy, [refs]).score,
        "chrf": CHRF().corpus_score(copy, [refs]).score,
    }
    return pool


def translate_rows(
    quality: dict[str, float],
    g: np.random.Generator,
    seeds: int = 3,
    flops: dict | None = None,
    n_sent: int = 60,
) -> list[dict]:
    """Translate rows at equal parameters whose hypotheses keep each reference word with the
    model's probability (0.3, 0.45, 0.6 or 0.75 on the default 60 sentences; any levels on
    ``n_sent`` other sentences); each seed draws its own noisy outputs."""
    from sacrebleu.metrics import BLEU, CHRF

    default = n_sent == 60 and set(quality.values()) <= {0.3, 0.45, 0.6, 0.75}
    levels = tuple(sorted(set(quality.values())))
    pool = _translation_pool() if default else _translation_pool(n_sent, levels=levels)
    rows = []
    for model, q in quality.items():
        for s in range(seeds):
            pick = g.integers(0, pool[q]["bleu"].shape[0], pool[q]["bleu"].shape[1])
            per = {m: pool[q][m][pick, np.arange(len(pick))] for m in ("bleu", "chrf")}
            bleu = BLEU()._compute_score_from_stats(list(per["bleu"].sum(0))).score
            chrf = CHRF()._compute_score_from_stats(list(per["chrf"].sum(0))).score
            rows.append(
                base(
                    model,
                    "translate",
                    s,
                    equal_params=1_000_000,
                    n_params=1_000_000,
                    bleu=bleu,
                    chrf=chrf,
                    copy_source_bleu=pool["copy"]["bleu"],
                    copy_source_chrf=pool["copy"]["chrf"],
                    floors={
                        "copy_source_bleu": pool["copy"]["bleu"],
                        "copy_source_chrf": pool["copy"]["chrf"],
                    },
                    floor_metric="bleu",
                    flops_per_token_analytic=(flops or {}).get(model, 1e6),
                    train_tgt_tokens_per_s=1000.0,
                    train_step_s=0.1,
                    _per_example=per,
                )
            )
    return rows


def time_to_target_rows(
    ratio: float,
    g: np.random.Generator,
    seeds: int = 3,
    median_s: float = 30.0,
    task: str = "dependency",
    tuned: bool = True,
    distances: tuple[int, ...] = (16, 32, 64),
) -> list[dict]:
    """Learned accuracy rows in three settings, each model tuned on dev (``tuned``); the
    Transformer's time to target is ``ratio`` × the others' (log-normal run noise, spread
    0.25). Each run lasts 50 s: one that would get there later is censored (``median_s`` 45:
    about a third of the runs)."""
    rows = []
    for d in distances:
        for model in MODELS:
            scale = ratio if model == "transformer" else 1.0
            for s in range(seeds):
                r = accuracy_row(model, task, s, 0.97, g, distance=d)
                t = median_s * scale * np.exp(g.normal(0, 0.25))
                r["time_to_target_s"] = t if t <= 50.0 else None
                r["train_step_s"] = 0.5
                r["tuned"] = {"chosen": {"lr": 0.001}} if tuned else None
                rows.append(r)
    return rows


def reach_rows(
    slopes: dict[str, float],
    g: np.random.Generator,
    seeds: int = 3,
    delays: tuple[int, ...] = (64, 128, 256),
    steps: int = 400,
    first: float = 60.0,
    spread: float = 0.3,
    offset: dict[str, float] | None = None,
) -> list[dict]:
    """Copy-memory-like rows at ``delays``: steps to target = ``first`` × offset ×
    (delay / 64)^slope × log-normal noise (``spread``, between seeds), logged every 10 steps;
    a run that would get there after ``steps`` never does (censored)."""
    rows = []
    for model, b in slopes.items():
        for d in delays:
            for s in range(seeds):
                t = first * (offset or {}).get(model, 1.0) * (d / delays[0]) ** b
                t = 10 * np.ceil(t * np.exp(g.normal(0, spread)) / 10)
                r = accuracy_row(model, "dependency", s, 0.9, g, distance=d, steps=steps)
                r |= {"steps_to_target": t if t <= steps else None, "target_value": 0.99}
                rows.append(r)
    return rows


def dev_curve(values: list[float], steps: int = 100, every: int = 25) -> dict:
    """A dev curve with one point every ``every`` steps, interpolating ``values``."""
    at = list(range(every, steps + 1, every))
    acc = np.interp(np.linspace(0, 1, len(at)), np.linspace(0, 1, len(values)), values)
    return {"step": at, "dev_loss": [1.0] * len(at), "dev_tf_token_acc": acc.round(6).tolist()}


def attention_rows(
    hit: float,
    g: np.random.Generator,
    mass_x: float = 10.0,
    drop: tuple[float, float] = (0.6, 0.0),
    acc: float = 0.95,
    seeds: int = 2,
    n: int = 64,
    steps: int = 8,
    model: str = "transformer",
    seed_sd: float = SEED_SD,
    layer_hit: float | None = None,
) -> list[dict]:
    """Copy rows (length ``steps``, 10 symbols) with attention summaries: the best head hits
    the gold position with probability ``hit`` and puts ``mass_x``× uniform weight on it, a
    second head hits with 0.2, their average as often as they do on average (or, independently,
    with probability ``layer_hit``); moving the best (random) head's weights loses ``drop[0]``
    (``drop[1]``) of the tokens. Each seed's rates move by ``seed_sd`` (seeds differ)."""
    rows = []
    for s in range(seeds):
        cfg = {"task": {"length": steps, "min_length": steps, "n_symbols": 10}}
        row = base(model, "copy", s, config=cfg, seq_len=steps)
        tokens = g.binomial(steps + 1, acc, n).astype(float)
        other = g.binomial(steps, 0.2, n)
        best = g.binomial(steps, float(np.clip(hit + g.normal(0, seed_sd), 0, 1)), n)
        mean = (best + other) / 2
        if layer_hit is not None:
            mean = g.binomial(steps, float(np.clip(layer_hit + g.normal(0, seed_sd), 0, 1)), n)
        mass = np.clip(g.normal(mass_x, 0.2 * mass_x, n), 0, None) * steps
        full = np.full(n, float(steps))

        def cond(p: float, full: np.ndarray = full) -> dict:
            p = float(np.clip(p + g.normal(0, seed_sd), 0, 1)) if p else p
            kept = g.binomial(steps, 1 - p, n).astype(float)
            return {"correct": kept, "total": full, "prob": kept * 0.9}

        row |= {
            "token_acc": tokens.sum() / (n * (steps + 1)),
            "eval_examples": n,
            "floors": {"chance": 0.1},
            "floor_metric": "token_acc",
            "_per_example": np.column_stack([tokens, np.full(n, steps + 1.0)]),
            "_attention": {
                "task": "copy",
                "units": ["dec_cross_l0_h0", "dec_cross_l0_h1", "dec_cross_l0_mean"],
                "is_head": np.array([True, True, False]),
                "steps": full,
                "correct": tokens == steps + 1,
                "hits": np.column_stack([best, other, mean]).astype(float),
                "mass": np.column_stack([mass, mass / 4, mass / 2]) / steps,
                "mass_x": np.column_stack([mass, mass / 4, mass / 2]),
            },
            "_intervention": {
                "best": "dec_cross_l0_h0",
                "random": "dec_cross_l0_h1",
                "conditions": {
                    "none": cond(0.0),
                    "best_shift": cond(drop[0]),
                    "best_uniform": cond(drop[0]),
                    "random_shift": cond(drop[1]),
                    "random_uniform": cond(drop[1]),
                },
            },
        }
        rows.append(row)
    return rows
