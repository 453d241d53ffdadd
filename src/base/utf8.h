// base/utf8.h — decoding, encoding and validity of UTF-8, shared by every layer that handles text
// (tokenizer, generation, JSON in the core, evaluation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace odlm {

// Stands for a byte that is not part of valid UTF-8: the tokenizer classes it as U+FFFD (So).
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
// `s` with every byte that does not start a valid sequence replaced by U+FFFD: always valid
// UTF-8, so it can be printed or JSON-encoded.
std::string SanitizeUtf8(std::string_view s);

}  // namespace odlm
