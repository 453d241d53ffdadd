// server/key_store.cc — keys file, SHA-256 (OpenSSL libcrypto), constant-time lookup.
#include "server/key_store.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>

#include "base/logging.h"
#include "gguf/json_lite.h"
#include "platform/file_util.h"

namespace odlm::server {
namespace {

using nlohmann::json;

std::string Hex(const unsigned char* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

StatusOr<int64_t> GetInt(const json& app, const char* field, const std::string& where,
                         int64_t fallback) {
  auto it = app.find(field);
  if (it == app.end()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
    return InvalidArgumentError(where + ": '" + field + "' must be a non-negative integer");
  }
  return it->get<int64_t>();
}

Status OsError(const std::string& what, const std::string& path, int err) {
  return UnavailableError(what + " '" + path + "': " + std::strerror(err));
}

// WriteFileAtomically, but the file is created with mode 0600: never readable by others, not even
// for a moment.
Status WritePrivateFileAtomically(const std::string& path, const std::string& contents) {
  AtomicFile::Options options;
  options.mode = 0600;
  ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> file, AtomicFile::Create(path, options));
  RETURN_IF_ERROR(file->Append(contents));
  return file->Commit();
}

Status Save(const std::string& path, const std::vector<AppRecord>& apps) {
  json list = json::array();
  for (const auto& a : apps) {
    list.push_back({{"name", a.name},
                    {"id", a.id},
                    {"key_sha256", a.key_sha256},
                    {"max_contexts", a.limits.max_contexts},
                    {"max_context_tokens", a.limits.max_context_tokens},
                    {"max_in_flight", a.limits.max_in_flight},
                    {"max_queued", a.limits.max_queued}});
  }
  const json doc = {{"version", 1}, {"apps", list}};
  return WritePrivateFileAtomically(path, doc.dump(2) + "\n");
}

// An exclusive lock on PATH.lock, held while it lives (flock: released when the descriptor
// closes, also when the process dies).
class KeysFileLock {
 public:
  static StatusOr<std::unique_ptr<KeysFileLock>> Take(const std::string& keys_path) {
    const std::string path = keys_path + ".lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return OsError("cannot open the lock file", path, errno);
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return OsError("cannot lock", path, err);
    }
    return std::unique_ptr<KeysFileLock>(new KeysFileLock(fd));
  }
  ~KeysFileLock() { ::close(fd_); }

 private:
  explicit KeysFileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  CHECK(EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) == 1);
  return Hex(digest, len);
}

StatusOr<std::string> NewApiKey() {
  unsigned char bytes[24];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return UnavailableError("the OS random number generator failed; cannot create a key");
  }
  return "odlm-" + Hex(bytes, sizeof(bytes));
}

bool IsValidAppName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

// The apps of a keys file, validated.
StatusOr<std::vector<AppRecord>> ReadApps(const std::string& path) {
  if (!FileExists(path)) {
    return NotFoundError("keys file '" + path +
                         "' does not exist; create it with: odlm serve --keys " + path +
                         " --add-app NAME");
  }
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return ParseKeysFile(text, path);
}

}  // namespace

StatusOr<std::vector<AppRecord>> ParseKeysFile(std::string_view text, const std::string& path) {
  if (const size_t at = FindJsonNestingOver(text, kMaxJsonNesting); at != std::string_view::npos) {
    return DataLossError("keys file '" + path + "' nests deeper than " +
                         std::to_string(kMaxJsonNesting) + " levels (at byte " +
                         std::to_string(at) + ")");
  }
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return DataLossError("keys file '" + path + "' is not a JSON object");
  }
  auto apps = doc.find("apps");
  if (apps == doc.end() || !apps->is_array()) {
    return DataLossError("keys file '" + path + "' has no 'apps' array");
  }
  std::vector<AppRecord> out;
  for (size_t i = 0; i < apps->size(); ++i) {
    const json& a = (*apps)[i];
    const std::string where = "keys file '" + path + "', apps[" + std::to_string(i) + "]";
    if (!a.is_object()) return DataLossError(where + " is not an object");
    AppRecord r;
    auto name = a.find("name");
    auto hash = a.find("key_sha256");
    if (name == a.end() || !name->is_string() || !IsValidAppName(name->get<std::string>())) {
      return DataLossError(where + ": 'name' must be 1-64 characters of [A-Za-z0-9_.-]");
    }
    if (hash == a.end() || !hash->is_string() || hash->get<std::string>().size() != 64) {
      return DataLossError(where + ": 'key_sha256' must be 64 hex digits");
    }
    r.name = name->get<std::string>();
    r.key_sha256 = hash->get<std::string>();
    if (auto id = a.find("id"); id == a.end()) {
      r.id = r.name;  // a file from before app ids
    } else if (!id->is_string() || !IsValidAppName(id->get<std::string>())) {
      return DataLossError(where + ": 'id' must be 1-64 characters of [A-Za-z0-9_.-]");
    } else {
      r.id = id->get<std::string>();
    }
    ASSIGN_OR_RETURN(int64_t max_contexts, GetInt(a, "max_contexts", where, r.limits.max_contexts));
    ASSIGN_OR_RETURN(r.limits.max_context_tokens,
                     GetInt(a, "max_context_tokens", where, r.limits.max_context_tokens));
    ASSIGN_OR_RETURN(int64_t max_in_flight,
                     GetInt(a, "max_in_flight", where, r.limits.max_in_flight));
    ASSIGN_OR_RETURN(int64_t max_queued, GetInt(a, "max_queued", where, r.limits.max_queued));
    r.limits.max_contexts = static_cast<int32_t>(std::min<int64_t>(max_contexts, INT32_MAX));
    r.limits.max_in_flight = static_cast<int32_t>(std::min<int64_t>(max_in_flight, INT32_MAX));
    r.limits.max_queued = static_cast<int32_t>(std::min<int64_t>(max_queued, INT32_MAX));
    for (const auto& other : out) {
      if (other.name == r.name) return DataLossError(where + ": app '" + r.name + "' twice");
      if (other.id == r.id) return DataLossError(where + ": app id '" + r.id + "' twice");
    }
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// What tells a changed file: inode (a rename replaced it), size and modification time.
struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp StampOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {st.st_dev, st.st_ino, st.st_size,
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

}  // namespace

struct KeyStore::Live {
  std::string path;
  const Clock* clock = nullptr;
  std::mutex mu;    // one reload at a time; guards stamp and versions
  FileStamp stamp;  // of the version in `current`
  std::atomic<int64_t> next_check_ns{0};
  std::atomic<int64_t> reloads{0};
  std::atomic<const std::vector<AppRecord>*> current{nullptr};
  std::vector<std::unique_ptr<const std::vector<AppRecord>>> versions;  // all kept (see header)
};

StatusOr<KeyStore> KeyStore::Load(const std::string& path, const Clock& clock) {
  const FileStamp stamp = StampOf(path);
  ASSIGN_OR_RETURN(std::vector<AppRecord> apps, ReadApps(path));
  KeyStore store;
  store.live_ = std::make_shared<Live>();
  store.live_->path = path;
  store.live_->clock = &clock;
  store.live_->stamp = stamp;
  store.live_->versions.push_back(std::make_unique<const std::vector<AppRecord>>(std::move(apps)));
  store.live_->current.store(store.live_->versions.back().get());
  store.live_->next_check_ns.store(clock.NowNs() + kRecheckNs);
  return store;
}

void KeyStore::MaybeReload() const {
  if (!live_) return;
  Live& l = *live_;
  const int64_t now = l.clock->NowNs();
  if (now < l.next_check_ns.load(std::memory_order_relaxed)) return;
  std::unique_lock<std::mutex> lock(l.mu, std::try_to_lock);
  if (!lock.owns_lock()) return;  // another thread is looking
  l.next_check_ns.store(now + kRecheckNs, std::memory_order_relaxed);
  const FileStamp stamp = StampOf(l.path);
  if (stamp == l.stamp) return;
  l.stamp = stamp;  // a bad version is reported once, not on every request
  StatusOr<std::vector<AppRecord>> apps = ReadApps(l.path);
  if (!apps.ok() && apps.status().code() == StatusCode::kNotFound) {
    // Deleted: nobody is allowed any more (the writers replace the file by rename, so it is never
    // missing while it is being written).
    LOG(WARNING) << "keys file '" << l.path << "' was deleted: every key is revoked";
    apps = std::vector<AppRecord>();
  }
  if (!apps.ok()) {
    LOG(WARNING) << "keys file changed but cannot be used; keeping the " << l.current.load()->size()
                 << " apps loaded before: " << apps.status().ToString();
    return;
  }
  l.versions.push_back(std::make_unique<const std::vector<AppRecord>>(std::move(apps).value()));
  l.current.store(l.versions.back().get());
  l.reloads.fetch_add(1);
  LOG(INFO) << "keys file '" << l.path << "' re-read: " << l.versions.back()->size() << " apps";
}

const std::vector<AppRecord>& KeyStore::apps() const {
  static const std::vector<AppRecord> kNone;
  if (!live_) return kNone;
  MaybeReload();
  return *live_->current.load();
}

int64_t KeyStore::reloads() const { return live_ ? live_->reloads.load() : 0; }

StatusOr<std::string> KeyStore::AddApp(const std::string& path, const std::string& name,
                                       const AppLimits& limits) {
  if (!IsValidAppName(name)) {
    return InvalidArgumentError("app name '" + name +
                                "' must be 1-64 characters of [A-Za-z0-9_.-]");
  }
  // Read, add and write under the lock: two AddApps never both write what they read.
  ASSIGN_OR_RETURN(std::unique_ptr<KeysFileLock> lock, KeysFileLock::Take(path));
  std::vector<AppRecord> apps;
  if (FileExists(path)) {
    ASSIGN_OR_RETURN(apps, ReadApps(path));
  }
  for (const auto& a : apps) {
    if (a.name == name) {
      return FailedPreconditionError("app '" + name + "' already exists in '" + path + "'");
    }
  }
  ASSIGN_OR_RETURN(std::string key, NewApiKey());
  ASSIGN_OR_RETURN(std::string id_bytes, NewApiKey());  // "odlm-" + 48 random hex digits
  const std::string id = "app-" + id_bytes.substr(5, 24);
  apps.push_back({name, id, Sha256Hex(key), limits});
  RETURN_IF_ERROR(Save(path, apps).WithContext("keys file '" + path + "' (app not added)"));
  // Read back what was written: a key is printed only once it is known to work.
  ASSIGN_OR_RETURN(std::vector<AppRecord> stored, ReadApps(path));
  const std::string hash = Sha256Hex(key);
  for (const auto& a : stored) {
    if (a.name == name && a.key_sha256 == hash) return key;
  }
  return DataLossError("keys file '" + path + "': app '" + name +
                       "' is not in the file after writing it");
}

const AppRecord* KeyStore::Authenticate(std::string_view key) const {
  const std::string hash = Sha256Hex(key);
  const AppRecord* found = nullptr;
  for (const auto& a : apps()) {  // no early exit: time does not depend on which app matched
    if (a.key_sha256.size() == hash.size() &&
        CRYPTO_memcmp(a.key_sha256.data(), hash.data(), hash.size()) == 0) {
      found = &a;
    }
  }
  return found;
}

}  // namespace odlm::server
