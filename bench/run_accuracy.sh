#!/usr/bin/env bash
# Accuracy evidence: every CREPE capacity and decoder of ours, the original CREPE (TensorFlow) and
# torchcrepe scored on pitch-annotated audio, plus each configuration's speed on this machine.
#
#   bench/run_accuracy.sh                          # ../shared/eval/public, report in bench/results/
#   bench/run_accuracy.sh --data /my/datasets      # any folder in that layout; see --help
#
# Sets up what it needs first (each step skips what is in place): the project build
# (tools/setup.sh), the original CREPE's TensorFlow environment .venv-tf
# (tools/goldens/setup_env.sh) and the torchcrepe environment .venv-peers, which also runs the
# harness (tools/peers/setup_env.sh). Estimates are kept in build/accuracy/ (a rerun resumes).
# A full run of ../shared/eval/public (10 min of audio) takes about 1.5 h on 2 CPU cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

for arg in "$@"; do
  if [[ "$arg" == "-h" || "$arg" == "--help" ]]; then
    if [[ -x .venv-peers/bin/python ]]; then exec .venv-peers/bin/python bench/accuracy/run_accuracy.py --help; fi
    sed -n '2,12p' "$0"
    exit 0
  fi
done

[[ -x build/predict/crepe-predict ]] || bash tools/setup.sh
[[ -x .venv-tf/bin/python && -f .venv-tf/src/crepe-0.0.16/crepe/core.py ]] &&
  .venv-tf/bin/python -c 'import soundfile, tensorflow' 2>/dev/null || bash tools/goldens/setup_env.sh
.venv-peers/bin/python -c 'import torchcrepe, matplotlib, soundfile' 2>/dev/null || bash tools/peers/setup_env.sh

quoted="bench/run_accuracy.sh"
for arg in "$@"; do quoted+=" $(printf '%q' "$arg")"; done
exec .venv-peers/bin/python bench/accuracy/run_accuracy.py --command "$quoted" "$@"
