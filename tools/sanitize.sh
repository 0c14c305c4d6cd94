#!/usr/bin/env bash
# Builds the unit and service suites with sanitizers in their own build folder and runs them:
#   tools/sanitize.sh [address,undefined | thread]      (default address,undefined)
# Needs what tools/setup.sh installs (run it first). The server's request path (batchers, strands,
# jobs, reactors) and the client's run instrumented; LibTorch, gRPC and the other libraries are
# not, so reports are about our code. Under ThreadSanitizer LibTorch runs one intra-op thread
# (its OpenMP pool is not instrumented) and tools/tsan.supp silences what the uninstrumented
# gRPC synchronises behind TSan's back.
set -euo pipefail
cd "$(dirname "$0")/.."
SANITIZE=${1:-address,undefined}
case $SANITIZE in
  address,undefined | address | undefined | thread) ;;
  *) echo "tools/sanitize.sh: unknown sanitizer set '$SANITIZE' (address,undefined or thread)" >&2; exit 2 ;;
esac
case $SANITIZE in
  thread) DIR=build-tsan ;;
  undefined) DIR=build-ubsan ;;
  *) DIR=build-asan ;;
esac
TORCH_CMAKE=$(.venv/bin/python -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
# -O1 -g1 (line tables): what the sanitizers' documentation suggests, and on this code 2.4x quicker to
# compile than -O2 -g (instrumented -O2 builds of CLI11 and LibTorch headers took over a minute a file);
# reports still name file and line.
cmake -S . -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$TORCH_CMAKE" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DCREPE_CUDA_KERNELS=OFF \
  -DCREPE_SANITIZE="$SANITIZE" -DCREPE_BUILD_BENCH=OFF >/dev/null
cmake --build "$DIR" -j "$(nproc)" --target crepe_unit_tests crepe_serving_tests crepe_service_tests crepe_client_tests \
  crepe-server crepe-client crepe-predict
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
if [[ $SANITIZE == thread ]]; then
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tools/tsan.supp"
  export OMP_NUM_THREADS=1
fi
ctest --test-dir "$DIR" -L 'unit|service' --output-on-failure
