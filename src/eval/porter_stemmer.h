// eval/porter_stemmer.h — the Porter (1980) suffix-stripping stemmer, original algorithm.
//
// Written from M.F. Porter, "An algorithm for suffix stripping", Program 14(3), 1980: steps 1a,
// 1b, 1c, 2, 3, 4, 5a, 5b with the measure m, *S, *v*, *d and *o conditions exactly as published
// (within a step only the rule with the longest matching suffix is considered; if its condition
// fails, the step leaves the word alone). This is the stemmer of ROUGE-1.5.5's -m option and of
// NLTK's PorterStemmer(mode=ORIGINAL_ALGORITHM). It is NOT NLTK's default mode (NLTK_EXTENSIONS,
// used by Google's rouge-score package), which adds irregular forms ("dying" → "die"), treats
// words of 1–2 letters and "-ies" words of 4 letters specially, and uses "bli" → "ble", "logi" →
// "log", "fulli" → "ful"; see docs/EVAL.md.
// Input: one lowercase ASCII word (other bytes are treated as consonants). Pure, thread-safe, O(n).
#pragma once

#include <string>
#include <string_view>

namespace odlm::eval {

std::string PorterStem(std::string_view word);

}  // namespace odlm::eval
