#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan in build-fuzz/, writes their seed
# corpus from real inputs, replays the kept regression inputs (fuzz/regressions/<target>/), then
# fuzzes each target:
#   tools/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target)
# Targets: request audio npy weights manifest, FUZZ_JOBS at a time (default: one per core). The
# corpus grows in build-fuzz/corpus/<target>/ (kept between runs). A crash, leak or hang stops
# that target, leaves its input in build-fuzz/findings/<target>/ and makes the script exit 1. Each
# target's executions, CPU time and last libFuzzer status line (coverage) go to
# build-fuzz/summary.txt. Needs tools/setup.sh first (clang-14 and libFuzzer come from Debian).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(request audio npy weights manifest)
DIR=$PWD/build-fuzz  # absolute: fuzz_manifest works in a folder of its own
SHARED=${CREPE_SHARED_DIR:-../shared}

CC=clang-14 CXX=clang++-14 cmake -S . -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCREPE_FUZZ=ON >/dev/null
cmake --build "$DIR" -j "$(nproc)" -- $(printf 'fuzz_%s ' "${TARGETS[@]}") crepe_fuzz_seeds

SEEDS=$DIR/seeds
rm -rf "$SEEDS"
NPY=(tests/fixtures/resample/*.npy)
WEIGHTS=""
[ -f "$SHARED/testdata/crepe-weights/model-tiny.h5" ] && WEIGHTS=$SHARED/testdata/crepe-weights/model-tiny.h5
"$DIR/fuzz/crepe_fuzz_seeds" "$SEEDS" assets/examples/sung-vowel.wav "${WEIGHTS:-/dev/null}" "${NPY[@]}" >/dev/null

# Requests and audio files are longer than libFuzzer's default limit; the weights seed is 64 KiB.
declare -A EXTRA=([request]="-max_len=65536" [audio]="-max_len=65536" [weights]="-max_len=65536")
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:allocator_may_return_null=1
export LSAN_OPTIONS=suppressions=$PWD/fuzz/lsan.supp
: > "$DIR/summary.txt"

# Where a crash happened: the first stack frame that is neither the sanitizers' or libFuzzer's own
# (in the fuzz binary without a source line) nor the C and C++ runtimes' (libc's memcpy called by
# whoever is below it, shown as a libc module or as a glibc source line): a shared library's name
# (e.g. "libhdf5_serial.so.103"), or "our code" for a source line in this repository.
crash_module() {  # crash_module LOG FUZZ_BINARY
  local line module
  while IFS= read -r line; do
    [[ $line == *"($2+0x"* ]] && continue
    module=$(sed -nE 's/.*\((\/[^()+]*)\+0x[0-9a-f]+\).*/\1/p' <<<"$line")
    if [ -n "$module" ]; then
      case $(basename "$module") in libc.so* | libm.so* | libstdc++.so* | libgcc_s.so*) continue ;; esac
      basename "$module"
      return
    fi
    if [[ $line == *" $PWD/"* ]]; then
      echo "our code"
      return
    fi
  done < <(grep -E "^ +#[0-9]+ 0x" "$1")
  echo "our code"  # nothing else identified: count it as ours
}
# Libraries from Debian whose crashes on crafted input are theirs to fix (fuzz/third-party/README.md):
# reported, the input kept, but not a failure of our code.
THIRD_PARTY='^lib(hdf5|vorbis|vorbisfile|ogg|FLAC|sndfile|opus|mpg123|mp3lame)'

# Replays the kept inputs, then fuzzes one target; returns non-zero on a finding in our code.
fuzz_target() {
  local t=$1 bin=$DIR/fuzz/fuzz_$1 log=$DIR/findings/$1/last-run.log rc=0
  mkdir -p "$DIR/corpus/$t" "$DIR/findings/$t"
  if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
    if ! "$bin" ${EXTRA[$t]:-} -rss_limit_mb=2048 -timeout=10 "$PWD"/fuzz/regressions/$t/* >"$log" 2>&1; then
      echo "fuzz_$t: a kept regression input fails again (log: $log)"
      return 1
    fi
  fi
  /usr/bin/time -f "%e %U %S" -o "$DIR/findings/$t/times" \
    "$bin" ${EXTRA[$t]:-} -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$DIR/findings/$t/" "$DIR/corpus/$t" "$SEEDS/$t" >"$log" 2>&1 || rc=$?
  if ((rc)); then
    local module
    module=$(crash_module "$log" "$bin")
    if [[ $module =~ $THIRD_PARTY ]]; then
      echo "fuzz_$t: a crash inside $module, a third-party library (input and log in $DIR/findings/$t/;" \
        "see fuzz/third-party/README.md): reported, not counted as a failure"
      rc=0
    else
      echo "fuzz_$t FOUND A PROBLEM in ${module:-?} (input and log in $DIR/findings/$t/):"
    fi
    grep -E "ERROR|SUMMARY|Test unit written|timeout|out-of-memory" "$log" | head -n 20
  fi
  local last execs wall cpu
  last=$(grep -E "^#[0-9]+" "$log" | tail -n 1 || true)
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  # GNU time's last line: elapsed, user, system seconds (a line before it says a non-zero exit).
  wall=$(tail -n 1 "$DIR/findings/$t/times" | awk '{printf "%.0f", $1}')
  cpu=$(tail -n 1 "$DIR/findings/$t/times" | awk '{printf "%.0f", $2 + $3}')
  echo "fuzz_$t: ${wall:-?} s wall, ${cpu:-?} s CPU, ${execs:-?} executions; last status: $last" |
    tee -a "$DIR/summary.txt"
  return $rc
}

# FUZZ_JOBS targets at a time (default: one per core).
JOBS=${FUZZ_JOBS:-$(nproc)}
status=0
running=0
for t in "${TARGETS[@]}"; do
  if ((running >= JOBS)); then
    wait -n || status=1
    running=$((running - 1))
  fi
  echo "== fuzz_$t: ${SECONDS_PER_TARGET} s"
  fuzz_target "$t" &
  running=$((running + 1))
done
while ((running > 0)); do
  wait -n || status=1
  running=$((running - 1))
done
exit $status
