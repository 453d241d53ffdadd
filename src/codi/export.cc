// codi/export.cc — export formats (contract in export.h).
#include "codi/export.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "base/check.h"
#include "codi/graph.h"
#include "codi/near_duplicates.h"
#include "codi/records.h"
#include "platform/file_util.h"
#include "tokenizer/chat_template.h"

namespace odlm::codi {

using nlohmann::json;

StatusOr<ExportFormat> ParseExportFormat(const std::string& name) {
  if (name == "hf") return ExportFormat::kHf;
  if (name == "sharegpt") return ExportFormat::kShareGpt;
  if (name == "odlm") return ExportFormat::kOdlm;
  if (name == "coqa") return ExportFormat::kCoqa;
  return InvalidArgumentError("--format '" + name + "' (expected hf, sharegpt, odlm or coqa)");
}

namespace {

bool IsAgent(const std::string& role) { return role == "AGENT" || role == "ASSISTANT"; }

std::string Lower(std::string_view s) { return AsciiLower(s); }

// The refusal markers a graph without "refusal_markers" uses (the graph parser's defaults, taken
// from it so that the two lists cannot drift apart).
const std::vector<std::string>& DefaultRefusalMarkers() {
  static const std::vector<std::string> markers = [] {
    auto g = ParseGraph(json::parse(R"({"name": "markers", "roles": {"CONTEXT": 0},
        "links": {"d": {"role": "CONTEXT", "source": "document"}}, "start": {"d": 1},
        "transitions": {"d": {"d": 1}}, "length": {"1": 1}})"));
    CHECK(g.ok()) << g.status().ToString();
    return g->refusal_markers;
  }();
  return markers;
}

// An AGENT turn that says the document does not tell: no grounding score (a grounded link's turns
// carry one) and a refusal marker in its text.
bool IsRefusal(const json& turn) {
  if (turn.contains("support")) return false;
  const std::string text = Lower(turn["text"].get<std::string>());
  for (const auto& m : DefaultRefusalMarkers()) {
    if (text.find(m) != std::string::npos) return true;
  }
  return false;
}

size_t CodePoints(const std::string& s, size_t bytes) {
  size_t n = 0;
  for (size_t i = 0; i < bytes && i < s.size(); ++i) {
    n += (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
  }
  return n;
}

// One CoQA answer object: "unknown" for refusals, else the text with its span when the story
// holds it (without a final '.'), found case-insensitively.
json CoqaAnswer(const json& turn, const std::string& story, const std::string& lower_story,
                int turn_id) {
  if (IsRefusal(turn)) {
    return {{"input_text", "unknown"},
            {"span_text", "unknown"},
            {"span_start", -1},
            {"span_end", -1},
            {"turn_id", turn_id}};
  }
  const std::string text = turn["text"];
  json a = {{"input_text", text}, {"turn_id", turn_id}};
  std::string needle = text;
  while (!needle.empty() && (needle.back() == '.' || needle.back() == ' ')) needle.pop_back();
  if (needle.empty()) return a;
  const size_t at = lower_story.find(Lower(needle));
  if (at == std::string::npos) return a;
  a["span_text"] = story.substr(at, needle.size());
  a["span_start"] = CodePoints(story, at);
  a["span_end"] = CodePoints(story, at + needle.size());
  return a;
}

StatusOr<json> CoqaStory(const json& record, const std::string& id) {
  std::string story;
  bool has_story = false;
  json questions = json::array(), answers = json::array();
  const json* pending = nullptr;  // the last question not answered yet
  for (const auto& t : record["turns"]) {
    const std::string role = t["role"];
    if (role == "CONTEXT") {
      if (!has_story) story = t["text"].get<std::string>();
      has_story = true;
    } else if (IsAgent(role)) {
      if (pending == nullptr) continue;
      const int turn_id = static_cast<int>(questions.size()) + 1;
      questions.push_back({{"input_text", (*pending)["text"]}, {"turn_id", turn_id}});
      answers.push_back(CoqaAnswer(t, story, Lower(story), turn_id));
      pending = nullptr;
    } else {
      pending = &t;
    }
  }
  if (!has_story || questions.empty()) return json(nullptr);
  json out = {{"id", id},
              // CoQA scorers require one of CoQA's domains; synthesized documents count as the
              // encyclopedic one.
              {"source", "wikipedia"},
              {"story", story},
              {"questions", std::move(questions)},
              {"answers", std::move(answers)}};
  if (record.contains("doc_id") && record["doc_id"].is_string()) out["filename"] = record["doc_id"];
  return out;
}

// `record` with its turns after the max_exchanges-th AGENT turn removed (ExportOptions).
json TruncateExchanges(const json& record, int max_exchanges) {
  CHECK_GT(max_exchanges, 0);
  json out = record;
  const auto turns = out.find("turns");
  if (turns == out.end() || !turns->is_array()) return out;
  int exchanges = 0;
  for (auto t = turns->begin(); t != turns->end(); ++t) {
    if (t->is_object() && t->value("role", "") == "AGENT" && ++exchanges == max_exchanges) {
      turns->erase(t + 1, turns->end());
      break;
    }
  }
  return out;
}

}  // namespace

std::string NeutralizeRoleTags(std::string_view text, const std::set<std::string>& roles) {
  std::string out(text);
  for (const std::string& role : roles) {
    for (const std::string& tag : {"[" + role + "]", "[/" + role + "]"}) {
      const std::string plain = "(" + tag.substr(1, tag.size() - 2) + ")";
      for (size_t at = out.find(tag); at != std::string::npos; at = out.find(tag, at + 1)) {
        out.replace(at, tag.size(), plain);
      }
    }
  }
  return out;
}

StatusOr<json> ExportRecord(const json& record, ExportFormat format) {
  const std::string id =
      record["id"].is_string() ? record["id"].get<std::string>() : record["id"].dump();
  json out = {{"id", id}};
  json items = json::array(), weights = json::array(), segments = json::array();
  std::string text;
  // The bracketed format's tags: the standard roles and every role of this conversation.
  std::set<std::string> roles = {"CONTEXT", "USER", "AGENT"};
  for (const auto& t : record["turns"]) {
    if (t.is_object() && t.contains("role") && t["role"].is_string()) roles.insert(t["role"]);
  }
  for (const auto& t : record["turns"]) {
    if (!t.is_object() || !t.contains("role") || !t["role"].is_string() || !t.contains("text") ||
        !t["text"].is_string() || !t.contains("weight") || !t["weight"].is_number()) {
      return InvalidArgumentError("conversation " + id + ": a turn lacks role, text or weight");
    }
    const std::string role = t["role"], content = t["text"];
    const double w = t["weight"];
    switch (format) {
      case ExportFormat::kCoqa:
        break;  // below, once every turn is known to be well formed
      case ExportFormat::kHf: {
        const std::string hf_role = role == "CONTEXT" ? "system"
                                    : IsAgent(role)   ? "assistant"
                                                      : "user";
        // Per-message loss masks as common trainers read them: axolotl's per-message training
        // field ("train": message_field_training: train) on every message, OpenAI fine-tuning's
        // "weight" (0 or 1, assistant messages only); odlm's own weights stay in "weights".
        json message = {{"role", hf_role}, {"content", content}, {"train", w > 0}};
        if (hf_role == "assistant") message["weight"] = w > 0 ? 1 : 0;
        items.push_back(std::move(message));
        weights.push_back(w);
        break;
      }
      case ExportFormat::kShareGpt:
        items.push_back({{"from", role == "CONTEXT" ? "system"
                                  : IsAgent(role)   ? "gpt"
                                                    : "human"},
                         {"value", content},
                         {"weight", w}});
        break;
      case ExportFormat::kOdlm: {
        if (!text.empty()) text += ' ';
        const size_t start = text.size();
        // A tag inside a turn (a document quoting "[AGENT]") would split the turn when the text
        // is read back: written as "(AGENT)".
        text += "[" + role + "]" + CodiTurnContent(NeutralizeRoleTags(content, roles)) + "[/" +
                role + "]";
        segments.push_back({{"role", role}, {"start", start}, {"end", text.size()}, {"weight", w}});
        break;
      }
    }
  }
  switch (format) {
    case ExportFormat::kCoqa:
      return CoqaStory(record, id);
    case ExportFormat::kHf:
      out["messages"] = std::move(items);
      out["weights"] = std::move(weights);
      break;
    case ExportFormat::kShareGpt:
      out["conversations"] = std::move(items);
      break;
    case ExportFormat::kOdlm:
      out["text"] = std::move(text);
      out["segments"] = std::move(segments);
      break;
  }
  return out;
}

StatusOr<ExportSummary> ExportFile(const std::string& in, ExportFormat format,
                                   const std::string& out, const ExportOptions& options) {
  ExportSummary s;
  struct Exported {
    std::string id;
    json record;
    std::string dialogue;  // with dedup
  };
  std::vector<Exported> exported;
  RETURN_IF_ERROR(ForEachRecord(in, [&](const json& whole, size_t line) -> Status {
    if (whole["status"] != "ok" && !options.include_failed) {
      ++s.skipped_failed;
      return Status::Ok();
    }
    json truncated;  // only with max_exchanges: other records are exported without a copy
    if (options.max_exchanges > 0) truncated = TruncateExchanges(whole, options.max_exchanges);
    const json& r = options.max_exchanges > 0 ? truncated : whole;
    auto e = ExportRecord(r, format);
    if (!e.ok()) return e.status().WithContext(in + ":" + std::to_string(line));
    if (format == ExportFormat::kCoqa && e->is_null()) {
      ++s.skipped_unusable;
      return Status::Ok();
    }
    const auto id = r.find("id");
    exported.push_back({id != r.end() && id->is_string() ? id->get<std::string>() : "",
                        std::move(*e), options.dedup ? DialogueText(r) : std::string()});
    return Status::Ok();
  }));
  std::stable_sort(exported.begin(), exported.end(),
                   [](const auto& a, const auto& b) { return a.id < b.id; });
  if (options.dedup) {
    // In id order, so the conversation kept of a near-duplicate group is the first by id.
    NearDuplicateIndex index;
    std::vector<Exported> kept;
    for (Exported& e : exported) {
      if (index.Add(e.dialogue) >= 0) {
        ++s.skipped_duplicates;
      } else {
        kept.push_back(std::move(e));
      }
    }
    exported = std::move(kept);
  }
  s.written = exported.size();
  std::string data;
  if (format == ExportFormat::kCoqa) {
    json stories = json::array();
    for (Exported& e : exported) stories.push_back(std::move(e.record));
    const json dataset = {{"version", "1.0"}, {"data", std::move(stories)}};
    data = dataset.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  } else {
    for (const Exported& e : exported) {
      data += e.record.dump(-1, ' ', false, json::error_handler_t::replace);
      data += '\n';
    }
  }
  RETURN_IF_ERROR(WriteFileAtomically(out, data));
  return s;
}

}  // namespace odlm::codi
