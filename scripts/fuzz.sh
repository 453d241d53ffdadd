#!/usr/bin/env bash
# scripts/fuzz.sh SECONDS — builds the libFuzzer targets with clang into build-fuzz/ and runs each
# for SECONDS on its seed corpus (fuzz/corpus/<target>). Fails on any crash, leak or timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
[ -f fuzz/CMakeLists.txt ] || { echo "fuzz: no targets"; exit 0; }
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release -DODLM_FUZZ=ON \
    -DODLM_BUILD_TESTS=OFF -DODLM_BUILD_BENCHMARKS=OFF -DODLM_BUILD_FRONTENDS=OFF >/dev/null
fi
cmake --build build-fuzz -j "$(nproc)" >/dev/null
for bin in build-fuzz/fuzz/*_fuzzer; do
  name=$(basename "$bin")
  corpus_seed="fuzz/corpus/${name%_fuzzer}"
  work=$(mktemp -d)
  log="build-fuzz/${name}.log"
  "$bin" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/ "$work" "$corpus_seed" >"$log" 2>&1 || {
    tail -40 "$log"; echo "fuzz: $name FAILED (log $log)"; exit 1; }
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  echo "fuzz: $name ran ${SECONDS_EACH}s, $runs inputs, no crash"
  rm -rf "$work"
done
