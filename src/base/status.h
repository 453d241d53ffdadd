// base/status.h — the error type for everything the outside world can get wrong.
//
// A Status carries a code and a message a user can act on (what, where, what was expected).
// StatusOr<T> holds either a value or a non-OK Status. Neither throws. Programmer invariants use
// CHECK (base/check.h) instead.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/check.h"

namespace odlm {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller (user, request, config) asked for something malformed
  kNotFound,         // a file, tensor, key or context that does not exist
  kDataLoss,         // a file's bytes are corrupt or truncated
  kUnimplemented,    // valid input that this build does not support (an unknown block type)
  kOutOfRange,       // a value past a limit (context length, budget)
  kResourceExhausted,
  kFailedPrecondition,
  kUnavailable,
  kInternal,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "DATA_LOSS: tensor 'x': data offset 96 past end of file (size 80)" or "OK".
  std::string ToString() const;

  // Returns a copy with `context + ": "` prepended to the message (for adding where an error came
  // from).
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgumentError(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status NotFoundError(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status DataLossError(std::string m) { return Status(StatusCode::kDataLoss, std::move(m)); }
inline Status UnimplementedError(std::string m) {
  return Status(StatusCode::kUnimplemented, std::move(m));
}
inline Status OutOfRangeError(std::string m) {
  return Status(StatusCode::kOutOfRange, std::move(m));
}
inline Status ResourceExhaustedError(std::string m) {
  return Status(StatusCode::kResourceExhausted, std::move(m));
}
inline Status FailedPreconditionError(std::string m) {
  return Status(StatusCode::kFailedPrecondition, std::move(m));
}
inline Status UnavailableError(std::string m) {
  return Status(StatusCode::kUnavailable, std::move(m));
}
inline Status InternalError(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }

// Either a T or a non-OK Status. Accessing value() of an error is a programmer bug (CHECK).
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    CHECK(!status_.ok()) << "StatusOr constructed from an OK Status without a value";
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & {
    CHECK(ok()) << "value() of an error StatusOr: " << status_.ToString();
    return *value_;
  }
  const T& value() const& {
    CHECK(ok()) << "value() of an error StatusOr: " << status_.ToString();
    return *value_;
  }
  T&& value() && {
    CHECK(ok()) << "value() of an error StatusOr: " << status_.ToString();
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace odlm

#define ODLM_STATUS_CONCAT_INNER(a, b) a##b
#define ODLM_STATUS_CONCAT(a, b) ODLM_STATUS_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::odlm::Status odlm_status_ = (expr);        \
    if (!odlm_status_.ok()) return odlm_status_; \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a StatusOr or returns its error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(ODLM_STATUS_CONCAT(odlm_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
