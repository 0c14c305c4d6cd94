#!/usr/bin/env bash
# Bundles what bench/gpu/run.sh needs on a GPU machine that has LibTorch (in its PyTorch) but no
# gRPC, HDF5, libsndfile, soxr or spdlog, and no package registry: our binaries (stripped), their
# shared libraries other than glibc's, libstdc++'s and LibTorch's/CUDA's, the official tiny and small
# weights, and the reference frames and clip. Checks that it fits the 64 MiB a device call carries.
#
#   bench/gpu/pack.sh [BUNDLE_DIR]     (default: gpu-bundle/, ignored by git)
#
# Then, on the device (the `run` tool): carry ["gpu-bundle"], command
#   bash bench/gpu/run.sh --bundle gpu-bundle
# Environment: BUILD_DIR (default build/), SHARED_DIR (default ../shared), LIMIT_MB (default 56: the
# tracked tree travels too).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
SHARED_DIR=${SHARED_DIR:-$ROOT/../shared}
LIMIT_MB=${LIMIT_MB:-56}
BUNDLE=${1:-$ROOT/gpu-bundle}
BINARIES=(bench/crepe-gpu-bench server/crepe-server bench/crepe-loadgen tests/crepe_gpu_tests)

cmake --build "$BUILD_DIR" --target crepe-gpu-bench crepe-server crepe-loadgen crepe_gpu_tests >/dev/null
rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/bin" "$BUNDLE/lib" "$BUNDLE/models" "$BUNDLE/shared/testdata/crepe-reference"
for b in "${BINARIES[@]}"; do
  strip --strip-unneeded -o "$BUNDLE/bin/$(basename "$b")" "$BUILD_DIR/$b"
done
# Shared libraries: everything ldd resolves except the C library family, the C++ runtime (the GPU
# machine's is newer), and LibTorch's own folder (the GPU machine's PyTorch has the same LibTorch).
for b in "${BINARIES[@]}"; do ldd "$BUILD_DIR/$b"; done | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
  while read -r name path; do
    case $name in
      ld-linux*|libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|libresolv.so*|libstdc++.so*|libgcc_s.so*) continue ;;
    esac
    case $path in */site-packages/torch/*|*/site-packages/nvidia/*|*/cuda*/lib*) continue ;; esac
    cp -L "$path" "$BUNDLE/lib/$name"
  done
strip --strip-unneeded "$BUNDLE"/lib/*.so* 2>/dev/null || true
for c in tiny small; do cp "$ROOT/models/$c.h5" "$BUNDLE/models/"; done
cp "$SHARED_DIR/testdata/crepe-reference/frames-crepe.npy" "$SHARED_DIR/testdata/crepe-reference/test.wav" \
  "$BUNDLE/shared/testdata/crepe-reference/"
git -C "$ROOT" rev-parse --short HEAD > "$BUNDLE/COMMIT" 2>/dev/null || echo unknown > "$BUNDLE/COMMIT"
# Programs and libraries travel compressed (run.sh unpacks them): a third of their size.
tar -C "$BUNDLE" -cJf "$BUNDLE/programs.tar.xz" bin lib
rm -rf "$BUNDLE/bin" "$BUNDLE/lib"
size=$(du -sb "$BUNDLE" | cut -f1)
tree=$(cd "$ROOT" && { git ls-files -z 2>/dev/null | du -cb --files0-from=- 2>/dev/null || true; } | tail -1 | cut -f1)
tree=${tree:-0}
awk -v b="$BUNDLE" -v s="$size" -v t="$tree" \
  'BEGIN { printf "pack.sh: %s: %.1f MiB; the tracked tree adds %.1f MiB\n", b, s / 1048576, t / 1048576 }'
if (( size > LIMIT_MB * 1048576 )); then
  echo "pack.sh: the bundle is over ${LIMIT_MB} MiB: it would not travel with a device call" >&2
  exit 1
fi
