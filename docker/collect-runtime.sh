#!/usr/bin/env bash
# Run in the image's build stage (docker/Dockerfile): gathers under DEST (/opt/crepe) what the runtime
# stage needs, and nothing else:
#   bin/     crepe-server, crepe-client, crepe-predict, tini
#   lib/     the Debian libraries they load (gRPC, Protobuf, HDF5, libsndfile, soxr, spdlog, ...)
#   python/  LibTorch's libraries in the wheel's layout (torch/lib, nvidia/*/lib), so that their
#            $ORIGIN/../../nvidia run paths still resolve; plus what LibTorch dlopens on a GPU
#            (cuDNN's engine libraries, NVRTC)
#   models/  the weights and their SHA256SUMS
# glibc is left out: the runtime base image is the same Debian release and has its own.
set -euo pipefail
DEST=${1:?usage: collect-runtime.sh DEST}
BUILD_DIR=${CREPE_BUILD_DIR:-build}
SITE=$(.venv/bin/python -c 'import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))')

mkdir -p "$DEST"/{bin,lib,python,models}
install -m 0755 "$BUILD_DIR"/server/crepe-server "$BUILD_DIR"/client/crepe-client \
  "$BUILD_DIR"/predict/crepe-predict "$DEST"/bin/
strip --strip-unneeded "$DEST"/bin/crepe-*
install -m 0755 /usr/bin/tini-static "$DEST"/bin/tini

copy_lib() {  # copy_lib PATH [NAME]: into lib/, or python/ keeping the wheel's layout
  local real name rel
  real=$(readlink -f "$1"); name=${2:-$(basename "$1")}
  if [[ $real == "$SITE"/* ]]; then
    rel=$(dirname "${real#"$SITE"/}")
    mkdir -p "$DEST/python/$rel"
    cp -L "$1" "$DEST/python/$rel/$name"
  else
    cp -L "$1" "$DEST/lib/$name"
  fi
}

ldd "$DEST"/bin/crepe-* | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
while read -r soname path; do
  case $soname in
    libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|libutil.so.*|libresolv.so.*|ld-linux*) ;;
    *) copy_lib "$path" "$soname" ;;
  esac
done
# Loaded with dlopen on a GPU, so ldd cannot see them.
for f in "$SITE"/nvidia/cudnn/lib/libcudnn*.so* "$SITE"/nvidia/cu13/lib/libnvrtc*.so* \
         "$SITE"/torch/lib/libcaffe2_nvrtc.so; do
  [ -e "$f" ] && copy_lib "$f"
done

if ls models/*.h5 >/dev/null 2>&1; then cp models/*.h5 "$DEST"/models/; fi
cp models/SHA256SUMS "$DEST"/SHA256SUMS
du -sh "$DEST"/* >&2
