#!/usr/bin/env bash
# GPU check on one GPU, under 8 minutes. Writes every number to OUT/gpu_numbers.md (and .json):
#   0. tests/test_cuda.py: one cell of each model trains, evaluates and counts FLOPs on cuda
#   1. our StepTimer against torch.utils.benchmark on an 8192^3 bf16 matmul (within 10%)
#   2. the `quick` matrix (seed 0) on cuda in bf16-mixed: tokens/s and MFU per model
#   3. the scaling sweep of the three models (time and memory against length, bf16)
#   4. perf sections on cuda: harness overhead, Transformer vs nn.Transformer, decoding
#   6. FAIRFIGHT=1: instead of 0-4, translate at its default size, seed 0: the tuning sweep
#      and the tuned cell per model, and the shared recipe (matrices/experiments/translate-shared.yaml)
#   5. CLAIMS=1: instead of 0-4 (a lease of its own, about 10 minutes), the claims preset on cuda, 12
#      cells at a time (--jobs 12; quality claims only: shared-device timings do not count)
# Each step has its own time limit, so one slow step cannot sink the rest; a step's exit
# status is recorded (124: it ran past its limit). Without CUDA it skips and exits 0.
#
#   bash perf/gpu_check.sh              # OUT=runs/gpu_check
#   OUT=/tmp/g PY=python3 bash perf/gpu_check.sh
# Translation cells need the cached corpus under data/ (carry it to a machine without network).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu_check}

PYTHON=""
CANDIDATES=${PY:-.venv/bin/python python3 python}  # PY=...: only that interpreter
for cand in $CANDIDATES; do
  command -v "$cand" >/dev/null 2>&1 || continue
  if "$cand" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' \
      >/dev/null 2>&1; then
    PYTHON=$cand
    break
  fi
done
if [ -z "$PYTHON" ]; then
  echo "gpu_check: skipped: no CUDA device visible to torch (tried: $CANDIDATES)"
  exit 0
fi

export WANDB_MODE=disabled WANDB_SILENT=true
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT"
: > "$OUT/status.txt"
start=$(date +%s)

step() {  # step NAME LIMIT_S COMMAND...: run with a time limit, log, record the exit status
  local name=$1 limit=$2
  shift 2
  echo "== $name (limit ${limit} s, at $(( $(date +%s) - start )) s)"
  timeout --kill-after=15 "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name=$rc" >>"$OUT/status.txt"
  tail -n 4 "$OUT/$name.log"
}

if [ "${CLAIMS:-0}" != 1 ] && [ "${FAIRFIGHT:-0}" != 1 ]; then
  step cuda_tests 240 "$PYTHON" -m pytest -q -p no:cacheprovider tests/test_cuda.py
  step timer 60 "$PYTHON" -m perf.gpu timer --out "$OUT/timer.json"
  "$PYTHON" -m perf.gpu bf16-matrix quick "$OUT/quick-bf16.yaml" >/dev/null
  step quick 210 "$PYTHON" cli.py matrix run "$OUT/quick-bf16.yaml" --device cuda \
    --out "$OUT/quick" --wandb disabled --only seed=0
  step scaling 100 "$PYTHON" cli.py perf --device cuda --precision bf16-mixed \
    --section scaling --out "$OUT/scaling.json"
  step perf 80 "$PYTHON" cli.py perf --device cuda --precision bf16-mixed --rounds 1 \
    --section harness --section transformer --section decode --wandb disabled --out "$OUT/perf.json"
fi
if [ "${CLAIMS:-0}" = 1 ]; then
  step claims "${CLAIMS_LIMIT:-540}" "$PYTHON" cli.py matrix run claims --device cuda \
    --out "$OUT/claims" --wandb disabled --jobs 12
  "$PYTHON" cli.py claims "$OUT/claims" >"$OUT/claims/verdicts.txt" 2>&1
fi
if [ "${FAIRFIGHT:-0}" = 1 ]; then
  step tuned "${FAIRFIGHT_LIMIT:-540}" "$PYTHON" cli.py matrix run translate --device cuda \
    --out "$OUT/translate" --wandb disabled --only seed=0 --jobs 15 &
  step shared "${FAIRFIGHT_LIMIT:-540}" "$PYTHON" cli.py matrix run \
    matrices/experiments/translate-shared.yaml --device cuda --out "$OUT/translate-shared" \
    --wandb disabled --only seed=0 --jobs 3 &
  wait
fi
"$PYTHON" -m perf.gpu summarise "$OUT"
echo "gpu_check: done in $(( $(date +%s) - start )) s; numbers in $OUT/gpu_numbers.md"
