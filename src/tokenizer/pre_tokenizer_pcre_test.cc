// Cross-checks the hand-written pre-tokenizer matchers against the real regexes, run by PCRE2
// (UTF + UCP mode), on random and adversarial text. PCRE2 is linked into this test binary only.
//
// PCRE2's Unicode tables may be of another Unicode version than ours (and its \s adds U+180E), so
// the test first compares every code point's classes (\p{L} \p{N} \p{P} \p{S} \p{M} \s) between
// the two, requires the differences to be few, and leaves those code points out of random text.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <gtest/gtest.h>
#include <pcre2.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/unicode.h"

namespace odlm {
namespace {

class Regex {
 public:
  explicit Regex(const std::string& pattern) {
    int err;
    PCRE2_SIZE off;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                          PCRE2_UTF | PCRE2_UCP, &err, &off, nullptr);
    if (code_ == nullptr) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof(msg));
      ADD_FAILURE() << "pcre2_compile('" << pattern << "') at " << off << ": " << msg;
      return;
    }
    match_ = pcre2_match_data_create_from_pattern(code_, nullptr);
  }
  ~Regex() {
    if (match_ != nullptr) pcre2_match_data_free(match_);
    if (code_ != nullptr) pcre2_code_free(code_);
  }
  bool ok() const { return code_ != nullptr; }

  // Matches and gaps of the whole subject, like the pre-tokenizer stages.
  std::vector<std::string> Split(const std::string& s) const {
    std::vector<std::string> out;
    size_t pos = 0, gap = 0;
    while (pos <= s.size()) {
      const int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), pos, 0,
                                 match_, nullptr);
      if (rc < 0) break;
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match_);
      if (ov[1] == ov[0]) {  // empty match (none of our patterns has one): step over a character
        pos = ov[0] + 1;
        while (pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
        continue;
      }
      if (ov[0] > gap) out.push_back(s.substr(gap, ov[0] - gap));
      out.push_back(s.substr(ov[0], ov[1] - ov[0]));
      pos = gap = ov[1];
    }
    if (gap < s.size()) out.push_back(s.substr(gap));
    return out;
  }

  bool MatchesWhole(const std::string& s) const {
    const int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0,
                               PCRE2_ANCHORED | PCRE2_ENDANCHORED, match_, nullptr);
    return rc >= 0;
  }

 private:
  pcre2_code* code_ = nullptr;
  pcre2_match_data* match_ = nullptr;
};

std::string Utf8(uint32_t cp) {
  std::string s;
  AppendUtf8(cp, &s);
  return s;
}

// Code points whose classes PCRE2 sees differently from our tables.
const std::set<uint32_t>& Disagreements() {
  static const std::set<uint32_t> set = [] {
    const std::pair<const char*, uint8_t> classes[] = {
        {"\\p{L}", kUniLetter}, {"\\p{N}", kUniNumber}, {"\\p{P}", kUniPunct},
        {"\\p{S}", kUniSymbol}, {"\\p{M}", kUniMark},   {"\\s", kUniWhitespace}};
    std::vector<std::unique_ptr<Regex>> re;
    for (const auto& c : classes) re.push_back(std::make_unique<Regex>(c.first));
    std::set<uint32_t> out;
    for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      const std::string s = Utf8(cp);
      const uint8_t flags = UnicodeFlags(cp);
      for (size_t i = 0; i < re.size(); ++i) {
        if (re[i]->MatchesWhole(s) != ((flags & classes[i].second) != 0)) out.insert(cp);
      }
    }
    return out;
  }();
  return set;
}

TEST(PreTokenizerPcre, UnicodeClassesAgreeWithPcre2) {
  const auto& diff = Disagreements();
  std::string sample;
  int shown = 0;
  for (uint32_t cp : diff) {
    if (shown++ < 20) sample += " U+" + std::to_string(cp);
  }
  // Unicode 15.0 added 4,489 characters; an older PCRE2 sees them as unassigned.
  EXPECT_LT(diff.size(), 6000u) << "first:" << sample;
  std::printf("%zu code points differ between PCRE2 and our tables\n", diff.size());
  // Long-assigned characters must agree.
  for (uint32_t cp : {0x41u, 0xE9u, 0x416u, 0x4E00u, 0xAC00u, 0x663u, 0x2163u, 0x301u, 0x20ACu,
                      0x3000u, 0x2028u, 0x85u, 0xA0u, 0x1F600u, 0xFF01u, 0x2018u}) {
    EXPECT_EQ(diff.count(cp), 0u) << "U+" << std::hex << cp;
  }
}

// Characters that stress the patterns' edges.
const std::vector<uint32_t>& Interesting() {
  static const std::vector<uint32_t> v = {
      'a',     'Z',    's',    'S',     't',     'T',    'r',    'e',    'v',    'm',     'l',
      'L',     'd',    'D',    '\'',    ' ',     ' ',    ' ',    '\t',   '\n',   '\r',    '\n',
      '0',     '1',    '9',    '.',     ',',     '!',    '?',    '-',    '_',    '(',     ')',
      '$',     '+',    '<',    '=',     '>',     '^',    '~',    '|',    '`',    '@',     '#',
      '"',     '/',    ':',    0xB5,    0xC0,    0xD7,   0xE9,   0x17F,  0x416,  0x3B1,   0x301,
      0x663,   0xB2,   0x2163, 0xBD,    0xA0,    0x85,   0x2028, 0x3000, 0x2009, 0x200B,  0x4E00,
      0x4F60,  0x9FA5, 0x9FA6, 0x800,   0xAC00,  0xD7A3, 0x3042, 0x30A2, 0x20AC, 0xA9,    0x1F999,
      0x1F600, 0x200D, 0xFE0F, 0xFF01,  0xFF21,  0xFF5E, 0xFF10, 0x2018, 0x201C, 0x3001,  0x3002,
      0x212A,  0x2126, 0x1FBE, 0x10400, 0x1E900, 0x0E01, 0x0E31, 0x1780, 0x17B6, 0x10FFFD};
  return v;
}

std::string RandomText(std::mt19937& rng, size_t n) {
  const auto& diff = Disagreements();
  const auto& interesting = Interesting();
  std::uniform_int_distribution<int> mode(0, 9);
  std::uniform_int_distribution<size_t> pick(0, interesting.size() - 1);
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    uint32_t cp;
    const int m = mode(rng);
    if (m < 7) {
      cp = interesting[pick(rng)];
    } else if (m < 9) {
      cp = std::uniform_int_distribution<uint32_t>(0, 0x2FFF)(rng);
    } else {
      cp = std::uniform_int_distribution<uint32_t>(0, 0x10FFFF)(rng);
    }
    if ((cp >= 0xD800 && cp <= 0xDFFF) || diff.count(cp) != 0) cp = ' ';
    // A run sometimes: the patterns differ most on runs of spaces, newlines, digits.
    const int repeat = std::uniform_int_distribution<int>(0, 15)(rng) == 0 ? 4 : 1;
    for (int r = 0; r < repeat; ++r) AppendUtf8(cp, &s);
  }
  return s;
}

std::vector<std::string> Strings(const std::vector<std::string_view>& v) {
  return std::vector<std::string>(v.begin(), v.end());
}

const PreTokenizerKind kAllKinds[] = {
    PreTokenizerKind::kLlama3,       PreTokenizerKind::kQwen2,  PreTokenizerKind::kGpt2,
    PreTokenizerKind::kStarcoder,    PreTokenizerKind::kFalcon, PreTokenizerKind::kDeepseekLlm,
    PreTokenizerKind::kDeepseekCoder};

TEST(PreTokenizerPcre, EveryStageMatchesPcre2OnRandomText) {
  std::mt19937 rng(2024);
  for (PreTokenizerKind kind : kAllKinds) {
    const std::vector<std::string> patterns = PreTokenizerRegexes(kind);
    for (size_t stage = 0; stage < patterns.size(); ++stage) {
      Regex re(patterns[stage]);
      ASSERT_TRUE(re.ok());
      int failures = 0;
      for (int iter = 0; iter < 1500 && failures < 3; ++iter) {
        const std::string text = RandomText(rng, 1 + iter % 40);
        const auto want = re.Split(text);
        const auto got = Strings(PreTokenizeStage(kind, stage, text));
        if (got != want) {
          ++failures;
          std::string w, g;
          for (const auto& p : want) w += "[" + p + "]";
          for (const auto& p : got) g += "[" + p + "]";
          ADD_FAILURE() << PreTokenizerName(kind) << " stage " << stage << " /" << patterns[stage]
                        << "/\n text: '" << text << "'\n pcre2: " << w << "\n  ours: " << g;
        }
      }
    }
  }
}

TEST(PreTokenizerPcre, WholePipelinesMatchPcre2) {
  std::mt19937 rng(99);
  const std::vector<std::string> fixed = {
      "",
      "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～",
      "   Hello\n    Hello\r\n\r\n\t x'S 'LL 'Re ' 3333333 ½ Führer Cửa Việt",
      "def f(x):\n    return x**2  # ½ \n\n\n",
      "$+<=>^~|` ！＂＃ ‘’“” 。、 １２３ ＡＢＣ ℃ Ω K µ",
      " \u00a0\u3000\u2028x \u0085 y\t\t\n",
  };
  for (PreTokenizerKind kind : kAllKinds) {
    std::vector<std::unique_ptr<Regex>> stages;
    for (const std::string& p : PreTokenizerRegexes(kind))
      stages.push_back(std::make_unique<Regex>(p));
    auto pcre_pipeline = [&](const std::string& text) {
      std::vector<std::string> pieces = {text};
      if (text.empty()) return std::vector<std::string>{};
      for (const auto& re : stages) {
        std::vector<std::string> next;
        for (const std::string& p : pieces) {
          for (std::string& q : re->Split(p)) next.push_back(std::move(q));
        }
        pieces = std::move(next);
      }
      return pieces;
    };
    std::vector<std::string> texts = fixed;
    for (int i = 0; i < 500; ++i) texts.push_back(RandomText(rng, 1 + i % 60));
    int failures = 0;
    for (const std::string& text : texts) {
      const auto want = pcre_pipeline(text);
      const auto got = Strings(PreTokenize(kind, text));
      if (got != want && ++failures <= 3) {
        ADD_FAILURE() << PreTokenizerName(kind) << " on '" << text << "'";
      }
    }
  }
}

}  // namespace
}  // namespace odlm
