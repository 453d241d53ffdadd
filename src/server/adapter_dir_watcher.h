// server/adapter_dir_watcher.h — keeps the adapters registered from a directory in step with it
// (`odlm serve --adapters-dir DIR`), so that an adapter written there (`odlm train lora --out
// DIR/NAME.gguf`) goes live without a restart.
//
// What counts as an adapter in DIR: each `NAME.gguf` file and each directory NAME holding
// `adapter_config.json` (a PEFT adapter); NAME must be 1–64 characters of [A-Za-z0-9_.-]. Names
// starting with '.' or containing ".tmp" are temporary files and are ignored (a crash-safe writer
// renames its temp file into place). Symlinks are followed.
//
// Each pass (ScanOnce; Start runs one every poll interval on its own thread) compares what it
// finds with the last pass by a stamp (device, inode, size, mtime of the file, or of a PEFT
// directory's adapter_config.json and adapter_model.safetensors):
//   - a new or changed entry is loaded with hooks.load (register, or replace under the same name)
//     once its stamp has held still for one pass (so a file still being copied is not loaded
//     half-written); the first pass after Start loads what is there at once;
//   - an entry that fails to load is logged once per version (stamp) with the reason; the version
//     registered before, if any, stays registered;
//   - an entry that disappeared is unregistered with hooks.unload, only if the version registered
//     under its name is still the one this watcher loaded (an admin may have replaced it);
//   - a reserved name (the service's --lora adapters) is never touched: logged once and skipped;
//   - at most max_adapters entries are followed (the first in name order when they appear
//     together); the others are logged once each and followed when room frees up.
// A directory that cannot be listed is logged and changes nothing.
//
// Thread-safety: all methods may be called from any thread; passes never overlap. The hooks are
// called from the pass's thread, one at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "base/status.h"

namespace odlm::server {

struct AdapterDirOptions {
  std::string dir;
  std::chrono::milliseconds poll_interval{1000};
  int32_t max_adapters = 256;
  std::set<std::string> reserved_names;  // names the watcher must leave alone
};

struct AdapterDirHooks {
  // Registers the adapter at `path` under `name`, replacing a version registered under that
  // name in one step. Returns a handle that identifies the version now registered (non-null; the
  // watcher keeps only a weak reference to it), or why the file cannot be used.
  std::function<StatusOr<std::shared_ptr<const void>>(const std::string& name,
                                                      const std::string& path)>
      load;
  // Unregisters `name` if the version registered under it is still `handle`; otherwise (replaced
  // meanwhile, or already gone) leaves the registry as it is.
  std::function<void(const std::string& name, const std::shared_ptr<const void>& handle)> unload;
};

struct AdapterDirStats {
  int64_t followed = 0;     // entries in the directory being followed (loaded or not)
  int64_t registered = 0;   // of those, with a version registered by this watcher
  int64_t loads = 0;        // successful loads so far (new and replaced)
  int64_t load_errors = 0;  // versions that failed to load so far
  int64_t passes = 0;
};

class AdapterDirWatcher {
 public:
  // InvalidArgument if options.dir is not a directory, or a hook is missing.
  static StatusOr<std::unique_ptr<AdapterDirWatcher>> Create(AdapterDirOptions options,
                                                             AdapterDirHooks hooks);
  ~AdapterDirWatcher();  // Stop()

  // One pass over the directory (see above). `settle` false: act on new and changed entries at
  // once instead of waiting for their stamp to hold still for a pass.
  void ScanOnce(bool settle = true);
  // Runs one pass with settle false now (so what is in the directory is registered when Start
  // returns), then one pass every poll interval on a background thread. Once only.
  void Start();
  // Stops the background thread (idempotent); a pass in progress finishes first.
  void Stop();

  AdapterDirStats stats() const;
  const AdapterDirOptions& options() const { return options_; }

 private:
  struct Entry {
    std::string path;
    std::string seen;                      // stamp at the last pass
    std::string tried;                     // stamp of the version last loaded or refused
    std::weak_ptr<const void> registered;  // the version this watcher registered, if alive
    bool has_registered = false;
  };
  AdapterDirWatcher(AdapterDirOptions options, AdapterDirHooks hooks);
  // Logs `message` at WARNING unless it was logged for `key` since the key was last forgotten
  // (keys not seen in a pass are forgotten; at most 4096 are kept).
  void WarnOnce(const std::string& key, const std::string& message);
  void Load(const std::string& name, Entry* e, const std::string& stamp);

  const AdapterDirOptions options_;
  const AdapterDirHooks hooks_;

  mutable std::mutex scan_mu_;  // one pass at a time; guards everything below
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> warned_;  // key → message (bounded: see WarnOnce)
  std::string list_error_;                     // the last error listing the directory
  AdapterDirStats stats_;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace odlm::server
