// base/logging.h — leveled, line-buffered messages to stderr.
//
//   LOG(INFO) << "loaded " << n << " tensors";
//   LOG(WARNING) << "context length " << n << " exceeds the model's " << m;
// Thread-safe: each message is written with one fwrite. The minimum level defaults to WARNING
// (so a CLI's stdout/stderr stays clean) and can be changed with SetMinLogLevel or ODLM_LOG=info.
#pragma once

#include <sstream>

namespace odlm {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();

namespace internal {
class LogMessage {
 public:
  LogMessage(LogLevel level, const char* file, int line);
  ~LogMessage();
  template <typename T>
  LogMessage& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};
struct LogVoidify {
  void operator&(const LogMessage&) {}
};
}  // namespace internal

}  // namespace odlm

#define ODLM_LOG_LEVEL_DEBUG ::odlm::LogLevel::kDebug
#define ODLM_LOG_LEVEL_INFO ::odlm::LogLevel::kInfo
#define ODLM_LOG_LEVEL_WARNING ::odlm::LogLevel::kWarning
#define ODLM_LOG_LEVEL_ERROR ::odlm::LogLevel::kError

#define LOG(level)                                 \
  (ODLM_LOG_LEVEL_##level < ::odlm::MinLogLevel()) \
      ? (void)0                                    \
      : ::odlm::internal::LogVoidify() &           \
            ::odlm::internal::LogMessage(ODLM_LOG_LEVEL_##level, __FILE__, __LINE__)
