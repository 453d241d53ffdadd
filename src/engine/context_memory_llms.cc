// engine/context_memory_llms.cc — the llms policy: restore a context's chunks (resident ones
// decompressed, the rest read and recomputed in parallel as planned), and on release fold the
// attention received into tolerance, compress changed chunks and write them ahead of time.
#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "base/check.h"
#include "base/logging.h"
#include "engine/context_memory_internal.h"
#include "kv/tolerance.h"

namespace odlm {

Status ContextMemory::RecomputeChunks(Context& c, const std::vector<int32_t>& chunks) {
  const int64_t ct = shape_.chunk_tokens, n = c.session->n_tokens();
  for (size_t i = 0; i < chunks.size();) {
    size_t j = i + 1;
    while (j < chunks.size() && chunks[j] == chunks[j - 1] + 1) ++j;  // one run, one pass
    const int64_t begin = chunks[i] * ct, end = std::min<int64_t>(n, (chunks[j - 1] + 1) * ct);
    RETURN_IF_ERROR(engine_->RecomputeKv(*c.session, begin, end));
    stats_.tokens_recomputed += end - begin;
    i = j;
  }
  return Status::Ok();
}

Status ContextMemory::RecomputeWhole(Context& c, RestoreInfo* info) {
  KvCache& kv = c.session->kv();
  const int64_t n = c.session->n_tokens();
  kv.Clear();
  RETURN_IF_ERROR(engine_->RecomputeKv(*c.session, 0, n));
  kv.Advance(n);
  std::fill(kv.attention_received().begin(), kv.attention_received().end(), 0.0f);
  info->chunks_resident = info->chunks_read = 0;
  info->chunks_recomputed = kv.n_chunks();
  stats_.tokens_recomputed += n;
  return Status::Ok();
}

Status ContextMemory::RestoreLlms(Context& c, RestoreInfo* info) {
  KvCache& kv = c.session->kv();
  const int64_t n = c.session->n_tokens();
  kv.Clear();
  kv.set_track_attention(true);
  if (n == 0) return Status::Ok();
  std::vector<MissingChunk> missing;
  std::vector<int32_t> resident;
  for (int32_t i = 0; i < static_cast<int32_t>(c.chunks.size()); ++i) {
    Chunk& ch = c.chunks[i];
    ch.last_use = clock_;
    if (ch.mem) {
      resident.push_back(i);
    } else {
      missing.push_back(
          {i, ch.on_disk && store_ != nullptr, shape_.compressed_bytes(ch.disk_level) + 64});
    }
  }
  RestorePlan plan;
  if (windowed_) {
    // Sliding-window layers: no partial recompute (a chunk's windowed K/V needs the window
    // before it, which is gone): every missing chunk is read, and the tail put back; without
    // them, everything is recomputed.
    bool complete = c.window_tail_tokens == n;
    for (const MissingChunk& m : missing) {
      complete = complete && m.on_disk;
      plan.read.push_back(m.index);
    }
    if (!complete) return RecomputeWhole(c, info);
    RETURN_IF_ERROR(kv.ReserveRange(n, n));
    RETURN_IF_ERROR(kv.ImportWindowTail(n, c.window_tail));
  } else {
    RETURN_IF_ERROR(kv.Reserve(n));
    plan = PlanRestore(missing, cost_);
  }
  CHECK_EQ(static_cast<int64_t>(c.chunks.size()), kv.n_chunks());
  info->predicted_s = plan.predicted_s;
  // Each planned file is read and decoded straight into its KV chunk; each resident chunk is
  // decoded. Every chunk is written by exactly one thread.
  std::vector<std::vector<uint8_t>> payloads(plan.read.size());
  std::vector<Status> read_status(plan.read.size());
  std::vector<ChunkFileId> ids;
  for (int32_t idx : plan.read) ids.push_back(DiskId(c, idx));
  const std::vector<int32_t>& tokens = c.session->tokens();
  auto read_one = [&](size_t i) {
    const int32_t idx = plan.read[i];
    const Chunk& ch = c.chunks[idx];
    payloads[i].resize(shape_.compressed_bytes(static_cast<KvLevel>(ids[i].level)));
    read_status[i] = store_->Read(ids[i], payloads[i]);
    // The file must also hold exactly these tokens (a context rewritten since is stale).
    const int64_t end = static_cast<int64_t>(idx) * shape_.chunk_tokens + ch.n_valid;
    const uint64_t want = TokenPrefixHash({tokens.data(), static_cast<size_t>(end)});
    if (read_status[i].ok() && (ids[i].token_hash != want || ch.disk_valid != ch.n_valid)) {
      read_status[i] = DataLossError("chunk file of context '" + c.key + "' chunk " +
                                     std::to_string(idx) + " was computed from other tokens");
    }
    if (read_status[i].ok()) {
      DecompressKvChunk(shape_, ch.disk_level, payloads[i], ch.n_valid, kv.chunk_data(idx));
    }
  };
  auto decode_one = [&](size_t r) {
    const Chunk& ch = c.chunks[resident[r]];
    DecompressKvChunk(shape_, ch.level,
                      {ch.mem.get(), static_cast<size_t>(shape_.compressed_bytes(ch.level))},
                      ch.n_valid, kv.chunk_data(resident[r]));
  };
  Status rc = Status::Ok();
  if (plan.recompute_first.empty()) {
    // The usual plan: nothing to recompute first. One loop over reads and decodes on the restore
    // threads, which are already running (starting threads per restore cost ~0.1 ms, a quarter
    // of a restore); the reads go first, up to one per thread at once, so that the device's
    // per-request latency overlaps (one file per chunk).
    const size_t n_reads = ids.size();
    restore_pool_->ParallelFor(static_cast<int64_t>(n_reads + resident.size()),
                               [&](int, int64_t b, int64_t e) {
                                 for (int64_t i = b; i < e; ++i) {
                                   if (static_cast<size_t>(i) < n_reads) {
                                     read_one(static_cast<size_t>(i));
                                   } else {
                                     decode_one(static_cast<size_t>(i) - n_reads);
                                   }
                                 }
                               });
  } else {
    // A prefix to recompute: it overlaps the reads. Helper threads read (kRestoreReadThreads at
    // once), then help decode resident chunks; this thread decodes resident chunks and then
    // recomputes, which reads only chunks before the first read one (resident chunks are decoded
    // before it starts).
    std::atomic<size_t> next_resident{0}, resident_done{0}, next_read{0};
    auto decode_resident = [&] {
      for (size_t r; (r = next_resident.fetch_add(1)) < resident.size();) {
        decode_one(r);
        resident_done.fetch_add(1);
      }
    };
    std::vector<std::future<void>> helpers;
    const size_t n_helpers = std::min<size_t>(kRestoreReadThreads, ids.size());
    for (size_t h = 0; h < std::max<size_t>(1, n_helpers); ++h) {
      helpers.push_back(std::async(std::launch::async, [&] {
        for (size_t i; (i = next_read.fetch_add(1)) < ids.size();) read_one(i);
        decode_resident();
      }));
    }
    decode_resident();
    // At most the helpers' last resident chunks are still being decoded.
    while (resident_done.load() < resident.size()) std::this_thread::yield();
    rc = RecomputeChunks(c, plan.recompute_first);
    for (std::future<void>& h : helpers) h.wait();
  }
  RETURN_IF_ERROR(rc);
  info->chunks_resident = static_cast<int64_t>(resident.size());
  info->chunks_recomputed += static_cast<int64_t>(plan.recompute_first.size());
  std::vector<int32_t> after = plan.recompute_after;
  int64_t keep_bytes = 0;
  for (size_t i = 0; i < plan.read.size(); ++i) {
    if (!read_status[i].ok()) {
      LOG(WARNING) << read_status[i].ToString();
      c.chunks[plan.read[i]].on_disk = false;
      info->chunks_corrupt++;
      after.push_back(plan.read[i]);
      continue;
    }
    info->chunks_read++;
    keep_bytes += static_cast<int64_t>(payloads[i].size());
  }
  // Keep the bytes read resident when the budget has room for them (evicting unpinned chunks in
  // LCTRU order once for all of them; if not all fit, as many as do).
  const bool all_fit = keep_bytes > 0 && MakeRoom(keep_bytes);
  int64_t stored = all_fit ? 0 : StoredBytesLocked();
  for (size_t i = 0; i < plan.read.size(); ++i) {
    if (!read_status[i].ok()) continue;
    const int64_t size = static_cast<int64_t>(payloads[i].size());
    if (!all_fit && options_.budget_bytes > 0 && stored + size > options_.budget_bytes) continue;
    stored += size;
    Chunk& ch = c.chunks[plan.read[i]];
    ch.level = ch.disk_level;
    ch.mem.reset(new uint8_t[size]);
    std::copy(payloads[i].begin(), payloads[i].end(), ch.mem.get());
    ch.dirty = false;
  }
  std::sort(after.begin(), after.end());
  if (windowed_ && !after.empty()) return RecomputeWhole(c, info);  // a corrupt chunk file
  RETURN_IF_ERROR(RecomputeChunks(c, after));
  info->chunks_recomputed += static_cast<int64_t>(after.size());
  kv.Advance(n);
  std::fill(kv.attention_received().begin(), kv.attention_received().end(), 0.0f);
  return Status::Ok();
}

Status ContextMemory::ReleaseLlms(Context& c) {
  KvCache& kv = c.session->kv();
  const auto& tokens = c.session->tokens();
  const int64_t n = static_cast<int64_t>(tokens.size()), ct = shape_.chunk_tokens;
  CHECK_EQ(kv.n_tokens(), n);
  // First position whose token (and so KV) changed during this use.
  int64_t first_new = 0;
  const auto& old = c.tokens_at_acquire;
  while (first_new < n && first_new < static_cast<int64_t>(old.size()) &&
         old[first_new] == tokens[first_new]) {
    ++first_new;
  }
  // Tolerance statistics: sums from the model; each position j was looked at by every
  // (layer, head) of each query evaluated at a position ≥ j during this use.
  c.recv_sum.resize(n, 0.0f);
  c.recv_count.resize(n, 0.0f);
  const float per_query = static_cast<float>(engine_->config().n_layer) * engine_->config().n_head;
  const auto& recv = kv.attention_received();
  for (int64_t j = 0; j < n; ++j) {
    if (j >= first_new) c.recv_sum[j] = c.recv_count[j] = 0.0f;
    if (j < static_cast<int64_t>(recv.size())) c.recv_sum[j] += recv[j];
    c.recv_count[j] += per_query * static_cast<float>(n - std::max(j, first_new));
  }
  const int64_t n_chunks = (n + ct - 1) / ct;
  // Chunks past the end (a truncated context) disappear with their files.
  for (int64_t i = n_chunks; i < static_cast<int64_t>(c.chunks.size()); ++i) {
    if (store_ && c.chunks[i].on_disk) store_->Remove(DiskId(c, static_cast<int32_t>(i)));
  }
  c.chunks.resize(n_chunks);
  std::vector<KvLevel> target(n_chunks, KvLevel::kRaw);
  if (options_.compress) {
    std::vector<double> importance(n_chunks);
    for (int64_t i = 0; i < n_chunks; ++i) {
      const int64_t b = i * ct, e = std::min(n, b + ct);
      importance[i] = ChunkImportance({c.recv_sum.data() + b, static_cast<size_t>(e - b)},
                                      {c.recv_count.data() + b, static_cast<size_t>(e - b)});
    }
    // Attention sinks and the newest tokens stay precise whatever attention they got so far.
    const std::unique_ptr<bool[]> keep(new bool[n_chunks]());
    for (int64_t i = 0; i < n_chunks; ++i) {
      keep[i] = i < options_.keep_sink_chunks || i >= n_chunks - options_.keep_recent_chunks;
    }
    target = ChooseKvLevels(importance, options_.compression_ratio, shape_,
                            {keep.get(), static_cast<size_t>(n_chunks)});
  }
  auto bits = [](KvLevel l) { return l == KvLevel::kRaw ? 64 : KvLevelBits(l); };
  bool wrote = false;
  for (int64_t i = 0; i < n_chunks; ++i) {
    Chunk& ch = c.chunks[i];
    const int32_t n_valid = static_cast<int32_t>(std::min(ct, n - i * ct));
    const bool changed = (i + 1) * ct > first_new || ch.n_valid != n_valid;
    ch.n_valid = n_valid;
    ch.last_use = clock_;
    KvLevel level = ch.level;
    bool quantize = false;
    if (changed) {
      level = target[i], quantize = true;
      ch.on_disk = false;
    } else if (bits(target[i]) < bits(ch.level) && (ch.mem || !ch.on_disk)) {
      level = target[i], quantize = true;  // more tolerant now: compress further
    } else if (!ch.mem && !ch.on_disk) {
      quantize = true;  // evicted with no file: keep what the working cache holds
    }
    if (!quantize) continue;
    const int64_t bytes = shape_.compressed_bytes(level);
    ch.mem.reset(new uint8_t[bytes]);
    ch.level = level;
    CompressKvChunk(shape_, level, kv.chunk_data(i), n_valid,
                    {ch.mem.get(), static_cast<size_t>(bytes)});
    ch.dirty = true;
    if (store_) {  // ahead of time: written now, so eviction later only drops clean memory
      ch.generation++;
      ch.disk_level = level;
      ch.disk_valid = n_valid;
      ch.disk_hash = TokenPrefixHash({tokens.data(), static_cast<size_t>(i * ct + n_valid)});
      const Status s = store_->Write(DiskId(c, static_cast<int32_t>(i)),
                                     {ch.mem.get(), static_cast<size_t>(bytes)});
      if (s.ok()) {
        ch.on_disk = true;
        ch.dirty = false;
        wrote = true;
      } else {
        LOG(WARNING) << s.ToString();
      }
    }
  }
  if (windowed_) {
    c.window_tail = kv.ExportWindowTail();
    c.window_tail_tokens = n;
  }
  if (store_) {
    if (wrote) RETURN_IF_ERROR(store_->SyncDir());
    RETURN_IF_ERROR(SaveManifest(c));
  }
  return Status::Ok();
}

}  // namespace odlm
