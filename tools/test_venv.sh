#!/usr/bin/env bash
# Creates (or updates) a test-only Python environment at the repository root:
#   tools/test_venv.sh grpc     .venv-grpc    tools/grpc_py/requirements.txt   (a gRPC client not ours)
#   tools/test_venv.sh deploy   .venv-deploy  tools/deploy_py/requirements.txt (manifest validators, compose)
# The requirements file's `# import-check:` line names what must import afterwards.
# Idempotent: when the environment already holds exactly the pinned versions it returns at once.
set -euo pipefail
NAME=${1:?usage: test_venv.sh grpc|deploy}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV="$ROOT/.venv-$NAME"
REQ="$ROOT/tools/${NAME}_py/requirements.txt"
STAMP="$VENV/.requirements.sha256"
PYTHON=${PYTHON:-python3}
[ -f "$REQ" ] || { echo "test_venv: no $REQ" >&2; exit 1; }
IMPORTS=$(sed -n 's/^# import-check: //p' "$REQ")

want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] &&
   "$VENV/bin/python" -c "import $IMPORTS" >/dev/null 2>&1; then
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  printf '== test_venv: creating %s\n' "$VENV"
  "$PYTHON" -m venv "$VENV"
fi
printf '== test_venv: installing %s\n' "$REQ"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
"$VENV/bin/python" -c "import $IMPORTS"
echo "$want" > "$STAMP"
printf '== test_venv: ready (%s)\n' "$VENV"
