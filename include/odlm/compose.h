// odlm/compose.h — compositional tasks: one request served by several task adapters in a row
// (a translated summary = the summarize adapter, then the translate adapter on its output).
//
// Two ways to run a composite of stages S_1 … S_n (each a set of registered adapters):
//   two-pass  generate with S_1 on the first prompt; each later stage S_k generates on a prompt
//             built from the previous stage's output with its template; the answer is the last
//             stage's output. Cost: n prefills and n decodes.
//   merged    merge every adapter of every stage into one (adapters/lora_merge.h, linear by
//             default; each adapter's scale is its merge weight) and generate once, on the first
//             stage's prompt; the later stages' templates are not used. Cost: one prefill and one
//             decode, plus building the merge once (MergedAdapterCache).
//
// Templates: "{input}" is replaced by the composite's prompt and "{output}" by the previous
// stage's generated text; everything else is literal. Defaults: "{input}" for the first stage,
// "{output}" for the others. A later stage's template must use {output}; the first's must not.
//
//   odlm::ComposeSpec spec;
//   spec.stages = {{.adapters = {{"summarize", 1.0f}}},
//                  {.adapters = {{"translate", 1.0f}}, .prompt_template = "French: {output}"}};
//   odlm::MergedAdapterCache cache;
//   auto r = odlm::RunComposite(engine, *session, "Long text …", spec, options, &cache, nullptr);
//
// Thread-safety: RunComposite uses `session` exclusively (like Generate); MergedAdapterCache is
// thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/lora_merge.h"
#include "base/status.h"
#include "odlm/engine.h"
#include "odlm/generate.h"

namespace odlm {

enum class ComposeMode { kTwoPass, kMerged };
// "two-pass" (also "two_pass", "twopass") or "merged"; false if unknown.
bool ParseComposeMode(std::string_view name, ComposeMode* mode);
std::string_view ComposeModeName(ComposeMode mode);  // "two-pass", "merged"

inline constexpr size_t kMaxComposeStages = 4;

struct ComposeStage {
  std::vector<AdapterChoice> adapters;  // registered names and scales; empty: the base model
  std::string prompt_template;          // "": "{input}" for the first stage, else "{output}"
};

struct ComposeSpec {
  ComposeMode mode = ComposeMode::kTwoPass;
  std::vector<ComposeStage> stages;  // 2 … kMaxComposeStages
  // kMerged: method, rank, density and seed of the merge. `weights` must be empty: each adapter
  // is weighted by its scale in its stage.
  MergeOptions merge;
  bool add_bos = true;         // stage prompts get the model's BOS token if it asks for one
  bool parse_special = false;  // special tokens written in a stage prompt are matched
};

// InvalidArgument naming what is wrong: stage count, a template (see above), a non-finite scale,
// merge weights given, a density outside (0, 1].
Status ValidateComposeSpec(const ComposeSpec& spec);

// The prompt of stage `index` (0-based): its template (or the default) with {input} and
// {output} replaced. Validates nothing beyond the template's placeholders.
std::string RenderStagePrompt(const ComposeSpec& spec, size_t index, std::string_view input,
                              std::string_view previous_output);

// The merged adapters of composite tasks, built once per key and registered in the engine.
//
// Key: the merge settings and every stage's adapter set (names and scales). The merge is
// registered in the engine's registry under "compose:<key>" (so sessions and the service's prefix
// cache treat it like any adapter) and reused while the adapters it was built from are still the
// registered ones under their names; if one was unregistered or replaced, the next Get rebuilds.
// At most `capacity` merges are kept; the least recently used is unregistered beyond that
// (sessions using it keep their reference). Cost of a miss: MergeAdapters (O(n_out·n_in·rank)
// per adapted matrix), done under the cache's lock.
class MergedAdapterCache {
 public:
  // Holds at most `capacity` merges, least recently used evicted first — except merges pinned by
  // a live Merged, so the cache may exceed capacity while more than that many are in use.
  explicit MergedAdapterCache(size_t capacity = 8) : capacity_(capacity) {}

  struct Merged {
    std::string name;     // the registered name; "" if the stages hold no adapter (base model)
    bool built = false;   // false: it came from the cache
    double build_ms = 0;  // time to merge and register (0 on a hit)
    // While any copy of this is alive the cache does not evict (unregister) the merge, so a
    // request that got the name can still resolve it when it is admitted later.
    std::shared_ptr<const void> pin;
  };
  // Errors: an adapter that is not registered (NotFound naming it), a merge that fails.
  StatusOr<Merged> Get(Engine& engine, const ComposeSpec& spec);

  size_t size() const;
  int64_t builds() const;  // merges built so far (for tests and metrics)
  // The key of `spec`'s merge ("linear/r0/d0.5/s1:a@1+b@0.5|c@1").
  static std::string Key(const ComposeSpec& spec);

 private:
  struct Entry {
    std::string name;
    std::vector<std::string> source_names;
    std::vector<std::weak_ptr<const LoraAdapter>> sources;
    uint64_t last_used = 0;
    std::shared_ptr<const int> pin = std::make_shared<const int>(0);  // use_count > 1: in use
  };
  size_t capacity_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;  // by key
  uint64_t clock_ = 0;
  int64_t builds_ = 0;
};

struct ComposeStageResult {
  std::vector<AdapterChoice> adapters;  // the set it ran with (merged: the merged adapter at 1)
  std::string prompt;                   // the stage's prompt text
  GenerateResult result;                // text, tokens, prefill_ms, decode_ms
};

struct ComposeResult {
  ComposeMode mode = ComposeMode::kTwoPass;
  std::string text;                        // the answer: the last pass's output
  std::vector<ComposeStageResult> stages;  // two-pass: one per stage; merged: one
  double merge_ms = 0;                     // merged: building the merge (0 when cached)
  double total_ms = 0;                     // wall time of the whole call
  FinishReason finish() const { return stages.back().result.finish; }
  int64_t prompt_tokens() const;      // summed over the passes
  int64_t completion_tokens() const;  // summed over the passes
};

// Runs the composite on `session` (its adapter set is changed per pass; Engine::SetAdapters).
// Every pass uses `options` (so max_tokens and stop strings apply per pass). `on_text` (may be
// empty) receives the last pass's text as it is generated; returning false cancels. A pass that
// ends cancelled ends the composite. `cache` must not be null for kMerged (CHECKed). Errors:
// ValidateComposeSpec's, unknown adapters, a stage prompt that does not fit the context, an
// intermediate pass whose output is empty.
StatusOr<ComposeResult> RunComposite(Engine& engine, Session& session, std::string_view prompt,
                                     const ComposeSpec& spec, const GenerateOptions& options,
                                     MergedAdapterCache* cache, const TextCallback& on_text);

}  // namespace odlm
