// codi/synth.cc — the worker pool, the batched durable writer, resume and progress (synth.h).
#include "codi/synth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <tuple>

#include "platform/file_util.h"

namespace odlm::codi {

using nlohmann::json;

Status ParseShard(const std::string& spec, uint64_t* index, uint64_t* count) {
  const size_t slash = spec.find('/');
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() <= 9 && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (slash == std::string::npos || !digits(spec.substr(0, slash)) ||
      !digits(spec.substr(slash + 1))) {
    return InvalidArgumentError("--shard '" + spec + "': expected k/N, e.g. 0/4 (k from 0)");
  }
  *index = std::stoull(spec.substr(0, slash));
  *count = std::stoull(spec.substr(slash + 1));
  if (*count == 0 || *index >= *count) {
    return InvalidArgumentError("--shard '" + spec + "': need 0 <= k < N");
  }
  return Status::Ok();
}

StatusOr<ExistingOutput> ScanOutput(const std::string& path, const SynthOptions& o, bool repair) {
  ExistingOutput ex;
  const int fd = ::open(path.c_str(), O_RDWR);
  if (fd < 0) {
    if (errno == ENOENT) return ex;
    return UnavailableError(path + ": cannot open for resume: " + std::strerror(errno));
  }
  std::string text;
  char buf[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      ::close(fd);
      return UnavailableError(path + ": read failed: " + std::strerror(errno));
    }
    if (r == 0) break;
    text.append(buf, static_cast<size_t>(r));
  }
  // Complete lines end with '\n'; what follows the last one is a torn write.
  size_t good_end = text.rfind('\n');
  good_end = good_end == std::string::npos ? 0 : good_end + 1;
  size_t pos = 0, line_no = 0;
  while (pos < good_end) {
    const size_t end = text.find('\n', pos);
    const std::string line = text.substr(pos, end - pos);
    const size_t line_start = pos;
    pos = end + 1;
    ++line_no;
    const std::string where = path + ":" + std::to_string(line_no);
    const json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("index") ||
        !j["index"].is_number_unsigned()) {
      if (pos == good_end) {  // a last line that is not a record: torn too
        good_end = line_start;
        break;
      }
      ::close(fd);
      return DataLossError(where +
                           ": not a conversation record (a corrupt line in the middle of "
                           "the file; fix or remove it before resuming)");
    }
    const uint64_t index = j["index"].get<uint64_t>();
    if (!j.contains("seed") || j["seed"] != o.seed) {
      ::close(fd);
      return FailedPreconditionError(where + ": written with seed " +
                                     (j.contains("seed") ? j["seed"].dump() : "?") +
                                     ", this run uses --seed " + std::to_string(o.seed) +
                                     " (resume with the same settings, or write a new file)");
    }
    // The same teacher, graph and documents: a resume must not mix two runs in one file.
    for (const auto& [key, ours, what] :
         {std::tuple<const char*, const std::string&, const char*>{
              "teacher_model", o.teacher_model, "another teacher model (--model)"},
          {"graph_hash", o.graph_hash, "another graph (--graph, --seeds)"},
          {"docs_hash", o.docs_hash, "other documents (--docs)"}}) {
      const auto it = j.find(key);
      if (ours.empty() || it == j.end()) continue;
      if (!it->is_string() || it->get<std::string>() != ours) {
        ::close(fd);
        return FailedPreconditionError(where + ": written with " + what + " (" + key + " " +
                                       it->dump() + ", this run's is \"" + ours +
                                       "\"); resume with the same settings, or write a new file");
      }
    }
    if (j.value("status", std::string()) == "failed") ex.failed.insert(index);
    if (index >= o.n || index % o.shard_count != o.shard_index) {
      ::close(fd);
      return FailedPreconditionError(where + ": conversation " + std::to_string(index) +
                                     " is not part of this run (-n " + std::to_string(o.n) +
                                     ", shard " + std::to_string(o.shard_index) + "/" +
                                     std::to_string(o.shard_count) + ")");
    }
    if (!ex.indices.insert(index).second) {
      ::close(fd);
      return DataLossError(where + ": conversation " + std::to_string(index) + " appears twice");
    }
  }
  ex.torn_bytes = text.size() - good_end;
  if (repair && ex.torn_bytes > 0) {
    if (::ftruncate(fd, static_cast<off_t>(good_end)) != 0 || ::fsync(fd) != 0) {
      const std::string err = std::strerror(errno);
      ::close(fd);
      return UnavailableError(path + ": cannot cut the torn last line: " + err);
    }
  }
  ::close(fd);
  return ex;
}

namespace {

// Rewrites `path` without the records whose index is in `drop` (AtomicFile: the old file or the
// new one, whole). Lines are kept byte for byte.
Status DropRecords(const std::string& path, const std::set<uint64_t>& drop) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::string kept;
  kept.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    end = end == std::string::npos ? text.size() : end + 1;
    const std::string_view line(text.data() + pos, end - pos);
    const json j = json::parse(line, nullptr, false);
    const bool dropped = j.is_object() && j.contains("index") && j["index"].is_number_unsigned() &&
                         drop.count(j["index"].get<uint64_t>()) > 0;
    if (!dropped) kept.append(line);
    pos = end;
  }
  return WriteFileAtomically(path, kept);
}

// Appends lines and fsyncs in batches, from its own thread; also prints progress.
class Writer {
 public:
  Writer(int fd, const SynthOptions& o, const SynthSummary* totals, std::mutex* totals_mu)
      : fd_(fd), o_(o), totals_(totals), totals_mu_(totals_mu) {
    tty_ = ::isatty(2);
    thread_ = std::thread([this] { Loop(); });
  }
  ~Writer() { (void)Finish(); }  // the error, if any, was taken by the caller's Finish()

  void Add(std::string line) {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ += line;
    ++pending_lines_;
    if (pending_lines_ >= o_.batch_lines) cv_.notify_one();
  }
  // Flushes everything, stops the thread; returns the first write error.
  Status Finish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!thread_.joinable()) return error_;
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
    return error_;
  }
  bool failed() {
    std::lock_guard<std::mutex> lock(mu_);
    return !error_.ok();
  }

 private:
  void Loop() {
    const auto start = std::chrono::steady_clock::now();
    auto last_flush = start, last_progress = start;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      const double wait = o_.progress_seconds > 0 ? std::min(o_.batch_seconds, o_.progress_seconds)
                                                  : o_.batch_seconds;
      cv_.wait_for(lock, std::chrono::duration<double>(wait),
                   [&] { return done_ || pending_lines_ >= o_.batch_lines; });
      const auto now = std::chrono::steady_clock::now();
      const bool flush_due =
          done_ || pending_lines_ >= o_.batch_lines ||
          std::chrono::duration<double>(now - last_flush).count() >= o_.batch_seconds;
      if (flush_due && pending_lines_ > 0 && error_.ok()) {
        std::string batch;
        batch.swap(pending_);
        pending_lines_ = 0;
        lock.unlock();
        Status s = WriteAll(batch);
        lock.lock();
        if (!s.ok()) error_ = s;
        last_flush = now;
      }
      if (o_.progress_seconds > 0 &&
          (done_ ||
           std::chrono::duration<double>(now - last_progress).count() >= o_.progress_seconds)) {
        PrintProgress(std::chrono::duration<double>(now - start).count(), done_);
        last_progress = now;
      }
      if (done_ && pending_lines_ == 0) break;
      if (done_ && !error_.ok()) break;
    }
  }

  Status WriteAll(const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
      const ssize_t w = ::write(fd_, data.data() + off, data.size() - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        return UnavailableError(o_.out_path + ": write failed: " + std::strerror(errno));
      }
      off += static_cast<size_t>(w);
    }
    if (::fsync(fd_) != 0) {
      return UnavailableError(o_.out_path + ": fsync failed: " + std::strerror(errno));
    }
    return Status::Ok();
  }

  void PrintProgress(double elapsed, bool final_line) {
    SynthSummary s;
    {
      std::lock_guard<std::mutex> lock(*totals_mu_);
      s = *totals_;
    }
    const uint64_t done_now = s.ok + s.failed;
    const uint64_t todo = s.planned - s.already;
    const double rate = elapsed > 0 ? done_now / elapsed : 0;
    const double req_rate = elapsed > 0 ? s.requests / elapsed : 0;
    char eta[32] = "--";
    if (rate > 0 && todo >= done_now) {
      const long left = std::lround((todo - done_now) / rate);
      std::snprintf(eta, sizeof(eta), "%ldm%02lds", left / 60, left % 60);
    }
    std::fprintf(stderr,
                 "%scodi: %llu/%llu done, %llu failed, %.1f conv/s, %.1f req/s, ETA %s, tokens "
                 "%lld in / %lld out%s",
                 tty_ ? "\r" : "", static_cast<unsigned long long>(done_now + s.already),
                 static_cast<unsigned long long>(s.planned),
                 static_cast<unsigned long long>(s.failed), rate, req_rate, eta,
                 static_cast<long long>(s.prompt_tokens),
                 static_cast<long long>(s.completion_tokens), tty_ && !final_line ? "   " : "\n");
    std::fflush(stderr);
  }

  int fd_;
  const SynthOptions& o_;
  const SynthSummary* totals_;
  std::mutex* totals_mu_;
  bool tty_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;
  int pending_lines_ = 0;
  bool done_ = false;
  Status error_;
  std::thread thread_;
};

}  // namespace

StatusOr<SynthSummary> RunSynth(const Graph& g, const std::vector<Document>& docs,
                                TeacherPool* pool, const SynthOptions& o) {
  CHECK(!docs.empty() && o.shard_count > 0 && o.shard_index < o.shard_count);
  if (o.concurrency < 1) return InvalidArgumentError("--concurrency must be >= 1");
  if (o.retry_failed && !o.resume) {
    return InvalidArgumentError(
        "--retry-failed re-runs the failures of an earlier run: use it "
        "with --resume");
  }

  const auto t0 = std::chrono::steady_clock::now();
  SynthSummary totals;
  ExistingOutput existing;
  struct stat st;
  const bool exists = ::stat(o.out_path.c_str(), &st) == 0;
  if (exists && !o.resume && st.st_size > 0) {
    return FailedPreconditionError(o.out_path +
                                   " already exists and is not empty: pass --resume "
                                   "to continue that run, or choose another --out");
  }
  if (o.resume) {
    ASSIGN_OR_RETURN(existing, ScanOutput(o.out_path, o, /*repair=*/true));
  }
  if (o.retry_failed && !existing.failed.empty()) {
    RETURN_IF_ERROR(DropRecords(o.out_path, existing.failed));
    for (uint64_t i : existing.failed) existing.indices.erase(i);
    totals.retried = existing.failed.size();
  }
  totals.already = existing.indices.size();
  totals.torn_bytes = existing.torn_bytes;
  std::vector<uint64_t> todo;
  for (uint64_t i = o.shard_index; i < o.n; i += o.shard_count) {
    ++totals.planned;
    if (!existing.indices.count(i)) todo.push_back(i);
  }
  const int fd = ::open(o.out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return UnavailableError(o.out_path + ": cannot open for writing: " + std::strerror(errno));
  }
  std::mutex totals_mu;
  std::atomic<size_t> next{0};
  std::atomic<bool> abort{false};
  Status writer_status;
  {
    Writer writer(fd, o, &totals, &totals_mu);
    auto worker = [&] {
      TeacherSession session(pool);
      for (;;) {
        if ((o.stop && o.stop->load()) || abort.load()) return;
        const size_t k = next.fetch_add(1);
        if (k >= todo.size()) return;
        const uint64_t index = todo[k];
        const Document& doc = docs[DocumentFor(index, docs.size())];
        Conversation c = RunConversation(g, doc, o.seed, index, &session, o.retry, o.stop);
        {
          std::lock_guard<std::mutex> lock(totals_mu);
          totals.requests += c.requests;
          totals.prompt_tokens += c.prompt_tokens;
          totals.completion_tokens += c.completion_tokens;
          totals.teacher_seconds += c.teacher_s;
          if (!c.ok && c.reason == "interrupted") {
            ++totals.interrupted;
            continue;
          }
          ++(c.ok ? totals.ok : totals.failed);
          if (!c.ok) ++totals.failed_by_reason[c.reason];
        }
        json record = ConversationToJson(
            c, g, o.teacher_model.empty() ? pool->options().model : o.teacher_model, o.seed);
        if (!o.graph_hash.empty()) record["graph_hash"] = o.graph_hash;
        if (!o.docs_hash.empty()) record["docs_hash"] = o.docs_hash;
        writer.Add(record.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
        if (writer.failed()) abort.store(true);
      }
    };
    std::vector<std::thread> threads;
    const size_t n_threads = std::min<size_t>(o.concurrency, std::max<size_t>(todo.size(), 1));
    for (size_t i = 0; i < n_threads; ++i) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    writer_status = writer.Finish();
  }
  ::close(fd);
  RETURN_IF_ERROR(writer_status);
  // Not started because of a stop: count as interrupted too.
  const size_t started = std::min(next.load(), todo.size());
  totals.interrupted += todo.size() - std::min(todo.size(), started);
  totals.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  totals.endpoints = pool->Stats();
  return totals;
}

std::string FormatSummary(const SynthSummary& s) {
  char buf[512];
  std::snprintf(
      buf, sizeof(buf),
      "%llu planned: %llu already written, %llu ok, %llu failed, %llu interrupted; "
      "%llu requests, %lld prompt + %lld completion tokens, %.2f s (%.2f s in teacher "
      "calls)",
      static_cast<unsigned long long>(s.planned), static_cast<unsigned long long>(s.already),
      static_cast<unsigned long long>(s.ok), static_cast<unsigned long long>(s.failed),
      static_cast<unsigned long long>(s.interrupted), static_cast<unsigned long long>(s.requests),
      static_cast<long long>(s.prompt_tokens), static_cast<long long>(s.completion_tokens),
      s.seconds, s.teacher_seconds);
  std::string out = buf;
  if (s.retried > 0) {
    out += "; " + std::to_string(s.retried) + " earlier failures run again";
  }
  if (!s.failed_by_reason.empty()) {
    out += "; failed:";
    for (const auto& [reason, n] : s.failed_by_reason) {
      out += " " + std::to_string(n) + " " + reason;
    }
  }
  if (s.torn_bytes) out += ", cut a torn last line of " + std::to_string(s.torn_bytes) + " bytes";
  for (const auto& e : s.endpoints) {
    out += "\n  teacher " + e.url + ": " + std::to_string(e.requests) + " requests, " +
           std::to_string(e.failures) + " failed, circuit opened " +
           std::to_string(e.times_opened) + (e.times_opened == 1 ? " time" : " times") + ", now " +
           StateName(e.state);
  }
  return out;
}

}  // namespace odlm::codi
