// codi/test_util.h — helpers shared by the codi tests (header-only; tests only).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "codi/conversation.h"
#include "codi/graph.h"

namespace odlm::codi::testing {

// A grounded-QA graph whose templates the fake teacher understands: CONTEXT, then question /
// answer pairs, sometimes an unanswerable question and a refusal.
inline nlohmann::json QaGraphJson() {
  return nlohmann::json::parse(R"({
    "name": "test-qa",
    "roles": {"CONTEXT": 0, "USER": 0.1, "AGENT": 1},
    "phenomena": {"coreference": "Use a pronoun for something said before.",
                  "ellipsis": "Leave out words the listener can recover."},
    "links": {
      "ctx": {"role": "CONTEXT", "source": "document"},
      "q": {"role": "USER", "check": "question", "instruction": "Ask about the document.",
            "seeds": ["When was it built?", "Who kept it?", "How tall is it?"], "n_seeds": 2,
            "phenomena": {"coreference": 0.4, "ellipsis": 0.2}, "max_tokens": 32,
            "template": "Document:\n{document}\n\nConversation so far:\n{history}\n\n{instruction}\n{phenomenon}\nLike these:\n{seed_examples}\nWrite only the next question."},
      "nq": {"role": "USER", "check": "question",
             "template": "Document:\n{document}\n\nConversation so far:\n{history}\n\nAsk something the document does not answer. Write only the next question."},
      "a": {"role": "AGENT", "check": "grounded", "min_support": 0.8, "max_words": 30,
            "template": "Document:\n{document}\n\nConversation so far:\n{history}\n\nWrite only the answer."},
      "r": {"role": "AGENT", "check": "refusal",
            "template": "Document:\n{document}\n\nConversation so far:\n{history}\n\nWrite only a reply that refuses."}
    },
    "start": {"ctx": 1},
    "transitions": {"ctx": {"q": 1}, "q": {"a": 1}, "nq": {"r": 1}, "a": {"q": 0.7, "nq": 0.3},
                    "r": {"q": 1}},
    "length": {"3": 0.3, "5": 0.4, "7": 0.3}
  })");
}

inline Graph QaGraph() {
  auto g = ParseGraph(QaGraphJson());
  CHECK(g.ok()) << g.status().ToString();
  return std::move(g).value();
}

inline std::vector<Document> TestDocs() {
  return {
      {"d0", "The old mill by the river was built in 1820 and ground wheat for the village."},
      {"d1", "Marta planted forty apple trees on the hill, and the first harvest came in 2011."},
      {"d2", "The night train leaves the capital at ten and reaches the coast before dawn."}};
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/odlm_codi_test_XXXXXX";
    path_ = ::mkdtemp(tmpl) ? tmpl : "";
  }
  ~TempDir() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) out.push_back(line);
  return out;
}

inline void WriteDocsFile(const std::string& path, const std::vector<Document>& docs) {
  std::ofstream f(path);
  for (const auto& d : docs) f << nlohmann::json({{"id", d.id}, {"text", d.text}}).dump() << "\n";
}

// The records of an output file without their timing (which differs between runs), by id;
// with `strip_attempts`, also without the per-turn attempt counts (which injected faults change).
inline std::map<std::string, nlohmann::json> RecordsById(const std::string& path,
                                                         bool strip_attempts = false) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& line : Lines(ReadAll(path))) {
    auto j = nlohmann::json::parse(line);
    j.erase("timing");
    if (strip_attempts) {
      for (auto& t : j["turns"]) t.erase("attempts");
    }
    out[j["id"].get<std::string>()] = j;
  }
  return out;
}

}  // namespace odlm::codi::testing
