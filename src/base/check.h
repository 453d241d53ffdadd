// base/check.h — always-on invariant checks for programmer errors (never for bad input: use
// Status).
//
//   CHECK(n % 32 == 0) << "row length " << n;
//   CHECK_EQ(a, b); CHECK_LT(i, n); ...
// A failed check prints file:line, the condition and the streamed message to stderr, then aborts.
#pragma once

#include <sstream>

namespace odlm::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();
  template <typename T>
  CheckFailure& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  std::ostringstream stream_;
};

// Lets `CHECK(x) << ...` be a void expression inside the ternary below.
struct Voidify {
  void operator&(const CheckFailure&) {}
};

}  // namespace odlm::internal

#define CHECK(cond)               \
  (__builtin_expect(!!(cond), 1)) \
      ? (void)0                   \
      : ::odlm::internal::Voidify() & ::odlm::internal::CheckFailure(__FILE__, __LINE__, #cond)

#define CHECK_OP_IMPL(a, b, op) CHECK((a)op(b)) << "(" << (a) << " vs " << (b) << ") "
#define CHECK_EQ(a, b) CHECK_OP_IMPL(a, b, ==)
#define CHECK_NE(a, b) CHECK_OP_IMPL(a, b, !=)
#define CHECK_LT(a, b) CHECK_OP_IMPL(a, b, <)
#define CHECK_LE(a, b) CHECK_OP_IMPL(a, b, <=)
#define CHECK_GT(a, b) CHECK_OP_IMPL(a, b, >)
#define CHECK_GE(a, b) CHECK_OP_IMPL(a, b, >=)

#ifdef NDEBUG
#define DCHECK(cond) \
  while (false) CHECK(cond)
#else
#define DCHECK(cond) CHECK(cond)
#endif
