// server/adapter_dir_watcher.cc — polls an adapters directory (adapter_dir_watcher.h). Polling
// (opendir + stat once a pass) instead of inotify: portable, no dependency, and a pass over a few
// hundred entries costs well under a millisecond against a poll interval of a second.
#include "server/adapter_dir_watcher.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "base/logging.h"

namespace odlm::server {
namespace {

constexpr size_t kMaxWarnedKeys = 4096;

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsValidAdapterName(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         name.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
             std::string::npos;
}

// "dev:ino:size:mtime_ns" of `path` (symlinks followed), or "" if it cannot be stat'ed.
std::string StampOf(const std::string& path, struct stat* out = nullptr) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "";
  if (out != nullptr) *out = st;
  const int64_t mtime_ns =
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
         std::to_string(st.st_size) + ":" + std::to_string(mtime_ns);
}

// An entry of the directory that is an adapter.
struct Candidate {
  std::string name;   // the adapter's name
  std::string file;   // the directory entry
  std::string path;   // dir/file
  std::string stamp;  // see StampOf; PEFT: the directory, its config and its weights
};

}  // namespace

StatusOr<std::unique_ptr<AdapterDirWatcher>> AdapterDirWatcher::Create(AdapterDirOptions options,
                                                                       AdapterDirHooks hooks) {
  if (!hooks.load || !hooks.unload)
    return InvalidArgumentError("adapter dir watcher without hooks");
  struct stat st;
  if (options.dir.empty() || ::stat(options.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return InvalidArgumentError("adapters directory '" + options.dir +
                                "' is not a directory (create it first)");
  }
  if (options.max_adapters < 1) return InvalidArgumentError("max_adapters must be at least 1");
  if (options.poll_interval.count() < 1) options.poll_interval = std::chrono::milliseconds(1);
  while (options.dir.size() > 1 && options.dir.back() == '/') options.dir.pop_back();
  return std::unique_ptr<AdapterDirWatcher>(
      new AdapterDirWatcher(std::move(options), std::move(hooks)));
}

AdapterDirWatcher::AdapterDirWatcher(AdapterDirOptions options, AdapterDirHooks hooks)
    : options_(std::move(options)), hooks_(std::move(hooks)) {}

AdapterDirWatcher::~AdapterDirWatcher() { Stop(); }

void AdapterDirWatcher::WarnOnce(const std::string& key, const std::string& message) {
  auto it = warned_.find(key);
  if (it != warned_.end() && it->second == message) return;
  if (it == warned_.end() && warned_.size() >= kMaxWarnedKeys) {
    if (warned_.count("") == 0) {
      warned_[""] = "";
      LOG(WARNING) << "adapters dir " << options_.dir << ": too many problems to report; the "
                   << "others are not logged";
    }
    return;
  }
  warned_[key] = message;
  LOG(WARNING) << "adapters dir " << options_.dir << ": " << message;
}

void AdapterDirWatcher::Load(const std::string& name, Entry* e, const std::string& stamp) {
  e->tried = stamp;
  const bool had = e->has_registered && !e->registered.expired();
  StatusOr<std::shared_ptr<const void>> r = hooks_.load(name, e->path);
  if (!r.ok() || *r == nullptr) {
    // Each version is tried once (its stamp is remembered), so this is logged once per version.
    ++stats_.load_errors;
    LOG(WARNING) << "adapters dir " << options_.dir << ": cannot load adapter '" << name
                 << "' from " << e->path << ": "
                 << (r.ok() ? std::string("no adapter") : r.status().ToString())
                 << (had ? " (the version loaded before stays registered)"
                         : " (nothing is registered under that name)")
                 << "; it is tried again when the file changes";
    return;
  }
  ++stats_.loads;  // the hook logs the registration
  e->registered = *r;
  e->has_registered = true;
}

void AdapterDirWatcher::ScanOnce(bool settle) {
  std::lock_guard<std::mutex> lock(scan_mu_);
  ++stats_.passes;
  DIR* d = ::opendir(options_.dir.c_str());
  if (d == nullptr) {
    const std::string error = std::strerror(errno);
    if (error != list_error_) {
      LOG(WARNING) << "adapters dir " << options_.dir << ": cannot list it (" << error
                   << "); the adapters registered from it stay until it can be read again";
      list_error_ = error;
    }
    return;
  }
  if (!list_error_.empty()) {
    LOG(WARNING) << "adapters dir " << options_.dir << ": readable again";
    list_error_.clear();
  }
  std::vector<std::string> files;
  while (dirent* de = ::readdir(d)) {
    std::string f = de->d_name;
    if (f.empty() || f[0] == '.' || f.find(".tmp") != std::string::npos) continue;
    files.push_back(std::move(f));
  }
  ::closedir(d);
  std::sort(files.begin(), files.end());

  // What is there now, by name (the first file in name order wins a name shared by two).
  std::set<std::string> live_keys;  // warnings still relevant this pass
  std::map<std::string, Candidate> found;
  for (const std::string& f : files) {
    Candidate c;
    c.file = f;
    c.path = options_.dir + "/" + f;
    struct stat st;
    const std::string stamp = StampOf(c.path, &st);
    if (stamp.empty()) continue;  // gone meanwhile
    if (S_ISREG(st.st_mode) && EndsWith(f, ".gguf")) {
      c.name = f.substr(0, f.size() - 5);
      c.stamp = stamp;
    } else if (S_ISDIR(st.st_mode)) {
      const std::string config = StampOf(c.path + "/adapter_config.json");
      if (config.empty()) continue;  // not a PEFT adapter
      c.name = f;
      c.stamp = stamp + "|" + config + "|" + StampOf(c.path + "/adapter_model.safetensors");
    } else {
      continue;
    }
    if (!IsValidAdapterName(c.name)) {
      live_keys.insert("name:" + f);
      WarnOnce("name:" + f, "ignoring " + f + ": an adapter name must be 1 to 64 characters of " +
                                "[A-Za-z0-9_.-]");
      continue;
    }
    if (options_.reserved_names.count(c.name) != 0) {
      live_keys.insert("reserved:" + c.name);
      WarnOnce("reserved:" + c.name, "ignoring " + f + ": adapter '" + c.name +
                                         "' is registered with --lora, which wins");
      continue;
    }
    auto [it, inserted] = found.emplace(c.name, c);
    if (!inserted) {
      live_keys.insert("dup:" + f);
      WarnOnce("dup:" + f, "ignoring " + f + ": " + it->second.file +
                               " already provides adapter '" + c.name + "'");
    }
  }

  // Gone: unregister what this watcher registered (if still that version).
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (found.count(it->first) != 0) {
      ++it;
      continue;
    }
    Entry& e = it->second;
    std::shared_ptr<const void> mine = e.registered.lock();
    if (mine != nullptr) {
      hooks_.unload(it->first, mine);
      LOG(INFO) << "adapters dir " << options_.dir << ": " << e.path
                << " is gone; unregistered adapter '" << it->first << "'";
    }
    it = entries_.erase(it);
  }

  // New and changed.
  for (auto& [name, c] : found) {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      if (static_cast<int64_t>(entries_.size()) >= options_.max_adapters) {
        live_keys.insert("limit:" + name);
        WarnOnce("limit:" + name, "ignoring " + c.file + ": already following " +
                                      std::to_string(options_.max_adapters) +
                                      " adapters (the limit; see --adapters-dir-max)");
        continue;
      }
      it = entries_.emplace(name, Entry{}).first;
    }
    Entry& e = it->second;
    if (e.path != c.path) {  // a new entry, or another file now provides the name
      e.path = c.path;
      e.tried.clear();
    }
    if (c.stamp == e.tried) {
      e.seen = c.stamp;
      continue;
    }
    if (settle && c.stamp != e.seen) {  // changed since the last pass: wait for it to settle
      e.seen = c.stamp;
      continue;
    }
    e.seen = c.stamp;
    Load(name, &e, c.stamp);
  }

  // Forget warnings about entries that are gone or fixed, so that they are logged again if they
  // come back.
  for (auto it = warned_.begin(); it != warned_.end();) {
    const bool keep = it->first.empty() || live_keys.count(it->first) != 0;
    it = keep ? std::next(it) : warned_.erase(it);
  }
  stats_.followed = static_cast<int64_t>(entries_.size());
  stats_.registered = 0;
  for (const auto& [name, e] : entries_) stats_.registered += e.registered.expired() ? 0 : 1;
}

void AdapterDirWatcher::Start() {
  ScanOnce(/*settle=*/false);
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(stop_mu_);
    while (!stop_cv_.wait_for(lock, options_.poll_interval, [this] { return stopping_; })) {
      lock.unlock();
      ScanOnce(/*settle=*/true);
      lock.lock();
    }
  });
}

void AdapterDirWatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

AdapterDirStats AdapterDirWatcher::stats() const {
  std::lock_guard<std::mutex> lock(scan_mu_);
  return stats_;
}

}  // namespace odlm::server
