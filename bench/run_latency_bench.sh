#!/usr/bin/env bash
# Live-stream latency under bulk load, with and without priority: a local crepe-server (CPU),
# crepe-livelat's N live streams (paced in real time, latency from sending the chunk that
# completes a frame's window to receiving the frame) in three phases:
#   idle      - the live streams alone;
#   priority  - while crepe-client predict saturates the server with a bulk dataset (it sends
#               PRIORITY_BULK), the live streams INTERACTIVE (their default);
#   no-priority - the same, with the live streams sending PRIORITY_BULK too (equal priority: they
#               only take turns with the bulk calls).
# Writes build/latency-bench/{idle,priority,no-priority}.json, a markdown table and machine facts.
#
#   bench/run_latency_bench.sh [--model tiny] [--streams 4] [--duration-s 30] [--chunk-ms 20]
#                              [--bulk-files 400] [--bulk-in-flight 16] [--max-batch 256] [--workers N]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/latency-bench}
BUSY_MAX=${BUSY_MAX:-10}
WAIT_MAX=${WAIT_MAX:-300}
ARGS_GIVEN="$*"
MODEL=tiny; STREAMS=4; DURATION=30; CHUNK_MS=20; BULK_FILES=400; BULK_IN_FLIGHT=16; MAX_BATCH=256
WORKERS=$(nproc)
AUDIO=/work/shared/testdata/crepe-reference/test.wav
while [[ $# -gt 0 ]]; do
  case $1 in
    --model) MODEL=$2; shift 2 ;;
    --streams) STREAMS=$2; shift 2 ;;
    --duration-s) DURATION=$2; shift 2 ;;
    --chunk-ms) CHUNK_MS=$2; shift 2 ;;
    --bulk-files) BULK_FILES=$2; shift 2 ;;
    --bulk-in-flight) BULK_IN_FLIGHT=$2; shift 2 ;;
    --max-batch) MAX_BATCH=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run_latency_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

cmake --build "$BUILD_DIR" --target crepe-server crepe-client crepe-livelat -j "$(nproc)" >&2
SERVER=$BUILD_DIR/server/crepe-server
CLIENT=$BUILD_DIR/client/crepe-client
LIVELAT=$BUILD_DIR/bench/crepe-livelat
rm -rf "$OUT_DIR"; mkdir -p "$OUT_DIR/dataset"
# The bulk dataset: links to one clip, enough audio to keep the server busy through a phase.
for i in $(seq -w 1 "$BULK_FILES"); do ln -s "$AUDIO" "$OUT_DIR/dataset/clip-$i.wav"; done
source "$ROOT/bench/machine_load.sh"

SERVER_PID=
CLIENT_PID=
cleanup() {
  [[ -n $CLIENT_PID ]] && kill -TERM "$CLIENT_PID" 2>/dev/null && wait "$CLIENT_PID" 2>/dev/null || true
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; fi
}
trap cleanup EXIT

START=$(date -u +%Y-%m-%dT%H:%M:%SZ)
BUSY_START=$(wait_quiet)
SERVER_CMD=("$SERVER" --listen 127.0.0.1:0 --port-file "$OUT_DIR/port" --models-dir "$ROOT/models" --models "$MODEL"
            --device cpu --max-batch "$MAX_BATCH" --batch-delay-ms 2 --workers "$WORKERS")
"${SERVER_CMD[@]}" >"$OUT_DIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do [[ -s $OUT_DIR/port ]] && break; sleep 0.1; done
ADDR=127.0.0.1:$(tr -d '[:space:]' <"$OUT_DIR/port")
for _ in $(seq 1 600); do "$CLIENT" health --server "$ADDR" >/dev/null 2>&1 && break; sleep 0.5; done

live() {  # phase priority
  "$LIVELAT" --server "$ADDR" --model "$MODEL" --streams "$STREAMS" --duration-s "$DURATION" --chunk-ms "$CHUNK_MS" \
    --priority "$2" --audio "$AUDIO" --json "$OUT_DIR/$1.json" | tee "$OUT_DIR/$1.txt"
}
done_files() { { find "$OUT_DIR/out-$1" -name '*.crepe.json' 2>/dev/null || true; } | wc -l; }  # none yet: 0
with_bulk() {  # phase priority
  rm -rf "$OUT_DIR/out-$1"
  "$CLIENT" predict --server "$ADDR" -m "$MODEL" -o "$OUT_DIR/out-$1" --max-in-flight "$BULK_IN_FLIGHT" -q \
    "$OUT_DIR/dataset" >"$OUT_DIR/client-$1.log" 2>&1 &
  CLIENT_PID=$!
  sleep 5  # the bulk calls fill the model's queue
  local before after
  before=$(done_files "$1")
  live "$1" "$2"
  after=$(done_files "$1")
  kill -TERM "$CLIENT_PID" 2>/dev/null || true
  wait "$CLIENT_PID" 2>/dev/null || true
  CLIENT_PID=
  if ((after >= BULK_FILES)); then echo "warning: the bulk dataset ran out during $1" >&2; fi
  echo "$1 bulk_files_during_live=$((after - before))" | tee -a "$OUT_DIR/bulk.txt"
}

echo "== idle (machine ${BUSY_START}% busy before)" >&2
live idle interactive
sleep 2
with_bulk priority interactive
sleep 2
with_bulk no-priority bulk
cleanup
SERVER_PID=
END=$(date -u +%Y-%m-%dT%H:%M:%SZ)

{
  echo "# Live-stream latency under bulk load"
  echo
  echo "- Date (UTC): $START to $END"
  echo "- CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) logical CPUs, hypervisor: $(lscpu | sed -n 's/^Hypervisor vendor: *//p'); GPU: $(command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | head -1 || echo none)"
  echo "- Command: \`bench/run_latency_bench.sh${ARGS_GIVEN:+ $ARGS_GIVEN}\` (model $MODEL, $STREAMS live streams of ${DURATION} s in ${CHUNK_MS} ms chunks, bulk: crepe-client predict --max-in-flight $BULK_IN_FLIGHT over links to $(basename "$AUDIO"))"
  echo "- Server: \`$(echo "${SERVER_CMD[*]}" | sed "s#$ROOT/##g; s#$OUT_DIR/port#PORT_FILE#")\`"
  echo "- Machine busy before: ${BUSY_START}%"
  echo
  echo "| phase | live priority | frames measured | p50 ms | p90 ms | p99 ms | max ms | bulk files done during the live run |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
  for phase in idle priority no-priority; do
    python3 - "$OUT_DIR/$phase.json" "$phase" "$(grep "^$phase " "$OUT_DIR/bulk.txt" 2>/dev/null | sed 's/.*=//')" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]} | {j['priority']} | {j['measured']:,} | {j['p50_ms']:.1f} | {j['p90_ms']:.1f} | {j['p99_ms']:.1f} | {j['max_ms']:.1f} | {sys.argv[3] or '—'} |")
PY
  done
} | tee "$OUT_DIR/table.md"
