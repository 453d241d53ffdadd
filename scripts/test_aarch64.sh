#!/usr/bin/env bash
# scripts/test_aarch64.sh — cross-builds the kernel layers (base, platform, tensor, kernels) for
# AArch64 and runs their tests under qemu-user, on two emulated cores: cortex-a53 (Advanced SIMD
# without the dot product: the "neon" variants) and max (with it: "neon_dotprod"), each also with
# ODLM_CPU capping the variant choice. Correctness only: qemu timings mean nothing.
# Needs g++-aarch64-linux-gnu and qemu-user (scripts/setup.sh). Build dir: $ODLM_AARCH64_BUILD_DIR
# (default build-aarch64).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ODLM_AARCH64_BUILD_DIR:-build-aarch64}
SYSROOT=/usr/aarch64-linux-gnu
TESTS=(base_test platform_test tensor_test kernels_quant_test kernels_vec_ops_test
       kernels_matmul_test)

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  launcher=()
  if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  fi
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake \
    -DODLM_BUILD_FRONTENDS=OFF -DODLM_BUILD_BENCHMARKS=OFF \
    -DODLM_SKIP_LAYERS="gguf;tokenizer;sample;model;adapters;kv;engine" "${launcher[@]}"
fi
cmake --build "$BUILD_DIR" -j "$(nproc)" --target "${TESTS[@]}"

# cpu model : ODLM_CPU cap : the MatMul variant the run must pick for Q4_0.
RUNS=("cortex-a53::neon" "cortex-a53:scalar:ref" "max::neon_dotprod" "max:neon:neon"
      "max:scalar:ref")
failed=0
for run in "${RUNS[@]}"; do
  IFS=: read -r cpu cap want <<<"$run"
  for t in "${TESTS[@]}"; do
    # Only the kernel tests depend on the variant; the others run once per core model.
    if [[ -n "$cap" && "$t" != kernels_* ]]; then continue; fi
    log="$BUILD_DIR/qemu_${cpu}_${cap:-auto}_$t.log"
    bin=$(find "$BUILD_DIR/src" -type f -name "$t" | head -n 1)
    if ODLM_CPU="$cap" qemu-aarch64 -cpu "$cpu" -L "$SYSROOT" "$bin" >"$log" 2>&1; then
      echo "aarch64 [$cpu ${cap:-auto}] $t: $(grep -E '^\[  PASSED  \]' "$log")"
    else
      echo "aarch64 [$cpu ${cap:-auto}] $t: FAILED (log: $log)"
      tail -n 30 "$log"
      failed=1
    fi
    if [[ "$t" == kernels_matmul_test ]] && ! grep -q "q4_0  runnable: .*(MatMul uses $want)" "$log"; then
      echo "aarch64 [$cpu ${cap:-auto}]: expected MatMul to use $want for Q4_0"
      grep "runnable" "$log" || true
      failed=1
    fi
  done
done
exit $failed
