// codi/documents.cc — JSONL and text/Markdown documents, passages (contract in documents.h).
#include "codi/documents.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "base/ascii.h"
#include "base/hash.h"
#include "base/utf8.h"
#include "codi/records.h"
#include "platform/file_util.h"

namespace odlm::codi {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSpace = " \t\r\n";

std::string_view Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

// Splits `s` into pieces that end after each match of `at` (the separator stays with the piece
// before it), trimmed, empty ones dropped.
std::vector<std::string_view> SplitAfter(std::string_view s, const std::vector<std::string>& at) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    for (const std::string& sep : at) {
      if (s.compare(i, sep.size(), sep) == 0) {
        const std::string_view piece = Trim(s.substr(start, i + 1 - start));
        if (!piece.empty()) out.push_back(piece);
        start = i + 1;
        break;
      }
    }
  }
  const std::string_view tail = Trim(s.substr(std::min(start, s.size())));
  if (!tail.empty()) out.push_back(tail);
  return out;
}

// The paragraphs of `text`: runs of lines separated by blank lines.
std::vector<std::string_view> Paragraphs(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0, para_start = std::string_view::npos, para_end = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const bool blank = Trim(text.substr(pos, end - pos)).empty();
    if (!blank && para_start == std::string_view::npos) para_start = pos;
    if (!blank) para_end = end;
    if ((blank || end == text.size()) && para_start != std::string_view::npos) {
      out.push_back(Trim(text.substr(para_start, para_end - para_start)));
      para_start = std::string_view::npos;
    }
    pos = end + 1;
  }
  return out;
}

// Greedy packing of `units` (in order) into pieces of at most max_chars, joined by `glue`; a unit
// longer than max_chars goes to `split_long` for smaller units.
template <typename SplitLong>
void Pack(const std::vector<std::string_view>& units, std::string_view glue, size_t max_chars,
          const SplitLong& split_long, std::vector<std::string>* out) {
  std::string current;
  auto flush = [&] {
    if (!current.empty()) out->push_back(std::move(current));
    current.clear();
  };
  for (std::string_view u : units) {
    if (u.size() > max_chars) {
      flush();
      split_long(u, out);
      continue;
    }
    if (!current.empty() && current.size() + glue.size() + u.size() > max_chars) flush();
    if (!current.empty()) current += glue;
    current += u;
  }
  flush();
}

void CutWord(std::string_view word, size_t max_chars, std::vector<std::string>* out) {
  while (!word.empty()) {
    size_t n = std::min(word.size(), max_chars);
    // Back up to a character boundary (a continuation byte is 10xxxxxx).
    while (n < word.size() && n > 1 && (static_cast<unsigned char>(word[n]) & 0xC0) == 0x80) --n;
    out->push_back(std::string(word.substr(0, n)));
    word.remove_prefix(n);
  }
}

void SplitSentence(std::string_view sentence, size_t max_chars, std::vector<std::string>* out) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < sentence.size()) {
    const size_t b = sentence.find_first_not_of(kSpace, pos);
    if (b == std::string_view::npos) break;
    size_t e = sentence.find_first_of(kSpace, b);
    if (e == std::string_view::npos) e = sentence.size();
    words.push_back(sentence.substr(b, e - b));
    pos = e;
  }
  Pack(
      words, " ", max_chars,
      [&](std::string_view w, std::vector<std::string>* o) { CutWord(w, max_chars, o); }, out);
}

void SplitParagraph(std::string_view para, size_t max_chars, std::vector<std::string>* out) {
  Pack(
      SplitAfter(para, {". ", "! ", "? ", ".\n", "!\n", "?\n"}), " ", max_chars,
      [&](std::string_view s, std::vector<std::string>* o) { SplitSentence(s, max_chars, o); },
      out);
}

bool IsTextFile(const fs::path& p) {
  const std::string ext = AsciiLower(p.extension().string());
  return ext == ".txt" || ext == ".md" || ext == ".markdown";
}

bool IsMarkdown(const fs::path& p) {
  const std::string ext = AsciiLower(p.extension().string());
  return ext == ".md" || ext == ".markdown";
}

// Removes `open`…`close` spans (HTML comments, front matter).
std::string RemoveSpans(std::string_view s, std::string_view open, std::string_view close) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    const size_t b = s.find(open, pos);
    if (b == std::string_view::npos) break;
    const size_t e = s.find(close, b + open.size());
    if (e == std::string_view::npos) break;
    out.append(s.substr(pos, b - pos));
    pos = e + close.size();
  }
  out.append(s.substr(pos));
  return out;
}

// One line of Markdown prose: links and images to their text, emphasis marks dropped.
std::string CleanInline(std::string_view line) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    const bool image = c == '!' && i + 1 < line.size() && line[i + 1] == '[';
    if (c == '[' || image) {
      const size_t open = image ? i + 1 : i;
      const size_t close = line.find(']', open);
      if (close != std::string_view::npos && close + 1 < line.size() && line[close + 1] == '(') {
        const size_t paren = line.find(')', close);
        if (paren != std::string_view::npos) {
          out.append(line.substr(open + 1, close - open - 1));
          i = paren;
          continue;
        }
      }
    }
    if (c == '*' || c == '_') {
      const auto word = [](char x) { return std::isalnum(static_cast<unsigned char>(x)) != 0; };
      const bool prev_word = i > 0 && word(line[i - 1]);
      const bool next_word = i + 1 < line.size() && word(line[i + 1]);
      const bool prev_space = i == 0 || line[i - 1] == ' ';
      const bool next_space = i + 1 >= line.size() || line[i + 1] == ' ';
      // Kept: snake_case, and a lone mark between spaces ("* item", "2 * 3"); else emphasis.
      if (!((c == '_' && prev_word && next_word) || (prev_space && next_space))) continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

StatusOr<std::vector<Document>> LoadJsonlDocuments(const std::string& path) {
  std::vector<Document> docs;
  std::set<std::string> ids;
  RETURN_IF_ERROR(ForEachJsonlObject(
      path, "{\"id\": …, \"text\": …}", [&](const json& j, const std::string& where) -> Status {
        Document d;
        if (!j.contains("id")) return InvalidArgumentError(where + ": missing \"id\"");
        if (j["id"].is_string()) {
          d.id = j["id"].get<std::string>();
        } else if (j["id"].is_number_integer()) {
          d.id = std::to_string(j["id"].get<long long>());
        } else {
          return InvalidArgumentError(where + ": \"id\" must be a string or an integer");
        }
        if (!j.contains("text") || !j["text"].is_string() || j["text"].get<std::string>().empty()) {
          return InvalidArgumentError(where + ": \"text\" must be a non-empty string");
        }
        d.text = j["text"].get<std::string>();
        if (!ids.insert(d.id).second) {
          return InvalidArgumentError(where + ": duplicate document id '" + d.id + "'");
        }
        docs.push_back(std::move(d));
        return Status::Ok();
      }));
  if (docs.empty()) return InvalidArgumentError(path + ": no documents");
  return docs;
}

std::vector<std::string> SplitPassages(std::string_view text, size_t max_chars) {
  std::vector<std::string> out;
  Pack(
      Paragraphs(text), "\n\n", max_chars,
      [&](std::string_view p, std::vector<std::string>* o) { SplitParagraph(p, max_chars, o); },
      &out);
  return out;
}

std::string MarkdownToText(std::string_view markdown) {
  std::string s(markdown);
  // Front matter: a first line "---" up to the next "---" line.
  if (s.rfind("---\n", 0) == 0) {
    const size_t end = s.find("\n---", 3);
    if (end != std::string::npos) {
      const size_t after = s.find('\n', end + 4);
      s.erase(0, after == std::string::npos ? s.size() : after + 1);
    }
  }
  s = RemoveSpans(s, "<!--", "-->");
  std::string out;
  bool in_code = false;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find('\n', pos);
    if (end == std::string::npos) end = s.size();
    std::string_view line(s.data() + pos, end - pos);
    pos = end + 1;
    const std::string_view stripped = Trim(line);
    if (stripped.rfind("```", 0) == 0 || stripped.rfind("~~~", 0) == 0) {
      in_code = !in_code;
      out += '\n';  // the fence itself is markup
      continue;
    }
    if (in_code) {
      out.append(line);
      out += '\n';
      continue;
    }
    size_t hashes = 0;
    while (hashes < line.size() && line[hashes] == '#') ++hashes;
    if (hashes > 0 && hashes <= 6 && (hashes == line.size() || line[hashes] == ' ')) {
      line.remove_prefix(hashes);
      line = Trim(line);
    }
    out += CleanInline(line);
    out += '\n';
  }
  return out;
}

StatusOr<std::vector<Document>> LoadTextDocuments(const std::string& path,
                                                  const PassageOptions& options) {
  if (options.max_chars < 16) {
    return InvalidArgumentError("the passage size must be at least 16 bytes, not " +
                                std::to_string(options.max_chars));
  }
  std::error_code ec;
  const fs::path root(path);
  if (!fs::exists(root, ec)) return NotFoundError(path + ": no such file or directory");
  std::vector<std::pair<std::string, fs::path>> files;  // (id stem, file)
  if (fs::is_directory(root, ec)) {
    fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
    if (ec) return InvalidArgumentError(path + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
      if (ec) return InvalidArgumentError(path + ": " + ec.message());
      const std::string name = it->path().filename().string();
      if (!name.empty() && name[0] == '.') {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec) && IsTextFile(it->path())) {
        files.emplace_back(fs::relative(it->path(), root, ec).generic_string(), it->path());
      }
    }
    std::sort(files.begin(), files.end());
  } else {
    files.emplace_back(root.filename().string(), root);
  }
  std::vector<Document> docs;
  for (const auto& [stem, file] : files) {
    ASSIGN_OR_RETURN(std::string raw, ReadFileToString(file.string()));
    if (!IsValidUtf8(raw)) return InvalidArgumentError(file.string() + ": not valid UTF-8 text");
    if (raw.rfind("\xEF\xBB\xBF", 0) == 0) raw.erase(0, 3);  // byte order mark
    const std::string text = IsMarkdown(file) ? MarkdownToText(raw) : raw;
    const std::vector<std::string> passages = SplitPassages(text, options.max_chars);
    for (size_t k = 0; k < passages.size(); ++k) {
      docs.push_back(
          {passages.size() == 1 ? stem : stem + "#" + std::to_string(k + 1), passages[k]});
    }
  }
  if (docs.empty()) {
    return InvalidArgumentError(path +
                                ": no text documents (.txt, .md or .markdown files with text)");
  }
  return docs;
}

StatusOr<std::vector<Document>> LoadDocuments(const std::string& path,
                                              const PassageOptions& options) {
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec) || IsTextFile(p)) return LoadTextDocuments(path, options);
  return LoadJsonlDocuments(path);
}

std::string DocumentsFingerprint(const std::vector<Document>& docs) {
  uint64_t h = Fnv1a64("");
  for (const Document& d : docs) {
    h = Fnv1a64(d.id, h);
    h = Fnv1a64(std::string_view("\0", 1), h);
    h = Fnv1a64(d.text, h);
    h = Fnv1a64(std::string_view("\0", 1), h);
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

}  // namespace odlm::codi
