#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a built, ready-to-test project:
#   system packages (apt), the Python build environment with LibTorch (pip), the official
#   weights (verified), then a CMake build in build/.
# Re-running it is cheap: every step skips what is already in place.
# The container build (docker/Dockerfile) runs it in two layers and turns steps off with
#   CREPE_SETUP_WEIGHTS=0  (no weights)   CREPE_SETUP_BUILD=0  (no CMake build)
#   CREPE_SETUP_TEST_TOOLS=0  (no test-only Python environments, no clang for the fuzzers)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(build-essential cmake ninja-build pkg-config python3-venv
  libhdf5-dev libsndfile1-dev libsoxr-dev libspdlog-dev libfmt-dev libcli11-dev libgtest-dev libgmock-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc openssl
  libmicrohttpd-dev)
# Test-only: clang and libFuzzer for tools/fuzz.sh, GNU time for its CPU figures, xz and binutils
# (strip) for bench/gpu/pack.sh (not in the image).
[ "${CREPE_SETUP_TEST_TOOLS:-1}" != 0 ] && APT_PACKAGES+=(clang-14 libclang-rt-14-dev time xz-utils binutils)
BUILD_DIR=${CREPE_BUILD_DIR:-build}
PYTHON=${PYTHON:-python3}

log() { printf '\n== setup: %s\n' "$*"; }

missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  log "creating the Python environment .venv"
  "$PYTHON" -m venv .venv
fi
# Installed again whenever requirements.txt changes (its hash is kept in .venv).
REQ_HASH=$(sha256sum requirements.txt | cut -d' ' -f1)
if ! .venv/bin/python -c 'import torch, numpy' >/dev/null 2>&1 ||
   [ "$(cat .venv/.requirements.sha256 2>/dev/null)" != "$REQ_HASH" ]; then
  log "installing requirements.txt into .venv (LibTorch comes in the torch wheel: a few GB, downloaded once)"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
  echo "$REQ_HASH" > .venv/.requirements.sha256
fi

if [ "${CREPE_SETUP_WEIGHTS:-1}" != 0 ]; then
  log "fetching and verifying the official weights into models/"
  .venv/bin/python tools/fetch_weights.py
fi

if [ "${CREPE_SETUP_TEST_TOOLS:-1}" != 0 ]; then
  log "the test-only Python environments (.venv-grpc: a gRPC client and the package build; .venv-deploy:" \
      "manifest validators; .venv-torchcrepe: torchcrepe)"
  bash tools/test_venv.sh grpc
  bash tools/test_venv.sh deploy
  bash tools/test_venv.sh torchcrepe
fi

[ "${CREPE_SETUP_BUILD:-1}" != 0 ] || { log "done (no build: CREPE_SETUP_BUILD=0)"; exit 0; }
log "building into ${BUILD_DIR}/"
TORCH_CMAKE=$(.venv/bin/python -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_CMAKE" ${CREPE_CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$(nproc)"
log "done: run the tests with  ctest --test-dir ${BUILD_DIR} --output-on-failure"
