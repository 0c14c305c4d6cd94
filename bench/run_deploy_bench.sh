#!/usr/bin/env bash
# The deployment's figures (docker/): image size; build time cold (--no-cache: downloads and all),
# after a source change, and fully cached; time from `compose up` to every replica SERVING; bulk
# throughput through the load balancer with 1, 2 and 3 replicas against one server container called
# directly (same image, same client, same dataset), alternating, ROUNDS times.
#
#   bench/run_deploy_bench.sh [--skip-cold] [--only-throughput] [--rounds N] [--model M] [--dataset DIR]
#                             [--in-flight N]
#
# The directly-called server runs with the replicas' settings (OMP_WAIT_POLICY=PASSIVE, read-only
# root), so that the balancer is the only difference between it and "balancer, 1 replica".
#
# Needs a Docker engine (docker/local-engine.sh) and build/client/crepe-client. Nothing else should
# run meanwhile: every figure here is wall-clock time on this machine's cores.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SKIP_COLD=0; ONLY_THROUGHPUT=0; ROUNDS=2; MODEL=tiny; IN_FLIGHT=16
DATASET=$(realpath "$ROOT/../shared/eval/public/fda-speech")
while [[ $# -gt 0 ]]; do
  case $1 in
    --skip-cold) SKIP_COLD=1; shift ;;
    --only-throughput) ONLY_THROUGHPUT=1; shift ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --model) MODEL=$2; shift 2 ;;
    --dataset) DATASET=$(realpath "$2"); shift 2 ;;
    --in-flight) IN_FLIGHT=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "run_deploy_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
CLIENT=$ROOT/build/client/crepe-client
IMAGE=crepe-service:bench
LB_IMAGE=crepe-lb:bench
PROJECT=crepe-bench
PORT=57051
DIRECT_PORT=57052
WORK=$(mktemp -d /tmp/crepe-deploy-bench.XXXXXX)
export CREPE_PROJECT=$PROJECT CREPE_IMAGE=$IMAGE CREPE_LB_IMAGE=$LB_IMAGE CREPE_PORT=$PORT CREPE_LB_STATS_PORT=57404
compose() { docker compose -f "$ROOT/docker/compose.yaml" "$@"; }
cleanup() { compose down --remove-orphans -t 30 >/dev/null 2>&1 || true; docker rm -f crepe-bench-direct >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f\n", b - a }'; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0

# Build times ---------------------------------------------------------------------------------
declare -A UP
if ((ONLY_THROUGHPUT)); then
  CHANGED="(skipped)"; CACHED="(skipped)"; UP=([1]="(skipped)" [2]="(skipped)" [3]="(skipped)"); SKIP_COLD=1
  SIZE=$(docker image inspect -f '{{.Size}}' "$IMAGE")
else
if ((!SKIP_COLD)); then
  t=$(now); docker/build-image.sh "$IMAGE" --no-cache -q >/dev/null; COLD=$(since "$t")
  log "cold build (--no-cache): ${COLD} s"
fi
# A source change: the same tree with one comment added to a source file (only the compile layer).
mkdir -p "$WORK/ctx"
cp -r CMakeLists.txt cmake include src cli predict proto rpc server client requirements.txt tools assets docker \
  .dockerignore "$WORK/ctx/"
docker build -q -f docker/Dockerfile -t "$IMAGE" . >/dev/null  # the cache, as it is for HEAD
echo "// bench: a source change $(date +%s%N)" >> "$WORK/ctx/server/main.cpp"
t=$(now); docker build -q -f "$WORK/ctx/docker/Dockerfile" -t "$IMAGE-changed" "$WORK/ctx" >/dev/null; CHANGED=$(since "$t")
docker rmi -f "$IMAGE-changed" >/dev/null
t=$(now); docker/build-image.sh "$IMAGE" -q >/dev/null; CACHED=$(since "$t")
docker build -q -t "$LB_IMAGE" docker/lb >/dev/null
SIZE=$(docker image inspect -f '{{.Size}}' "$IMAGE")
log "after a source change: ${CHANGED} s; fully cached: ${CACHED} s; image $((SIZE / 1000000)) MB"

# Start-up: `compose up --wait` to every replica healthy (gRPC SERVING) -------------------------
for n in 1 2 3; do
  compose down -t 30 >/dev/null 2>&1
  t=$(now); CREPE_REPLICAS=$n compose up -d --wait --wait-timeout 600 crepe lb >/dev/null 2>&1; UP[$n]=$(since "$t")
  log "up with $n replicas: ${UP[$n]} s"
done
compose down -t 30 >/dev/null 2>&1
fi

# Throughput ------------------------------------------------------------------------------------
run_bulk() {  # run_bulk PORT -> seconds for the whole dataset
  local out t
  out=$(mktemp -d "$WORK/out.XXXXXX")
  t=$(now)
  "$CLIENT" predict --server "127.0.0.1:$1" -m "$MODEL" --max-in-flight "$IN_FLIGHT" -q -o "$out" "$DATASET"
  since "$t"
  rm -rf "$out"
}
FRAMES_AUDIO_S=$(python3 - "$DATASET" <<'EOF'
import glob, os, sys, wave
total = 0.0
for f in glob.glob(os.path.join(sys.argv[1], "**", "*.wav"), recursive=True):
    with wave.open(f) as w:
        total += w.getnframes() / w.getframerate()
print(f"{total:.1f}")
EOF
)
declare -A SECS
for r in $(seq 1 "$ROUNDS"); do
  docker run -d --name crepe-bench-direct -e OMP_WAIT_POLICY=PASSIVE -e CREPE_ALLOW_INSECURE=1 --read-only --tmpfs /tmp \
    -p "127.0.0.1:$DIRECT_PORT:50051" "$IMAGE" >/dev/null
  until [ "$(docker inspect -f '{{.State.Health.Status}}' crepe-bench-direct)" = healthy ]; do sleep 1; done
  s=$(run_bulk "$DIRECT_PORT"); SECS[direct]+="$s "; log "round $r: direct: $s s"
  docker rm -f crepe-bench-direct >/dev/null
  for n in 1 2 3; do
    CREPE_REPLICAS=$n compose up -d --wait --wait-timeout 600 crepe lb >/dev/null 2>&1
    s=$(run_bulk "$PORT"); SECS[lb$n]+="$s "; log "round $r: balancer, $n replicas: $s s"
  done
  compose down -t 30 >/dev/null 2>&1
done

# Table -----------------------------------------------------------------------------------------
python3 - "$FRAMES_AUDIO_S" "${SECS[direct]}" "${SECS[lb1]}" "${SECS[lb2]}" "${SECS[lb3]}" <<EOF
import statistics, sys
audio = float(sys.argv[1])
runs = {k: [float(x) for x in v.split()] for k, v in zip(["direct", "lb1", "lb2", "lb3"], sys.argv[2:])}
base = statistics.median(runs["direct"])
print(f"Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); "
      f"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); Docker $(docker version -f '{{.Server.Version}}')")
print(f"Image {int('$SIZE') / 1e9:.2f} GB; build: cold ${COLD:-(skipped)} s, after a source change $CHANGED s, fully cached $CACHED s")
print(f"compose up -> all replicas SERVING: 1 replica ${UP[1]} s, 2 replicas ${UP[2]} s, 3 replicas ${UP[3]} s")
print(f"Bulk: crepe-client predict -m $MODEL --max-in-flight $IN_FLIGHT over $DATASET ({audio:.0f} s of audio)")
print()
print("| path | runs (s) | median (s) | x real time | vs direct |")
print("|---|---|---|---|---|")
names = {"direct": "one server container, called directly", "lb1": "balancer, 1 replica",
         "lb2": "balancer, 2 replicas", "lb3": "balancer, 3 replicas"}
for k in ["direct", "lb1", "lb2", "lb3"]:
    m = statistics.median(runs[k])
    print(f"| {names[k]} | {', '.join(f'{x:.1f}' for x in runs[k])} | {m:.1f} | {audio / m:.1f} | {base / m:.3f} |")
EOF
