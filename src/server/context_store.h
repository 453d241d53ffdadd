// server/context_store.h — durable transcripts of persistent contexts (SQLite).
//
// One database file, <state_dir>/contexts.db, in WAL mode with synchronous=FULL: a call to
// Create / AppendTurn / Delete returns only after its transaction is on disk, so a kill -9 or a
// power cut keeps every context whose call completed, and never half a turn (the user message and
// the reply are written in one transaction). An empty state_dir keeps everything in memory.
//
// Thread-safety: all methods may be called from any thread (one connection behind a mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"

struct sqlite3;

namespace odlm::server {

struct StoredMessage {
  std::string role;  // "user", "assistant", or "context" (a document given at creation, first)
  std::string content;
};

struct StoredContext {
  std::string id;
  std::string app;  // the owning app's identity (AppRecord::id)
  std::string system;
  int64_t created_ms = 0;  // Unix time in milliseconds
  int64_t updated_ms = 0;
  std::vector<StoredMessage> messages;  // in order
};

class ContextStore {
 public:
  // Opens (creating if needed) the store in `state_dir`; "" for an in-memory store.
  static StatusOr<std::unique_ptr<ContextStore>> Open(const std::string& state_dir);
  ~ContextStore();

  // Stores a new context (its messages too). FailedPrecondition if the id exists.
  Status Create(const StoredContext& context);
  // Appends a user message and the assistant's reply, atomically. NotFound for an unknown id.
  Status AppendTurn(const std::string& id, const std::string& user, const std::string& reply,
                    int64_t updated_ms);
  // Removes a context and its messages. NotFound for an unknown id.
  Status Delete(const std::string& id);
  // Every stored context, with messages, ordered by creation.
  StatusOr<std::vector<StoredContext>> LoadAll();

  const std::string& path() const { return path_; }

 private:
  ContextStore() = default;
  Status Exec(const char* sql);
  Status Error(const char* what) const;

  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace odlm::server
