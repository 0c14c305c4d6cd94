#!/usr/bin/env bash
# Service throughput: crepe-loadgen against a local crepe-server (CPU), unary and streaming, a
# concurrency sweep per capacity, with the core's in-process throughput on the same machine and
# audio beside it. Prints (and writes) a markdown table with the machine and the exact command.
#
#   bench/run_service_bench.sh [--models LIST] [--tiny-concurrency LIST] [--full-concurrency LIST]
#                              [--concurrency LIST] [--duration-s S] [--full-duration-s S]
#                              [--threads N] [--audio FILE]
#                              [--max-batch N] [--batch-delay-ms X] [--workers N] [--chunk-ms MS]
#
# --concurrency applies to every model not given its own list (--tiny-concurrency, --full-concurrency,
# or --MODEL-concurrency for the others). --duration-s is the shortest window per point for tiny and
# small, --full-duration-s for medium, large and full (a call takes seconds there). Environment: BUILD_DIR (default build/), OUT_DIR (default
# $BUILD_DIR/service-bench), BUSY_MAX (per cent of the machine other processes may use before each
# measurement starts; default 10), WAIT_MAX (seconds to wait for that; default 300, then it goes
# on and says so), OTHERS_MAX (cores other processes may take during a measurement before it is
# taken again; default 0.15), RETRIES (how often at most; default 2), PYTHON (default python3).
#
# The server, the load generator and the in-process reference share this machine's cores. The
# in-process figure is taken by crepe-loadgen before it sends anything and again after the sweep
# (the server idle both times; the reference is their mean), with the same torch intra-op thread
# count as the server (OMP_NUM_THREADS, set here for both).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/service-bench}
BUSY_MAX=${BUSY_MAX:-10}
WAIT_MAX=${WAIT_MAX:-300}
OTHERS_MAX=${OTHERS_MAX:-0.15}
RETRIES=${RETRIES:-2}
PYTHON=${PYTHON:-python3}

ARGS_GIVEN="$*"
MODELS=tiny,full
DEFAULT_CONC=1,2,4,8
declare -A CONC=([tiny]=1,2,4,8,16,32 [full]=1,2,4)
DURATION=8
FULL_DURATION=30
THREADS=$(nproc)
AUDIO=/work/shared/testdata/crepe-reference/test.wav
MAX_BATCH=256
BATCH_DELAY_MS=2
WORKERS=$(nproc)
CHUNK_MS=100
while [[ $# -gt 0 ]]; do
  case $1 in
    --models) MODELS=$2; shift 2 ;;
    --concurrency) DEFAULT_CONC=$2; CONC=(); shift 2 ;;
    --*-concurrency) m=${1#--}; CONC[${m%-concurrency}]=$2; shift 2 ;;
    --duration-s) DURATION=$2; shift 2 ;;
    --full-duration-s) FULL_DURATION=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --audio) AUDIO=$(realpath "$2"); shift 2 ;;
    --max-batch) MAX_BATCH=$2; shift 2 ;;
    --batch-delay-ms) BATCH_DELAY_MS=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --chunk-ms) CHUNK_MS=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run_service_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# ---- build -------------------------------------------------------------------------------------
if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
cmake --build "$BUILD_DIR" --target crepe-server crepe-loadgen -j "$(nproc)" >&2
SERVER=$BUILD_DIR/server/crepe-server
LOADGEN=$BUILD_DIR/bench/crepe-loadgen

mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/loadgen-*.json "$OUT_DIR"/*.log "$OUT_DIR"/*.md "$OUT_DIR"/machine.txt "$OUT_DIR"/port
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS

# ---- machine load --------------------------------------------------------------------------------
source "$ROOT/bench/machine_load.sh"

# ---- server --------------------------------------------------------------------------------------
SERVER_PID=
stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"
    local i
    for i in $(seq 1 600); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "run_service_bench.sh: crepe-server did not exit within 60 s of SIGTERM; killing it" >&2
      kill -KILL "$SERVER_PID"
    fi
  fi
  local rc=0
  wait "$SERVER_PID" || rc=$?
  echo "crepe-server exited with status $rc" >&2
  echo "server_exit=$rc" >>"$OUT_DIR/machine.txt"
  SERVER_PID=
}
trap stop_server EXIT

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
BUSY_START=$(wait_quiet)
SERVER_CMD=("$SERVER" --listen 127.0.0.1:0 --port-file "$OUT_DIR/port" --models-dir "$ROOT/models" --models "$MODELS"
            --device cpu --max-batch "$MAX_BATCH" --batch-delay-ms "$BATCH_DELAY_MS" --max-requests 256
            --workers "$WORKERS")
"${SERVER_CMD[@]}" >"$OUT_DIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do [[ -s $OUT_DIR/port ]] && break; sleep 0.1; done
[[ -s $OUT_DIR/port ]] || { echo "run_service_bench.sh: crepe-server wrote no port file" >&2; cat "$OUT_DIR/server.log" >&2; exit 1; }
PORT=$(tr -d '[:space:]' <"$OUT_DIR/port")
echo "crepe-server pid $SERVER_PID listening on 127.0.0.1:$PORT" >&2

# ---- sweep ---------------------------------------------------------------------------------------
declare -a BUSY_BEFORE=()
for model in ${MODELS//,/ }; do
  conc=${CONC[$model]:-$DEFAULT_CONC}
  # full calls take over 10 s each on 2 cores: a longer shortest window, and room for C calls.
  dur=$DURATION; maxwin=60
  [[ $model == tiny || $model == small ]] || { dur=$FULL_DURATION; maxwin=120; }
  busy=$(wait_quiet)
  BUSY_BEFORE+=("$model=$busy")
  echo "== $model (machine ${busy}% busy before): unary and stream at C = $conc ==" >&2
  "$LOADGEN" --server "127.0.0.1:$PORT" --server-pid "$SERVER_PID" --model "$model" --audio "$AUDIO" \
    --mode unary,stream --concurrency "$conc" --duration-s "$dur" --warmup-s 2 --max-warmup-s 30 \
    --requests-per-worker 1 --max-window-s "$maxwin" --chunk-ms "$CHUNK_MS" --in-process --in-process-after --in-process-s 10 \
    --batch "$MAX_BATCH" --wait-ready-s 300 --quiet-max-pct "$BUSY_MAX" --quiet-wait-s "$WAIT_MAX" \
    --max-others-cores "$OTHERS_MAX" --retries "$RETRIES" --json "$OUT_DIR/loadgen-$model.json" \
    2> >(tee "$OUT_DIR/loadgen-$model.log" >&2) | tee "$OUT_DIR/rows-$model.md"
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "run_service_bench.sh: crepe-server is gone after the $model sweep" >&2
    exit 1
  fi
done
stop_server
END=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# ---- report --------------------------------------------------------------------------------------
conc_args=""
for model in ${MODELS//,/ }; do conc_args+=" --$model-concurrency ${CONC[$model]:-$DEFAULT_CONC}"; done
{
  echo "start=$START"
  echo "end=$END"
  echo "command=bench/run_service_bench.sh${ARGS_GIVEN:+ $ARGS_GIVEN}"
  echo "effective=bench/run_service_bench.sh --models $MODELS$conc_args --duration-s $DURATION --full-duration-s $FULL_DURATION --threads $THREADS --audio $AUDIO --max-batch $MAX_BATCH --batch-delay-ms $BATCH_DELAY_MS --workers $WORKERS --chunk-ms $CHUNK_MS"
  echo "server_command=$(echo "${SERVER_CMD[*]}" | sed "s#$ROOT/##g; s#$OUT_DIR/port#PORT_FILE#")"
  echo "lscpu_model=$(lscpu | sed -n 's/^Model name: *//p')"
  echo "lscpu_cpus=$(nproc)"
  echo "lscpu_threads_per_core=$(lscpu | sed -n 's/^Thread(s) per core: *//p')"
  echo "lscpu_hypervisor=$(lscpu | sed -n 's/^Hypervisor vendor: *//p')"
  echo "memory=$(free -g | awk '/^Mem:/{print $2 " GiB"}')"
  echo "kernel=$(uname -r)"
  echo "gpu=$(command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | head -1 || echo none)"
  echo "omp_num_threads=$OMP_NUM_THREADS"
  echo "quiet_rule=BUSY_MAX=$BUSY_MAX% WAIT_MAX=${WAIT_MAX}s OTHERS_MAX=$OTHERS_MAX cores RETRIES=$RETRIES"
  echo "busy_before=start=$BUSY_START ${BUSY_BEFORE[*]}"
  cat "$OUT_DIR/machine.txt" 2>/dev/null || true
} >"$OUT_DIR/machine.txt.new"
mv "$OUT_DIR/machine.txt.new" "$OUT_DIR/machine.txt"
"$PYTHON" "$ROOT/bench/service_table.py" "$OUT_DIR" | tee "$OUT_DIR/table.md"
