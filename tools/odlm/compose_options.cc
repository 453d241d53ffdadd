// tools/odlm/compose_options.cc — composite-task options (compose_options.h).
#include "compose_options.h"

#include <map>
#include <sstream>

namespace odlm::cli {
namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

}  // namespace

void AddComposeOptions(CLI::App& app, ComposeCliOptions* o, bool required) {
  auto* c = app.add_option("--compose", o->compose,
                           "run a composite task: stages of --lora adapter names, e.g. "
                           "'summarize,translate' (stage 2 runs on stage 1's output) or "
                           "'a+c,b' (a and c together in stage 1)");
  if (required) c->required();
  app.add_option("--mode", o->mode,
                 "composite: two-pass (one generation per stage) or merged (the stages' adapters "
                 "merged into one, one generation)")
      ->check(CLI::IsMember({"two-pass", "merged"}));
  app.add_option("--stage-template", o->stage_templates,
                 "composite: prompt of the stages after the first, with {output} (the previous "
                 "stage's answer) and {input} (the prompt); default '{output}'; repeat once per "
                 "later stage to give each its own");
  app.add_option("--merge-method", o->merge_method,
                 "composite, merged mode: linear (default), ties, dare or cat")
      ->check(CLI::IsMember({"linear", "task_arithmetic", "ties", "dare", "cat", "concat"}));
  app.add_option("--merge-rank", o->merge_rank,
                 "composite, merged mode: rank of the merge (default: the largest input rank)")
      ->check(CLI::Range(0, 65536));
}

bool BuildComposeSpec(const ComposeCliOptions& o, const Engine& engine, ComposeSpec* spec,
                      std::string* error) {
  // Every registered adapter, at its --lora scale (1 for adapters registered otherwise).
  std::map<std::string, float> scales;
  for (const AdapterInfo& info : engine.ListAdapters()) scales[info.name] = 1.0f;
  for (const AdapterChoice& c : engine.default_adapters()) scales[c.name] = c.scale;
  std::string known;
  for (const auto& [name, scale] : scales) known += (known.empty() ? "" : ", ") + name;
  ComposeSpec s;
  if (!ParseComposeMode(o.mode, &s.mode)) {
    *error = "--mode '" + o.mode + "' is not two-pass or merged";
    return false;
  }
  ParseMergeMethod(o.merge_method, &s.merge.method);
  s.merge.rank = o.merge_rank;
  for (const std::string& stage : Split(o.compose, ',')) {
    ComposeStage st;
    for (const std::string& name : Split(stage, '+')) {
      auto it = scales.find(name);
      if (it == scales.end()) {
        *error = "--compose " + o.compose + ": '" + name + "' is not an adapter given with " +
                 "--lora NAME=FILE (given: " + (known.empty() ? "none" : known) + ")";
        return false;
      }
      st.adapters.push_back({name, it->second});
    }
    s.stages.push_back(std::move(st));
  }
  if (s.stages.size() < 2) {
    *error = "--compose needs at least two stages separated by ',' (e.g. summarize,translate)";
    return false;
  }
  const size_t later = s.stages.size() - 1;
  if (o.stage_templates.size() == 1) {
    for (size_t i = 1; i < s.stages.size(); ++i) s.stages[i].prompt_template = o.stage_templates[0];
  } else if (o.stage_templates.size() == later) {
    for (size_t i = 1; i < s.stages.size(); ++i) {
      s.stages[i].prompt_template = o.stage_templates[i - 1];
    }
  } else if (!o.stage_templates.empty()) {
    *error = "--stage-template is given " + std::to_string(o.stage_templates.size()) +
             " times; give it once (all later stages) or " + std::to_string(later) +
             " times (one per later stage)";
    return false;
  }
  if (Status st = ValidateComposeSpec(s); !st.ok()) {
    *error = std::string(st.message());
    return false;
  }
  *spec = std::move(s);
  return true;
}

nlohmann::json ComposeResultJson(const ComposeResult& r) {
  nlohmann::json stages = nlohmann::json::array();
  for (const ComposeStageResult& s : r.stages) {
    nlohmann::json adapters = nlohmann::json::array();
    for (const AdapterChoice& c : s.adapters) {
      adapters.push_back({{"name", c.name}, {"scale", c.scale}});
    }
    stages.push_back({{"adapters", adapters},
                      {"prompt", s.prompt},
                      {"text", s.result.text},
                      {"prompt_tokens", s.result.prompt_tokens},
                      {"completion_tokens", s.result.tokens.size()},
                      {"prefill_ms", s.result.prefill_ms},
                      {"decode_ms", s.result.decode_ms},
                      {"finish", std::string(FinishReasonName(s.result.finish))}});
  }
  return {{"mode", std::string(ComposeModeName(r.mode))},
          {"text", r.text},
          {"merge_ms", r.merge_ms},
          {"total_ms", r.total_ms},
          {"prompt_tokens", r.prompt_tokens()},
          {"completion_tokens", r.completion_tokens()},
          {"stages", stages}};
}

}  // namespace odlm::cli
