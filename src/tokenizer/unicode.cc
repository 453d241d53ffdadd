// tokenizer/unicode.cc — table lookups and UTF-8 coding (see unicode.h).
#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>

namespace odlm {
namespace {

#include "tokenizer/unicode_tables.inc"

static_assert(sizeof(kCategoryRangeStarts) / sizeof(kCategoryRangeStarts[0]) ==
              sizeof(kCategoryRangeValues) / sizeof(kCategoryRangeValues[0]));
static_assert(sizeof(kCategoryNames) / sizeof(kCategoryNames[0]) ==
              static_cast<size_t>(UnicodeCategory::kCo) + 1);

UnicodeCategory LookupCategory(uint32_t cp) {
  if (cp > 0x10FFFF) return UnicodeCategory::kCn;
  const uint32_t* end = kCategoryRangeStarts + kNumCategoryRanges;
  const uint32_t* it = std::upper_bound(kCategoryRangeStarts, end, cp);
  return static_cast<UnicodeCategory>(kCategoryRangeValues[(it - kCategoryRangeStarts) - 1]);
}

bool LookupWhiteSpace(uint32_t cp) {
  for (int i = 0; i < kNumWhiteSpaceRanges; ++i) {
    if (cp < kWhiteSpaceRanges[i][0]) return false;
    if (cp <= kWhiteSpaceRanges[i][1]) return true;
  }
  return false;
}

uint8_t ComputeFlags(uint32_t cp) {
  using C = UnicodeCategory;
  uint8_t f = 0;
  switch (LookupCategory(cp)) {
    case C::kLu:
      f = kUniLetter | kUniUpper;
      break;
    case C::kLl:
      f = kUniLetter | kUniLower;
      break;
    case C::kLt:
    case C::kLm:
    case C::kLo:
      f = kUniLetter;
      break;
    case C::kMn:
    case C::kMc:
    case C::kMe:
      f = kUniMark;
      break;
    case C::kNd:
    case C::kNl:
    case C::kNo:
      f = kUniNumber;
      break;
    case C::kPc:
    case C::kPd:
    case C::kPs:
    case C::kPe:
    case C::kPi:
    case C::kPf:
    case C::kPo:
      f = kUniPunct;
      break;
    case C::kSm:
    case C::kSc:
    case C::kSk:
    case C::kSo:
      f = kUniSymbol;
      break;
    default:
      break;
  }
  if (LookupWhiteSpace(cp)) f |= kUniWhitespace;
  return f;
}

constexpr uint32_t kFastLimit = 0x800;

const std::array<uint8_t, kFastLimit>& FastFlags() {
  static const std::array<uint8_t, kFastLimit> table = [] {
    std::array<uint8_t, kFastLimit> t{};
    for (uint32_t cp = 0; cp < kFastLimit; ++cp) t[cp] = ComputeFlags(cp);
    return t;
  }();
  return table;
}

}  // namespace

const char* UnicodeVersion() { return kUnicodeVersion; }

UnicodeCategory GetUnicodeCategory(uint32_t cp) { return LookupCategory(cp); }

const char* UnicodeCategoryName(UnicodeCategory c) {
  return kCategoryNames[static_cast<size_t>(c)];
}

bool IsUnicodeWhiteSpace(uint32_t cp) { return LookupWhiteSpace(cp); }

uint8_t UnicodeFlags(uint32_t cp) {
  if (cp < kFastLimit) return FastFlags()[cp];
  if (cp == kInvalidUtf8) return kUniSymbol;
  return ComputeFlags(cp);
}

size_t DecodeUtf8(std::string_view s, size_t pos, uint32_t* cp) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + pos;
  const size_t avail = s.size() - pos;
  const unsigned char b0 = p[0];
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t len;
  uint32_t v;
  uint32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, v = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, v = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, v = b0 & 0x07, min = 0x10000;
  } else {
    *cp = kInvalidUtf8;
    return 1;
  }
  if (avail < len) {
    *cp = kInvalidUtf8;
    return 1;
  }
  for (size_t i = 1; i < len; ++i) {
    if ((p[i] & 0xC0) != 0x80) {
      *cp = kInvalidUtf8;
      return 1;
    }
    v = (v << 6) | (p[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
    *cp = kInvalidUtf8;
    return 1;
  }
  *cp = v;
  return len;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsValidUtf8(std::string_view s) {
  for (size_t pos = 0; pos < s.size();) {
    uint32_t cp;
    pos += DecodeUtf8(s, pos, &cp);
    if (cp == kInvalidUtf8) return false;
  }
  return true;
}

size_t CompleteUtf8Prefix(std::string_view s) {
  // Look back at most 3 bytes for the lead byte of the last character.
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto b = static_cast<unsigned char>(s[n - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = 0;
    if ((b & 0xE0) == 0xC0) {
      need = 2;
    } else if ((b & 0xF0) == 0xE0) {
      need = 3;
    } else if ((b & 0xF8) == 0xF0) {
      need = 4;
    }
    if (need > back) {
      // Incomplete: hold it back only if what is there could still become valid.
      uint32_t cp;
      std::string probe(s.substr(n - back));
      // Complete the sequence with the smallest continuation bytes allowed and check validity of
      // the prefix seen so far (catches overlong leads and out-of-range starts early).
      while (probe.size() < need) probe.push_back(static_cast<char>(0xBF));
      if (DecodeUtf8(probe, 0, &cp) == need) return n - back;
      probe.assign(s.substr(n - back));
      while (probe.size() < need) probe.push_back(static_cast<char>(0x80));
      if (DecodeUtf8(probe, 0, &cp) == need) return n - back;
    }
    return n;
  }
  return n;
}

}  // namespace odlm
