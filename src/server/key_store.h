// server/key_store.h — the apps allowed to use the service and their API keys.
//
// The keys file is JSON: {"version": 1, "apps": [{"name", "id", "key_sha256", "max_contexts",
// "max_context_tokens", "max_in_flight", "max_queued"}]}. Only the SHA-256 of each key is stored,
// so the file does not reveal keys; a key is shown once, when AddApp creates it. "id" is the app's
// identity (what owns its contexts): random, made by AddApp, so an app removed and added again
// under the same name is a new app; files written before ids existed use the name. The file is
// written crash-safely (a temporary file created with mode 0600, fsync, rename), and AddApp's
// read-modify-write holds an exclusive lock (flock on PATH.lock) so that concurrent AddApps all
// land. Nesting deeper than kMaxJsonNesting levels is refused before parsing.
//
// A KeyStore loaded from a file follows it: Authenticate re-reads the file when it changed (inode,
// size or mtime; looked at most every kRecheckNs by the store's clock, platform/clock.h), so
// `--add-app` (and removing an app, which revokes its key) takes effect without a restart. Deleting
// the file revokes every key. A file that no longer parses keeps the apps loaded before (and is
// logged). Records handed out stay valid for the store's lifetime: every version read is kept (a
// few hundred bytes per change).
//
// Thread-safety: Authenticate and apps() may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "platform/clock.h"

namespace odlm::server {

// Per-app limits. 0 means "the service's own limit".
struct AppLimits {
  int32_t max_contexts = 64;       // persistent contexts the app may hold at once
  int64_t max_context_tokens = 0;  // prompt + generated tokens of one request or context
  int32_t max_in_flight = 8;       // generating requests at once
  // Requests waiting for one of the app's in-flight slots (first come, first served) beyond
  // max_in_flight; one more is refused with 429. Unused when max_in_flight is 0.
  int32_t max_queued = 32;
};

struct AppRecord {
  std::string name;
  std::string id;          // identity: owns the app's contexts and state (see above)
  std::string key_sha256;  // lowercase hex
  AppLimits limits;
};

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// A fresh key: "odlm-" followed by 48 hex digits (24 random bytes from the OS CSPRNG).
StatusOr<std::string> NewApiKey();

// An app name: 1–64 characters of [A-Za-z0-9_.-].
bool IsValidAppName(std::string_view name);

// The apps of a keys file's text, validated. DataLoss naming `path` and the field otherwise.
StatusOr<std::vector<AppRecord>> ParseKeysFile(std::string_view text, const std::string& path);

class KeyStore {
 public:
  KeyStore() = default;

  // How often, at most, Authenticate looks whether the file changed.
  static constexpr int64_t kRecheckNs = 500'000'000;

  // Reads a keys file. NotFound if it does not exist; DataLoss/InvalidArgument (with the path
  // and the field) if it is not a keys file. `clock` times the re-checks and must outlive the
  // store (tests pass a ManualClock).
  static StatusOr<KeyStore> Load(const std::string& path, const Clock& clock = SteadyClock());

  // Adds app `name` to the keys file at `path` (created if missing) and returns its new key.
  // FailedPrecondition if the name is taken; the error of the lock, read or write that failed
  // (nothing is returned, and the file is unchanged, unless the app is stored).
  static StatusOr<std::string> AddApp(const std::string& path, const std::string& name,
                                      const AppLimits& limits);

  // The app whose key this is, or nullptr. Compares hashes in constant time. Re-reads the file
  // first if it changed (see above).
  const AppRecord* Authenticate(std::string_view key) const;

  // The apps as last read.
  const std::vector<AppRecord>& apps() const;
  // Times the file was re-read after Load.
  int64_t reloads() const;

 private:
  struct Live;  // the file, its last stamp and every version of its apps (key_store.cc)
  void MaybeReload() const;
  std::shared_ptr<Live> live_;
};

}  // namespace odlm::server
