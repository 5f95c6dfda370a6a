"""Does attention look at the right input? Recorded cross-attention measured against the
known gold source position (numpy only: reports read it too). Part of the cell pipeline
(the intervention study picks its unit with ``summarise``), so the cell key hashes it.

File format, ``cells/<key>/attention.npz`` (written by bench.attention.record, float16 maps):
  ``map__<name>``  (N, H, T, S) cross-attention / alignment per example, head and target
                   step (``dec_cross_l<i>`` Transformer, ``alignment`` LSTM, ``dec_attn_l<i>``
                   ConvS2S; H = 1 for single-head attentions)
  ``src``, ``tgt`` (N, S), (N, T) token ids (PAD = 0); ``src_len``, ``out_len`` (N,) source
                   tokens and target tokens before EOS; ``correct`` (N,) whole example right;
  ``src_words``, ``tgt_words`` token strings; ``model``, ``task`` names.
Teacher-forced on the reference. ``cells/<key>/intervention.json`` (bench.attention.intervention)
holds the decoding results with one unit's weights replaced.

Gold source position of target step t: copy t (with a delay the fillers come after the
sequence, so still t), reverse L−1−t, recall the queried value (its key beside it);
EOS steps have none.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from catalog import GOLD_TASKS  # tasks with a gold source position per target step

MAP_PREFIX = "map__"
CONDITIONS = (  # intervention.json (bench.attention.intervention)
    "best_uniform", "best_shift", "random_uniform", "random_shift",
    "best_layer_uniform", "best_layer_shift", "random_layer_uniform", "random_layer_shift",
)  # fmt: skip


def save_npz(path: Path, maps: dict[str, np.ndarray], **fields: Any) -> None:
    """Write the format above (maps as float16), atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"{MAP_PREFIX}{k}": np.asarray(v, np.float16) for k, v in maps.items()}
    arrays |= {k: np.asarray(v) for k, v in fields.items()}
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def load_npz(path: Path) -> dict[str, Any] | None:
    """The file's arrays ({"maps": {name: (N,H,T,S) float32}, fields...}); None if unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError) as err:
        warnings.warn(f"{path}: unreadable attention file ({err}), skipped", stacklevel=2)
        return None
    maps = {
        k.removeprefix(MAP_PREFIX): v.astype(np.float32)
        for k, v in data.items()
        if k.startswith(MAP_PREFIX) and v.ndim == 4
    }
    out = {k: v for k, v in data.items() if not k.startswith(MAP_PREFIX)}
    out["maps"] = maps
    for k in ("model", "task"):
        out[k] = str(out.get(k, ""))
    return out


def gold_positions(task: str, src: np.ndarray, src_len: np.ndarray, out_len: np.ndarray, T: int):
    """(N, T) gold source position per target step, −1 where there is none (EOS, pads)."""
    N = len(src_len)
    t = np.arange(T)[None, :].repeat(N, 0)
    real = t < out_len[:, None]
    if task == "copy":
        gold = t
    elif task == "reverse":
        gold = out_len[:, None] - 1 - t
    elif task == "recall":
        gold = np.full((N, T), -1)
        for i in range(N):
            n = int(src_len[i])
            p = (n - 2) // 2
            q = np.flatnonzero(src[i, 0 : 2 * p : 2] == src[i, n - 1])
            if len(q):
                gold[i, 0] = 2 * int(q[0]) + 1  # the value; its key is at 2q
    else:
        raise ValueError(f"no gold source position for task {task!r}; one of {GOLD_TASKS}")
    return np.where(real & (gold >= 0), gold, -1)


def units(maps: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray, bool]]:
    """(unit name, (N,T,S) weights, is a single head) for every head and every head mean:
    ``dec_cross_l1_h2``, ``dec_cross_l1_mean``; single-head maps keep their own name."""
    out = []
    for name in sorted(maps):
        m = maps[name]
        if m.shape[1] == 1:
            out.append((name, m[:, 0], True))
            continue
        out += [(f"{name}_h{h}", m[:, h], True) for h in range(m.shape[1])]
        out.append((f"{name}_mean", m.mean(1), False))
    return out


def summarise(data: dict[str, Any]) -> dict[str, Any] | None:
    """Per-example sums for every unit: ``hits`` (argmax on the gold position), ``mass``
    (gold weight), ``mass_x`` (gold weight × S: multiples of uniform), ``steps``; recall
    also ``pair`` (weight on the queried key and value) and ``others`` (mean weight of
    another pair). None when the task has no gold position or nothing was recorded."""
    task, maps = data.get("task"), data.get("maps") or {}
    if task not in GOLD_TASKS or not maps:
        return None
    src, src_len, out_len = data["src"], data["src_len"].astype(int), data["out_len"].astype(int)
    T = next(iter(maps.values())).shape[2]
    gold = gold_positions(task, src, src_len, out_len, T)
    valid = gold >= 0  # (N,T)
    g = np.where(valid, gold, 0)
    names, heads, cols = [], [], {k: [] for k in ("hits", "mass", "mass_x", "pair", "others")}
    for name, w, is_head in units(maps):
        w = w[:, :T, :]
        w_gold = np.take_along_axis(w, g[..., None], axis=2)[..., 0]  # (N,T)
        hit = (w.argmax(-1) == g) & valid
        cols["hits"].append(hit.sum(1))
        cols["mass"].append(np.where(valid, w_gold, 0).sum(1))
        cols["mass_x"].append(np.where(valid, w_gold * src_len[:, None], 0).sum(1))
        if task == "recall":
            pair, others = _pair_mass(w[:, 0], gold[:, 0], src_len)
            cols["pair"].append(pair)
            cols["others"].append(others)
        names.append(name)
        heads.append(is_head)
    out = {k: np.stack(v, 1).astype(float) for k, v in cols.items() if v}
    return {
        "task": task,
        "units": names,
        "is_head": np.array(heads),
        "steps": valid.sum(1).astype(float),
        "correct": np.asarray(data.get("correct", np.zeros(len(src_len))), bool),
        **out,
    }


def _pair_mass(w: np.ndarray, value_pos: np.ndarray, src_len: np.ndarray):
    """Recall, first step: weight on the queried pair (key + value) and the mean weight of
    one other pair. w (N,S)."""
    pair, others = np.zeros(len(w)), np.zeros(len(w))
    for i, v in enumerate(value_pos):
        p = (int(src_len[i]) - 2) // 2
        if v < 1 or p < 2:
            continue
        pairs = w[i, : 2 * p].reshape(p, 2).sum(1)
        q = (v - 1) // 2
        pair[i] = pairs[q]
        others[i] = (pairs.sum() - pairs[q]) / (p - 1)
    return pair, others
