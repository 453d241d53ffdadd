// codi/chi_square.cc — chi-square goodness of fit (contract in chi_square.h).
#include "codi/chi_square.h"

#include <cmath>

#include "base/check.h"

namespace odlm::codi {

double UpperRegularizedGamma(double a, double x) {
  CHECK(a > 0 && x >= 0);
  if (x == 0) return 1.0;
  const double log_prefix = a * std::log(x) - x - std::lgamma(a);
  if (x < a + 1) {
    // P(a, x) = e^{-x} x^a / Γ(a) * Σ x^n / (a (a+1) ... (a+n)).
    double term = 1.0 / a, sum = term, ap = a;
    for (int n = 0; n < 1000; ++n) {
      ap += 1;
      term *= x / ap;
      sum += term;
      if (std::fabs(term) < std::fabs(sum) * 1e-15) break;
    }
    return std::max(0.0, 1.0 - sum * std::exp(log_prefix));
  }
  // Q(a, x) = e^{-x} x^a / Γ(a) * 1 / (x + 1 - a - 1(1-a)/(x + 3 - a - ...)), modified Lentz.
  constexpr double kTiny = 1e-300;
  double b = x + 1 - a, c = 1 / kTiny, d = 1 / b, h = d;
  for (int i = 1; i < 1000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < 1e-15) break;
  }
  return std::min(1.0, std::exp(log_prefix) * h);
}

double ChiSquarePValue(double stat, int df) {
  CHECK(df >= 1);
  if (stat <= 0) return 1.0;
  return UpperRegularizedGamma(df / 2.0, stat / 2.0);
}

ChiSquareResult ChiSquareFit(const std::vector<int64_t>& observed,
                             const std::vector<double>& expected) {
  CHECK_EQ(observed.size(), expected.size());
  ChiSquareResult r;
  for (int64_t o : observed) r.total += o;
  int categories = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    if (expected[i] <= 0) {
      r.impossible += observed[i];
      continue;
    }
    ++categories;
    const double e = expected[i] * static_cast<double>(r.total);
    const double diff = static_cast<double>(observed[i]) - e;
    r.statistic += diff * diff / e;
  }
  r.df = std::max(0, categories - 1);
  if (r.impossible > 0) {
    r.p_value = 0;
  } else if (r.df > 0 && r.total > 0) {
    r.p_value = ChiSquarePValue(r.statistic, r.df);
  }
  return r;
}

}  // namespace odlm::codi
