// tokenizer/unicode.h — the Unicode facts the tokenizers need: UTF-8 decoding that never fails,
// General Category and White_Space lookup, and the character classes of pre-tokenizer regexes.
//
// Written by hand (no ICU, no PCRE2 in the core): the tables come from the Unicode Character
// Database via scripts/gen_unicode_tables.py (unicode_tables.inc, committed). All functions are
// pure and thread-safe. Lookups cost O(1) below U+0800 and a binary search over ~4k ranges above.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/utf8.h"

namespace odlm {

// General Categories, in the order of kCategoryNames in unicode_tables.inc.
enum class UnicodeCategory : uint8_t {
  kCn,
  kLu,
  kLl,
  kLt,
  kLm,
  kLo,
  kMn,
  kMc,
  kMe,
  kNd,
  kNl,
  kNo,
  kPc,
  kPd,
  kPs,
  kPe,
  kPi,
  kPf,
  kPo,
  kSm,
  kSc,
  kSk,
  kSo,
  kZs,
  kZl,
  kZp,
  kCc,
  kCf,
  kCs,
  kCo,
};

// Character-class bits used by the pre-tokenizers (one byte per code point).
enum UnicodeFlag : uint8_t {
  kUniLetter = 1 << 0,      // \p{L}
  kUniNumber = 1 << 1,      // \p{N}
  kUniPunct = 1 << 2,       // \p{P}
  kUniSymbol = 1 << 3,      // \p{S}
  kUniMark = 1 << 4,        // \p{M}
  kUniWhitespace = 1 << 5,  // \s (the White_Space property)
  kUniUpper = 1 << 6,       // \p{Lu}
  kUniLower = 1 << 7,       // \p{Ll}
};

// "15.0.0": the UCD version the tables were generated from.
const char* UnicodeVersion();
UnicodeCategory GetUnicodeCategory(uint32_t cp);
bool IsUnicodeWhiteSpace(uint32_t cp);
// The UnicodeFlag bits of `cp` (0 for code points past U+10FFFF).
uint8_t UnicodeFlags(uint32_t cp);

}  // namespace odlm
