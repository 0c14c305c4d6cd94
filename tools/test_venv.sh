#!/usr/bin/env bash
# Creates (or updates) a test-only Python environment at the repository root:
#   tools/test_venv.sh grpc     .venv-grpc    tools/grpc_py/requirements.txt   (a gRPC client not ours)
#   tools/test_venv.sh deploy   .venv-deploy  tools/deploy_py/requirements.txt (manifest validators, compose)
#   tools/test_venv.sh torchcrepe .venv-torchcrepe tools/torchcrepe_py/requirements.txt (torchcrepe itself)
# The requirements file's `# import-check:` line names what must import afterwards; a `# base-venv: DIR`
# line layers the environment over DIR's site-packages (a .pth file), so that torch is not installed twice.
# A `# wheelhouse:` line names requirements downloaded as wheels into $VENV/wheelhouse, for tests that
# install into a fresh environment without the network.
# Idempotent: when the environment already holds exactly the pinned versions it returns at once.
set -euo pipefail
NAME=${1:?usage: test_venv.sh grpc|deploy|torchcrepe}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV="$ROOT/.venv-$NAME"
REQ="$ROOT/tools/${NAME}_py/requirements.txt"
STAMP="$VENV/.requirements.sha256"
PYTHON=${PYTHON:-python3}
[ -f "$REQ" ] || { echo "test_venv: no $REQ" >&2; exit 1; }
IMPORTS=$(sed -n 's/^# import-check: //p' "$REQ")
BASE=$(sed -n 's/^# base-venv: //p' "$REQ")
WHEELHOUSE=$(sed -n 's/^# wheelhouse: //p' "$REQ")

want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] &&
   "$VENV/bin/python" -c "import $IMPORTS" >/dev/null 2>&1; then
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  printf '== test_venv: creating %s\n' "$VENV"
  "$PYTHON" -m venv "$VENV"
fi
if [ -n "$BASE" ]; then
  [ -x "$ROOT/$BASE/bin/python" ] || { echo "test_venv: $NAME needs $ROOT/$BASE (tools/setup.sh makes it)" >&2; exit 1; }
  site() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
  site "$ROOT/$BASE/bin/python" > "$(site "$VENV/bin/python")/_crepe_base_venv.pth"
fi
printf '== test_venv: installing %s\n' "$REQ"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"
"$VENV/bin/python" -c "import $IMPORTS"
if [ -n "$WHEELHOUSE" ]; then
  # shellcheck disable=SC2086 # a list of requirement specifiers
  "$VENV/bin/python" -m pip download -q --disable-pip-version-check --only-binary=:all: -d "$VENV/wheelhouse" $WHEELHOUSE
fi
echo "$want" > "$STAMP"
printf '== test_venv: ready (%s)\n' "$VENV"
