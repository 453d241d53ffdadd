// engine/engine.cc — model loading, sessions and batched evaluation.
#include "odlm/engine.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "base/check.h"
#include "base/logging.h"
#include "platform/process_stats.h"

namespace odlm {

Engine::~Engine() = default;

StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  if (options.kv_type != DType::kF16 && options.kv_type != DType::kF32) {
    return InvalidArgumentError("KV cache type must be f16 or f32");
  }
  if (options.max_batch_tokens <= 0) return InvalidArgumentError("max_batch_tokens must be > 0");
  std::unique_ptr<Engine> e(new Engine());
  e->options_ = options;
  ASSIGN_OR_RETURN(e->file_,
                   GgufFile::Open(options.model_path,
                                  options.mmap ? MappedFile::Mode::kMap : MappedFile::Mode::kCopy));
  const int64_t physical = PhysicalMemoryBytes();
  int64_t tensor_bytes = 0;
  for (const auto& t : e->file_->tensors()) tensor_bytes += static_cast<int64_t>(t.n_bytes);
  if (physical > 0 && tensor_bytes > physical) {
    return ResourceExhaustedError("model '" + options.model_path + "' needs " +
                                  std::to_string(tensor_bytes >> 20) + " MiB of weights but " +
                                  "this machine has " + std::to_string(physical >> 20) +
                                  " MiB of memory");
  }
  const int threads = options.n_threads > 0 ? options.n_threads : HardwareThreads();
  e->pool_ = std::make_unique<ThreadPool>(threads);
  auto model =
      LlamaModel::Load(*e->file_, {.interleave = options.repack_weights, .pool = e->pool_.get()});
  if (!model.ok()) return model.status().WithContext(options.model_path);
  e->model_ = std::move(model).value();
  auto tok = Tokenizer::FromGguf(*e->file_);
  if (!tok.ok()) return tok.status().WithContext(options.model_path);
  e->tokenizer_ = std::move(tok).value();
  if (e->tokenizer_->n_vocab() > e->config().n_vocab) {
    return InvalidArgumentError(
        options.model_path + ": the tokenizer has " + std::to_string(e->tokenizer_->n_vocab()) +
        " tokens but the embedding only " + std::to_string(e->config().n_vocab));
  }
  const int64_t trained = e->config().n_ctx_train;
  e->n_ctx_ = options.n_ctx > 0 ? options.n_ctx : std::min<int64_t>(trained, 4096);
  if (e->n_ctx_ > trained) {
    LOG(WARNING) << "context length " << e->n_ctx_ << " exceeds the " << trained
                 << " tokens the model's metadata states; quality past that may degrade";
  }
  e->model_->SetContextLength(e->n_ctx_);
  for (const AdapterSpec& spec : options.adapters) {
    RETURN_IF_ERROR(e->RegisterAdapter(spec));
    const std::string name = spec.name.empty() ? AdapterNameFromPath(spec.path) : spec.name;
    e->default_adapters_.push_back({name, spec.scale});
  }
  return e;
}

std::string Engine::Describe() const {
  const ModelConfig& c = config();
  std::map<std::string, int> types;
  int64_t bytes = 0;
  for (const auto& t : file_->tensors()) {
    ++types[std::string(DTypeName(t.type))];
    bytes += static_cast<int64_t>(t.n_bytes);
  }
  std::ostringstream s;
  s << (c.name.empty() ? "model" : c.name) << " (" << c.arch_name << ", " << c.n_layer
    << " layers, dim " << c.n_embd << ", " << c.n_head << "/" << c.n_head_kv << " heads, vocab "
    << c.n_vocab << "), " << (bytes >> 20) << " MiB, types";
  for (const auto& [name, count] : types) s << " " << name << "×" << count;
  s << ", context " << n_ctx_ << " (trained " << c.n_ctx_train << "), " << pool_->num_threads()
    << " threads";
  return s.str();
}

KvCacheShape Engine::SessionKvShape() const {
  KvCacheShape shape;
  shape.n_layer = config().n_layer;
  shape.kv_dim = config().kv_dim();
  shape.type = options_.kv_type;
  shape.chunk_tokens = 16;
  shape.max_tokens = n_ctx_;
  // Sliding-window layers keep only their window (once the context is longer than it).
  if (config().sliding_window > 0 && config().sliding_window < n_ctx_) {
    shape.window = config().sliding_window;
    shape.layer_windowed = config().layer_sliding;
  }
  return shape;
}

std::unique_ptr<Session> Engine::NewSession() {
  auto session = std::make_unique<Session>(SessionKvShape());
  if (!default_adapters_.empty()) {
    // Default adapters were registered with finite scales at open and cannot be unregistered.
    const Status bound = SetAdapters(*session, default_adapters_);
    CHECK(bound.ok()) << bound.ToString();
  }
  return session;
}

int64_t Session::Truncate(int64_t n) {
  if (n < n_tokens()) tokens_.resize(kv_.Truncate(n));
  return n_tokens();
}

void Session::AcceptDraft(int64_t n) {
  if (!draft_attention_.empty()) {
    CHECK_GE(n, draft_begin_);
    std::vector<float>& received = kv_.attention_received();
    const int64_t kept = std::min(n, n_tokens()) - draft_begin_;
    for (int64_t i = 0; i < kept; ++i) {
      const float* row = draft_attention_.data() + i * draft_capacity_;
      const int64_t len = std::min<int64_t>(draft_capacity_, received.size());
      for (int64_t j = 0; j < len; ++j) received[j] += row[j];
    }
    draft_attention_.clear();
  }
  Truncate(n);
}

int64_t Session::KeepCommonPrefix(std::span<const int32_t> tokens) {
  int64_t common = 0;
  const int64_t limit = std::min<int64_t>(n_tokens(), static_cast<int64_t>(tokens.size()) - 1);
  while (common < limit && tokens_[common] == tokens[common]) ++common;
  return Truncate(common);
}

Status Engine::Eval(Session& session, std::span<const int32_t> tokens, bool all_logits,
                    std::vector<float>* logits) {
  std::lock_guard<std::recursive_mutex> lock(eval_mu_);
  if (tokens.empty()) return InvalidArgumentError("nothing to evaluate: no tokens");
  const int64_t total = session.n_tokens() + static_cast<int64_t>(tokens.size());
  RETURN_IF_ERROR(session.kv_.CheckFits(total));
  const int64_t n_vocab = config().n_vocab;
  if (all_logits) logits->clear();
  for (size_t start = 0; start < tokens.size();) {
    const size_t n = std::min<size_t>(options_.max_batch_tokens, tokens.size() - start);
    // Room per piece, so sliding-window layers free what later pieces no longer read.
    RETURN_IF_ERROR(session.kv_.Reserve(session.n_tokens() + static_cast<int64_t>(n)));
    KvCacheView view = session.kv_.View();
    SequenceStep step{tokens.data() + start, static_cast<int32_t>(n), &view, all_logits,
                      session.active_};
    RETURN_IF_ERROR(
        model_->Forward(std::span<const SequenceStep>(&step, 1), pool_.get(), &scratch_logits_));
    session.kv_.Advance(static_cast<int64_t>(n));
    session.tokens_.insert(session.tokens_.end(), tokens.begin() + start,
                           tokens.begin() + start + n);
    if (all_logits) {
      logits->insert(logits->end(), scratch_logits_.begin(), scratch_logits_.end());
    } else if (start + n == tokens.size()) {
      logits->assign(scratch_logits_.end() - n_vocab, scratch_logits_.end());
    }
    start += n;
  }
  return Status::Ok();
}

Status Engine::EvalDraft(Session& session, std::span<const int32_t> tokens,
                         std::vector<float>* logits) {
  std::lock_guard<std::recursive_mutex> lock(eval_mu_);
  session.draft_attention_.clear();
  if (!session.kv_.track_attention()) return Eval(session, tokens, /*all_logits=*/true, logits);
  if (tokens.empty()) return InvalidArgumentError("nothing to evaluate: no tokens");
  const int64_t begin = session.n_tokens();
  RETURN_IF_ERROR(session.kv_.Reserve(begin + static_cast<int64_t>(tokens.size())));
  // One single-token sequence per draft token, all writing the session's KV and each with an
  // attention accumulator of its own: the batch's products see the same tokens as one
  // multi-token step (the same arithmetic), attention per token is the same causal row.
  const KvCacheView base = session.kv_.View();
  const int64_t capacity = base.capacity();
  std::vector<float> attention(tokens.size() * capacity, 0.0f);  // [tokens, capacity]
  logits->clear();
  std::vector<KvCacheView> views;
  std::vector<SequenceStep> steps;
  for (size_t start = 0; start < tokens.size();) {
    const size_t n = std::min<size_t>(options_.max_batch_tokens, tokens.size() - start);
    views.assign(n, base);
    steps.resize(n);
    for (size_t i = 0; i < n; ++i) {
      views[i].n_past = static_cast<int32_t>(begin + start + i);
      views[i].attention_received = attention.data() + (start + i) * capacity;
      steps[i] = {tokens.data() + start + i, 1, &views[i], false, session.active_};
    }
    const Status st = model_->Forward(steps, pool_.get(), &scratch_logits_);
    if (!st.ok()) {
      session.Truncate(begin);
      return st;
    }
    logits->insert(logits->end(), scratch_logits_.begin(), scratch_logits_.end());
    start += n;
  }
  session.kv_.Advance(static_cast<int64_t>(tokens.size()));
  session.tokens_.insert(session.tokens_.end(), tokens.begin(), tokens.end());
  session.draft_attention_ = std::move(attention);
  session.draft_begin_ = begin;
  session.draft_capacity_ = capacity;
  return Status::Ok();
}

Status Engine::RecomputeKv(Session& session, int64_t begin, int64_t end) {
  std::lock_guard<std::recursive_mutex> lock(eval_mu_);
  if (begin < 0 || end > session.n_tokens() || begin >= end) {
    return InvalidArgumentError("recompute range [" + std::to_string(begin) + ", " +
                                std::to_string(end) + ") is outside the session's " +
                                std::to_string(session.n_tokens()) + " tokens");
  }
  for (int64_t start = begin; start < end;) {
    const int64_t n = std::min<int64_t>(options_.max_batch_tokens, end - start);
    RETURN_IF_ERROR(session.kv_.ReserveRange(start, start + n));
    KvCacheView view = session.kv_.View();
    view.n_past = static_cast<int32_t>(start);
    view.attention_received = nullptr;  // a restore is not a use: importance stays as it was
    // The session's adapters took part in computing this KV, so they take part in redoing it.
    SequenceStep step{session.tokens_.data() + start, static_cast<int32_t>(n), &view, false,
                      session.active_};
    RETURN_IF_ERROR(
        model_->Forward(std::span<const SequenceStep>(&step, 1), pool_.get(), &scratch_logits_));
    start += n;
  }
  return Status::Ok();
}

Status Engine::EvalBatch(std::span<const BatchItem> items,
                         std::vector<std::vector<float>>* logits) {
  std::lock_guard<std::recursive_mutex> lock(eval_mu_);
  std::vector<KvCacheView> views(items.size());
  std::vector<SequenceStep> steps(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (items[j].session == items[i].session) {
        return InvalidArgumentError("a session appears twice in one batch");
      }
    }
    Session& s = *items[i].session;
    if (items[i].tokens.empty()) return InvalidArgumentError("batch item with no tokens");
    RETURN_IF_ERROR(s.kv_.Reserve(s.n_tokens() + static_cast<int64_t>(items[i].tokens.size())));
    views[i] = s.kv_.View();
    steps[i] = {items[i].tokens.data(), static_cast<int32_t>(items[i].tokens.size()), &views[i],
                false, s.active_};
  }
  RETURN_IF_ERROR(model_->Forward(steps, pool_.get(), &scratch_logits_));
  const int64_t n_vocab = config().n_vocab;
  logits->resize(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    Session& s = *items[i].session;
    s.kv_.Advance(static_cast<int64_t>(items[i].tokens.size()));
    s.tokens_.insert(s.tokens_.end(), items[i].tokens.begin(), items[i].tokens.end());
    (*logits)[i].assign(scratch_logits_.begin() + i * n_vocab,
                        scratch_logits_.begin() + (i + 1) * n_vocab);
  }
  return Status::Ok();
}

}  // namespace odlm
