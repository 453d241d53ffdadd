#!/usr/bin/env bash
# scripts/check_format.sh — fails if any C++ file differs from clang-format's output (.clang-format).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files -co --exclude-standard '*.cc' '*.h')
[ -z "$files" ] && exit 0
if ! clang-format --dry-run --Werror $files; then
  echo "check_format: run 'clang-format -i' on the files above" >&2
  exit 1
fi
echo "check_format: $(echo "$files" | wc -l) files clean"
