#!/usr/bin/env bash
# Create the Python environment used by tools/goldens/generate.py at <repo>/.venv-tf,
# and unpack the marl/crepe 0.0.16 sources (used only for their decoder / pipeline
# functions) into .venv-tf/src/crepe-0.0.16. Nothing is written into the tracked tree.
#
# Usage: tools/goldens/setup_env.sh            # top-level pins (requirements.txt)
#        tools/goldens/setup_env.sh --locked   # exact pip freeze (requirements.lock.txt)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv-tf"
py="${PYTHON:-python3}"
req="$here/requirements.txt"
if [[ "${1:-}" == "--locked" ]]; then req="$here/requirements.lock.txt"; fi

if [[ ! -x "$venv/bin/python" ]]; then
  "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip==24.3.1
"$venv/bin/python" -m pip install -r "$req"

# marl/crepe 0.0.16 is sdist-only and its setup.py downloads the weights from GitHub,
# so `pip install crepe` fails offline. `pip download --no-clean` still leaves the
# unpacked sdist behind after the (expected) metadata failure; take the sources from it
# without running anything from it.
src="$venv/src/crepe-0.0.16"
core_sha=975e78914afa852803c0629d048deaebeebe8162686d2f0aefc965726f117931
if [[ ! -f "$src/crepe/core.py" ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/dl"
  TMPDIR="$tmp" "$venv/bin/python" -m pip download --no-clean --no-deps --no-binary :all: \
      crepe==0.0.16 -d "$tmp/dl" >"$tmp/pip.log" 2>&1 || true
  core="$(find "$tmp" -path '*/crepe/core.py' -print -quit)"
  if [[ -z "$core" ]]; then
    echo "could not fetch the crepe==0.0.16 sdist; see log:" >&2; cat "$tmp/pip.log" >&2; exit 1
  fi
  pkg="$(dirname "$(dirname "$core")")"
  mkdir -p "$src/crepe"
  cp "$pkg"/crepe/*.py "$src/crepe/"
  cp "$pkg/LICENSE" "$pkg/PKG-INFO" "$src/" 2>/dev/null || true
fi
echo "$core_sha  $src/crepe/core.py" | sha256sum -c -

"$venv/bin/python" -c "import tensorflow as tf, keras, numpy, h5py, scipy, hmmlearn, resampy; print('tf', tf.__version__, 'keras', keras.__version__, 'numpy', numpy.__version__, 'hmmlearn', hmmlearn.__version__, 'resampy', resampy.__version__)" 2>&1 | grep -v -e '^WARNING: All log' -e 'oneDNN' -e 'cpu_feature_guard' -e 'To enable the following'
