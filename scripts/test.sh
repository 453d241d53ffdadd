#!/usr/bin/env bash
# scripts/test.sh — README command 2: sets up, builds and runs every test and check.
#   style (clang-format), layering (no upward include), unit + integration tests (ctest),
#   a bounded fuzzing run of the GGUF reader, and the kernel tests cross-built for AArch64 under
#   qemu.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/check_format.sh
python3 scripts/check_layers.py
bash scripts/build.sh
bash scripts/fuzz.sh "${ODLM_FUZZ_SECONDS:-60}"
# The NEON kernels: cross-built for AArch64, tests under qemu-user (two emulated cores).
bash scripts/test_aarch64.sh
# The official OpenAI Node SDK for the server's end-to-end test (tests/server_node_test.cc).
(cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
cd "${ODLM_BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --timeout 600
