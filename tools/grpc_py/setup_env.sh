#!/usr/bin/env bash
# Creates (or updates) .venv-grpc at the repository root: the test-only Python gRPC client
# environment pinned in tools/grpc_py/requirements.txt (grpcio, grpcio-tools, health checking,
# reflection, protobuf, numpy). Used by the ctest ServicePythonClient.
# Idempotent: when the environment already holds exactly the pinned versions it returns at once.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV="$ROOT/.venv-grpc"
REQ="$ROOT/tools/grpc_py/requirements.txt"
STAMP="$VENV/.requirements.sha256"
PYTHON=${PYTHON:-python3}

want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] &&
   "$VENV/bin/python" -c 'import grpc, grpc_tools.protoc, grpc_health.v1, grpc_reflection.v1alpha, grpc_status, google.rpc.error_details_pb2, numpy' >/dev/null 2>&1; then
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  printf '== grpc_py: creating %s\n' "$VENV"
  "$PYTHON" -m venv "$VENV"
fi
printf '== grpc_py: installing %s\n' "$REQ"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
"$VENV/bin/python" -c 'import grpc, grpc_tools.protoc, grpc_health.v1, grpc_reflection.v1alpha, grpc_status, google.rpc.error_details_pb2, numpy'
echo "$want" > "$STAMP"
printf '== grpc_py: ready (%s)\n' "$VENV"
