#!/usr/bin/env bash
# scripts/setup.sh — installs every system package odlm needs, from Debian 12 (bookworm).
# Non-interactive, idempotent: re-running when everything is present does nothing.
set -euo pipefail

PACKAGES=(
  # toolchain and build
  build-essential g++ cmake ninja-build pkg-config git
  # tests, benchmarks, fuzzing, style
  libgtest-dev libgmock-dev libbenchmark-dev clang clang-format libclang-rt-14-dev
  # frontends: JSON, HTTP, CLI parsing, SQLite, PCRE2
  nlohmann-json3-dev libcpp-httplib-dev libcli11-dev libsqlite3-dev libpcre2-dev libssl-dev
  # CoDi graph files in YAML
  libyaml-cpp-dev
  # Unicode Character Database (the tokenizer's table generator reads it)
  unicode-data
  # scripts
  python3 procps
  # AArch64 cross build of the kernels, tests run under qemu (scripts/test_aarch64.sh)
  g++-aarch64-linux-gnu qemu-user
)
# Node.js and npm for the OpenAI SDK client test: Debian's packages unless a Node.js is already
# installed some other way (e.g. a nodesource build, which bundles npm and conflicts with Debian's).
if ! command -v node >/dev/null 2>&1; then PACKAGES+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(npm); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
