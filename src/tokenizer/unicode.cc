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

bool IsUnicodeWhiteSpace(uint32_t cp) { return LookupWhiteSpace(cp); }

uint8_t UnicodeFlags(uint32_t cp) {
  if (cp < kFastLimit) return FastFlags()[cp];
  if (cp == kInvalidUtf8) return kUniSymbol;
  return ComputeFlags(cp);
}

}  // namespace odlm
