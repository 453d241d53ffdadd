// eval/unicode_text.h — the few Unicode facts the official metric scripts rely on (Python 3 str).
//
// The CoQA/QuAC scorers, sacreBLEU and rouge-score are Python programs: they lowercase with
// str.lower(), split with str.split() and match \b with Python's \w. To score exactly as they do we
// decode UTF-8 to code points and reproduce those three behaviours. Written by hand because only
// these narrow facts are needed (a full ICU would be a heavy dependency for three tables):
//  - IsPythonSpace: exactly the code points for which Python's str.isspace() is true.
//  - PythonLower: exact for ASCII, Latin-1, Latin Extended-A/B (common letters), Latin Extended
//    Additional, Greek, Cyrillic, Armenian, Georgian Mkhedruli capitals, fullwidth, Roman numerals
//    and circled letters; other code points are left unchanged (right for caseless scripts: CJK,
//    Arabic, Hebrew, Indic …). U+0130 lowercases to "i" U+0307 as in Python.
//  - IsPythonWordChar: \w (str.isalnum() or '_'): exact for ASCII; beyond ASCII, letters and digits
//    of every script are word characters, and whitespace, punctuation and symbol blocks, combining
//    marks, private use and emoji are not.
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace odlm::eval {

// Decodes UTF-8. An invalid or truncated sequence yields U+FFFD for its first byte and decoding
// resumes at the next byte (input from JSON files is already valid UTF-8). O(n).
std::u32string DecodeUtf8(std::string_view text);

// Encodes code points as UTF-8 (code points above U+10FFFF or surrogates become U+FFFD).
std::string EncodeUtf8(std::u32string_view text);
void AppendUtf8(char32_t cp, std::string* out);

bool IsPythonSpace(char32_t cp);
bool IsPythonWordChar(char32_t cp);

// Appends the lowercase form of `cp` (one code point, or two for U+0130) to `out`.
void AppendPythonLower(char32_t cp, std::u32string* out);
std::u32string PythonLower(std::u32string_view text);

// Python's str.split() with no argument: runs of IsPythonSpace separate fields; no empty fields.
std::vector<std::u32string> PythonSplit(std::u32string_view text);

}  // namespace odlm::eval
