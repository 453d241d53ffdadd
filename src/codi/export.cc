// codi/export.cc — export formats (contract in export.h).
#include "codi/export.h"

#include "codi/records.h"
#include "platform/file_util.h"

namespace odlm::codi {

using nlohmann::json;

StatusOr<ExportFormat> ParseExportFormat(const std::string& name) {
  if (name == "hf") return ExportFormat::kHf;
  if (name == "sharegpt") return ExportFormat::kShareGpt;
  if (name == "odlm") return ExportFormat::kOdlm;
  return InvalidArgumentError("--format '" + name + "' (expected hf, sharegpt or odlm)");
}

namespace {

bool IsAgent(const std::string& role) { return role == "AGENT" || role == "ASSISTANT"; }

}  // namespace

StatusOr<json> ExportRecord(const json& record, ExportFormat format) {
  const std::string id =
      record["id"].is_string() ? record["id"].get<std::string>() : record["id"].dump();
  json out = {{"id", id}};
  json items = json::array(), weights = json::array(), segments = json::array();
  std::string text;
  for (const auto& t : record["turns"]) {
    if (!t.is_object() || !t.contains("role") || !t["role"].is_string() || !t.contains("text") ||
        !t["text"].is_string() || !t.contains("weight") || !t["weight"].is_number()) {
      return InvalidArgumentError("conversation " + id + ": a turn lacks role, text or weight");
    }
    const std::string role = t["role"], content = t["text"];
    const double w = t["weight"];
    switch (format) {
      case ExportFormat::kHf:
        items.push_back({{"role", role == "CONTEXT" ? "system"
                                  : IsAgent(role)   ? "assistant"
                                                    : "user"},
                         {"content", content}});
        weights.push_back(w);
        break;
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
        text += "[" + role + "]" + content + "[/" + role + "]";
        segments.push_back({{"role", role}, {"start", start}, {"end", text.size()}, {"weight", w}});
        break;
      }
    }
  }
  switch (format) {
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
                                   const std::string& out, bool include_failed) {
  ExportSummary s;
  std::string data;
  RETURN_IF_ERROR(ForEachRecord(in, [&](const json& r, size_t line) -> Status {
    if (r["status"] != "ok" && !include_failed) {
      ++s.skipped_failed;
      return Status::Ok();
    }
    auto e = ExportRecord(r, format);
    if (!e.ok()) return e.status().WithContext(in + ":" + std::to_string(line));
    data += e->dump(-1, ' ', false, json::error_handler_t::replace);
    data += '\n';
    ++s.written;
    return Status::Ok();
  }));
  RETURN_IF_ERROR(WriteFileAtomically(out, data));
  return s;
}

}  // namespace odlm::codi
