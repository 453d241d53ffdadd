// engine/context_memory.cc — contexts, budget, eviction, manifests and the baseline policies.
// The llms restore/release paths are in context_memory_llms.cc.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "base/check.h"
#include "base/logging.h"
#include "engine/context_memory_internal.h"
#include "kv/lctru.h"
#include "platform/file_util.h"

namespace odlm {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

constexpr char kManifestMagic[4] = {'O', 'K', 'V', 'M'};
constexpr uint32_t kManifestVersion = 1;

template <typename T>
void Put(std::string* out, const T& v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

// Bounds-checked reader of a manifest's bytes.
struct Reader {
  std::string_view s;
  size_t pos = 0;
  bool ok = true;
  template <typename T>
  T Get() {
    T v{};
    if (pos + sizeof(T) > s.size()) {
      ok = false;
      return v;
    }
    std::memcpy(&v, s.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  bool Bytes(void* dst, size_t n) {
    if (pos + n > s.size()) return ok = false;
    std::memcpy(dst, s.data() + pos, n);
    pos += n;
    return true;
  }
};

// The swap file's bytes for a whole cache: every chunk's main storage, then the window tail.
std::vector<uint8_t> WholeSwapPayload(KvCache& kv) {
  const int64_t cb = kv.chunk_bytes();
  std::vector<uint8_t> payload(kv.n_chunks() * cb);
  for (int64_t i = 0; i < kv.n_chunks(); ++i) {
    if (cb > 0) std::memcpy(payload.data() + i * cb, kv.chunk_data(i), cb);
  }
  const std::vector<uint8_t> tail = kv.ExportWindowTail();
  payload.insert(payload.end(), tail.begin(), tail.end());
  return payload;
}

}  // namespace

std::string_view KvPolicyName(KvPolicy p) {
  switch (p) {
    case KvPolicy::kLlms:
      return "llms";
    case KvPolicy::kRecompute:
      return "recompute";
    case KvPolicy::kSwap:
      return "swap";
    case KvPolicy::kResident:
      return "resident";
  }
  return "?";
}

StatusOr<KvPolicy> ParseKvPolicy(std::string_view s) {
  for (KvPolicy p : {KvPolicy::kLlms, KvPolicy::kRecompute, KvPolicy::kSwap, KvPolicy::kResident}) {
    if (s == KvPolicyName(p)) return p;
  }
  return InvalidArgumentError("unknown KV policy '" + std::string(s) +
                              "': expected llms, recompute, swap or resident");
}

ContextMemory::ContextMemory(Engine* engine, const ContextMemoryOptions& options)
    : engine_(engine), options_(options), cost_(options.cost_model) {
  // Chunks hold the full-context layers; sliding-window layers' recent K/V travels as a context's
  // window tail (KvCache::ExportWindowTail).
  const KvCacheShape session_shape = engine->SessionKvShape();
  shape_.n_layer = session_shape.n_full_layers();
  shape_.kv_dim = session_shape.kv_dim;
  shape_.chunk_tokens = session_shape.chunk_tokens;
  shape_.type = session_shape.type;
  windowed_ = session_shape.window > 0;
}

ContextMemory::~ContextMemory() = default;

StatusOr<std::unique_ptr<ContextMemory>> ContextMemory::Open(Engine* engine,
                                                             const ContextMemoryOptions& options) {
  if (options.budget_bytes < 0) return InvalidArgumentError("KV budget must be ≥ 0 bytes");
  if (!(options.compression_ratio > 0)) {
    return InvalidArgumentError("KV compression ratio must be > 0 (fraction of 8-bit size)");
  }
  if (options.policy == KvPolicy::kSwap && options.swap_dir.empty()) {
    return InvalidArgumentError("KV policy 'swap' needs a swap directory (--swap-dir)");
  }
  std::unique_ptr<ContextMemory> m(new ContextMemory(engine, options));
  if (!options.swap_dir.empty() && options.policy != KvPolicy::kResident &&
      options.policy != KvPolicy::kRecompute) {
    ASSIGN_OR_RETURN(m->store_, ChunkStore::Open(options.swap_dir, options.direct_io));
  }
  if (options.policy == KvPolicy::kLlms)
    m->restore_pool_ = std::make_unique<ThreadPool>(1 + kRestoreReadThreads);
  if (options.measure_costs) RETURN_IF_ERROR(m->MeasureCosts());
  if (m->store_ && options.policy == KvPolicy::kLlms) RETURN_IF_ERROR(m->LoadManifests());
  return m;
}

Status ContextMemory::MeasureCosts() {
  const int32_t ct = shape_.chunk_tokens;
  // Recompute: one forward pass of 1 and of 4 chunks from a scratch session.
  KvCacheShape ks = engine_->SessionKvShape();
  ks.max_tokens = 8LL * ct;
  Session scratch(ks);
  for (int32_t i = 0; i < 4 * ct; ++i) {
    scratch.tokens_.push_back(1 + i % std::max<int32_t>(1, engine_->config().n_vocab - 1));
  }
  auto time_recompute = [&](int64_t tokens) -> StatusOr<double> {
    double best = 1e30;
    for (int rep = 0; rep < 2; ++rep) {
      const double t0 = Now();
      RETURN_IF_ERROR(engine_->RecomputeKv(scratch, 0, tokens));
      best = std::min(best, Now() - t0);
    }
    return best;
  };
  ASSIGN_OR_RETURN(double t1, time_recompute(ct));
  ASSIGN_OR_RETURN(double t4, time_recompute(4 * ct));
  cost_.recompute_s_per_chunk = std::max(1e-6, (t4 - t1) / 3);
  cost_.recompute_fixed_s = std::max(0.0, t1 - cost_.recompute_s_per_chunk);
  if (store_) {
    // Reads: a small and a large file, past the page cache.
    const int64_t small = shape_.compressed_bytes(KvLevel::k2);
    const int64_t large = 8 * shape_.compressed_bytes(KvLevel::k8);
    std::vector<uint8_t> buf(large, 0x5A);
    auto time_read = [&](int64_t bytes, int32_t idx) -> StatusOr<double> {
      ChunkFileId id{0xC057C057C057C057ULL, idx, 1, 0, 0, 0};
      RETURN_IF_ERROR(store_->Write(id, {buf.data(), static_cast<size_t>(bytes)}));
      double best = 1e30;
      for (int rep = 0; rep < 3; ++rep) {
        const double t0 = Now();
        RETURN_IF_ERROR(store_->Read(id, {buf.data(), static_cast<size_t>(bytes)}));
        best = std::min(best, Now() - t0);
      }
      store_->Remove(id);
      return best;
    };
    ASSIGN_OR_RETURN(double rs, time_read(small, 0));
    ASSIGN_OR_RETURN(double rl, time_read(large, 1));
    // (Chunks of 0 bytes when every layer is windowed: the fixed cost is all there is.)
    if (large > small) {
      cost_.read_s_per_byte = std::max(1e-12, (rl - rs) / static_cast<double>(large - small));
    }
    cost_.read_fixed_s = std::max(0.0, rs - cost_.read_s_per_byte * static_cast<double>(small));
  }
  LOG(INFO) << "KV restore cost model: " << cost_.ToString();
  return Status::Ok();
}

ContextMemory::Context* ContextMemory::Find(const std::string& key) {
  auto it = contexts_.find(key);
  return it == contexts_.end() ? nullptr : it->second.get();
}

std::vector<std::string> ContextMemory::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> keys;
  for (const auto& [k, c] : contexts_) keys.push_back(k);
  return keys;
}

bool ContextMemory::Contains(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return contexts_.count(key) != 0;
}

ChunkFileId ContextMemory::DiskId(const Context& c, int32_t index) const {
  const Chunk& ch = c.chunks[index];
  return ChunkFileId{c.id,          index,       ch.generation, static_cast<uint8_t>(ch.disk_level),
                     ch.disk_valid, ch.disk_hash};
}

int64_t ContextMemory::StoredBytesLocked() const {
  int64_t bytes = 0;
  for (const auto& [k, c] : contexts_) {
    if (options_.policy == KvPolicy::kLlms) {
      for (const Chunk& ch : c->chunks) {
        if (ch.mem) bytes += shape_.compressed_bytes(ch.level);
      }
      bytes += static_cast<int64_t>(c->window_tail.size());
    } else if (!c->pinned) {
      bytes += c->session->kv().allocated_bytes();
    }
  }
  return bytes;
}

void ContextMemory::Note() {
  stats_.stored_bytes = StoredBytesLocked();
  stats_.peak_stored_bytes = std::max(stats_.peak_stored_bytes, stats_.stored_bytes);
  int64_t working = 0;
  for (const auto& [k, c] : contexts_) {
    if (c->pinned || c.get() == warm_) working += c->session->kv().allocated_bytes();
  }
  stats_.working_bytes = working;
  if (store_) {
    stats_.bytes_read = store_->bytes_read();
    stats_.bytes_written = store_->bytes_written();
  }
}

bool ContextMemory::MakeRoom(int64_t extra) {
  const int64_t budget = options_.budget_bytes;
  if (budget == 0 || options_.policy == KvPolicy::kResident) return true;
  int64_t stored = StoredBytesLocked();
  if (stored + extra <= budget) return true;
  if (options_.policy == KvPolicy::kLlms) {
    std::vector<EvictionCandidate> cands;
    std::vector<std::pair<Context*, int32_t>> where;
    for (auto& [k, c] : contexts_) {
      for (int32_t i = 0; i < static_cast<int32_t>(c->chunks.size()); ++i) {
        const Chunk& ch = c->chunks[i];
        if (!ch.mem) continue;
        cands.push_back({ch.level, ch.last_use, c->pinned});
        where.emplace_back(c.get(), i);
      }
    }
    for (size_t idx : LctruOrder(cands)) {
      if (stored + extra <= budget) break;
      Context& c = *where[idx].first;
      Chunk& ch = c.chunks[where[idx].second];
      if (ch.dirty && store_) {  // normally written ahead of time; write before dropping
        ch.generation++;
        ch.disk_level = ch.level;
        ch.disk_valid = ch.n_valid;
        const int64_t end =
            static_cast<int64_t>(where[idx].second) * shape_.chunk_tokens + ch.n_valid;
        ch.disk_hash = TokenPrefixHash({c.session->tokens().data(), static_cast<size_t>(end)});
        const Status s =
            store_->Write(DiskId(c, where[idx].second),
                          {ch.mem.get(), static_cast<size_t>(shape_.compressed_bytes(ch.level))});
        ch.on_disk = s.ok();
        if (!s.ok()) LOG(WARNING) << s.ToString();
      }
      stored -= shape_.compressed_bytes(ch.level);
      ch.mem.reset();
      ch.dirty = false;
      stats_.evictions++;
    }
    return stored + extra <= budget;
  }
  // Baselines: least recently used whole contexts.
  std::vector<Context*> order;
  for (auto& [k, c] : contexts_) {
    if (!c->pinned && c->session->kv().allocated_bytes() > 0) order.push_back(c.get());
  }
  std::sort(order.begin(), order.end(),
            [](const Context* a, const Context* b) { return a->last_use < b->last_use; });
  for (Context* c : order) {
    if (stored + extra <= budget) break;
    KvCache& kv = c->session->kv();
    if (options_.policy == KvPolicy::kSwap && c->session->n_tokens() > 0 &&
        !(c->whole_on_disk && c->whole_disk_tokens == c->session->n_tokens())) {
      const std::vector<uint8_t> payload = WholeSwapPayload(kv);
      c->whole_generation++;
      ChunkFileId id{c->id,
                     -1,
                     c->whole_generation,
                     0,
                     static_cast<int32_t>(c->session->n_tokens()),
                     TokenPrefixHash(c->session->tokens())};
      const Status s = store_->Write(id, payload);
      c->whole_on_disk = s.ok();
      c->whole_disk_tokens = c->session->n_tokens();
      if (!s.ok()) LOG(WARNING) << s.ToString();
    }
    stored -= kv.allocated_bytes();
    kv.Clear();
    stats_.evictions++;
  }
  return stored + extra <= budget;
}

StatusOr<Session*> ContextMemory::Acquire(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Context* c = Find(key);
  if (c == nullptr) {
    auto fresh = std::make_unique<Context>();
    fresh->key = key;
    fresh->id = Checksum64({reinterpret_cast<const uint8_t*>(key.data()), key.size()}, 1);
    fresh->session = std::make_unique<Session>(engine_->SessionKvShape());
    c = fresh.get();
    contexts_[key] = std::move(fresh);
  }
  if (c->pinned) return FailedPreconditionError("context '" + key + "' is already in use");
  c->pinned = true;
  c->last_use = ++clock_;
  RestoreInfo info;
  info.tokens = c->session->n_tokens();
  const double t0 = Now();
  Status s = Status::Ok();
  if (options_.policy != KvPolicy::kLlms) {
    s = RestoreWhole(*c, &info);
  } else if (c == warm_ && c->session->kv().n_tokens() == c->session->n_tokens()) {
    warm_ = nullptr;  // pinned now: its cache is this call's working cache
    KvCache& kv = c->session->kv();
    kv.set_track_attention(true);
    std::fill(kv.attention_received().begin(), kv.attention_received().end(), 0.0f);
    for (Chunk& ch : c->chunks) ch.last_use = clock_;
    info.warm = true;
    info.chunks_resident = static_cast<int64_t>(c->chunks.size());
  } else {
    if (warm_ == c) warm_ = nullptr;  // (incomplete: restored below like any other)
    DropWarm(nullptr);                // before this context's cache is allocated
    s = RestoreLlms(*c, &info);
  }
  if (!s.ok()) {
    c->session->kv().Clear();
    c->pinned = false;
    return s.WithContext("restoring context '" + key + "'");
  }
  info.seconds = Now() - t0;
  c->tokens_at_acquire = c->session->tokens();
  stats_.chunks_resident += info.chunks_resident;
  stats_.chunks_read += info.chunks_read;
  stats_.chunks_recomputed += info.chunks_recomputed;
  stats_.chunks_corrupt += info.chunks_corrupt;
  last_ = info;
  Note();
  return c->session.get();
}

Status ContextMemory::RestoreWhole(Context& c, RestoreInfo* info) {
  KvCache& kv = c.session->kv();
  const int64_t n = c.session->n_tokens();
  if (kv.n_tokens() == n) {
    info->chunks_resident = kv.n_chunks();
    return Status::Ok();
  }
  kv.Clear();
  if (n == 0) return Status::Ok();
  if (options_.policy == KvPolicy::kSwap && c.whole_on_disk && c.whole_disk_tokens == n) {
    RETURN_IF_ERROR(kv.ReserveRange(n, n));  // every chunk, and the window blocks of the tail
    const int64_t cb = kv.chunk_bytes();
    std::vector<uint8_t> payload(kv.n_chunks() * cb + kv.window_tail_bytes(n));
    ChunkFileId id{c.id,
                   -1,
                   c.whole_generation,
                   0,
                   static_cast<int32_t>(n),
                   TokenPrefixHash(c.session->tokens())};
    const Status s = store_->Read(id, payload);
    if (s.ok()) {
      for (int64_t i = 0; i < kv.n_chunks(); ++i) {
        if (cb > 0) std::memcpy(kv.chunk_data(i), payload.data() + i * cb, cb);
      }
      RETURN_IF_ERROR(
          kv.ImportWindowTail(n, std::span<const uint8_t>(payload).subspan(kv.n_chunks() * cb)));
      kv.Advance(n);
      info->chunks_read = kv.n_chunks();
      return Status::Ok();
    }
    LOG(WARNING) << s.ToString();
    c.whole_on_disk = false;
    info->chunks_corrupt = (n + shape_.chunk_tokens - 1) / shape_.chunk_tokens;
    kv.Clear();
  }
  RETURN_IF_ERROR(engine_->RecomputeKv(*c.session, 0, n));
  kv.Advance(n);
  info->chunks_recomputed = kv.n_chunks();
  stats_.tokens_recomputed += n;
  return Status::Ok();
}

void ContextMemory::DropWarm(const Context* keep) {
  if (warm_ == nullptr || warm_ == keep) return;
  CHECK(!warm_->pinned);
  warm_->session->kv().Clear();
  warm_ = nullptr;
}

Status ContextMemory::Release(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Context* c = Find(key);
  if (c == nullptr || !c->pinned) {
    return FailedPreconditionError("context '" + key + "' is not acquired");
  }
  c->last_use = ++clock_;
  Status s = Status::Ok();
  if (options_.policy == KvPolicy::kLlms) {
    s = ReleaseLlms(*c);
    if (s.ok() && options_.keep_warm) {
      DropWarm(c);
      warm_ = c;
    } else {
      c->session->kv().Clear();
    }
  } else if (c->session->tokens() != c->tokens_at_acquire) {
    c->whole_on_disk = false;
  }
  c->pinned = false;
  MakeRoom(0);
  Note();
  return s;
}

Status ContextMemory::Delete(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Context* c = Find(key);
  if (c == nullptr) return NotFoundError("no context '" + key + "'");
  if (c->pinned) return FailedPreconditionError("context '" + key + "' is in use");
  if (store_) {
    for (int32_t i = 0; i < static_cast<int32_t>(c->chunks.size()); ++i) {
      store_->Remove(DiskId(*c, i));
    }
    store_->Remove(ChunkFileId{c->id, -1, 0, 0, 0, 0});
    char name[40];
    std::snprintf(name, sizeof(name), "/%016llx.manifest", static_cast<unsigned long long>(c->id));
    std::filesystem::remove(store_->dir() + name);
  }
  if (warm_ == c) warm_ = nullptr;
  contexts_.erase(key);
  Note();
  return Status::Ok();
}

ContextMemoryStats ContextMemory::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

RestoreInfo ContextMemory::last_restore() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_;
}

int64_t ContextMemory::CachedTokens(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = contexts_.find(key);
  if (it == contexts_.end()) return 0;
  const Context& c = *it->second;
  // An acquired context's session belongs to its caller: report what it held at Acquire.
  if (c.pinned) return static_cast<int64_t>(c.tokens_at_acquire.size());
  const int64_t in_cache = c.session->kv().n_tokens();  // warm, or a baseline's cache
  if (options_.policy != KvPolicy::kLlms || in_cache > 0) return in_cache;
  int64_t tokens = 0;
  for (const Chunk& ch : c.chunks) tokens += ch.mem ? ch.n_valid : 0;
  return tokens;
}

std::vector<KvLevel> ContextMemory::ChunkLevels(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<KvLevel> levels;
  auto it = contexts_.find(key);
  if (it == contexts_.end()) return levels;
  for (const Chunk& ch : it->second->chunks) levels.push_back(ch.level);
  return levels;
}

Status ContextMemory::SaveManifest(const Context& c) {
  std::string out(kManifestMagic, 4);
  Put(&out, kManifestVersion);
  Put(&out, static_cast<uint32_t>(c.key.size()));
  out += c.key;
  Put(&out, static_cast<uint32_t>(shape_.chunk_tokens));
  const auto& tokens = c.session->tokens();
  Put(&out, static_cast<uint64_t>(tokens.size()));
  out.append(reinterpret_cast<const char*>(tokens.data()), tokens.size() * 4);
  out.append(reinterpret_cast<const char*>(c.recv_sum.data()), tokens.size() * 4);
  out.append(reinterpret_cast<const char*>(c.recv_count.data()), tokens.size() * 4);
  Put(&out, static_cast<uint32_t>(c.chunks.size()));
  for (const Chunk& ch : c.chunks) {
    Put(&out, static_cast<uint8_t>(ch.on_disk));
    Put(&out, static_cast<uint8_t>(ch.disk_level));
    Put(&out, static_cast<uint8_t>(ch.level));
    Put(&out, static_cast<uint8_t>(0));
    Put(&out, ch.generation);
    Put(&out, ch.disk_valid);
    Put(&out, ch.disk_hash);
  }
  Put(&out, Checksum64({reinterpret_cast<const uint8_t*>(out.data()), out.size()}));
  char name[40];
  std::snprintf(name, sizeof(name), "/%016llx.manifest", static_cast<unsigned long long>(c.id));
  return WriteFileAtomically(store_->dir() + name, out);
}

Status ContextMemory::LoadManifests() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(store_->dir(), ec)) {
    if (entry.path().extension() != ".manifest") continue;
    const std::string path = entry.path().string();
    auto bytes = ReadFileToString(path);
    if (!bytes.ok()) {
      LOG(WARNING) << bytes.status().ToString();
      continue;
    }
    const std::string& s = *bytes;
    auto bad = [&](const std::string& why) {
      LOG(WARNING) << "skipping context manifest '" << path << "': " << why;
    };
    if (s.size() < 12 || std::memcmp(s.data(), kManifestMagic, 4) != 0) {
      bad("bad magic at byte 0");
      continue;
    }
    uint64_t sum;
    std::memcpy(&sum, s.data() + s.size() - 8, 8);
    if (sum != Checksum64({reinterpret_cast<const uint8_t*>(s.data()), s.size() - 8})) {
      bad("checksum mismatch");
      continue;
    }
    Reader r{std::string_view(s).substr(0, s.size() - 8), 4};
    auto c = std::make_unique<Context>();
    if (r.Get<uint32_t>() != kManifestVersion) {
      bad("unknown version");
      continue;
    }
    const uint32_t key_len = r.Get<uint32_t>();
    c->key.resize(std::min<uint32_t>(key_len, 1 << 20));
    r.Bytes(c->key.data(), c->key.size());
    const uint32_t ct = r.Get<uint32_t>();
    const uint64_t n = r.Get<uint64_t>();
    if (!r.ok || ct != static_cast<uint32_t>(shape_.chunk_tokens) ||
        n > static_cast<uint64_t>(engine_->n_ctx())) {
      bad("chunk size or token count does not match this engine");
      continue;
    }
    std::vector<int32_t> tokens(n);
    c->recv_sum.resize(n);
    c->recv_count.resize(n);
    r.Bytes(tokens.data(), n * 4);
    r.Bytes(c->recv_sum.data(), n * 4);
    r.Bytes(c->recv_count.data(), n * 4);
    const uint32_t n_chunks = r.Get<uint32_t>();
    const int64_t ctk = shape_.chunk_tokens;
    if (!r.ok || n_chunks != (n + ctk - 1) / ctk) {
      bad("chunk table does not match the token count");
      continue;
    }
    c->chunks.resize(n_chunks);
    for (uint32_t i = 0; i < n_chunks; ++i) {
      Chunk& ch = c->chunks[i];
      ch.on_disk = r.Get<uint8_t>() != 0;
      ch.disk_level = static_cast<KvLevel>(r.Get<uint8_t>());
      ch.level = static_cast<KvLevel>(r.Get<uint8_t>());
      r.Get<uint8_t>();
      ch.generation = r.Get<uint32_t>();
      ch.disk_valid = r.Get<int32_t>();
      ch.disk_hash = r.Get<uint64_t>();
      ch.n_valid = static_cast<int32_t>(std::min<int64_t>(ctk, n - i * ctk));
      ch.level = ch.disk_level;
    }
    if (!r.ok) {
      bad("truncated chunk table");
      continue;
    }
    c->id = Checksum64({reinterpret_cast<const uint8_t*>(c->key.data()), c->key.size()}, 1);
    c->session = std::make_unique<Session>(engine_->SessionKvShape());
    c->session->tokens_ = std::move(tokens);
    contexts_[c->key] = std::move(c);
  }
  if (ec)
    return UnavailableError("cannot list swap directory '" + store_->dir() + "': " + ec.message());
  return Status::Ok();
}

}  // namespace odlm
