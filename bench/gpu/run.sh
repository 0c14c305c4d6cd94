#!/usr/bin/env bash
# The one-shot device check: everything the GPU path needs measured, in one command that fits a
# device lease (under 8 minutes on an H200). Prints a final table and writes the details under
# $OUT (the device tool's output folder) or --out.
#
#   On a GPU machine (after bench/gpu/pack.sh here; the device tool carries ["gpu-bundle"]):
#     bash bench/gpu/run.sh --bundle gpu-bundle
#   Here, on the CPU, as a smoke test of the same steps (the test suite's GpuRunScriptSmoke):
#     bash bench/gpu/run.sh --device cpu --smoke
#
# Steps: 1 the machine (GPU, driver, torch); 2 the gpu-labelled tests; 3 crepe-gpu-bench: memory
# of all five resident, parity CUDA vs CPU and each precision's error, network-only throughput per
# capacity x pass size x precision (CUDA graphs on and off), end to end with device decoding,
# Viterbi device vs CPU, five models concurrently; 4 the eager-PyTorch baseline on the same
# device and batch sizes; 5 crepe-server on the device under crepe-loadgen against the core in
# process; 6 the table (bench/gpu/table.py), with every figure as a ratio against the baseline.
#
# Options: --device cuda|cpu (default cuda), --bundle DIR (programs from bench/gpu/pack.sh; without
# it, the build folder's), --smoke (tiny sizes: a minute or two on a laptop CPU), --out DIR.
# Environment: BUILD_DIR (default build/), PYTHON (default: the project's .venv, else python3).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEVICE=cuda
BUNDLE=
SMOKE=0
OUT_DIR=${OUT:-$ROOT/build/gpu-run}
while [[ $# -gt 0 ]]; do
  case $1 in
    --device) DEVICE=$2; shift 2 ;;
    --bundle) BUNDLE=$(cd "$2" && pwd); shift 2 ;;
    --smoke) SMOKE=1; shift ;;
    --out) OUT_DIR=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
RECORDS=$OUT_DIR/records.jsonl
: > "$RECORDS"
STARTED=$(date +%s)
log() { printf '[run.sh %4ds] %s\n' $(( $(date +%s) - STARTED )) "$*"; }
failures=0
step() {  # step NAME TIMEOUT_S COMMAND...: runs one step, logs to $OUT_DIR/NAME.log, never stops the run
  local name=$1 limit=$2
  shift 2
  log "$name: $*"
  timeout --kill-after=10 "$limit" "$@" > "$OUT_DIR/$name.log" 2>&1
  local rc=$?
  if (( rc != 0 )); then
    log "$name: FAILED (exit $rc; last lines below, all in $name.log)"
    tail -n 15 "$OUT_DIR/$name.log" | sed 's/^/    /'
    failures=$((failures + 1))
  fi
  return 0
}

if [[ -n $BUNDLE ]]; then
  WORK=$(mktemp -d)
  PYTHON=${PYTHON:-python3}
  # Python's own tarfile and lzma: the GPU machine's image may have no xz program.
  "$PYTHON" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
    "$BUNDLE/programs.tar.xz" "$WORK" || { echo "run.sh: cannot unpack $BUNDLE/programs.tar.xz" >&2; exit 2; }
  BIN=$WORK/bin
  GPU_BENCH=$BIN/crepe-gpu-bench SERVER=$BIN/crepe-server LOADGEN=$BIN/crepe-loadgen GPU_TESTS=$BIN/crepe_gpu_tests
  MODELS=$BUNDLE/models
  SHARED=$BUNDLE/shared
  TORCH_LIB=$("$PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') ||
    { echo "run.sh: $PYTHON cannot import torch: its LibTorch is what the programs run on (set PYTHON)" >&2; exit 2; }
  # Only our programs see the bundled libraries: Python keeps the machine's own.
  RUN=(env "LD_LIBRARY_PATH=$WORK/lib:$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
  COMMIT=$(cat "$BUNDLE/COMMIT")
else
  RUN=(env)
  BUILD_DIR=${BUILD_DIR:-$ROOT/build}
  GPU_BENCH=$BUILD_DIR/bench/crepe-gpu-bench SERVER=$BUILD_DIR/server/crepe-server
  LOADGEN=$BUILD_DIR/bench/crepe-loadgen GPU_TESTS=$BUILD_DIR/tests/crepe_gpu_tests
  MODELS=$ROOT/models
  SHARED=${CREPE_SHARED_DIR:-$ROOT/../shared}
  if [[ -z ${PYTHON:-} ]]; then PYTHON=python3; [[ -x $ROOT/.venv/bin/python ]] && PYTHON=$ROOT/.venv/bin/python; fi
  COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
fi
for p in "$GPU_BENCH" "$SERVER" "$LOADGEN" "$GPU_TESTS"; do
  [[ -x $p ]] || { echo "run.sh: $p is missing (build it, or give --bundle from bench/gpu/pack.sh)" >&2; exit 2; }
done
FRAMES=$SHARED/testdata/crepe-reference/frames-crepe.npy
AUDIO=$SHARED/testdata/crepe-reference/test.wav

# Sizes: the full run, or a smoke run that only proves every step works.
if (( SMOKE )); then
  CAPS=tiny PRECS=fp32,bf16 PASSES=32 POINT=0.1 E2E="--e2e-clips 1 --e2e-seconds 2" VIT="--viterbi-batch 4 --viterbi-steps 100 --viterbi-part 25"
  PARITY=64 EAGER_BATCHES=32 SERVICE_MODELS=tiny CONC=1,2 SERVICE_S=1 IN_PROCESS_S=1
else
  CAPS=tiny,small,medium,large,full PRECS=fp32,tf32,bf16,fp16 PASSES=256,1024,4096 POINT=0.3
  E2E="--e2e-clips 16 --e2e-seconds 10" VIT="--viterbi-batch 512 --viterbi-steps 1000 --viterbi-part 64"
  PARITY=1001 EAGER_BATCHES=256,1024,4096 SERVICE_MODELS="tiny full" CONC=1,8,32,64 SERVICE_S=3 IN_PROCESS_S=3
fi

# 1. The machine.
{
  echo "date=$(date -u +%FT%TZ)"
  echo "commit=$COMMIT"
  echo "device=$DEVICE"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') x $(nproc)"
  if command -v nvidia-smi > /dev/null; then
    echo "gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"
  fi
  "$PYTHON" -c 'import torch; print(f"torch={torch.__version__} cuda={torch.version.cuda} cudnn={torch.backends.cudnn.version()}")'
} > "$OUT_DIR/machine.txt" 2>&1
log "machine: $(tr '\n' ' ' < "$OUT_DIR/machine.txt")"

# 2. The gpu-labelled tests (they skip without a device).
step gpu_tests 180 "${RUN[@]}" CREPE_SHARED_DIR="$SHARED" CREPE_MODELS_DIR="$MODELS" CREPE_SOURCE_DIR="$ROOT" "$GPU_TESTS"
"$PYTHON" - "$OUT_DIR/gpu_tests.log" >> "$RECORDS" <<'PY'
import json, re, sys
text = open(sys.argv[1], errors="replace").read()
count = lambda tag: sum(int(n) for n in re.findall(r"\[\s*" + tag + r"\s*\] (\d+) test", text))
print(json.dumps({"section": "gpu_tests", "passed": count("PASSED"), "skipped": count("SKIPPED"),
                  "failed": count("FAILED")}))
PY

# 3. The core's measurements.
step bench 360 "${RUN[@]}" "$GPU_BENCH" --device "$DEVICE" --models-dir "$MODELS" --frames "$FRAMES" --json "$RECORDS" \
  --capacities "$CAPS" --precisions "$PRECS" --pass-sizes "$PASSES" --point-s "$POINT" --parity-frames "$PARITY" $E2E $VIT

# 4. The baseline: the same network in eager PyTorch.
step eager 180 "$PYTHON" "$ROOT/bench/gpu/eager_baseline.py" --device "$DEVICE" --capacities "$CAPS" \
  --precisions "$PRECS" --batch-sizes "$EAGER_BATCHES" --point-s "$POINT" --json "$RECORDS"

# 5. crepe-server on the device under load, against the core in process (synthetic weights: the
# official large and full files do not travel; speed does not depend on the values). Frames cut
# and summarised on the device: the defaults on CUDA, named so that the CPU smoke run takes the
# same path.
# Each entry: model, decoder, where Viterbi runs (tiny with Viterbi both ways: on the device,
# the calls' activations stay there; on the host, they come back to each call's session).
SERVICE_RUNS=()
for model in $SERVICE_MODELS; do SERVICE_RUNS+=("$model weighted_argmax auto"); done
SERVICE_RUNS+=("tiny viterbi device" "tiny viterbi host")
for run in "${SERVICE_RUNS[@]}"; do
  read -r model decoder viterbi <<< "$run"
  name="${model}_${decoder}_${viterbi}"
  rm -f "$OUT_DIR/port"
  "${RUN[@]}" "$SERVER" --device "$DEVICE" --models "$model" --synthetic-weights --listen 127.0.0.1:0 --port-file "$OUT_DIR/port" \
    --frame-cutting device --frame-summaries device --viterbi-decoding "$viterbi" --log-level warn \
    > "$OUT_DIR/server-$name.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do [[ -s $OUT_DIR/port ]] && break; kill -0 $server_pid 2>/dev/null || break; sleep 0.1; done
  if [[ -s $OUT_DIR/port ]]; then
    step "service_$name" 150 "${RUN[@]}" "$LOADGEN" --server "127.0.0.1:$(cat "$OUT_DIR/port")" --server-pid $server_pid \
      --model "$model" --decoder "$decoder" --audio "$AUDIO" --mode unary --concurrency "$CONC" --duration-s "$SERVICE_S" \
      --warmup-s 1 --in-process --in-process-s "$IN_PROCESS_S" --in-process-calls 2 --device "$DEVICE" \
      --synthetic-weights --batch 1024 --json "$OUT_DIR/loadgen-$name.json"
    [[ -s $OUT_DIR/loadgen-$name.json ]] &&
      "$PYTHON" -c 'import json,sys; r=json.load(open(sys.argv[1])); r["section"]="service"; r["viterbi_decoding"]=sys.argv[2]; print(json.dumps(r))' \
        "$OUT_DIR/loadgen-$name.json" "$viterbi" >> "$RECORDS"
  else
    log "service_$name: crepe-server did not start (server-$name.log):"
    tail -n 15 "$OUT_DIR/server-$name.log" | sed 's/^/    /'
    failures=$((failures + 1))
  fi
  kill $server_pid 2>/dev/null
  wait $server_pid 2>/dev/null
done

# 6. The table.
"$PYTHON" "$ROOT/bench/gpu/table.py" "$OUT_DIR" | tee "$OUT_DIR/table.md"
log "done in $(( $(date +%s) - STARTED )) s; $failures step(s) failed; details in $OUT_DIR"
[[ -n ${WORK:-} ]] && rm -rf "$WORK"
exit $(( failures > 0 ))
