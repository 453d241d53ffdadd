// eval/unicode_text.cc — UTF-8 decoding and the Python str behaviours the metric scripts rely on.
#include "eval/unicode_text.h"

#include "base/utf8.h"

namespace odlm::eval {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

bool InRange(char32_t cp, char32_t lo, char32_t hi) { return cp >= lo && cp <= hi; }

// Lowercase of one code point under Python's str.lower(), for the blocks listed in the header;
// returns `cp` itself elsewhere. U+0130 and U+03A3 (final sigma) are handled by the callers.
char32_t LowerSimple(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  if (InRange(cp, 0xC0, 0xDE) && cp != 0xD7) return cp + 32;
  if (cp < 0x100) return cp;
  // Latin Extended-A: alternating upper/lower pairs.
  if (InRange(cp, 0x100, 0x12F) || InRange(cp, 0x132, 0x137) || InRange(cp, 0x14A, 0x177)) {
    return (cp % 2 == 0) ? cp + 1 : cp;
  }
  if (InRange(cp, 0x139, 0x148) || InRange(cp, 0x179, 0x17E)) return (cp % 2 == 1) ? cp + 1 : cp;
  if (cp == 0x178) return 0xFF;
  // Latin Extended-B (the pairs in common use).
  if (cp == 0x1C4 || cp == 0x1C5) return 0x1C6;
  if (cp == 0x1C7 || cp == 0x1C8) return 0x1C9;
  if (cp == 0x1CA || cp == 0x1CB) return 0x1CC;
  if (cp == 0x1F1 || cp == 0x1F2) return 0x1F3;
  if (cp == 0x1F4) return 0x1F5;
  if (InRange(cp, 0x1CD, 0x1DC)) return (cp % 2 == 1) ? cp + 1 : cp;
  if (InRange(cp, 0x1DE, 0x1EF) || InRange(cp, 0x1F8, 0x21F) || InRange(cp, 0x222, 0x233)) {
    return (cp % 2 == 0) ? cp + 1 : cp;
  }
  // Greek.
  if (InRange(cp, 0x391, 0x3AB) && cp != 0x3A2) return cp + 32;
  if (cp == 0x386) return 0x3AC;
  if (InRange(cp, 0x388, 0x38A)) return cp + 37;
  if (cp == 0x38C) return 0x3CC;
  if (cp == 0x38E || cp == 0x38F) return cp + 63;
  if (InRange(cp, 0x3D8, 0x3EF)) return (cp % 2 == 0) ? cp + 1 : cp;
  if (cp == 0x3F4) return 0x3B8;
  if (cp == 0x3F7 || cp == 0x3FA) return cp + 1;
  if (cp == 0x3F9) return 0x3F2;
  if (InRange(cp, 0x3FD, 0x3FF)) return cp - 130;
  // Cyrillic.
  if (InRange(cp, 0x400, 0x40F)) return cp + 80;
  if (InRange(cp, 0x410, 0x42F)) return cp + 32;
  if (InRange(cp, 0x460, 0x481) || InRange(cp, 0x48A, 0x4BF) || InRange(cp, 0x4D0, 0x52F)) {
    return (cp % 2 == 0) ? cp + 1 : cp;
  }
  if (cp == 0x4C0) return 0x4CF;
  if (InRange(cp, 0x4C1, 0x4CE)) return (cp % 2 == 1) ? cp + 1 : cp;
  // Armenian.
  if (InRange(cp, 0x531, 0x556)) return cp + 48;
  // Georgian.
  if (InRange(cp, 0x10A0, 0x10C5) || cp == 0x10C7 || cp == 0x10CD) return cp + 7264;
  if (InRange(cp, 0x1C90, 0x1CBA) || InRange(cp, 0x1CBD, 0x1CBF)) return cp - 3008;
  // Latin Extended Additional.
  if (InRange(cp, 0x1E00, 0x1E95) || InRange(cp, 0x1EA0, 0x1EFF)) {
    return (cp % 2 == 0) ? cp + 1 : cp;
  }
  if (cp == 0x1E9E) return 0xDF;
  // Greek Extended (the plain capital rows).
  if (InRange(cp, 0x1F08, 0x1F0F) || InRange(cp, 0x1F18, 0x1F1D) || InRange(cp, 0x1F28, 0x1F2F) ||
      InRange(cp, 0x1F38, 0x1F3F) || InRange(cp, 0x1F48, 0x1F4D) || InRange(cp, 0x1F68, 0x1F6F) ||
      cp == 0x1F59 || cp == 0x1F5B || cp == 0x1F5D || cp == 0x1F5F) {
    return cp - 8;
  }
  // Letterlike symbols, number forms, enclosed letters, fullwidth, Deseret.
  if (cp == 0x2126) return 0x3C9;
  if (cp == 0x212A) return 'k';
  if (cp == 0x212B) return 0xE5;
  if (InRange(cp, 0x2160, 0x216F)) return cp + 16;
  if (InRange(cp, 0x24B6, 0x24CF)) return cp + 26;
  if (InRange(cp, 0xFF21, 0xFF3A)) return cp + 32;
  if (InRange(cp, 0x10400, 0x10427)) return cp + 40;
  return cp;
}

// Unicode "Cased" (has a case) for the Final_Sigma rule: the scripts with case that LowerSimple
// knows, plus their lowercase letters.
bool IsCased(char32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  if (cp < 0x100)
    return cp == 0xAA || cp == 0xB5 || cp == 0xBA || (cp >= 0xC0 && cp != 0xD7 && cp != 0xF7);
  return InRange(cp, 0x100, 0x24F) || InRange(cp, 0x250, 0x2AF) || InRange(cp, 0x370, 0x373) ||
         InRange(cp, 0x376, 0x377) || InRange(cp, 0x37B, 0x37D) || cp == 0x37F || cp == 0x386 ||
         InRange(cp, 0x388, 0x3FF) || InRange(cp, 0x400, 0x481) || InRange(cp, 0x48A, 0x52F) ||
         InRange(cp, 0x531, 0x556) || InRange(cp, 0x560, 0x588) || InRange(cp, 0x10A0, 0x10FF) ||
         InRange(cp, 0x1C90, 0x1CBF) || InRange(cp, 0x1E00, 0x1FFF) ||
         InRange(cp, 0x2160, 0x217F) || InRange(cp, 0x24B6, 0x24E9) ||
         InRange(cp, 0x2C00, 0x2CFF) || InRange(cp, 0xFF21, 0xFF3A) ||
         InRange(cp, 0xFF41, 0xFF5A) || InRange(cp, 0x10400, 0x1044F);
}

// Unicode "Case_Ignorable" (the common ones): apostrophes, periods, colons, modifier symbols,
// combining marks and format characters, which the Final_Sigma rule skips over.
bool IsCaseIgnorable(char32_t cp) {
  return cp == '\'' || cp == '.' || cp == ':' || cp == '^' || cp == '`' || cp == 0xA8 ||
         cp == 0xAD || cp == 0xAF || cp == 0xB4 || cp == 0xB7 || cp == 0xB8 ||
         InRange(cp, 0x2B0, 0x36F) || cp == 0x374 || cp == 0x375 || cp == 0x37A || cp == 0x384 ||
         cp == 0x385 || cp == 0x387 || InRange(cp, 0x483, 0x489) || InRange(cp, 0x200B, 0x200F) ||
         cp == 0x2018 || cp == 0x2019 || cp == 0x2024 || cp == 0x2027 ||
         InRange(cp, 0x2060, 0x2064) || InRange(cp, 0x20D0, 0x20FF) ||
         InRange(cp, 0xFE00, 0xFE0F) || cp == 0xFEFF;
}

}  // namespace

std::u32string DecodeUtf8(std::string_view text) {
  // Invalid bytes become U+FFFD one by one, as Python's errors="replace" does.
  std::u32string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp;
    pos += odlm::DecodeUtf8(text, pos, &cp);
    out.push_back(cp == kInvalidUtf8 ? kReplacement : static_cast<char32_t>(cp));
  }
  return out;
}

void AppendUtf8(char32_t cp, std::string* out) { odlm::AppendUtf8(static_cast<uint32_t>(cp), out); }

std::string EncodeUtf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) AppendUtf8(cp, &out);
  return out;
}

bool IsPythonSpace(char32_t cp) {
  return InRange(cp, 0x09, 0x0D) || InRange(cp, 0x1C, 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || InRange(cp, 0x2000, 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool IsPythonWordChar(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
           cp == '_';
  }
  if (cp < 0xA0) return false;  // C1 controls
  if (cp < 0x100) {
    // Latin-1: ª ² ³ µ ¹ º ¼ ½ ¾ and the letters are \w; the rest of A0–BF and × ÷ are not.
    if (cp <= 0xBF) {
      return cp == 0xAA || cp == 0xB2 || cp == 0xB3 || cp == 0xB5 || cp == 0xB9 || cp == 0xBA ||
             InRange(cp, 0xBC, 0xBE);
    }
    return cp != 0xD7 && cp != 0xF7;
  }
  // Modifier symbols (not modifier letters), combining marks, Greek/Cyrillic/Armenian/Hebrew/Arabic
  // punctuation and marks.
  if (InRange(cp, 0x2C2, 0x2C5) || InRange(cp, 0x2D2, 0x2DF) || InRange(cp, 0x2E5, 0x2EB) ||
      cp == 0x2ED || InRange(cp, 0x2EF, 0x36F)) {
    return false;
  }
  if (cp == 0x375 || cp == 0x37E || cp == 0x384 || cp == 0x385 || cp == 0x387 || cp == 0x3F6 ||
      InRange(cp, 0x482, 0x489) || InRange(cp, 0x55A, 0x55F) || cp == 0x589 || cp == 0x58A ||
      InRange(cp, 0x58D, 0x58F) || InRange(cp, 0x591, 0x5C7) || cp == 0x5F3 || cp == 0x5F4 ||
      InRange(cp, 0x600, 0x60F) || InRange(cp, 0x61B, 0x61F) || InRange(cp, 0x64B, 0x65F) ||
      InRange(cp, 0x66A, 0x66D) || cp == 0x670 || cp == 0x6D4 || InRange(cp, 0x6D6, 0x6E4) ||
      InRange(cp, 0x6E7, 0x6ED)) {
    return false;
  }
  if (IsPythonSpace(cp)) return false;
  if (InRange(cp, 0x1AB0, 0x1AFF) || InRange(cp, 0x1DC0, 0x1DFF)) return false;  // combining
  if (InRange(cp, 0x2000, 0x206F)) return false;                                 // punctuation
  if (InRange(cp, 0x20A0, 0x20FF)) return false;  // currency, combining marks for symbols
  if (InRange(cp, 0x2100, 0x214F)) {              // letterlike: only the letters are \w
    return cp == 0x2102 || cp == 0x2107 || InRange(cp, 0x210A, 0x2113) || cp == 0x2115 ||
           InRange(cp, 0x2119, 0x211D) || cp == 0x2124 || cp == 0x2126 || cp == 0x2128 ||
           InRange(cp, 0x212A, 0x212D) || InRange(cp, 0x212F, 0x2139) ||
           InRange(cp, 0x213C, 0x213F) || InRange(cp, 0x2145, 0x2149) || cp == 0x214E;
  }
  if (InRange(cp, 0x2150, 0x218F)) return cp != 0x218A && cp != 0x218B;  // number forms
  if (InRange(cp, 0x2190, 0x245F)) return false;  // arrows, math, technical, control pictures
  if (InRange(cp, 0x2460, 0x249B) || InRange(cp, 0x24EA, 0x24FF)) return true;  // enclosed numbers
  if (InRange(cp, 0x249C, 0x24E9)) return false;  // enclosed letters (symbols)
  if (InRange(cp, 0x2776, 0x2793)) return true;   // dingbat numbers
  if (InRange(cp, 0x2500, 0x2BFF)) return false;  // box drawing, shapes, symbols, dingbats
  if (InRange(cp, 0x2E00, 0x2FFF)) return false;  // supplemental punctuation, CJK radicals
  if (InRange(cp, 0x3000, 0x303F)) {
    return cp == 0x3005 || cp == 0x3006 || cp == 0x3007 || InRange(cp, 0x3021, 0x3029) ||
           InRange(cp, 0x3031, 0x3035) || InRange(cp, 0x3038, 0x303C);
  }
  if (InRange(cp, 0x3099, 0x309C) || cp == 0x30A0 || cp == 0x30FB) return false;
  if (InRange(cp, 0x3200, 0x33FF)) {
    return InRange(cp, 0x3220, 0x3229) || InRange(cp, 0x3248, 0x324F) ||
           InRange(cp, 0x3251, 0x325F) || InRange(cp, 0x3280, 0x3289) ||
           InRange(cp, 0x32B1, 0x32BF);
  }
  if (InRange(cp, 0xD800, 0xF8FF)) return false;  // surrogates, private use
  if (cp == 0xFD3E || cp == 0xFD3F || InRange(cp, 0xFE00, 0xFE6F) || cp == 0xFEFF) return false;
  if (InRange(cp, 0xFF01, 0xFF0F) || InRange(cp, 0xFF1A, 0xFF20) || InRange(cp, 0xFF3B, 0xFF40) ||
      InRange(cp, 0xFF5B, 0xFF65) || InRange(cp, 0xFFE0, 0xFFFF)) {
    return false;
  }
  if (InRange(cp, 0x1D100, 0x1D1FF)) return false;  // musical symbols
  if (InRange(cp, 0x1F100, 0x1F10C)) return true;   // enclosed digits
  if (InRange(cp, 0x1F000, 0x1FAFF)) return false;  // emoji and pictographs
  if (cp >= 0xE0000) return false;                  // tags, variation selectors, private use
  return true;
}

void AppendPythonLower(char32_t cp, std::u32string* out) {
  if (cp == 0x130) {
    out->push_back('i');
    out->push_back(0x307);
    return;
  }
  out->push_back(LowerSimple(cp));
}

std::u32string PythonLower(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t cp = text[i];
    if (cp == 0x3A3) {
      // Final_Sigma: Σ preceded by a cased letter and not followed by one (case-ignorable
      // characters skipped on both sides) lowercases to ς, else σ.
      size_t b = i;
      while (b > 0 && IsCaseIgnorable(text[b - 1])) --b;
      size_t f = i + 1;
      while (f < text.size() && IsCaseIgnorable(text[f])) ++f;
      const bool after_letter = b > 0 && IsCased(text[b - 1]);
      const bool before_letter = f < text.size() && IsCased(text[f]);
      out.push_back(after_letter && !before_letter ? 0x3C2 : 0x3C3);
      continue;
    }
    AppendPythonLower(cp, &out);
  }
  return out;
}

std::vector<std::u32string> PythonSplit(std::u32string_view text) {
  std::vector<std::u32string> fields;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsPythonSpace(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !IsPythonSpace(text[i])) ++i;
    if (i > start) fields.emplace_back(text.substr(start, i - start));
  }
  return fields;
}

}  // namespace odlm::eval
