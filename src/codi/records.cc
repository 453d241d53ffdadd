// codi/records.cc — reading synthesized JSONL (contract in records.h).
#include "codi/records.h"

#include "platform/file_util.h"

namespace odlm::codi {

Status ForEachRecord(const std::string& path,
                     const std::function<Status(const nlohmann::json&, size_t)>& fn, size_t* torn) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  if (torn) *torn = 0;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    const bool last_unterminated = end == std::string::npos;
    if (last_unterminated) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    const std::string where = path + ":" + std::to_string(line_no);
    if (j.is_discarded()) {
      if (last_unterminated) {
        if (torn) ++*torn;
        continue;
      }
      return DataLossError(where + ": not valid JSON");
    }
    if (!j.is_object() || !j.contains("id") || !j.contains("status") || !j.contains("walk") ||
        !j["walk"].is_array() || !j.contains("turns") || !j["turns"].is_array()) {
      return InvalidArgumentError(where +
                                  ": not a conversation record (expected id, status, walk, turns)");
    }
    RETURN_IF_ERROR(fn(j, line_no));
  }
  return Status::Ok();
}

std::string DialogueText(const nlohmann::json& record) {
  std::string out;
  const auto turns = record.find("turns");
  if (turns == record.end() || !turns->is_array()) return out;
  for (const auto& t : *turns) {
    if (!t.is_object() || !t.contains("role") || !t.contains("text") || !t["text"].is_string() ||
        t["role"] == "CONTEXT") {
      continue;
    }
    out += t["text"].get<std::string>();
    out += '\n';
  }
  return out;
}

Status ForEachJsonlObject(
    const std::string& path, const std::string& expected,
    const std::function<Status(const nlohmann::json&, const std::string&)>& fn) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  size_t pos = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return InvalidArgumentError(where + ": not a JSON object (expected " + expected + ")");
    }
    RETURN_IF_ERROR(fn(j, where));
  }
  return Status::Ok();
}

}  // namespace odlm::codi
