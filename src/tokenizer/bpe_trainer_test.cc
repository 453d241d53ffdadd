// Unit tests of the byte-level BPE trainer: hand-computed merges, agreement with a naive
// recount-everything trainer, determinism, safe text cuts, the trained vocabulary as a
// tokenizer (round trips, special tokens, encoding reproduces training) and its GGUF file.
#include "tokenizer/bpe_trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gguf/gguf_reader.h"
#include "tokenizer/test_vocabs.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_writer.h"

namespace odlm {
namespace {

using testing::BpeText;

const std::vector<std::string> kChatSpecials = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};

BpeTrainerOptions Options(int32_t vocab_size, int64_t min_frequency = 1,
                          std::vector<std::string> specials = {}) {
  BpeTrainerOptions o;
  o.vocab_size = vocab_size;
  o.min_frequency = min_frequency;
  o.special_tokens = std::move(specials);
  return o;
}

std::unique_ptr<BpeTrainer> MakeTrainer(BpeTrainerOptions o) {
  auto t = BpeTrainer::Create(std::move(o));
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

std::unique_ptr<Tokenizer> MakeTokenizer(Vocab v) {
  auto t = Tokenizer::FromVocab(std::move(v));
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

// Sentences of pseudo-words (syllables, Zipf-distributed) mixed with punctuation, digits,
// newlines and some non-ASCII text: enough variety for thousands of merges, deterministic for a
// seed.
std::string Corpus(uint32_t seed, size_t n_bytes) {
  static const std::vector<std::string> kWords = [] {
    std::vector<std::string> w = {"the", "café",  "naïve",  "über", "日本", "語", "🙂", "it's",
                                  "I'm", "we'll", "(note)", "x=1;", "--",   "42", "2024", "3.14"};
    const char* kSyllables[] = {"ka", "to", "ri", "men", "sa", "lo", "ne", "tur", "pi", "da",
                                "ve", "mo", "qu", "el",  "an", "ir", "os", "ul",  "st", "ch"};
    std::mt19937 rng(12345);
    while (w.size() < 600) {
      std::string word;
      for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) {
        word += kSyllables[rng() % std::size(kSyllables)];
      }
      w.push_back(word);
    }
    return w;
  }();
  std::mt19937 rng(seed);
  // Zipf: word i drawn with weight 1 / (i + 1).
  std::vector<double> weights;
  for (size_t i = 0; i < kWords.size(); ++i) weights.push_back(1.0 / static_cast<double>(i + 1));
  std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
  std::string s;
  while (s.size() < n_bytes) {
    const int n = 3 + static_cast<int>(rng() % 9);
    for (int i = 0; i < n; ++i) {
      if (i > 0) s += rng() % 10 == 0 ? "  " : " ";
      std::string w = kWords[pick(rng)];
      if (i == 0 && w[0] >= 'a' && w[0] <= 'z') w[0] = static_cast<char>(w[0] - 32);
      s += w;
    }
    s += rng() % 3 == 0 ? ".\n" : rng() % 2 ? ". " : "!\n\n";
  }
  return s;
}

// Random words over a tiny alphabet: many equal counts (ties).
std::string TinyAlphabetCorpus(uint32_t seed, size_t n_words) {
  std::mt19937 rng(seed);
  std::string s;
  for (size_t i = 0; i < n_words; ++i) {
    const int len = 1 + static_cast<int>(rng() % 7);
    s += ' ';
    for (int k = 0; k < len; ++k) s += "abc"[rng() % 3];
  }
  return s;
}

// The trainer's rules written the slow, obvious way: recount every pair after every merge.
struct NaiveResult {
  std::vector<std::string> merges;
  std::map<std::string, std::vector<std::string>> segments;  // raw word → final token texts
};

NaiveResult NaiveTrain(const BpeTrainer& trainer, int32_t vocab_size,
                       const std::vector<std::string>& specials, int64_t min_frequency) {
  std::set<std::string> known(specials.begin(), specials.end());
  for (int b = 0; b < 256; ++b) known.insert(BpeText(std::string(1, static_cast<char>(b))));
  int32_t n_tokens = 256 + static_cast<int32_t>(specials.size());
  std::map<std::string, std::pair<std::vector<std::string>, int64_t>> words;
  for (const auto& [w, c] : trainer.word_counts()) {
    std::vector<std::string> symbols;
    for (unsigned char b : w) symbols.push_back(BpeText(std::string(1, static_cast<char>(b))));
    words[std::string(w)] = {symbols, c};
  }
  std::set<std::pair<std::string, std::string>> blocked;
  NaiveResult out;
  while (n_tokens < vocab_size) {
    std::map<std::pair<std::string, std::string>, int64_t> pairs;
    for (const auto& [w, sc] : words) {
      for (size_t i = 0; i + 1 < sc.first.size(); ++i) {
        pairs[{sc.first[i], sc.first[i + 1]}] += sc.second;
      }
    }
    const std::pair<std::string, std::string>* best = nullptr;
    int64_t best_count = 0;
    for (const auto& [p, c] : pairs) {
      if (blocked.count(p) == 0 && c > best_count) best = &p, best_count = c;
    }
    if (best == nullptr || best_count < min_frequency) break;
    const auto [l, r] = *best;
    if (!known.insert(l + r).second) {
      blocked.insert({l, r});
      continue;
    }
    out.merges.push_back(l + " " + r);
    ++n_tokens;
    for (auto& [w, sc] : words) {
      std::vector<std::string> next;
      for (size_t i = 0; i < sc.first.size(); ++i) {
        if (i + 1 < sc.first.size() && sc.first[i] == l && sc.first[i + 1] == r) {
          next.push_back(l + r);
          ++i;
        } else {
          next.push_back(sc.first[i]);
        }
      }
      sc.first = std::move(next);
    }
  }
  for (auto& [w, sc] : words) out.segments[w] = sc.first;
  return out;
}

std::vector<std::string> Texts(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(tok.TokenText(id));
  return out;
}

TEST(BpeTrainer, HandComputedMergesAndTieBreaking) {
  // Words: "hug" x1, " hug" x2, " pug", " pun", " bun", " hugs" (Ġ = space).
  // Pair counts: u g 5, h u 4, Ġ h 3, ... → "u g"; then h ug 4 → "h ug"; Ġ hug 3 → "Ġ hug"; then
  // "Ġ p" and "u n" both 2: "u" (0x75) sorts before "Ġ" (0xC4 0xA0), so "u n" first.
  auto t = MakeTrainer(Options(1000, /*min_frequency=*/2));
  t->AddText("hug hug hug pug pun bun hugs");
  EXPECT_EQ(t->n_unique_words(), 6u);
  EXPECT_EQ(t->n_words(), 7);
  BpeTrainStats stats;
  Vocab v = t->Train(&stats);
  EXPECT_EQ(v.merges, (std::vector<std::string>{"u g", "h ug", "Ġ hug", "u n", "Ġ p"}));
  EXPECT_EQ(stats.stop, BpeStop::kMinFrequency);
  ASSERT_EQ(v.size(), 256 + 5);
  EXPECT_EQ(v.tokens[256], "ug");
  EXPECT_EQ(v.tokens[258], "Ġhug");

  // min_frequency 1: the count-1 pairs follow, smallest (left, right) texts first.
  t = MakeTrainer(Options(1000, 1));
  t->AddText("hug hug hug pug pun bun hugs");
  v = t->Train(&stats);
  EXPECT_EQ(v.merges, (std::vector<std::string>{"u g", "h ug", "Ġ hug", "u n", "Ġ p", "b un",
                                                "Ġ bun", "Ġhug s", "Ġp ug", "Ġp un"}));
  EXPECT_EQ(stats.stop, BpeStop::kNoPairs);

  // A vocabulary size that stops it early, after the special tokens.
  t = MakeTrainer(Options(256 + 1 + 3, 1, {"<|endoftext|>"}));
  t->AddText("hug hug hug pug pun bun hugs");
  v = t->Train(&stats);
  EXPECT_EQ(v.merges, (std::vector<std::string>{"u g", "h ug", "Ġ hug"}));
  EXPECT_EQ(stats.stop, BpeStop::kVocabFull);
  ASSERT_EQ(v.size(), 260);
  EXPECT_EQ(v.tokens[256], "<|endoftext|>");
  EXPECT_EQ(v.types[256], TokenType::kControl);
  EXPECT_EQ(v.tokens[257], "ug");
}

TEST(BpeTrainer, BaseVocabularyIsGpt2ByteOrder) {
  auto t = MakeTrainer(Options(300, 1, kChatSpecials));
  Vocab v = t->Train();
  ASSERT_EQ(v.size(), 259);  // no text: bytes and specials only
  EXPECT_EQ(v.tokens[0], "!");
  EXPECT_EQ(v.tokens[93], "~");
  EXPECT_EQ(v.tokens[94], "¡");
  EXPECT_EQ(v.tokens[188], "Ā");  // byte 0x00, the first non-printable byte
  EXPECT_EQ(v.tokens[188 + 32], "Ġ");
  EXPECT_EQ(v.tokens[258], "<|im_end|>");
  EXPECT_TRUE(v.merges.empty());
  std::set<std::string> distinct(v.tokens.begin(), v.tokens.end());
  EXPECT_EQ(distinct.size(), v.tokens.size());
}

TEST(BpeTrainer, AgreesWithNaiveTrainer) {
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const std::string text = seed % 2 ? TinyAlphabetCorpus(seed, 400) : Corpus(seed, 6000);
    for (int64_t min_frequency : {1, 3}) {
      auto t = MakeTrainer(Options(256 + 3 + 400, min_frequency, kChatSpecials));
      t->AddText(text);
      Vocab v = t->Train();
      NaiveResult naive = NaiveTrain(*t, 256 + 3 + 400, kChatSpecials, min_frequency);
      EXPECT_EQ(v.merges, naive.merges);
      ASSERT_EQ(v.size(), 256 + 3 + static_cast<int32_t>(v.merges.size()));

      // Encoding each training word gives the tokens training ended with.
      auto tok = MakeTokenizer(v);
      for (const auto& [word, segments] : naive.segments) {
        EXPECT_EQ(Texts(*tok, tok->Encode(word, false, false)), segments) << word;
      }
    }
  }
}

TEST(BpeTrainer, DeterministicWhateverTheOrderAndThreads) {
  std::vector<std::string> docs;
  for (uint32_t i = 0; i < 40; ++i) docs.push_back(Corpus(100 + i, 800));
  auto a = MakeTrainer(Options(256 + 3 + 300, 2, kChatSpecials));
  for (const std::string& d : docs) a->AddText(d);
  auto b = MakeTrainer(Options(256 + 3 + 300, 2, kChatSpecials));
  std::vector<std::string_view> views(docs.rbegin(), docs.rend());
  b->AddTexts(views, 4);
  EXPECT_EQ(a->n_words(), b->n_words());
  EXPECT_EQ(a->n_bytes(), b->n_bytes());
  const Vocab va = a->Train(), vb = b->Train(), va2 = a->Train();
  EXPECT_EQ(va.tokens, vb.tokens);
  EXPECT_EQ(va.merges, vb.merges);
  EXPECT_EQ(va.tokens, va2.tokens);
  EXPECT_EQ(va.merges, va2.merges);
  EXPECT_EQ(va.size(), 256 + 3 + 300);
}

TEST(BpeTrainer, SafeCutsKeepThePreTokenization) {
  std::mt19937 rng(7);
  const std::vector<std::string> atoms = {
      "a",    "Z",    "é",    "日",   "1",   "23",       "'s",           "'",    " ",    "  ",
      "\n",   "\r\n", "\t",   ".",    "!?",  "\xC2\xA0", "\xE3\x80\x80", "🙂", "\xFF", "\n\n",
      "x\ny", ".\n(", "-\n-", "'\n'", "9\n9"};
  for (PreTokenizerKind kind :
       {PreTokenizerKind::kLlama3, PreTokenizerKind::kQwen2, PreTokenizerKind::kGpt2,
        PreTokenizerKind::kStarcoder, PreTokenizerKind::kFalcon, PreTokenizerKind::kDeepseekLlm,
        PreTokenizerKind::kDeepseekCoder}) {
    SCOPED_TRACE(PreTokenizerName(kind));
    int cuts = 0;
    for (int round = 0; round < 200; ++round) {
      std::string text;
      const int n = 1 + static_cast<int>(rng() % 40);
      for (int i = 0; i < n; ++i) text += atoms[rng() % atoms.size()];
      const std::vector<std::string_view> whole = PreTokenize(kind, text);
      for (size_t cut = FindSafeTextCut(text, 0); cut != std::string_view::npos;
           cut = FindSafeTextCut(text, cut + 1)) {
        ++cuts;
        ASSERT_EQ(text[cut - 1], '\n');
        std::vector<std::string> parts;
        for (auto p : PreTokenize(kind, std::string_view(text).substr(0, cut)))
          parts.emplace_back(p);
        for (auto p : PreTokenize(kind, std::string_view(text).substr(cut))) parts.emplace_back(p);
        EXPECT_EQ(std::vector<std::string>(whole.begin(), whole.end()), parts)
            << "text '" << text << "' cut at " << cut;
      }
    }
    EXPECT_GT(cuts, 50);
  }
  EXPECT_EQ(FindSafeTextCut("ab\ncd", 0), 3u);
  EXPECT_EQ(FindSafeTextCut("ab \ncd", 0), std::string_view::npos);
  EXPECT_EQ(FindSafeTextCut("ab\n cd", 0), std::string_view::npos);
  EXPECT_EQ(FindSafeTextCut("ab\ncd\nef", 4), 6u);
}

TEST(BpeTrainer, LongTextsAreCountedInChunksExactly) {
  const std::string text = Corpus(3, 3 << 20);  // three 1 MiB chunks and some
  auto t = MakeTrainer(Options(300));
  t->AddTexts({text}, 2);
  std::map<std::string_view, int64_t> want;
  for (std::string_view p : PreTokenize(PreTokenizerKind::kGpt2, text)) ++want[p];
  std::map<std::string_view, int64_t> got(t->word_counts().begin(), t->word_counts().end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(t->n_bytes(), static_cast<int64_t>(text.size()));
}

TEST(BpeTrainer, TrainedVocabularyRoundTripsAnyBytes) {
  auto t = MakeTrainer(Options(256 + 3 + 500, 2, kChatSpecials));
  t->AddText(Corpus(11, 30000));
  Vocab v = t->Train();
  ASSERT_EQ(v.size(), 256 + 3 + 500);
  auto tok = MakeTokenizer(v);
  std::vector<std::string> inputs = {
      "",
      "The cat sat on the mat.\n",
      "invalid \xFF\xFE utf-8 \xC3 and \xE2\x82",
      "emoji 🙂🙂 and 日本語 text",
      "\n\n\r\n\t  trailing   ",
      "text with <|im_start|> and <|endoftext|> inside",
      std::string("nul \0 byte", 10),
  };
  std::mt19937 rng(5);
  for (int i = 0; i < 50; ++i) {
    std::string s(rng() % 64, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    inputs.push_back(s);
  }
  for (const std::string& x : inputs) {
    EXPECT_EQ(tok->Decode(tok->Encode(x, false, false)), x);
    EXPECT_EQ(tok->Decode(tok->Encode(x, true, true), /*render_special=*/true), x);
  }
}

TEST(BpeTrainer, EncodingTheTrainingTextReproducesTraining) {
  const std::string text = Corpus(21, 20000) + "<|im_start|>user\nhello<|im_end|>\n";
  auto t = MakeTrainer(Options(256 + 3 + 300, 2, kChatSpecials));
  t->AddText(text);
  Vocab v = t->Train();
  NaiveResult naive = NaiveTrain(*t, 256 + 3 + 300, kChatSpecials, 2);
  ASSERT_EQ(v.merges, naive.merges);
  auto tok = MakeTokenizer(v);
  // The whole text: special tokens as single ids, every other stretch as its words' segments.
  std::vector<std::string> want;
  std::string_view rest = text;
  const size_t s1 = rest.find("<|im_start|>");
  for (auto p : PreTokenize(PreTokenizerKind::kGpt2, rest.substr(0, s1))) {
    for (const std::string& s : naive.segments.at(std::string(p))) want.push_back(s);
  }
  want.push_back("<|im_start|>");
  for (auto p : PreTokenize(PreTokenizerKind::kGpt2, "user\nhello")) {
    for (const std::string& s : naive.segments.at(std::string(p))) want.push_back(s);
  }
  want.push_back("<|im_end|>");
  want.push_back("Ċ");
  const std::vector<int32_t> ids = tok->Encode(text, false, true);
  EXPECT_EQ(Texts(*tok, ids), want);
  EXPECT_LT(ids.size() * 2, text.size()) << "BPE should at least halve the token count";
  EXPECT_EQ(std::count(ids.begin(), ids.end(), tok->FindToken("<|im_start|>")), 1);
  // The special texts were not counted as words.
  for (const auto& [w, c] : t->word_counts()) EXPECT_EQ(w.find("<|"), std::string_view::npos);
}

TEST(BpeTrainer, SpecialTokensAreSingleIds) {
  BpeTrainerOptions o =
      Options(256 + 4 + 50, 1, {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|user|>"});
  o.bos_token = "<|endoftext|>";
  o.eos_token = "<|im_end|>";
  o.pad_token = "<|endoftext|>";
  auto t = MakeTrainer(o);
  t->AddText(Corpus(2, 3000));
  Vocab v = t->Train();
  EXPECT_EQ(v.bos_id, 256);
  EXPECT_EQ(v.eos_id, 258);
  EXPECT_EQ(v.pad_id, 256);
  EXPECT_TRUE(v.add_bos);
  auto tok = MakeTokenizer(v);
  EXPECT_EQ(tok->Encode("<|im_start|>", false, true), (std::vector<int32_t>{257}));
  EXPECT_EQ(tok->Encode("<|user|>hi<|im_end|>", true, true).front(), 256);  // BOS
  EXPECT_EQ(tok->Encode("<|user|>", false, true), (std::vector<int32_t>{259}));
  EXPECT_GT(tok->Encode("<|user|>", false, false).size(), 1u);  // control: text unless parsed
  EXPECT_TRUE(tok->IsEndOfGeneration(258));

  // User-defined specials are matched in any text.
  o.special_type = TokenType::kUserDefined;
  t = MakeTrainer(o);
  t->AddText(Corpus(2, 3000));
  tok = MakeTokenizer(t->Train());
  EXPECT_EQ(tok->Encode("<|user|>", false, false), (std::vector<int32_t>{259}));
  EXPECT_EQ(tok->Decode(tok->Encode("a<|user|>b", false, false)), "a<|user|>b");
}

TEST(BpeTrainer, MergeOntoASpecialTokenTextIsBlocked) {
  // "Ġthe" is what merging " the" would spell: that merge must not happen.
  auto t = MakeTrainer(Options(256 + 1 + 20, 1, {"Ġthe"}));
  t->AddText(" the the the the");
  BpeTrainStats stats;
  Vocab v = t->Train(&stats);
  EXPECT_EQ(std::count(v.tokens.begin(), v.tokens.end(), "Ġthe"), 1);
  EXPECT_GE(stats.blocked_pairs, 1);
  auto tok = MakeTokenizer(v);
  EXPECT_EQ(tok->Encode(" the", false, false).size(), 2u);
  EXPECT_EQ(tok->Decode(tok->Encode(" the Ġthe", false, true), true), " the Ġthe");
}

TEST(BpeTrainer, ProgressReports) {
  BpeTrainerOptions o = Options(256 + 40, 1);
  o.progress_every = 10;
  std::vector<BpeTrainProgress> seen;
  std::vector<std::string> last;
  o.progress = [&](const BpeTrainProgress& p) {
    seen.push_back(p);
    last.emplace_back(p.last_token);
  };
  auto t = MakeTrainer(o);
  t->AddText(Corpus(9, 5000));
  Vocab v = t->Train();
  ASSERT_EQ(seen.size(), 5u);  // merges 10, 20, 30, 40 and the final report
  EXPECT_EQ(seen[0].n_merges, 10);
  EXPECT_EQ(seen[0].n_tokens, 266);
  EXPECT_EQ(seen[0].target, 296);
  EXPECT_GT(seen[0].last_count, 0);
  EXPECT_FALSE(seen[3].done);
  EXPECT_TRUE(seen[4].done);
  EXPECT_EQ(last[4], v.tokens.back());
}

TEST(BpeTrainer, RejectsBadOptions) {
  auto bad = [](BpeTrainerOptions o, const std::string& what) {
    auto t = BpeTrainer::Create(std::move(o));
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find(what), std::string::npos) << t.status().ToString();
  };
  bad(Options(258, 1, kChatSpecials), "vocab size 258");
  bad(Options((1 << 24) + 1), "vocab size");
  bad(Options(1000, 1, {"<a>", "<a>"}), "given twice");
  bad(Options(1000, 1, {""}), "empty");
  bad(Options(1000, 1, {"Ġ"}), "byte token");
  bad(Options(1000, 0), "min frequency");
  BpeTrainerOptions o = Options(1000, 1, kChatSpecials);
  o.bos_token = "<s>";
  bad(o, "BOS token '<s>'");
  o = Options(1000, 1, kChatSpecials);
  o.special_type = TokenType::kNormal;
  bad(o, "special token type");
}

TEST(BpeTrainer, WritesAVocabularyOnlyGguf) {
  BpeTrainerOptions o = Options(256 + 3 + 100, 2, kChatSpecials);
  o.bos_token = "<|endoftext|>";
  o.eos_token = "<|im_end|>";
  o.pad_token = "<|endoftext|>";
  o.chat_template = "{{ messages }}";
  auto t = MakeTrainer(o);
  t->AddText(Corpus(4, 20000));
  const Vocab v = t->Train();
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) / "bpe_trainer_vocab.gguf").string();
  ASSERT_TRUE(WriteVocabGguf(v, path).ok());
  auto file = GgufFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_TRUE((*file)->tensors().empty());
  std::vector<std::string> keys;
  for (const auto& [key, value] : (*file)->metadata()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
                      "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
                      "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                      "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token",
                      "tokenizer.ggml.add_eos_token", "tokenizer.chat_template"}));
  EXPECT_EQ(*(*file)->GetString("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(*(*file)->GetString("tokenizer.ggml.pre"), "gpt-2");
  auto loaded = LoadVocab(**file);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->tokens, v.tokens);
  EXPECT_EQ(loaded->types, v.types);
  EXPECT_EQ(loaded->merges, v.merges);
  EXPECT_EQ(loaded->bos_id, 256);
  EXPECT_EQ(loaded->eos_id, 258);
  EXPECT_EQ(loaded->pad_id, 256);
  EXPECT_TRUE(loaded->add_bos);
  EXPECT_EQ(loaded->chat_template, "{{ messages }}");
  auto tok = Tokenizer::FromGguf(**file);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const std::string x = "The dog ran to the park. 🙂\n";
  EXPECT_EQ((*tok)->Encode(x, true, false), MakeTokenizer(v)->Encode(x, true, false));
  EXPECT_EQ((*tok)->Decode((*tok)->Encode(x, true, false)), x);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace odlm
