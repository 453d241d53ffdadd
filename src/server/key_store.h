// server/key_store.h — the apps allowed to use the service and their API keys.
//
// The keys file is JSON: {"version": 1, "apps": [{"name", "key_sha256", "max_contexts",
// "max_context_tokens", "max_in_flight"}]}. Only the SHA-256 of each key is stored, so the file
// does not reveal keys; a key is shown once, when AddApp creates it. The file is written crash-
// safely (temporary file, fsync, rename) with mode 0600.
//
// Thread-safety: a loaded KeyStore is immutable; Authenticate may be called from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace odlm::server {

// Per-app limits. 0 means "the service's own limit".
struct AppLimits {
  int32_t max_contexts = 64;       // persistent contexts the app may hold at once
  int64_t max_context_tokens = 0;  // prompt + generated tokens of one request or context
  int32_t max_in_flight = 8;       // generating requests at once
};

struct AppRecord {
  std::string name;
  std::string key_sha256;  // lowercase hex
  AppLimits limits;
};

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// A fresh key: "odlm-" followed by 48 hex digits (24 random bytes from the OS CSPRNG).
StatusOr<std::string> NewApiKey();

// An app name: 1–64 characters of [A-Za-z0-9_.-].
bool IsValidAppName(std::string_view name);

class KeyStore {
 public:
  KeyStore() = default;

  // Reads a keys file. NotFound if it does not exist; DataLoss/InvalidArgument (with the path
  // and the field) if it is not a keys file.
  static StatusOr<KeyStore> Load(const std::string& path);

  // Adds app `name` to the keys file at `path` (created if missing) and returns its new key.
  // AlreadyExists-like FailedPrecondition if the name is taken.
  static StatusOr<std::string> AddApp(const std::string& path, const std::string& name,
                                      const AppLimits& limits);

  // The app whose key this is, or nullptr. Compares hashes in constant time.
  const AppRecord* Authenticate(std::string_view key) const;

  const std::vector<AppRecord>& apps() const { return apps_; }

 private:
  std::vector<AppRecord> apps_;
};

}  // namespace odlm::server
