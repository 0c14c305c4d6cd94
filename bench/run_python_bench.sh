#!/usr/bin/env bash
# What a Python user gets: the same files through (a) crepe_client (the Python package, predict_file,
# --threads calls in flight) against a local crepe-server, (b) crepe-client (ours, C++) against the same
# server, (c) torchcrepe.predict in-process (the peer: what Python users run today). Viterbi, 10 ms
# hop, pitch and periodicity, per model; ROUNDS alternating rounds, medians. Prints a markdown table
# with the machine and the command.
#
#   bench/run_python_bench.sh [--models LIST] [--rounds N] [--files N] [--full-files N] [--threads N]
#                             [--dataset DIR]
#
# --files: how many of the dataset's files (sorted) for tiny and small; --full-files for medium, large
# and full (torchcrepe has only tiny and full of the five). Needs build/ (tools/setup.sh),
# .venv-grpc (it builds the wheel and holds the wheelhouse) and .venv-torchcrepe. Nothing else
# should run meanwhile: every figure is wall-clock time on this machine's cores, which the server,
# the client and torchcrepe share (never at the same time).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ARGS_GIVEN="$*"
MODELS=tiny,full; ROUNDS=3; FILES=50; FULL_FILES=10; THREADS=8
DATASET=$(realpath "$ROOT/../shared/eval/public/fda-speech")
while [[ $# -gt 0 ]]; do
  case $1 in
    --models) MODELS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --files) FILES=$2; shift 2 ;;
    --full-files) FULL_FILES=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --dataset) DATASET=$(realpath "$2"); shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run_python_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
WORK=$(mktemp -d /tmp/crepe-python-bench.XXXXXX)
SERVER_PID=
cleanup() { [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
for need in "$BUILD_DIR/server/crepe-server" "$BUILD_DIR/client/crepe-client" .venv-grpc/bin/python \
            .venv-torchcrepe/bin/python; do
  [[ -x $need ]] || { echo "run_python_bench.sh: $need missing (tools/setup.sh makes it)" >&2; exit 1; }
done

log "building the wheel and a fresh environment for it"
.venv-grpc/bin/python -m build -q --no-isolation --wheel --outdir "$WORK/dist" python >/dev/null 2>&1
rm -rf python/build python/src/*.egg-info
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q --disable-pip-version-check --no-index --find-links .venv-grpc/wheelhouse "$WORK"/dist/*.whl

"$BUILD_DIR/server/crepe-server" --listen 127.0.0.1:0 --port-file "$WORK/port" --models "$MODELS" \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 600); do [[ -s $WORK/port ]] && break; sleep 0.2; done
ADDR=127.0.0.1:$(cat "$WORK/port")
for _ in $(seq 600); do "$BUILD_DIR/client/crepe-client" health --server "$ADDR" >/dev/null 2>&1 && break; sleep 0.5; done
log "crepe-server on $ADDR"

mapfile -t ALL < <(find "$DATASET" -name '*.wav' | sort)
json_field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

TABLE="| model | files | audio s | frames | torchcrepe in-process s | crepe_client (Python) s | crepe-client (C++) s | Python client vs torchcrepe | Python client vs crepe-client |
|---|---|---|---|---|---|---|---|---|"
IFS=, read -ra MODEL_LIST <<<"$MODELS"
for model in "${MODEL_LIST[@]}"; do
  n=$FILES; case $model in medium|large|full) n=$FULL_FILES ;; esac
  files=("${ALL[@]:0:$n}")
  declare -a T_TC=() T_PY=() T_CPP=()
  for ((r = 1; r <= ROUNDS; r++)); do
    if [[ $model == tiny || $model == full ]]; then
      out=$(.venv-torchcrepe/bin/python bench/python_client_bench.py --runner torchcrepe --model "$model" "${files[@]}")
      T_TC+=("$(json_field seconds <<<"$out")")
    fi
    out=$("$WORK/venv/bin/python" bench/python_client_bench.py --runner client --server "$ADDR" --model "$model" \
          --threads "$THREADS" "${files[@]}")
    T_PY+=("$(json_field seconds <<<"$out")"); FRAMES=$(json_field frames <<<"$out"); AUDIO=$(json_field audio_seconds <<<"$out")
    mkdir -p "$WORK/in-$model"; ln -sf "${files[@]}" "$WORK/in-$model/"
    t0=$(date +%s.%N)
    "$BUILD_DIR/client/crepe-client" predict -q --server "$ADDR" -m "$model" --decoder viterbi --periodicity \
      --max-in-flight "$THREADS" --overwrite -o "$WORK/out-$model" "$WORK/in-$model"
    T_CPP+=("$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')")
    log "$model round $r: torchcrepe ${T_TC[-1]:--} s, crepe_client ${T_PY[-1]} s, crepe-client ${T_CPP[-1]} s"
  done
  py=$(printf '%.1f' "$(median "${T_PY[@]}")"); cpp=$(printf '%.1f' "$(median "${T_CPP[@]}")")
  if ((${#T_TC[@]})); then tc=$(printf '%.1f' "$(median "${T_TC[@]}")"); vs_tc=$(awk -v a="$tc" -v b="$py" 'BEGIN { printf "%.2fx faster", a / b }')
  else tc="(no such torchcrepe model)"; vs_tc="-"; fi
  vs_cpp=$(awk -v a="$cpp" -v b="$py" 'BEGIN { printf "%.2fx the time", b / a }')
  TABLE+=$'\n'"| $model | ${#files[@]} | $(printf '%.1f' "$AUDIO") | $FRAMES | $tc | $py | $cpp | $vs_tc | $vs_cpp |"
  unset T_TC T_PY T_CPP
done

CPU=$(awk -F: '/model name/ { sub(/^ /, "", $2); print $2; exit }' /proc/cpuinfo)
cat <<EOF

Machine: $CPU, $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $(date -u +%Y-%m-%d)
Command: bench/run_python_bench.sh $ARGS_GIVEN
Dataset: $DATASET (first files, sorted); medians of $ROUNDS alternating rounds; Viterbi, 10 ms hop, threads $THREADS.
crepe-client also writes its files (f0 CSV, periodicity, sidecar); the other two return arrays only.

$TABLE
EOF
