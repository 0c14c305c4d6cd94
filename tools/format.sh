#!/usr/bin/env bash
# Formats the project's C++ with clang-format (.clang-format at the root). --check only reports.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=(-i)
[ "${1:-}" = "--check" ] && mode=(--dry-run -Werror)
git ls-files '*.cpp' '*.h' | xargs clang-format "${mode[@]}"
