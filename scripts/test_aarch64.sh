#!/usr/bin/env bash
# scripts/test_aarch64.sh — cross-builds the kernel layers (base, platform, tensor, kernels) for
# AArch64 and runs their tests under qemu-user, on two emulated cores: cortex-a53 (Advanced SIMD
# without the dot product: the "neon" variants) and max (with it: "neon_dotprod"), the kernel
# tests also with ODLM_CPU capping the variant choice. Correctness only: qemu timings mean nothing.
#
# ODLM_AARCH64_MODEL_TEST=1 also builds the model layers and runs tests/model_reference_test (the
# forward pass against reference logits, ../shared/testdata) on both cores: ~4 more minutes of
# cross-compiling on 2 cores, then ~40 s per core under qemu.
# Needs g++-aarch64-linux-gnu and qemu-user (scripts/setup.sh). Build dir: $ODLM_AARCH64_BUILD_DIR
# (default build-aarch64).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ODLM_AARCH64_BUILD_DIR:-build-aarch64}
SYSROOT=/usr/aarch64-linux-gnu
TESTS=(base_test platform_test tensor_test kernels_quant_test kernels_vec_ops_test
       kernels_matmul_test kernels_matmul_float_test kernels_transpose_quantize_test
       kernels_variants_test)
MODEL_TESTS=()
if [[ "${ODLM_AARCH64_MODEL_TEST:-0}" == 1 ]]; then MODEL_TESTS=(model_reference_test); fi

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  launcher=()
  if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  fi
  # The whole core is configured; only the targets named below are built.
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake \
    -DODLM_BUILD_FRONTENDS=OFF -DODLM_BUILD_BENCHMARKS=OFF "${launcher[@]}"
fi
cmake --build "$BUILD_DIR" -j "$(nproc)" --target "${TESTS[@]}" "${MODEL_TESTS[@]}"

failed=0
# Phones build with clang (Android NDK): the NEON files must compile with it too.
if command -v clang++ >/dev/null 2>&1; then
  clang_ok=1
  for f in src/kernels/arm/matmul_neon.cc src/kernels/arm/vec_ops_neon.cc \
           "src/kernels/arm/matmul_dotprod.cc -march=armv8.2-a+dotprod"; do
    # shellcheck disable=SC2086  # $f carries the file's own flags
    if ! clang++ --target=aarch64-linux-gnu -isystem "$SYSROOT/include" -std=c++20 -O2 -Wall \
        -Wextra -Werror -Wno-unused-parameter -Isrc -fsyntax-only $f; then
      echo "aarch64 clang: $f does not compile"
      clang_ok=0
      failed=1
    fi
  done
  if [[ $clang_ok == 1 ]]; then echo "aarch64 clang: NEON kernels compile"; fi
fi
# run CPU CAP TEST: runs one test binary under qemu on core model CPU with ODLM_CPU=CAP.
run() {
  local cpu=$1 cap=$2 t=$3
  local log="$BUILD_DIR/qemu_${cpu}_${cap:-auto}_$t.log"
  local bin
  bin=$(find "$BUILD_DIR/src" "$BUILD_DIR/tests" -type f -name "$t" 2>/dev/null | head -n 1)
  if ODLM_CPU="$cap" qemu-aarch64 -cpu "$cpu" -L "$SYSROOT" "$bin" >"$log" 2>&1; then
    echo "aarch64 [$cpu ${cap:-auto}] $t: $(grep -E '^\[  (PASSED|SKIPPED) ' "$log" | tr '\n' ' ')"
  else
    echo "aarch64 [$cpu ${cap:-auto}] $t: FAILED (log: $log)"
    tail -n 30 "$log"
    failed=1
  fi
}

# cpu model : ODLM_CPU cap : the MatMul variant the run must pick for Q4_0.
RUNS=("cortex-a53::neon" "cortex-a53:scalar:ref" "max::neon_dotprod" "max:neon:neon"
      "max:scalar:ref")
for spec in "${RUNS[@]}"; do
  IFS=: read -r cpu cap want <<<"$spec"
  for t in "${TESTS[@]}"; do
    # Only the kernel tests depend on the variant; the others run once per core model.
    if [[ -n "$cap" && "$t" != kernels_* ]]; then continue; fi
    run "$cpu" "$cap" "$t"
  done
  log="$BUILD_DIR/qemu_${cpu}_${cap:-auto}_kernels_matmul_test.log"
  if ! grep -q "q4_0  runnable: .*(MatMul uses $want)" "$log"; then
    echo "aarch64 [$cpu ${cap:-auto}]: expected MatMul to use $want for Q4_0"
    grep "runnable" "$log" || true
    failed=1
  fi
done
for t in "${MODEL_TESTS[@]}"; do
  run cortex-a53 "" "$t"
  run max "" "$t"
done
exit $failed
