#!/usr/bin/env bash
# Throughput of our CREPE (crepe-bench) against torchcrepe (bench/torchcrepe_bench.py) on the same
# audio, in one run, with the same thread count; prints a markdown table and machine info.
#
#   bench/run_bench.sh [--threads N] [--repeat K] [--decoders LIST] [--models LIST] [--audio FILE]
#                      [--seconds S] [--iterations N] [--batch B] [--net-frames N] [--device cpu|cuda]
#
# Environment: BUILD_DIR (default build/; configured and built here if needed), PEER_PY (default
# .venv-peers/bin/python), OUT_DIR (default $BUILD_DIR/bench-results), BUSY_MAX (per cent of the
# machine other processes may use before a step starts; default 10), WAIT_MAX (seconds to wait
# for that; default 300, then it goes on and says so).
#
# The steps alternate (ours then torchcrepe's, capacity by capacity) so slow drifts in the
# machine's load hit both sides alike. Before each step it waits until the machine is quiet, and
# after it records how much CPU other processes took while the step ran.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
PEER_PY=${PEER_PY:-$ROOT/.venv-peers/bin/python}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/bench-results}
BUSY_MAX=${BUSY_MAX:-10}
WAIT_MAX=${WAIT_MAX:-300}

THREADS=$(nproc)
REPEAT=1
DECODERS=weighted_argmax,viterbi
MODELS=tiny,small,medium,large,full
AUDIO=$ROOT/assets/examples/sung-vowel.wav
SECONDS_MIN=2
ITERATIONS=5
BATCH=256
NET_FRAMES=256
DEVICE=cpu
while [[ $# -gt 0 ]]; do
  case $1 in
    --threads) THREADS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --decoders) DECODERS=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    --audio) AUDIO=$(realpath "$2"); shift 2 ;;
    --seconds) SECONDS_MIN=$2; shift 2 ;;
    --iterations) ITERATIONS=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --net-frames) NET_FRAMES=$2; shift 2 ;;
    --device) DEVICE=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "run_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# ---- build -------------------------------------------------------------------------------------
if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
cmake --build "$BUILD_DIR" --target crepe-bench -j "$(nproc)" >&2
BENCH=$BUILD_DIR/bench/crepe-bench
[[ -x $PEER_PY ]] || { echo "run_bench.sh: no peer environment at $PEER_PY (tools/peers/setup_env.sh)" >&2; exit 1; }

mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/*.json "$OUT_DIR"/*.log "$OUT_DIR"/steps.tsv
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS

# ---- load accounting ---------------------------------------------------------------------------
source "$ROOT/bench/machine_load.sh"
# step NAME CMD...: runs CMD (its output to $OUT_DIR/NAME.log and the terminal's stderr) and
# appends "name, busy before, wall s, our CPU s, others' CPU as % of the machine" to steps.tsv.
step() {
  local name=$1; shift
  local before t0 t1 times
  before=$(wait_quiet)
  echo "== $name (machine ${before}% busy before) ==" >&2
  t0=$(busy_jiffies)
  local tf; tf=$(mktemp)
  /usr/bin/time -f "%e %U %S" -o "$tf" "$@" 2>&1 | tee "$OUT_DIR/$name.log" >&2
  t1=$(busy_jiffies)
  times=$(tail -n 1 "$tf"); rm -f "$tf"
  awk -v name="$name" -v before="$before" -v d=$((t1 - t0)) -v hz="$HZ" -v n="$NCPU" -v t="$times" 'BEGIN{
    split(t, a, " "); wall = a[1]; own = a[2] + a[3]; other = d / hz - own; if (other < 0) other = 0;
    printf "%s\t%s\t%.1f\t%.1f\t%.1f\n", name, before, wall, own, 100 * other / (wall * n)}' >>"$OUT_DIR/steps.tsv"
}

COMMON=(--repeat "$REPEAT" --seconds "$SECONDS_MIN" --iterations "$ITERATIONS" --threads "$THREADS"
        --batch "$BATCH" --net-frames "$NET_FRAMES" --device "$DEVICE" --audio "$AUDIO")
FRAMES=$OUT_DIR/frames.npy
START=$(date -u +%Y-%m-%dT%H:%M:%SZ)

step probe-start "$BENCH" --cpu-probe --skip-network --skip-e2e --models tiny --threads "$THREADS" \
  --audio "$AUDIO" --json "$OUT_DIR/probe-start.json"
first=1
for model in ${MODELS//,/ }; do
  extra=()
  if ((first)); then extra=(--dump-frames "$FRAMES"); first=0; fi
  step "ours-$model" "$BENCH" --models "$model" --decoder "$DECODERS" "${COMMON[@]}" "${extra[@]}" \
    --json "$OUT_DIR/ours-$model.json"
  if [[ $model == tiny || $model == full ]]; then
    step "torchcrepe-$model" "$PEER_PY" "$ROOT/bench/torchcrepe_bench.py" --models "$model" --decoder "$DECODERS" \
      "${COMMON[@]}" --frames "$FRAMES" --json "$OUT_DIR/torchcrepe-$model.json"
  fi
done
step probe-end "$BENCH" --cpu-probe --skip-network --skip-e2e --models tiny --threads "$THREADS" \
  --audio "$AUDIO" --json "$OUT_DIR/probe-end.json"
END=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# ---- report ------------------------------------------------------------------------------------
{
  echo "start=$START"
  echo "end=$END"
  echo "command=bench/run_bench.sh --threads $THREADS --repeat $REPEAT --decoders $DECODERS --models $MODELS --seconds $SECONDS_MIN --iterations $ITERATIONS --batch $BATCH --net-frames $NET_FRAMES --device $DEVICE --audio ${AUDIO#"$ROOT"/}"
  echo "lscpu_model=$(lscpu | sed -n 's/^Model name: *//p')"
  echo "lscpu_cpus=$(nproc)"
  echo "lscpu_threads_per_core=$(lscpu | sed -n 's/^Thread(s) per core: *//p')"
  echo "lscpu_hypervisor=$(lscpu | sed -n 's/^Hypervisor vendor: *//p')"
  echo "lscpu_flags_avx512f=$(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)"
  echo "memory=$(free -g | awk '/^Mem:/{print $2 " GiB"}')"
  echo "kernel=$(uname -r)"
  echo "gpu=$(command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | head -1 || echo none)"
} >"$OUT_DIR/machine.txt"
"$PEER_PY" "$ROOT/bench/make_table.py" "$OUT_DIR" | tee "$OUT_DIR/table.md"
