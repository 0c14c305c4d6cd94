#!/usr/bin/env bash
# Builds the service image from this checkout: docker/build-image.sh [TAG] [docker build options...]
# TAG defaults to crepe-service:latest; the version label is `git describe`. Uses BuildKit when the
# buildx plugin is installed, the classic builder otherwise (both read the same Dockerfile).
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${1:-crepe-service:latest}; shift || true
VERSION=$(git describe --always --dirty 2>/dev/null || echo dev)
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0
exec docker build -f docker/Dockerfile --build-arg VERSION="$VERSION" -t "$TAG" "$@" .
