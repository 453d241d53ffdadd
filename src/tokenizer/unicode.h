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
// "Lu", "Nd", ...
const char* UnicodeCategoryName(UnicodeCategory c);
bool IsUnicodeWhiteSpace(uint32_t cp);
// The UnicodeFlag bits of `cp` (0 for code points past U+10FFFF).
uint8_t UnicodeFlags(uint32_t cp);

// Stands for a byte that is not part of valid UTF-8: its class is that of U+FFFD (So).
inline constexpr uint32_t kInvalidUtf8 = 0xFFFFFFFFu;

// Decodes the UTF-8 sequence at s[pos]; returns its length in bytes (>= 1 when pos < s.size())
// and stores the code point in *cp, or kInvalidUtf8 for a byte that does not start a valid,
// shortest-form sequence (that byte alone is consumed). Never reads past s.size().
size_t DecodeUtf8(std::string_view s, size_t pos, uint32_t* cp);
// Appends the UTF-8 encoding of `cp` (U+FFFD for surrogates and values past U+10FFFF).
void AppendUtf8(uint32_t cp, std::string* out);
// True if `s` is entirely valid UTF-8.
bool IsValidUtf8(std::string_view s);
// Length of the prefix of `s` that ends at a boundary where no multi-byte character is cut: the
// trailing bytes of an incomplete (but so far valid) sequence are excluded; invalid bytes count as
// complete (they can never become valid).
size_t CompleteUtf8Prefix(std::string_view s);

}  // namespace odlm
