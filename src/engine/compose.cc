// engine/compose.cc — compositional tasks: two-pass runs and merged adapters (odlm/compose.h).
#include "odlm/compose.h"

#include <cmath>
#include <cstdio>

#include "base/check.h"
#include "platform/process_stats.h"

namespace odlm {
namespace {

constexpr std::string_view kInput = "{input}";
constexpr std::string_view kOutput = "{output}";

std::string_view MergeMethodName(MergeMethod m) {
  switch (m) {
    case MergeMethod::kLinear:
      return "linear";
    case MergeMethod::kTies:
      return "ties";
    case MergeMethod::kDare:
      return "dare";
    case MergeMethod::kConcat:
      return "cat";
  }
  return "?";
}

std::string FormatFloat(float v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

std::string_view TemplateOf(const ComposeSpec& spec, size_t index) {
  const std::string& t = spec.stages[index].prompt_template;
  if (!t.empty()) return t;
  return index == 0 ? kInput : kOutput;
}

}  // namespace

bool ParseComposeMode(std::string_view name, ComposeMode* mode) {
  if (name == "two-pass" || name == "two_pass" || name == "twopass") {
    *mode = ComposeMode::kTwoPass;
    return true;
  }
  if (name == "merged") {
    *mode = ComposeMode::kMerged;
    return true;
  }
  return false;
}

std::string_view ComposeModeName(ComposeMode mode) {
  return mode == ComposeMode::kMerged ? "merged" : "two-pass";
}

Status ValidateComposeSpec(const ComposeSpec& spec) {
  if (spec.stages.size() < 2 || spec.stages.size() > kMaxComposeStages) {
    return InvalidArgumentError("a composite task has 2 to " + std::to_string(kMaxComposeStages) +
                                " stages, got " + std::to_string(spec.stages.size()));
  }
  for (size_t i = 0; i < spec.stages.size(); ++i) {
    const ComposeStage& s = spec.stages[i];
    const std::string where = "stage " + std::to_string(i + 1);
    for (const AdapterChoice& c : s.adapters) {
      if (c.name.empty()) return InvalidArgumentError(where + ": an adapter has no name");
      if (!std::isfinite(c.scale)) {
        return InvalidArgumentError(where + ": adapter '" + c.name +
                                    "': scale must be a finite number");
      }
    }
    const bool has_output = s.prompt_template.find(kOutput) != std::string::npos;
    if (i == 0 && has_output) {
      return InvalidArgumentError(where +
                                  ": the first stage's template cannot use {output} (no stage "
                                  "precedes it); use {input} for the prompt");
    }
    if (i > 0 && !s.prompt_template.empty() && !has_output) {
      return InvalidArgumentError(where + ": template '" + s.prompt_template +
                                  "' does not use {output}, so the previous stage's answer would "
                                  "be dropped");
    }
  }
  if (!spec.merge.weights.empty()) {
    return InvalidArgumentError(
        "merge weights of a composite come from the adapters' scales; leave weights empty");
  }
  if (!(spec.merge.density > 0.0f && spec.merge.density <= 1.0f)) {
    return InvalidArgumentError("merge density must be in (0, 1], got " +
                                FormatFloat(spec.merge.density));
  }
  if (spec.merge.rank < 0) return InvalidArgumentError("merge rank must be >= 0");
  return Status::Ok();
}

std::string RenderStagePrompt(const ComposeSpec& spec, size_t index, std::string_view input,
                              std::string_view previous_output) {
  CHECK_LT(index, spec.stages.size());
  const std::string_view t = TemplateOf(spec, index);
  // One left-to-right scan: substituted text is never scanned again (an output that contains
  // "{input}" stays as it is).
  std::string out;
  size_t i = 0;
  while (i < t.size()) {
    if (t.compare(i, kInput.size(), kInput) == 0) {
      out += input;
      i += kInput.size();
    } else if (t.compare(i, kOutput.size(), kOutput) == 0) {
      out += previous_output;
      i += kOutput.size();
    } else {
      out += t[i++];
    }
  }
  return out;
}

std::string MergedAdapterCache::Key(const ComposeSpec& spec) {
  const MergeOptions& m = spec.merge;
  std::string key = std::string(MergeMethodName(m.method)) + "/r" + std::to_string(m.rank) + "/d" +
                    FormatFloat(m.density) + "/s" + std::to_string(m.seed) + ":";
  for (size_t i = 0; i < spec.stages.size(); ++i) {
    if (i > 0) key += "|";
    for (size_t j = 0; j < spec.stages[i].adapters.size(); ++j) {
      const AdapterChoice& c = spec.stages[i].adapters[j];
      key += (j > 0 ? "+" : "") + c.name + "@" + FormatFloat(c.scale);
    }
  }
  return key;
}

StatusOr<MergedAdapterCache::Merged> MergedAdapterCache::Get(Engine& engine,
                                                             const ComposeSpec& spec) {
  std::vector<std::string> names;
  std::vector<std::shared_ptr<const LoraAdapter>> sources;
  std::vector<float> weights;
  for (size_t i = 0; i < spec.stages.size(); ++i) {
    for (const AdapterChoice& c : spec.stages[i].adapters) {
      auto a = engine.FindAdapter(c.name);
      if (a == nullptr) {
        return NotFoundError("stage " + std::to_string(i + 1) + ": no adapter named '" + c.name +
                             "' is registered");
      }
      names.push_back(c.name);
      sources.push_back(std::move(a));
      weights.push_back(c.scale);
    }
  }
  if (sources.empty()) return Merged{};
  const std::string key = Key(spec);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = entries_.find(key); it != entries_.end()) {
    bool fresh = it->second.sources.size() == sources.size();
    for (size_t i = 0; fresh && i < sources.size(); ++i) {
      fresh = it->second.sources[i].lock() == sources[i];
    }
    // Still registered under its name too (nobody unregistered it through the API).
    if (fresh) fresh = engine.FindAdapter(it->second.name) != nullptr;
    if (fresh) {
      it->second.last_used = ++clock_;
      return Merged{it->second.name, false, 0.0, it->second.pin};
    }
    (void)engine.UnregisterAdapter(it->second.name);
    entries_.erase(it);
  }
  const int64_t t0 = MonotonicNanos();
  std::vector<const LoraAdapter*> ptrs;
  for (const auto& s : sources) ptrs.push_back(s.get());
  MergeOptions options = spec.merge;
  options.weights = weights;
  auto merged = MergeAdapters(ptrs, options, engine.model().LoraBase());
  if (!merged.ok()) return merged.status().WithContext("merging the composite's adapters");
  const std::string name = "compose:" + key;
  RETURN_IF_ERROR(
      engine.RegisterAdapter(name, std::shared_ptr<const LoraAdapter>(std::move(merged).value())));
  Entry e;
  e.name = name;
  e.source_names = std::move(names);
  for (const auto& s : sources) e.sources.push_back(s);
  e.last_used = ++clock_;
  std::shared_ptr<const void> pin = e.pin;  // pinned before eviction runs
  entries_[key] = std::move(e);
  ++builds_;
  while (entries_.size() > capacity_) {
    auto oldest = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.pin.use_count() > 1) continue;  // a request still holds its name
      if (oldest == entries_.end() || it->second.last_used < oldest->second.last_used) oldest = it;
    }
    if (oldest == entries_.end()) break;  // everything in use: over capacity until released
    (void)engine.UnregisterAdapter(oldest->second.name);
    entries_.erase(oldest);
  }
  return Merged{name, true, (MonotonicNanos() - t0) / 1e6, std::move(pin)};
}

size_t MergedAdapterCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

int64_t MergedAdapterCache::builds() const {
  std::lock_guard<std::mutex> lock(mu_);
  return builds_;
}

int64_t ComposeResult::prompt_tokens() const {
  int64_t n = 0;
  for (const auto& s : stages) n += s.result.prompt_tokens;
  return n;
}

int64_t ComposeResult::completion_tokens() const {
  int64_t n = 0;
  for (const auto& s : stages) n += static_cast<int64_t>(s.result.tokens.size());
  return n;
}

StatusOr<ComposeResult> RunComposite(Engine& engine, Session& session, std::string_view prompt,
                                     const ComposeSpec& spec, const GenerateOptions& options,
                                     MergedAdapterCache* cache, const TextCallback& on_text) {
  RETURN_IF_ERROR(ValidateComposeSpec(spec));
  // Every name first, so that a typo in the last stage does not cost the earlier passes.
  for (size_t i = 0; i < spec.stages.size(); ++i) {
    for (const AdapterChoice& c : spec.stages[i].adapters) {
      if (engine.FindAdapter(c.name) == nullptr) {
        return NotFoundError("stage " + std::to_string(i + 1) + ": no adapter named '" + c.name +
                             "' is registered");
      }
    }
  }
  const int64_t t0 = MonotonicNanos();
  const Tokenizer& tok = engine.tokenizer();
  ComposeResult r;
  r.mode = spec.mode;
  auto run_pass = [&](size_t stage, std::vector<AdapterChoice> set, std::string text,
                      const TextCallback& cb) -> Status {
    const std::string where = "stage " + std::to_string(stage + 1);
    if (Status st = engine.SetAdapters(session, set); !st.ok()) return st.WithContext(where);
    std::vector<int32_t> tokens =
        tok.Encode(text, spec.add_bos && tok.add_bos(), spec.parse_special);
    if (tokens.empty()) {
      return InvalidArgumentError(where + ": the prompt is empty and the model adds no BOS token");
    }
    auto g = Generate(engine, session, tokens, options, cb);
    if (!g.ok()) return g.status().WithContext(where);
    r.stages.push_back({std::move(set), std::move(text), std::move(g).value()});
    return Status::Ok();
  };
  if (spec.mode == ComposeMode::kMerged) {
    CHECK(cache != nullptr) << "RunComposite: kMerged needs a MergedAdapterCache";
    ASSIGN_OR_RETURN(MergedAdapterCache::Merged m, cache->Get(engine, spec));
    r.merge_ms = m.build_ms;
    std::vector<AdapterChoice> set;
    if (!m.name.empty()) set.push_back({m.name, 1.0f});
    RETURN_IF_ERROR(run_pass(0, std::move(set), RenderStagePrompt(spec, 0, prompt, ""), on_text));
  } else {
    std::string previous;
    for (size_t i = 0; i < spec.stages.size(); ++i) {
      const bool last = i + 1 == spec.stages.size();
      RETURN_IF_ERROR(run_pass(i, spec.stages[i].adapters,
                               RenderStagePrompt(spec, i, prompt, previous),
                               last ? on_text : TextCallback()));
      const GenerateResult& g = r.stages.back().result;
      if (g.finish == FinishReason::kCancelled) break;
      if (!last && g.text.empty()) {
        return FailedPreconditionError(
            "stage " + std::to_string(i + 1) +
            " generated no text (finish: " + std::string(FinishReasonName(g.finish)) +
            "), so stage " + std::to_string(i + 2) + " has nothing to work on");
      }
      previous = g.text;
    }
  }
  r.text = r.stages.back().result.text;
  r.total_ms = (MonotonicNanos() - t0) / 1e6;
  return r;
}

}  // namespace odlm
