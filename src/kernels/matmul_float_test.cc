// kernels/matmul_float_test.cc — MatMulFloat, MatMulTransposed and AccumulateOuter: every variant
// this CPU can run (reference, AVX2, AVX-512; on AVX2-only machines also the AVX-512 variant's
// blocking emulated with AVX2) against float64 math on the dequantized weights, for every weight
// block type, odd shapes and accumulate on/off; exact dequantization; and bit-identical results
// across pool sizes, repeated calls and arbitrary splits of the output into rectangles.
//
// Tolerance: each output element is a chain of n f32 multiply-adds (n = the contraction length)
// onto 0 or an old value, and the inputs (decoded weights, x, dy) are exact f32 numbers. Whatever
// the order, fused or not, such a chain is within γ(n+1)·Σ|terms| of the exact sum, where
// γ(n) = n·u / (1 − n·u) and u = 2⁻²⁴ (Higham, Accuracy and Stability of Numerical Algorithms,
// §3.1; the old value counts as one more term). kSlack = 1.0 uses that bound as it stands: it
// cannot fail for a correct variant, and a wrong index, a dropped or doubled term or a stale
// accumulator moves an element by about one term, ~Σ|terms|/n, far above it.
#include "kernels/matmul_float.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/matmul_float_ops.h"
#include "kernels/quant.h"

namespace odlm::kernels::internal {

const MatMulFloatOps* Avx512EmuFloatOps();  // x86/matmul_float_avx512_emu.cc

namespace {

constexpr double kUnitRoundoff = 1.0 / (1 << 24);
constexpr double kSlack = 1.0;

// Relative tolerance for a chain of n products onto an old value.
double ChainTolerance(int64_t n) {
  const double nu = static_cast<double>(n + 1) * kUnitRoundoff;
  return kSlack * nu / (1.0 - nu);
}

// The weight block types (CanDequantize, less the activation-only Q8_1 and Q8_K).
constexpr DType kTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0, DType::kQ4_0,
                            DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ2_K, DType::kQ3_K,
                            DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

// The variant MatMulFloat picks: the last runnable one.
const MatMulFloatOps& Best() {
  const MatMulFloatOps* ops[3];
  return *ops[RunnableFloatOps(ops) - 1];
}

// Every runnable variant, plus the AVX-512 variant's blocking emulated on AVX2
// (x86/matmul_float_avx512_emu.cc) where AVX2 runs and AVX-512 itself does not.
std::vector<const MatMulFloatOps*> Variants() {
  const MatMulFloatOps* ops[3];
  const int n = RunnableFloatOps(ops);
  std::vector<const MatMulFloatOps*> v(ops, ops + n);
  const bool avx2 = v.size() > 1, avx512 = v.size() > 2;
  if (avx2 && !avx512 && Avx512EmuFloatOps() != nullptr) v.push_back(Avx512EmuFloatOps());
  return v;
}

std::vector<float> RandomFloats(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& f : v) f = dist(rng);
  return v;
}

// A weight matrix in `type` with rows `pad` bytes longer than needed (strides must be honoured).
struct Weights {
  std::vector<uint8_t> bytes;  // [rows, row_bytes]
  std::vector<float> deq;      // [rows, cols] decoded
  WeightMatrix m;
};

Weights MakeWeights(DType type, int64_t rows, int64_t cols, int64_t pad, std::mt19937& rng) {
  Weights w;
  const int64_t rb = RowBytes(type, cols) + pad;
  w.bytes.assign(rows * rb + 1, 0);
  w.deq.resize(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<float> row = RandomFloats(cols, rng);
    QuantizeRow(type, row.data(), w.bytes.data() + r * rb, cols);
    DequantizeRow(type, w.bytes.data() + r * rb, w.deq.data() + r * cols, cols);
  }
  w.m = WeightMatrix{type, w.bytes.data(), rows, cols, rb};
  return w;
}

// Checks got against Σ_k a(k)·b(k) (+ old) in float64.
struct Checker {
  std::string what;
  int64_t n;  // chain length
  int failures = 0;
  void Check(float got, double exact, double abs_sum, int64_t row, int64_t col) {
    const double tol = ChainTolerance(n) * abs_sum;
    if (std::abs(got - exact) <= tol) return;
    if (++failures <= 5) {
      ADD_FAILURE() << what << " [" << row << "][" << col << "]: got " << got << ", exact " << exact
                    << ", |err| " << std::abs(got - exact) << " > tol " << tol;
    }
  }
};

void CheckForward(const MatMulFloatOps& ops, DType type, int64_t n_tokens, int64_t rows,
                  int64_t cols, ThreadPool* pool, uint32_t seed) {
  std::mt19937 rng(seed);
  const Weights w = MakeWeights(type, rows, cols, seed % 3 == 0 ? 4 : 0, rng);
  const std::vector<float> x = RandomFloats(n_tokens * cols, rng);
  std::vector<float> y(n_tokens * rows, NAN);
  MatMulFloatWithOps(ops, w.m, x.data(), n_tokens, y.data(), pool);
  Checker c{std::string(ops.variant) + " MatMulFloat " + std::string(DTypeName(type)) + " T=" +
                std::to_string(n_tokens) + " " + std::to_string(rows) + "x" + std::to_string(cols),
            cols};
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      double e = 0, a = 0;
      for (int64_t i = 0; i < cols; ++i) {
        const double p = static_cast<double>(w.deq[r * cols + i]) * x[t * cols + i];
        e += p;
        a += std::abs(p);
      }
      c.Check(y[t * rows + r], e, a, t, r);
    }
  }
}

void CheckTransposed(const MatMulFloatOps& ops, DType type, int64_t n_tokens, int64_t rows,
                     int64_t cols, bool accumulate, ThreadPool* pool, uint32_t seed) {
  std::mt19937 rng(seed);
  const Weights w = MakeWeights(type, rows, cols, seed % 3 == 1 ? 2 : 0, rng);
  const std::vector<float> dy = RandomFloats(n_tokens * rows, rng);
  const std::vector<float> old = RandomFloats(n_tokens * cols, rng);
  std::vector<float> dx = accumulate ? old : std::vector<float>(n_tokens * cols, NAN);
  MatMulTransposedWithOps(ops, w.m, dy.data(), n_tokens, dx.data(), accumulate, pool);
  Checker c{std::string(ops.variant) + " MatMulTransposed " + std::string(DTypeName(type)) +
                " T=" + std::to_string(n_tokens) + " " + std::to_string(rows) + "x" +
                std::to_string(cols) + (accumulate ? " accumulate" : ""),
            rows};
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t i = 0; i < cols; ++i) {
      double e = accumulate ? old[t * cols + i] : 0.0;
      double a = std::abs(e);
      for (int64_t o = 0; o < rows; ++o) {
        const double p = static_cast<double>(w.deq[o * cols + i]) * dy[t * rows + o];
        e += p;
        a += std::abs(p);
      }
      c.Check(dx[t * cols + i], e, a, t, i);
    }
  }
}

void CheckOuter(const MatMulFloatOps& ops, int64_t n_tokens, int64_t n_out, int64_t n_in,
                ThreadPool* pool, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<float> dy = RandomFloats(n_tokens * n_out, rng);
  const std::vector<float> x = RandomFloats(n_tokens * n_in, rng);
  const std::vector<float> old = RandomFloats(n_out * n_in, rng);
  std::vector<float> dw = old;
  AccumulateOuterWithOps(ops, dy.data(), n_out, x.data(), n_in, n_tokens, dw.data(), pool);
  Checker c{std::string(ops.variant) + " AccumulateOuter T=" + std::to_string(n_tokens) + " " +
                std::to_string(n_out) + "x" + std::to_string(n_in),
            n_tokens};
  for (int64_t o = 0; o < n_out; ++o) {
    for (int64_t i = 0; i < n_in; ++i) {
      double e = old[o * n_in + i], a = std::abs(e);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const double p = static_cast<double>(dy[t * n_out + o]) * x[t * n_in + i];
        e += p;
        a += std::abs(p);
      }
      c.Check(dw[o * n_in + i], e, a, o, i);
    }
  }
}

// Column counts per type: block multiples, and for float types widths that are not multiples of
// 16 (partial register panels); the largest crosses a packed-block boundary.
std::vector<int64_t> ColsFor(DType type) {
  const int64_t bs = GetDTypeInfo(type).block_size;
  if (bs == 1) return {1, 8, 37, 300};
  if (bs == 32) return {32, 96, 288};
  return {256, 512};
}

TEST(MatMulFloatTest, ReportsVariants) {
  std::string names;
  for (const MatMulFloatOps* ops : Variants()) names += std::string(ops->variant) + " ";
  std::printf("  matmul_float variants tested: %s(MatMulFloat uses %s)\n", names.c_str(),
              std::string(MatMulFloatVariant()).c_str());
  EXPECT_EQ(MatMulFloatVariant(), Best().variant);
}

TEST(MatMulFloatTest, ForwardEveryTypeAndVariant) {
  ThreadPool pool(3);
  uint32_t seed = 1;
  for (const MatMulFloatOps* ops : Variants()) {
    for (DType type : kTypes) {
      for (int64_t cols : ColsFor(type)) {
        for (int64_t n_tokens : {1, 3, 17}) {
          for (int64_t rows : {1, 8, 37}) {
            CheckForward(*ops, type, n_tokens, rows, cols, seed % 2 ? &pool : nullptr, seed);
            ++seed;
          }
        }
      }
      // Several packed blocks of rows (kNB = 128) and of the contraction (kKC = 256).
      CheckForward(*ops, type, 9, 300, ColsFor(type).back(), &pool, seed++);
    }
  }
}

TEST(MatMulFloatTest, TransposedEveryTypeAndVariant) {
  ThreadPool pool(3);
  uint32_t seed = 1000;
  for (const MatMulFloatOps* ops : Variants()) {
    for (DType type : kTypes) {
      for (bool accumulate : {false, true}) {
        for (int64_t cols : ColsFor(type)) {
          for (int64_t n_tokens : {1, 3, 17}) {
            for (int64_t rows : {1, 8, 37}) {
              CheckTransposed(*ops, type, n_tokens, rows, cols, accumulate,
                              seed % 2 ? &pool : nullptr, seed);
              ++seed;
            }
          }
        }
        // Several packed blocks of the contraction (rows) and of the columns.
        CheckTransposed(*ops, type, 5, 300, ColsFor(type).back(), accumulate, &pool, seed++);
      }
    }
  }
}

// With one-hot activations every product is the decoded weight itself (1·w plus zeros is exact),
// so y and dx show each variant's dequantization, which must equal DequantizeRow's (== also
// equates the two zeros: -0 + +0 is +0).
TEST(MatMulFloatTest, DequantizesExactly) {
  for (const MatMulFloatOps* ops : Variants()) {
    for (DType type : kTypes) {
      std::mt19937 rng(static_cast<uint32_t>(type) + 77);
      const int64_t rows = 19, cols = ColsFor(type)[GetDTypeInfo(type).block_size == 1 ? 2 : 1];
      const Weights w = MakeWeights(type, rows, cols, 0, rng);
      std::vector<float> x(cols * cols, 0.0f);  // identity: token t is e_t
      for (int64_t t = 0; t < cols; ++t) x[t * cols + t] = 1.0f;
      std::vector<float> y(cols * rows);
      MatMulFloatWithOps(*ops, w.m, x.data(), cols, y.data(), nullptr);
      int bad = 0;
      for (int64_t t = 0; t < cols && bad < 5; ++t) {
        for (int64_t r = 0; r < rows; ++r) {
          if (y[t * rows + r] != w.deq[r * cols + t] && ++bad <= 5) {
            ADD_FAILURE() << ops->variant << " " << DTypeName(type) << " MatMulFloat W[" << r
                          << "][" << t << "] = " << w.deq[r * cols + t] << ", got "
                          << y[t * rows + r];
          }
        }
      }
      std::vector<float> dy(rows * rows, 0.0f);  // token t is e_t
      for (int64_t t = 0; t < rows; ++t) dy[t * rows + t] = 1.0f;
      std::vector<float> dx(rows * cols);
      MatMulTransposedWithOps(*ops, w.m, dy.data(), rows, dx.data(), false, nullptr);
      for (int64_t t = 0; t < rows && bad < 5; ++t) {
        for (int64_t c = 0; c < cols; ++c) {
          if (dx[t * cols + c] != w.deq[t * cols + c] && ++bad <= 5) {
            ADD_FAILURE() << ops->variant << " " << DTypeName(type) << " MatMulTransposed W[" << t
                          << "][" << c << "] = " << w.deq[t * cols + c] << ", got "
                          << dx[t * cols + c];
          }
        }
      }
    }
  }
}

TEST(MatMulFloatTest, TransposedWithoutRowsZeroesOrKeeps) {
  const std::vector<uint8_t> none(1);
  const WeightMatrix w{DType::kQ4_0, none.data(), 0, 64, RowBytes(DType::kQ4_0, 64)};
  for (const MatMulFloatOps* ops : Variants()) {
    std::vector<float> dx(3 * 64, 5.0f);
    MatMulTransposedWithOps(*ops, w, nullptr, 3, dx.data(), /*accumulate=*/true, nullptr);
    EXPECT_EQ(dx, std::vector<float>(3 * 64, 5.0f)) << ops->variant;
    MatMulTransposedWithOps(*ops, w, nullptr, 3, dx.data(), /*accumulate=*/false, nullptr);
    EXPECT_EQ(dx, std::vector<float>(3 * 64, 0.0f)) << ops->variant;
  }
}

TEST(MatMulFloatTest, OuterEveryVariant) {
  ThreadPool pool(3);
  uint32_t seed = 5000;
  for (const MatMulFloatOps* ops : Variants()) {
    for (int64_t n_tokens : {1, 3, 17, 300}) {
      for (int64_t n_out : {1, 8, 37}) {
        for (int64_t n_in : {1, 8, 16, 37, 300}) {
          CheckOuter(*ops, n_tokens, n_out, n_in, seed % 2 ? &pool : nullptr, seed);
          ++seed;
        }
      }
    }
    CheckOuter(*ops, 20, 300, 260, &pool, seed++);  // several row tiles and packed blocks
  }
}

// Runs f(pool) for pool sizes none, 1, 2, 3 and twice each; every result must equal the first.
template <typename F>
void ExpectSameBits(const std::string& what, int64_t n, const F& f) {
  std::vector<float> first;
  for (int threads : {0, 1, 2, 3}) {
    std::unique_ptr<ThreadPool> pool =
        threads > 0 ? std::make_unique<ThreadPool>(threads) : nullptr;
    for (int rep = 0; rep < 2; ++rep) {
      std::vector<float> out = f(pool.get());
      ASSERT_EQ(static_cast<int64_t>(out.size()), n);
      if (first.empty()) {
        first = out;
      } else {
        ASSERT_EQ(0, std::memcmp(first.data(), out.data(), n * sizeof(float)))
            << what << ": differs with " << threads << " threads (repetition " << rep << ")";
      }
    }
  }
}

TEST(MatMulFloatTest, BitIdenticalAcrossPoolSizes) {
  // Shapes large enough to be split (1-D over columns, and 2-D for a rank-8 matrix).
  struct Shape {
    DType type;
    int64_t n_tokens, rows, cols;
  };
  const Shape shapes[] = {{DType::kQ4_0, 64, 200, 512},
                          {DType::kQ4_K, 40, 96, 1024},
                          {DType::kF32, 64, 8, 1000},
                          {DType::kF16, 130, 1000, 8},
                          {DType::kBF16, 33, 77, 301}};
  for (const MatMulFloatOps* ops : Variants()) {
    for (const Shape& s : shapes) {
      std::mt19937 rng(7);
      const Weights w = MakeWeights(s.type, s.rows, s.cols, 0, rng);
      const std::vector<float> x = RandomFloats(s.n_tokens * s.cols, rng);
      const std::vector<float> dy = RandomFloats(s.n_tokens * s.rows, rng);
      const std::vector<float> old = RandomFloats(s.n_tokens * s.cols, rng);
      const std::vector<float> old_w = RandomFloats(s.rows * s.cols, rng);
      const std::string what = std::string(ops->variant) + " " + std::string(DTypeName(s.type)) +
                               " " + std::to_string(s.rows) + "x" + std::to_string(s.cols);
      ExpectSameBits("MatMulFloat " + what, s.n_tokens * s.rows, [&](ThreadPool* pool) {
        std::vector<float> y(s.n_tokens * s.rows);
        MatMulFloatWithOps(*ops, w.m, x.data(), s.n_tokens, y.data(), pool);
        return y;
      });
      for (bool accumulate : {false, true}) {
        ExpectSameBits("MatMulTransposed " + what, s.n_tokens * s.cols, [&](ThreadPool* pool) {
          std::vector<float> dx = old;
          MatMulTransposedWithOps(*ops, w.m, dy.data(), s.n_tokens, dx.data(), accumulate, pool);
          return dx;
        });
      }
      ExpectSameBits("AccumulateOuter " + what, s.rows * s.cols, [&](ThreadPool* pool) {
        std::vector<float> dw = old_w;
        AccumulateOuterWithOps(*ops, dy.data(), s.rows, x.data(), s.cols, s.n_tokens, dw.data(),
                               pool);
        return dw;
      });
    }
  }
}

// Any split of the output into rectangles (columns cut on panel / block multiples, rows anywhere),
// computed in any order, gives the same bits as one call: ParallelFor's dynamic chunks cannot
// change a result.
TEST(MatMulFloatTest, BitIdenticalForArbitraryRectangles) {
  std::mt19937 rng(11);
  for (const MatMulFloatOps* ops : Variants()) {
    for (DType type : {DType::kF32, DType::kQ4_0, DType::kQ6_K}) {
      const int64_t n_tokens = 23, rows = 150, cols = type == DType::kF32 ? 530 : 768;
      const Weights w = MakeWeights(type, rows, cols, 0, rng);
      const std::vector<float> x = RandomFloats(n_tokens * cols, rng);
      const std::vector<float> dy = RandomFloats(n_tokens * rows, rng);
      const std::vector<float> old = RandomFloats(n_tokens * cols, rng);
      const std::vector<float> old_w = RandomFloats(rows * cols, rng);
      std::vector<float> scratch(ops->scratch_floats + 16);
      float* s = scratch.data();
      s += (16 - (reinterpret_cast<uintptr_t>(s) / sizeof(float)) % 16) % 16;
      // Random cuts of [0, n) on multiples of unit, and of [0, m) anywhere.
      auto cuts = [&](int64_t n, int64_t unit) {
        std::vector<int64_t> c{0};
        while (c.back() < n) {
          const int64_t step = unit * (1 + static_cast<int64_t>(rng() % 3));
          c.push_back(std::min(n, c.back() + step));
        }
        return c;
      };
      auto tiles = [&](int64_t m, int64_t n, int64_t unit, const auto& fn) {
        const std::vector<int64_t> mc = cuts(m, 1 + rng() % 7), nc = cuts(n, unit);
        for (size_t a = mc.size() - 1; a-- > 0;) {  // reverse order, for good measure
          for (size_t b = 0; b + 1 < nc.size(); ++b) fn(mc[a], mc[a + 1], nc[b], nc[b + 1]);
        }
      };
      const std::string what = std::string(ops->variant) + " " + std::string(DTypeName(type));

      std::vector<float> y1(n_tokens * rows), y2(n_tokens * rows);
      MatMulFloatWithOps(*ops, w.m, x.data(), n_tokens, y1.data(), nullptr);
      tiles(n_tokens, rows, ops->panel, [&](int64_t t0, int64_t t1, int64_t r0, int64_t r1) {
        ops->forward(w.m, x.data(), y2.data(), t0, t1, r0, r1, s);
      });
      EXPECT_EQ(0, std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float))) << what;

      const int64_t unit = std::max(ops->panel, GetDTypeInfo(type).block_size);
      for (bool accumulate : {false, true}) {
        std::vector<float> dx1 = old, dx2 = old;
        MatMulTransposedWithOps(*ops, w.m, dy.data(), n_tokens, dx1.data(), accumulate, nullptr);
        tiles(n_tokens, cols, unit, [&](int64_t t0, int64_t t1, int64_t c0, int64_t c1) {
          ops->transposed(w.m, dy.data(), dx2.data(), accumulate, t0, t1, c0, c1, s);
        });
        EXPECT_EQ(0, std::memcmp(dx1.data(), dx2.data(), dx1.size() * sizeof(float))) << what;
      }

      std::vector<float> dw1 = old_w, dw2 = old_w;
      AccumulateOuterWithOps(*ops, dy.data(), rows, x.data(), cols, n_tokens, dw1.data(), nullptr);
      tiles(rows, cols, ops->panel, [&](int64_t o0, int64_t o1, int64_t i0, int64_t i1) {
        ops->outer(dy.data(), rows, x.data(), cols, n_tokens, dw2.data(), o0, o1, i0, i1, s);
      });
      EXPECT_EQ(0, std::memcmp(dw1.data(), dw2.data(), dw1.size() * sizeof(float))) << what;
    }
  }
}

TEST(MatMulFloatTest, PublicEntryPointsUseTheSelectedVariant) {
  const MatMulFloatOps& best = Best();
  std::mt19937 rng(3);
  const int64_t n_tokens = 19, rows = 70, cols = 256;
  const Weights w = MakeWeights(DType::kQ4_K, rows, cols, 0, rng);
  const std::vector<float> x = RandomFloats(n_tokens * cols, rng);
  const std::vector<float> dy = RandomFloats(n_tokens * rows, rng);
  ThreadPool pool(2);
  std::vector<float> a(n_tokens * rows), b(n_tokens * rows);
  MatMulFloat(w.m, x.data(), n_tokens, a.data(), &pool);
  MatMulFloatWithOps(best, w.m, x.data(), n_tokens, b.data(), nullptr);
  EXPECT_EQ(a, b);
  std::vector<float> dx1(n_tokens * cols, 1.0f), dx2 = dx1;
  MatMulTransposed(w.m, dy.data(), n_tokens, dx1.data(), true, &pool);
  MatMulTransposedWithOps(best, w.m, dy.data(), n_tokens, dx2.data(), true, nullptr);
  EXPECT_EQ(dx1, dx2);
  std::vector<float> dw1(rows * cols, 0.5f), dw2 = dw1;
  AccumulateOuter(dy.data(), rows, x.data(), cols, n_tokens, dw1.data(), &pool);
  AccumulateOuterWithOps(best, dy.data(), rows, x.data(), cols, n_tokens, dw2.data(), nullptr);
  EXPECT_EQ(dw1, dw2);
}

TEST(MatMulFloatTest, NoColumnsGiveZeros) {
  const std::vector<uint8_t> none(1);
  const WeightMatrix w{DType::kQ4_K, none.data(), 5, 0, 0};
  const float x = 0.0f;  // [3, 0]
  for (const MatMulFloatOps* ops : Variants()) {
    std::vector<float> y(3 * 5, NAN);
    MatMulFloatWithOps(*ops, w, &x, 3, y.data(), nullptr);
    EXPECT_EQ(y, std::vector<float>(3 * 5, 0.0f)) << ops->variant;
  }
}

TEST(MatMulFloatTest, EmptyCallsTouchNothing) {
  std::vector<float> out(4, 2.0f);
  const std::vector<float> in(4, 1.0f);
  const std::vector<uint8_t> wb(RowBytes(DType::kF32, 4));
  const WeightMatrix w{DType::kF32, wb.data(), 1, 4, RowBytes(DType::kF32, 4)};
  MatMulFloat(w, in.data(), 0, out.data(), nullptr);
  MatMulTransposed(w, in.data(), 0, out.data(), false, nullptr);
  AccumulateOuter(in.data(), 1, in.data(), 4, 0, out.data(), nullptr);
  EXPECT_EQ(out, std::vector<float>(4, 2.0f));
}

}  // namespace
}  // namespace odlm::kernels::internal
