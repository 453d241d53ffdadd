// tokenizer/pre_tokenizer.cc — hand-written matchers for the pre-tokenizer regexes (see header).
//
// Each matcher answers "what does the pattern match when the regex engine tries position i of a
// piece [.., end)?" by following the alternatives in order, with the backtracking a PCRE-style
// engine would do spelled out. It returns the match length in characters, or a negative count of
// start positions that cannot match (so long runs are skipped in linear time).
#include "tokenizer/pre_tokenizer.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <utility>

#include "tokenizer/unicode.h"

namespace odlm {
namespace {

// The decoded text: code points, their class flags and byte offsets. // [n] each, offsets [n + 1]
struct Text {
  std::vector<uint32_t> cp;
  std::vector<uint8_t> flags;
  std::vector<size_t> offset;

  bool L(size_t i) const { return flags[i] & kUniLetter; }
  bool N(size_t i) const { return flags[i] & kUniNumber; }
  bool P(size_t i) const { return flags[i] & kUniPunct; }
  bool W(size_t i) const { return flags[i] & kUniWhitespace; }
  bool CR(size_t i) const { return cp[i] == '\r' || cp[i] == '\n'; }
  // [^\s\p{L}\p{N}]
  bool Other(size_t i) const { return !(flags[i] & (kUniWhitespace | kUniLetter | kUniNumber)); }
};

Text Decode(std::string_view s) {
  Text t;
  t.cp.reserve(s.size());
  t.flags.reserve(s.size());
  t.offset.reserve(s.size() + 1);
  for (size_t pos = 0; pos < s.size();) {
    uint32_t cp;
    const size_t len = DecodeUtf8(s, pos, &cp);
    t.cp.push_back(cp);
    t.flags.push_back(UnicodeFlags(cp));
    t.offset.push_back(pos);
    pos += len;
  }
  t.offset.push_back(s.size());
  return t;
}

using Matcher = int64_t (*)(const Text& t, size_t i, size_t end);

template <typename Pred>
size_t Run(const Text& t, size_t i, size_t end, Pred pred) {
  size_t j = i;
  while (j < end && pred(j)) ++j;
  return j - i;
}

char AsciiLower(uint32_t c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c < 128 ? static_cast<char>(c) : 0;
}

// 's|'t|'re|'ve|'m|'ll|'d, case-insensitively (ASCII letters only) when `any_case`.
int64_t MatchContraction(const Text& t, size_t i, size_t end, bool any_case) {
  if (t.cp[i] != '\'' || i + 1 >= end) return 0;
  auto ch = [&](size_t k) -> char {
    const uint32_t c = t.cp[k];
    if (any_case) return AsciiLower(c);
    return c < 128 ? static_cast<char>(c) : 0;
  };
  const char c1 = ch(i + 1);
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
  if (i + 2 >= end) return 0;
  const char c2 = ch(i + 2);
  if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
  return 0;
}

// \s+(?!\S)|\s+  at i (0 if t[i] is not whitespace).
int64_t MatchTrailingSpace(const Text& t, size_t i, size_t end) {
  const size_t k = i + Run(t, i, end, [&](size_t j) { return t.W(j); });
  if (k == i) return 0;
  if (k == end) return static_cast<int64_t>(k - i);
  if (k - 1 > i) return static_cast<int64_t>(k - 1 - i);
  return 1;
}

// (?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|
// \p{N}{1,kDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
template <size_t kDigits>
int64_t MatchLlama3Like(const Text& t, size_t i, size_t end) {
  if (int64_t n = MatchContraction(t, i, end, /*any_case=*/true)) return n;
  auto letters = [&](size_t j) { return Run(t, j, end, [&](size_t k) { return t.L(k); }); };
  if (t.L(i)) return static_cast<int64_t>(letters(i));
  if (!t.CR(i) && !t.N(i) && i + 1 < end && t.L(i + 1)) return 1 + letters(i + 1);
  if (t.N(i)) {
    return static_cast<int64_t>(
        std::min(kDigits, Run(t, i, end, [&](size_t k) { return t.N(k); })));
  }
  size_t j = i;
  if (t.cp[j] == ' ' && j + 1 < end && t.Other(j + 1)) ++j;
  if (t.Other(j)) {
    j += Run(t, j, end, [&](size_t k) { return t.Other(k); });
    j += Run(t, j, end, [&](size_t k) { return t.CR(k); });
    return static_cast<int64_t>(j - i);
  }
  // \s*[\r\n]+ : the whitespace run up to and including its last \r or \n.
  size_t k = i, last_cr = end;
  for (; k < end && t.W(k); ++k) {
    if (t.CR(k)) last_cr = k;
  }
  if (last_cr != end) return static_cast<int64_t>(last_cr + 1 - i);
  return MatchTrailingSpace(t, i, end);
}

// ' ?' followed by a run of `pred`, or the run alone.
template <typename Pred>
int64_t MatchOptSpaceRun(const Text& t, size_t i, size_t end, Pred pred) {
  if (t.cp[i] == ' ' && i + 1 < end && pred(i + 1)) {
    return 1 + static_cast<int64_t>(Run(t, i + 1, end, pred));
  }
  if (pred(i)) return static_cast<int64_t>(Run(t, i, end, pred));
  return 0;
}

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
int64_t MatchGpt2(const Text& t, size_t i, size_t end) {
  if (int64_t n = MatchContraction(t, i, end, /*any_case=*/false)) return n;
  if (int64_t n = MatchOptSpaceRun(t, i, end, [&](size_t k) { return t.L(k); })) return n;
  if (int64_t n = MatchOptSpaceRun(t, i, end, [&](size_t k) { return t.N(k); })) return n;
  if (int64_t n = MatchOptSpaceRun(t, i, end, [&](size_t k) { return t.Other(k); })) return n;
  return MatchTrailingSpace(t, i, end);
}

// \p{N}
int64_t MatchOneDigit(const Text& t, size_t i, size_t end) { return t.N(i) ? 1 : 0; }

// \p{N}+
int64_t MatchDigits(const Text& t, size_t i, size_t end) {
  return static_cast<int64_t>(Run(t, i, end, [&](size_t k) { return t.N(k); }));
}

// [\r\n]
int64_t MatchNewline(const Text& t, size_t i, size_t end) { return t.CR(i) ? 1 : 0; }

// [\p{P}\$\+<=>\^~\|`]+
int64_t MatchFalconPunct(const Text& t, size_t i, size_t end) {
  return static_cast<int64_t>(Run(t, i, end, [&](size_t k) {
    const uint32_t c = t.cp[k];
    return t.P(k) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' ||
           c == '~' || c == '|' || c == '`';
  }));
}

// [0-9][0-9][0-9]
int64_t MatchThreeAsciiDigits(const Text& t, size_t i, size_t end) {
  if (i + 3 > end) return 0;
  for (size_t k = i; k < i + 3; ++k) {
    if (t.cp[k] < '0' || t.cp[k] > '9') return 0;
  }
  return 3;
}

bool InRanges(uint32_t c, const uint32_t (*ranges)[2], size_t n) {
  for (size_t r = 0; r < n; ++r) {
    if (c >= ranges[r][0] && c <= ranges[r][1]) return true;
  }
  return false;
}

// The cased-letter class of the deepseek-llm pattern (code point ranges, inclusive).
constexpr uint32_t kDeepseekLetters[][2] = {
    {0x41, 0x5A},       {0x61, 0x7A},       {0xB5, 0xB5},       {0xC0, 0xD6},
    {0xD8, 0xF6},       {0xF8, 0x1BA},      {0x1BC, 0x1BF},     {0x1C4, 0x293},
    {0x295, 0x2AF},     {0x370, 0x373},     {0x376, 0x377},     {0x37B, 0x37D},
    {0x37F, 0x37F},     {0x386, 0x386},     {0x388, 0x38A},     {0x38C, 0x38C},
    {0x38E, 0x3A1},     {0x3A3, 0x3F5},     {0x3F7, 0x481},     {0x48A, 0x52F},
    {0x531, 0x556},     {0x10A0, 0x10C5},   {0x13A0, 0x13F5},   {0x13F8, 0x13FD},
    {0x1C90, 0x1CBA},   {0x1CBD, 0x1CBF},   {0x1D00, 0x1D2B},   {0x1D6B, 0x1D77},
    {0x1D79, 0x1D9A},   {0x1E00, 0x1F15},   {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},
    {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},   {0x1F59, 0x1F59},   {0x1F5B, 0x1F5B},
    {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},   {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},   {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},
    {0x1FD6, 0x1FDB},   {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},
    {0x2102, 0x2102},   {0x2107, 0x2107},   {0x210A, 0x2113},   {0x2115, 0x2115},
    {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},   {0x2128, 0x2128},
    {0x212A, 0x212D},   {0x212F, 0x2134},   {0x2139, 0x2139},   {0x213C, 0x213F},
    {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2C7B},
    {0x2C7E, 0x2CE4},   {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0xA640, 0xA66D},
    {0xA680, 0xA69B},   {0xA722, 0xA76F},   {0xA771, 0xA787},   {0xA78B, 0xA78E},
    {0xAB70, 0xABBF},   {0xFB00, 0xFB06},   {0xFB13, 0xFB17},   {0xFF21, 0xFF3A},
    {0xFF41, 0xFF5A},   {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};
// [!-/:-~！-／：-～‘-‟　-。]
constexpr uint32_t kDeepseekPunct[][2] = {{0x21, 0x2F},     {0x3A, 0x7E},     {0x2018, 0x201F},
                                          {0x3000, 0x3002}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E}};
// [一-龥ࠀ-一가-퟿]
constexpr uint32_t kCjkHangul[][2] = {{0x800, 0x4E00}, {0x4E00, 0x9FA5}, {0xAC00, 0xD7FF}};

template <size_t N>
bool In(const uint32_t (&ranges)[N][2], uint32_t c) {
  return InRanges(c, ranges, N);
}

// \s?X+ for a class X.
template <typename Pred>
int64_t MatchOptWhitespaceRun(const Text& t, size_t i, size_t end, Pred pred) {
  if (t.W(i) && i + 1 < end && pred(i + 1))
    return 1 + static_cast<int64_t>(Run(t, i + 1, end, pred));
  if (pred(i)) return static_cast<int64_t>(Run(t, i, end, pred));
  return 0;
}

int64_t MatchDeepseekLetters(const Text& t, size_t i, size_t end) {
  return MatchOptWhitespaceRun(t, i, end, [&](size_t k) { return In(kDeepseekLetters, t.cp[k]); });
}
int64_t MatchDeepseekPunct(const Text& t, size_t i, size_t end) {
  return MatchOptWhitespaceRun(t, i, end, [&](size_t k) { return In(kDeepseekPunct, t.cp[k]); });
}
int64_t MatchCjkHangul(const Text& t, size_t i, size_t end) {
  return static_cast<int64_t>(Run(t, i, end, [&](size_t k) { return In(kCjkHangul, t.cp[k]); }));
}
// \s?\p{L}+
int64_t MatchOptWhitespaceLetters(const Text& t, size_t i, size_t end) {
  return MatchOptWhitespaceRun(t, i, end, [&](size_t k) { return t.L(k); });
}
// \s?\p{P}+
int64_t MatchOptWhitespacePunct(const Text& t, size_t i, size_t end) {
  return MatchOptWhitespaceRun(t, i, end, [&](size_t k) { return t.P(k); });
}
// \s+$ ($ also before a final "\n", as in PCRE without DOLLAR_ENDONLY).
int64_t MatchSpaceAtEnd(const Text& t, size_t i, size_t end) {
  const size_t k = i + Run(t, i, end, [&](size_t j) { return t.W(j); });
  if (k == i) return 0;
  if (k == end) return static_cast<int64_t>(end - i);
  // The run stops at a non-space before the end, so $ (the end, or before a final "\n") cannot
  // match after any start inside it.
  return -static_cast<int64_t>(k - i);
}

struct Stage {
  std::string regex;
  Matcher match;
};

template <size_t N>
std::string ClassRegex(const uint32_t (&ranges)[N][2], const char* suffix) {
  std::string out = "[";
  char buf[48];
  for (const auto& r : ranges) {
    if (r[0] == r[1]) {
      std::snprintf(buf, sizeof(buf), "\\x{%X}", r[0]);
    } else {
      std::snprintf(buf, sizeof(buf), "\\x{%X}-\\x{%X}", r[0], r[1]);
    }
    out += buf;
  }
  return out + "]" + suffix;
}

std::vector<Stage> BuildStages(PreTokenizerKind kind) {
  const char* kLlama3 =
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
      "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  const char* kQwen2 =
      "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
      "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  const char* kGpt2 =
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
  switch (kind) {
    case PreTokenizerKind::kLlama3:
      return {{kLlama3, &MatchLlama3Like<3>}};
    case PreTokenizerKind::kQwen2:
      return {{kQwen2, &MatchLlama3Like<1>}};
    case PreTokenizerKind::kGpt2:
      return {{kGpt2, &MatchGpt2}};
    case PreTokenizerKind::kStarcoder:
      return {{"\\p{N}", &MatchOneDigit}, {kGpt2, &MatchGpt2}};
    case PreTokenizerKind::kFalcon:
      return {{"[\\p{P}\\$\\+<=>\\^~\\|`]+", &MatchFalconPunct},
              {kGpt2, &MatchGpt2},
              {"[0-9][0-9][0-9]", &MatchThreeAsciiDigits}};
    case PreTokenizerKind::kDeepseekLlm:
      return {{"[\\r\\n]", &MatchNewline},
              {"\\s?" + ClassRegex(kDeepseekLetters, "+"), &MatchDeepseekLetters},
              {"\\s?" + ClassRegex(kDeepseekPunct, "+"), &MatchDeepseekPunct},
              {"\\s+$", &MatchSpaceAtEnd},
              {ClassRegex(kCjkHangul, "+"), &MatchCjkHangul},
              {"\\p{N}+", &MatchDigits}};
    case PreTokenizerKind::kDeepseekCoder:
      return {{"[\\r\\n]", &MatchNewline},
              {"\\s?\\p{L}+", &MatchOptWhitespaceLetters},
              {"\\s?\\p{P}+", &MatchOptWhitespacePunct},
              {ClassRegex(kCjkHangul, "+"), &MatchCjkHangul},
              {"\\p{N}", &MatchOneDigit}};
  }
  return {};
}

const std::vector<Stage>& StagesOf(PreTokenizerKind kind) {
  static const std::vector<Stage> kAll[] = {
      BuildStages(PreTokenizerKind::kLlama3),       BuildStages(PreTokenizerKind::kQwen2),
      BuildStages(PreTokenizerKind::kGpt2),         BuildStages(PreTokenizerKind::kStarcoder),
      BuildStages(PreTokenizerKind::kFalcon),       BuildStages(PreTokenizerKind::kDeepseekLlm),
      BuildStages(PreTokenizerKind::kDeepseekCoder)};
  return kAll[static_cast<size_t>(kind)];
}

// Splits each piece [first, second) (character indices) into matches and gaps.
std::vector<std::pair<size_t, size_t>> ApplyStage(
    const Text& t, Matcher match, const std::vector<std::pair<size_t, size_t>>& in) {
  std::vector<std::pair<size_t, size_t>> out;
  out.reserve(in.size() * 2);
  for (const auto& [begin, end] : in) {
    size_t gap = begin, i = begin;
    while (i < end) {
      const int64_t n = match(t, i, end);
      if (n > 0) {
        if (gap < i) out.emplace_back(gap, i);
        out.emplace_back(i, i + static_cast<size_t>(n));
        i += static_cast<size_t>(n);
        gap = i;
      } else {
        i += n < 0 ? static_cast<size_t>(-n) : 1;
      }
    }
    if (gap < end) out.emplace_back(gap, end);
  }
  return out;
}

std::vector<std::string_view> ToViews(std::string_view text, const Text& t,
                                      const std::vector<std::pair<size_t, size_t>>& pieces) {
  std::vector<std::string_view> views;
  views.reserve(pieces.size());
  for (const auto& [b, e] : pieces) {
    views.push_back(text.substr(t.offset[b], t.offset[e] - t.offset[b]));
  }
  return views;
}

struct NamedKind {
  const char* name;
  PreTokenizerKind kind;
};
constexpr NamedKind kNames[] = {
    {"llama-bpe", PreTokenizerKind::kLlama3},
    {"llama3", PreTokenizerKind::kLlama3},
    {"dbrx", PreTokenizerKind::kLlama3},
    {"smaug-bpe", PreTokenizerKind::kLlama3},
    {"qwen2", PreTokenizerKind::kQwen2},
    {"gpt-2", PreTokenizerKind::kGpt2},
    {"gpt2", PreTokenizerKind::kGpt2},
    {"mpt", PreTokenizerKind::kGpt2},
    {"olmo", PreTokenizerKind::kGpt2},
    {"jais", PreTokenizerKind::kGpt2},
    {"starcoder", PreTokenizerKind::kStarcoder},
    {"refact", PreTokenizerKind::kStarcoder},
    {"smollm", PreTokenizerKind::kStarcoder},
    {"command-r", PreTokenizerKind::kStarcoder},
    {"codeshell", PreTokenizerKind::kStarcoder},
    {"falcon", PreTokenizerKind::kFalcon},
    {"deepseek-llm", PreTokenizerKind::kDeepseekLlm},
    {"deepseek-coder", PreTokenizerKind::kDeepseekCoder},
};

}  // namespace

StatusOr<PreTokenizerKind> PreTokenizerFromName(std::string_view name) {
  for (const auto& n : kNames) {
    if (name == n.name) return n.kind;
  }
  std::string known;
  for (const auto& n : kNames) known += std::string(known.empty() ? "" : ", ") + n.name;
  return InvalidArgumentError("tokenizer.ggml.pre: unsupported pre-tokenizer '" +
                              std::string(name) + "' (supported: " + known + ")");
}

const char* PreTokenizerName(PreTokenizerKind kind) {
  for (const auto& n : kNames) {
    if (n.kind == kind) return n.name;
  }
  return "?";
}

std::vector<std::string> PreTokenizerRegexes(PreTokenizerKind kind) {
  std::vector<std::string> out;
  for (const Stage& s : StagesOf(kind)) out.emplace_back(s.regex);
  return out;
}

std::vector<std::string_view> PreTokenize(PreTokenizerKind kind, std::string_view text) {
  if (text.empty()) return {};
  const Text t = Decode(text);
  std::vector<std::pair<size_t, size_t>> pieces = {{0, t.cp.size()}};
  for (const Stage& s : StagesOf(kind)) pieces = ApplyStage(t, s.match, pieces);
  return ToViews(text, t, pieces);
}

std::vector<std::string_view> PreTokenizeStage(PreTokenizerKind kind, size_t stage,
                                               std::string_view text) {
  const std::vector<Stage>& stages = StagesOf(kind);
  CHECK(stage < stages.size()) << "stage " << stage << " of " << PreTokenizerName(kind);
  if (text.empty()) return {};
  const Text t = Decode(text);
  return ToViews(text, t, ApplyStage(t, stages[stage].match, {{0, t.cp.size()}}));
}

}  // namespace odlm
