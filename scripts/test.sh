#!/usr/bin/env bash
# scripts/test.sh — README command 2: sets up, builds and runs every test and check.
#   style (clang-format), layering (no upward include), a build with warnings as errors
#   (-DODLM_WERROR=ON), unit + integration tests (ctest),
#   bounded fuzzing runs of the GGUF reader and the frontends' parsers (request bodies, keys file,
#   CoDi graphs, eval files; ASan+UBSan), and the kernel tests cross-built for AArch64 under qemu.
#   It ends by printing which SIMD kernel variants the tests ran on this CPU and which compiled
#   ones they could not (kernels/variants.h; those are also a skipped test in ctest's summary).
#
# Stopping it (Ctrl-C, or SIGTERM/SIGHUP to this script) stops the stage that is running and
# everything it started: each stage runs in its own process group, which the trap below ends.
# (A stage's own handling of Ctrl-C is not relied on: a test under qemu, for one, reports a
# signal of its own and its script would go on to the next test.)
set -euo pipefail
cd "$(dirname "$0")/.."

set -m  # job control: every stage started below gets its own process group
current=0
stop() {
  trap - INT TERM HUP
  if ((current > 0)); then
    echo "test.sh: stopping the running stage (process group $current)" >&2
    kill -TERM -- "-$current" 2>/dev/null || true
    wait "$current" 2>/dev/null || true
  fi
  echo "test.sh: stopped" >&2
  exit 130
}
trap stop INT TERM HUP
# stage CMD ARGS…: runs one stage in its own process group and returns its exit status.
stage() {
  "$@" &
  current=$!
  local rc=0
  wait "$current" || rc=$?
  current=0
  return "$rc"
}

# In the foreground: package installation may ask for a sudo password.
bash scripts/setup.sh
stage bash scripts/check_format.sh
stage python3 scripts/check_layers.py
stage bash scripts/build.sh -DODLM_WERROR=ON  # a warning in our own code fails the test command
stage bash scripts/fuzz.sh "${ODLM_FUZZ_SECONDS:-60}"
# The NEON kernels: cross-built for AArch64, tests under qemu-user (two emulated cores).
stage bash scripts/test_aarch64.sh
# The official OpenAI Node SDK for the server's end-to-end test (tests/server_node_test.cc).
stage bash -c 'cd tests/node && npm ci --no-audit --no-fund --loglevel=error'
# shellcheck disable=SC2016  # expanded by the stage's own shell
stage bash -c 'cd "${ODLM_BUILD_DIR:-build}" && ctest --output-on-failure -j "$(nproc)" --timeout 600'
# shellcheck disable=SC2016  # expanded by the stage's own shell
stage bash -c '"${ODLM_BUILD_DIR:-build}"/src/kernels/kernels_variants_test \
  --gtest_filter=KernelVariants.EveryCompiledVariantRunsOnThisCpu | grep "^kernel variants"'
