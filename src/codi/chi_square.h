// codi/chi_square.h — Pearson's chi-square goodness-of-fit test, for comparing observed walks with
// the configured chain (odlm codi stats, and the sampler's own test).
//
// The p-value is the upper regularized incomplete gamma Q(df/2, x/2), computed by its series for
// x < a + 1 and by Lentz's continued fraction otherwise (textbook formulas; accurate to ~1e-12,
// far more than a test needs). Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace odlm::codi {

// Q(a, x) = Γ(a, x) / Γ(a), a > 0, x >= 0.
double UpperRegularizedGamma(double a, double x);

// P(X >= stat) for X ~ chi-square with df degrees of freedom (df >= 1).
double ChiSquarePValue(double stat, int df);

struct ChiSquareResult {
  double statistic = 0;
  int df = 0;          // categories with expected probability > 0, minus 1
  double p_value = 1;  // 1 when df == 0 (nothing to test)
  int64_t total = 0;
  // Observed counts in a category with expected probability 0 (a sampler bug or a different
  // chain): the fit is rejected outright (p_value 0).
  int64_t impossible = 0;
};

// Observed counts per category against expected probabilities (same size; sum to 1).
ChiSquareResult ChiSquareFit(const std::vector<int64_t>& observed,
                             const std::vector<double>& expected);

}  // namespace odlm::codi
