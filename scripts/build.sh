#!/usr/bin/env bash
# scripts/build.sh — configures and builds odlm (Release) into build/. Extra args go to cmake's
# configure step (an existing build tree is re-configured with them); ODLM_BUILD_TARGETS="a b"
# builds only those targets (default: everything).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ODLM_BUILD_DIR:-build}
# Configure a new build tree, or re-configure an existing one when options are given.
if [ ! -f "$BUILD_DIR/build.ninja" ] || [ $# -gt 0 ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
fi
targets=()
for t in ${ODLM_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j "$(nproc)" "${targets[@]}"
