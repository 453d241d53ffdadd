#!/usr/bin/env bash
# scripts/fuzz.sh SECONDS — builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/
# and runs each on its seed corpus (fuzz/corpus/<target>). Fails on any crash, leak or timeout.
#
# gguf_reader_fuzzer (the core's file reader) runs SECONDS (default 60); the frontends' readers —
# request_parser, keys_file, codi_graph, eval_reader — run ODLM_FUZZ_PARSER_SECONDS each (default
# 12, at most SECONDS), so that the test command stays short. Those fuzzers compile the readers'
# own sources (fuzz/CMakeLists.txt), so the frontends themselves are not built here.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
PARSER_SECONDS=${ODLM_FUZZ_PARSER_SECONDS:-12}
((PARSER_SECONDS > SECONDS_EACH)) && PARSER_SECONDS=$SECONDS_EACH
[ -f fuzz/CMakeLists.txt ] || { echo "fuzz: no targets"; exit 0; }
# Configured every time (cheap), so that a build-fuzz/ from before a change of settings follows it.
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release -DODLM_FUZZ=ON \
  -DODLM_BUILD_TESTS=OFF -DODLM_BUILD_BENCHMARKS=OFF -DODLM_BUILD_FRONTENDS=OFF \
  -DODLM_SKIP_LAYERS= >/dev/null
targets=()
for src in fuzz/*_fuzzer.cc; do targets+=("$(basename "$src" .cc)"); done
# The build's output is kept in a log and shown when it fails (a link error would otherwise be silent).
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]}" >build-fuzz/build.log 2>&1 || {
  grep -v '^\[' build-fuzz/build.log | tail -40; echo "fuzz: building the fuzzers FAILED (log build-fuzz/build.log)"; exit 1; }
for name in "${targets[@]}"; do
  bin="build-fuzz/fuzz/$name"
  seconds=$PARSER_SECONDS
  [ "$name" = gguf_reader_fuzzer ] && seconds=$SECONDS_EACH
  corpus_seed="fuzz/corpus/${name%_fuzzer}"
  work=$(mktemp -d)
  log="build-fuzz/${name}.log"
  "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/ "$work" "$corpus_seed" >"$log" 2>&1 || {
    tail -40 "$log"; echo "fuzz: $name FAILED (log $log)"; exit 1; }
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  echo "fuzz: $name ran ${seconds}s, $runs inputs, no crash"
  rm -rf "$work"
done
