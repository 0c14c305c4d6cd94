#!/usr/bin/env bash
# Creates (or updates) the torchcrepe reference environment .venv-peers at the repository root
# from tools/peers/requirements.txt. Usage: tools/peers/setup_env.sh [python interpreter]
# Environment: PEERS_VENV overrides the environment's location.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${1:-python3}"
venv="${PEERS_VENV:-${root}/.venv-peers}"

if [[ ! -x "${venv}/bin/python" ]]; then
  "${python}" -m venv "${venv}"
fi
"${venv}/bin/python" -m pip install --quiet -r "${root}/tools/peers/requirements.txt"
"${venv}/bin/python" - <<'PY'
import torch, torchcrepe, librosa, resampy
print(f"peers environment ready: torch {torch.__version__}, librosa {librosa.__version__}, "
      f"resampy {resampy.__version__}, torchcrepe at {torchcrepe.__file__}")
PY
