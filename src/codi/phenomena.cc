// codi/phenomena.cc — surface checks of requested phenomena (contract in phenomena.h).
#include "codi/phenomena.h"

#include <algorithm>
#include <array>

#include "codi/turn_check.h"

namespace odlm::codi {
namespace {

constexpr int kShortTurnWords = 6;

constexpr std::array<std::string_view, 15> kReferring = {"it",   "its",  "they",  "them",  "their",
                                                         "he",   "him",  "his",   "she",   "her",
                                                         "this", "that", "these", "those", "there"};

// Lower-cased word sequences a turn may open with.
constexpr std::array<std::string_view, 21> kConnectives = {"and",
                                                           "so",
                                                           "but",
                                                           "what about",
                                                           "how about",
                                                           "also",
                                                           "then",
                                                           "now",
                                                           "well",
                                                           "ok",
                                                           "okay",
                                                           "anyway",
                                                           "besides",
                                                           "speaking of",
                                                           "by the way",
                                                           "changing the subject",
                                                           "on another topic",
                                                           "switching topics",
                                                           "moving on",
                                                           "another thing",
                                                           "one more thing"};

bool HasReferringWord(const std::vector<std::string>& words) {
  for (size_t i = 0; i < words.size(); ++i) {
    if (std::find(kReferring.begin(), kReferring.end(), words[i]) != kReferring.end()) return true;
    if (words[i] == "the" && i + 1 < words.size() &&
        (words[i + 1] == "latter" || words[i + 1] == "former")) {
      return true;
    }
  }
  return false;
}

bool OpensWithConnective(const std::vector<std::string>& words) {
  for (std::string_view c : kConnectives) {
    size_t i = 0, pos = 0;
    bool match = true;
    while (pos < c.size()) {
      size_t end = c.find(' ', pos);
      if (end == std::string_view::npos) end = c.size();
      if (i >= words.size() || words[i] != c.substr(pos, end - pos)) {
        match = false;
        break;
      }
      ++i;
      pos = end + 1;
    }
    if (match) return true;
  }
  return false;
}

}  // namespace

bool IsCheckablePhenomenon(std::string_view name) {
  return name == "coreference" || name == "ellipsis" || name == "discourse_marker" ||
         name == "topic_switch" || name == "brevity";
}

PhenomenonCheck CheckPhenomenon(std::string_view name, const std::string& text,
                                const std::vector<std::string>& earlier,
                                const std::string& previous_same_role,
                                const std::unordered_set<std::string>& doc_words) {
  const auto shown = [](bool b) { return b ? PhenomenonCheck::kShown : PhenomenonCheck::kMissing; };
  const std::vector<std::string> words = LowerWords(text);
  const int n = static_cast<int>(words.size());
  if (name == "coreference") return shown(HasReferringWord(words));
  if (name == "ellipsis") {
    const int before = WordCount(previous_same_role);
    return shown(n <= kShortTurnWords || (before > 0 && 2 * n <= before));
  }
  if (name == "discourse_marker") return shown(OpensWithConnective(words));
  if (name == "topic_switch") {
    std::unordered_set<std::string> used;
    for (const std::string& t : earlier) {
      for (std::string& w : ContentWords(t)) used.insert(std::move(w));
    }
    for (const std::string& w : ContentWords(text)) {
      if (doc_words.count(w) && !used.count(w)) return PhenomenonCheck::kShown;
    }
    return PhenomenonCheck::kMissing;
  }
  if (name == "brevity") return shown(n <= kShortTurnWords);
  return PhenomenonCheck::kUnchecked;
}

}  // namespace odlm::codi
