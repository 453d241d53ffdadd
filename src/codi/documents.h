// codi/documents.h — the documents CoDi conversations are grounded in.
//
// Two sources:
// - JSONL records {"id", "text"} (LoadJsonlDocuments), the prepared form (`odlm world gen` writes
//   it; any pipeline can);
// - plain-text and Markdown files, one file or a directory of them ("zero-shot web" mode,
//   LoadTextDocuments), so synthesis runs on any corpus: each file is cleaned (Markdown markup that
//   is not prose removed) and split into passages of at most a set size, because a teacher prompt
//   and a student's context hold a passage, not a book.
// LoadDocuments picks by the path: a directory, or a file ending .txt/.md/.markdown, is text;
// anything else is JSONL.
//
// Splitting (SplitPassages): paragraphs (blank-line separated) are packed greedily into passages
// of at most max_chars bytes; a paragraph longer than that is cut at sentence ends (". ", "! ",
// "? "), a sentence longer than that at spaces, a word longer than that at a UTF-8 character
// boundary. Passages are trimmed; no passage is empty. Deterministic; O(n) in the text.
//
// Pure functions but for reading files; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace odlm::codi {

struct Document {
  std::string id;
  std::string text;
};

// Reads documents from JSONL: one object per line with "id" (string or integer) and "text"
// (non-empty string); blank lines are skipped. Errors name the line; duplicate ids are refused.
StatusOr<std::vector<Document>> LoadJsonlDocuments(const std::string& path);

struct PassageOptions {
  size_t max_chars = 2000;  // bytes per passage at most (≥ 16)
};

// The passages of `text` (rules above).
std::vector<std::string> SplitPassages(std::string_view text, size_t max_chars);

// Markdown to the prose a teacher should read: YAML front matter, HTML comments, heading marks
// ("## "), emphasis marks around words, image syntax (kept: the alt text) and link targets (kept:
// the link text) removed; code blocks, lists and tables kept as they are written.
std::string MarkdownToText(std::string_view markdown);

// Documents from a .txt/.md/.markdown file, or from every such file below a directory (recursive,
// in byte order of the relative path; other files and hidden entries skipped). Ids: the file's
// path relative to the directory (its name for a single file), with "#k" (k from 1) when the file
// gives more than one passage. Files that are empty after cleaning give none. Errors:
// InvalidArgument for a file that is not valid UTF-8 (named), for max_chars < 16, or when no
// document results; NotFound for a missing path.
StatusOr<std::vector<Document>> LoadTextDocuments(const std::string& path,
                                                  const PassageOptions& options);

// JSONL or text by the path (above).
StatusOr<std::vector<Document>> LoadDocuments(const std::string& path,
                                              const PassageOptions& options = {});

// A hex fingerprint of the documents' ids and texts in order (what a synthesis run was made from,
// checked on --resume): the same for the same documents however they were stored.
std::string DocumentsFingerprint(const std::vector<Document>& docs);

}  // namespace odlm::codi
