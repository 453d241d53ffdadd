// server/context_store.cc — SQLite-backed transcripts.
#include "server/context_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace odlm::server {
namespace {

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }
  void Text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  int Step() { return sqlite3_step(s_); }
  std::string ColText(int i) {
    const unsigned char* p = sqlite3_column_text(s_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s_, i))
             : std::string();
  }
  int64_t ColInt(int i) { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

}  // namespace

Status ContextStore::Error(const char* what) const {
  return UnavailableError(std::string("context store '") + path_ + "': " + what + ": " +
                          (db_ ? sqlite3_errmsg(db_) : "not open"));
}

Status ContextStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return UnavailableError("context store '" + path_ + "': " + msg + " (in: " + sql + ")");
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<ContextStore>> ContextStore::Open(const std::string& state_dir) {
  std::unique_ptr<ContextStore> s(new ContextStore());
  if (state_dir.empty()) {
    s->path_ = ":memory:";
  } else {
    if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return UnavailableError("cannot create state directory '" + state_dir +
                              "': " + std::strerror(errno));
    }
    s->path_ = state_dir + "/contexts.db";
  }
  if (sqlite3_open_v2(s->path_.c_str(), &s->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    return s->Error("cannot open");
  }
  sqlite3_busy_timeout(s->db_, 5000);
  if (!state_dir.empty()) RETURN_IF_ERROR(s->Exec("PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(s->Exec("PRAGMA synchronous=FULL"));
  RETURN_IF_ERROR(s->Exec("PRAGMA foreign_keys=ON"));
  RETURN_IF_ERROR(
      s->Exec("CREATE TABLE IF NOT EXISTS contexts (id TEXT PRIMARY KEY, app TEXT NOT NULL, "
              "system TEXT NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL)"));
  RETURN_IF_ERROR(
      s->Exec("CREATE TABLE IF NOT EXISTS messages (context_id TEXT NOT NULL REFERENCES "
              "contexts(id) ON DELETE CASCADE, seq INTEGER NOT NULL, role TEXT NOT NULL, "
              "content TEXT NOT NULL, PRIMARY KEY (context_id, seq))"));
  return s;
}

ContextStore::~ContextStore() {
  if (db_) sqlite3_close(db_);
}

Status ContextStore::Create(const StoredContext& c) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Stmt ins(db_,
           "INSERT INTO contexts (id, app, system, created_ms, updated_ms) VALUES (?,?,?,?,?)");
  if (!ins.ok()) {
    (void)Exec("ROLLBACK");
    return Error("prepare insert");
  }
  ins.Text(1, c.id);
  ins.Text(2, c.app);
  ins.Text(3, c.system);
  ins.Int(4, c.created_ms);
  ins.Int(5, c.updated_ms);
  const int rc = ins.Step();
  if (rc != SQLITE_DONE) {
    Status st = rc == SQLITE_CONSTRAINT ? FailedPreconditionError("context '" + c.id + "' exists")
                                        : Error("insert context");
    (void)Exec("ROLLBACK");
    return st;
  }
  for (size_t i = 0; i < c.messages.size(); ++i) {
    Stmt m(db_, "INSERT INTO messages (context_id, seq, role, content) VALUES (?,?,?,?)");
    m.Text(1, c.id);
    m.Int(2, static_cast<int64_t>(i));
    m.Text(3, c.messages[i].role);
    m.Text(4, c.messages[i].content);
    if (!m.ok() || m.Step() != SQLITE_DONE) {
      Status st = Error("insert message");
      (void)Exec("ROLLBACK");
      return st;
    }
  }
  return Exec("COMMIT");
}

Status ContextStore::AppendTurn(const std::string& id, const std::string& user,
                                const std::string& reply, int64_t updated_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Stmt up(db_, "UPDATE contexts SET updated_ms = ? WHERE id = ?");
  up.Int(1, updated_ms);
  up.Text(2, id);
  if (!up.ok() || up.Step() != SQLITE_DONE) {
    Status st = Error("update context");
    (void)Exec("ROLLBACK");
    return st;
  }
  if (sqlite3_changes(db_) == 0) {
    (void)Exec("ROLLBACK");
    return NotFoundError("context '" + id + "' does not exist");
  }
  Stmt next(db_, "SELECT COALESCE(MAX(seq) + 1, 0) FROM messages WHERE context_id = ?");
  next.Text(1, id);
  if (!next.ok() || next.Step() != SQLITE_ROW) {
    Status st = Error("next message number");
    (void)Exec("ROLLBACK");
    return st;
  }
  const int64_t seq = next.ColInt(0);
  const std::pair<const char*, const std::string*> rows[] = {{"user", &user},
                                                             {"assistant", &reply}};
  for (int i = 0; i < 2; ++i) {
    Stmt m(db_, "INSERT INTO messages (context_id, seq, role, content) VALUES (?,?,?,?)");
    m.Text(1, id);
    m.Int(2, seq + i);
    m.Text(3, rows[i].first);
    m.Text(4, *rows[i].second);
    if (!m.ok() || m.Step() != SQLITE_DONE) {
      Status st = Error("insert message");
      (void)Exec("ROLLBACK");
      return st;
    }
  }
  return Exec("COMMIT");
}

Status ContextStore::Delete(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt del(db_, "DELETE FROM contexts WHERE id = ?");
  del.Text(1, id);
  if (!del.ok() || del.Step() != SQLITE_DONE) return Error("delete context");
  if (sqlite3_changes(db_) == 0) return NotFoundError("context '" + id + "' does not exist");
  return Status::Ok();
}

StatusOr<std::vector<StoredContext>> ContextStore::LoadAll() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<StoredContext> out;
  Stmt q(db_,
         "SELECT id, app, system, created_ms, updated_ms FROM contexts ORDER BY created_ms, id");
  if (!q.ok()) return Error("list contexts");
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    StoredContext c;
    c.id = q.ColText(0);
    c.app = q.ColText(1);
    c.system = q.ColText(2);
    c.created_ms = q.ColInt(3);
    c.updated_ms = q.ColInt(4);
    out.push_back(std::move(c));
  }
  if (rc != SQLITE_DONE) return Error("list contexts");
  for (auto& c : out) {
    Stmt m(db_, "SELECT role, content FROM messages WHERE context_id = ? ORDER BY seq");
    m.Text(1, c.id);
    while ((rc = m.Step()) == SQLITE_ROW) c.messages.push_back({m.ColText(0), m.ColText(1)});
    if (rc != SQLITE_DONE) return Error("read messages");
  }
  return out;
}

}  // namespace odlm::server
