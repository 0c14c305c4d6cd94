#!/usr/bin/env bash
# Formats the project's C++ with clang-format (.clang-format at the root). --check only reports.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=(-i)
[ "${1:-}" = "--check" ] && mode=(--dry-run -Werror)
# Tracked and new (not ignored) files that exist in the working tree.
git ls-files --cached --others --exclude-standard '*.cpp' '*.h' | sort -u |
  while read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done | xargs clang-format "${mode[@]}"
