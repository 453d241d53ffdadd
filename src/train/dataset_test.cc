// Unit tests of the training-data layer: the codi, chat and text readers on tokenizers built in
// code (byte-level BPE without merges, so that every byte is its own token), their errors, and
// the split / packing / epoch order of examples.
#include "train/dataset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tokenizer/chat_template.h"
#include "tokenizer/test_vocabs.h"

namespace odlm::train {
namespace {

// gtest only (no gmock): the message and what it should contain, shown on failure.
::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' lacks '" << part << "'";
}

// Byte-level BPE without merges: byte b is token b; 256 <|bos|> (added), 257 <|eos|>,
// 258 <|im_start|>, 259 <|im_end|>.
constexpr int32_t kBos = 256, kImStart = 258, kImEnd = 259;

std::unique_ptr<Tokenizer> ByteTokenizer() {
  Vocab v = odlm::testing::MakeBpeVocab({});
  v.add_bos = true;
  auto t = Tokenizer::FromVocab(std::move(v));
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

// SentencePiece: <unk> <s> </s>, bytes 3..258, then "▁"; everything else falls back to bytes.
std::unique_ptr<Tokenizer> SpmTokenizer() {
  auto t = Tokenizer::FromVocab(odlm::testing::MakeSpmVocab({"▁"}));
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

std::vector<int32_t> Bytes(const std::string& s) {
  std::vector<int32_t> ids;
  for (unsigned char c : s) ids.push_back(c);
  return ids;
}

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

// The expected example, built up piece by piece.
struct Expected {
  std::vector<int32_t> tokens;
  std::vector<float> weights;
  std::vector<int32_t> roles;
  void Add(const std::vector<int32_t>& ids, float w, int32_t role) {
    for (int32_t id : ids) {
      tokens.push_back(id);
      weights.push_back(tokens.size() == 1 ? 0.0f : w);
      roles.push_back(role);
    }
  }
};

void ExpectExample(const TrainExample& e, const Expected& x) {
  EXPECT_EQ(e.tokens, x.tokens);
  EXPECT_EQ(e.weights, x.weights);
  EXPECT_EQ(e.roles, x.roles);
}

// A codi record as `odlm codi export --format odlm` writes it.
struct Turn {
  std::string role, text;
  double weight;
};
std::string CodiLine(const std::vector<Turn>& turns, std::string* text_out = nullptr) {
  std::string text, segments;
  for (const Turn& t : turns) {
    if (!text.empty()) text += ' ';
    const size_t start = text.size();
    text += "[" + t.role + "]" + t.text + "[/" + t.role + "]";
    if (!segments.empty()) segments += ",";
    segments += "{\"role\":\"" + t.role + "\",\"start\":" + std::to_string(start) +
                ",\"end\":" + std::to_string(text.size()) +
                ",\"weight\":" + std::to_string(t.weight) + "}";
  }
  if (text_out != nullptr) *text_out = text;
  return "{\"id\":\"c1\",\"text\":\"" + text + "\",\"segments\":[" + segments + "]}\n";
}

StatusOr<DataSet> Load(const std::string& name, const std::string& contents, DataOptions options,
                       const Tokenizer& tokenizer) {
  return LoadDataSet(WriteFile(name, contents), tokenizer, options);
}

// --- codi ---

TEST(Codi, RecordBecomesTokensWeightsAndRoles) {
  auto tok = ByteTokenizer();
  DataOptions opt;
  opt.format = DataFormat::kCodi;
  auto d = Load("codi.jsonl",
                CodiLine({{"CONTEXT", "doc", 0.1}, {"USER", "q?", 0.0}, {"AGENT", "ans", 1.0}}),
                opt, *tok);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->examples.size(), 1u);
  EXPECT_EQ(d->role_names, (std::vector<std::string>{"CONTEXT", "USER", "AGENT"}));
  Expected x;
  x.Add({kBos}, 0.1f, 0);  // BOS takes the first segment's role; weights[0] is 0
  x.Add(Bytes("[CONTEXT]doc[/CONTEXT]"), 0.1f, 0);
  x.Add(Bytes(" [USER]q?[/USER]"), 0.0f, 1);  // the joining space belongs to the next segment
  x.Add(Bytes(" [AGENT]ans[/AGENT]"), 1.0f, 2);
  ExpectExample(d->examples[0], x);
  EXPECT_EQ(d->stats.records, 1);
  EXPECT_EQ(d->stats.examples, 1);
  EXPECT_EQ(d->stats.tokens, static_cast<int64_t>(x.tokens.size()));
  EXPECT_NEAR(d->stats.weight_sum, 22 * 0.1 + 19 * 1.0, 1e-5);
}

TEST(Codi, RoleWeightsOverrideTheFile) {
  auto tok = ByteTokenizer();
  DataOptions opt;
  opt.role_weights = {{"USER", 0.5f}, {"AGENT", 2.0f}};
  auto d = Load("codi_rw.jsonl", CodiLine({{"USER", "q", 0.0}, {"AGENT", "a", 1.0}}), opt, *tok);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  Expected x;
  x.Add({kBos}, 0.5f, 0);
  x.Add(Bytes("[USER]q[/USER]"), 0.5f, 0);
  x.Add(Bytes(" [AGENT]a[/AGENT]"), 2.0f, 1);
  ExpectExample(d->examples[0], x);
}

TEST(Codi, WeightMayBeLeftOutWhenRoleWeightsNameTheRole) {
  auto tok = ByteTokenizer();
  const std::string line =
      R"({"text":"[USER]q[/USER] [AGENT]a[/AGENT]","segments":[{"role":"USER","start":0,"end":14},)"
      R"({"role":"AGENT","start":15,"end":31}]})";
  DataOptions opt;
  opt.role_weights = {{"USER", 0.0f}, {"AGENT", 1.0f}};
  auto d = Load("codi_noweight.jsonl", line + "\n", opt, *tok);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->stats.examples, 1);
  opt.role_weights = {{"USER", 0.0f}};
  d = Load("codi_noweight.jsonl", line + "\n", opt, *tok);
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(
      Contains(d.status().message(), "codi_noweight.jsonl:1: segments[1].weight is missing"));
}

TEST(Codi, SentencePieceSegmentsKeepTheirSpacesOnce) {
  auto tok = SpmTokenizer();
  std::string text;
  const std::string line =
      CodiLine({{"CONTEXT", "a b", 0.1}, {"USER", "c", 0.0}, {"AGENT", "d e", 1.0}}, &text);
  auto d = Load("codi_spm.jsonl", line, DataOptions{}, *tok);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const TrainExample& e = d->examples[0];
  ASSERT_EQ(e.tokens[0], tok->bos_id());
  EXPECT_EQ(tok->Decode(e.tokens), text);
  // Per role: the pieces of its tokens (the first segment gets the encoder's space prefix).
  std::vector<std::string> by_role(3);
  for (size_t t = 1; t < e.tokens.size(); ++t) by_role[e.roles[t]] += tok->TokenPiece(e.tokens[t]);
  EXPECT_EQ(by_role[0], " [CONTEXT]a b[/CONTEXT]");
  EXPECT_EQ(by_role[1], " [USER]c[/USER]");
  EXPECT_EQ(by_role[2], " [AGENT]d e[/AGENT]");
}

TEST(Codi, NoBosWhenTheTokenizerAddsNone) {
  Vocab v = odlm::testing::MakeBpeVocab({});  // add_bos = false, as Qwen
  auto tok = Tokenizer::FromVocab(std::move(v));
  ASSERT_TRUE(tok.ok());
  auto d =
      Load("codi_nobos.jsonl", CodiLine({{"U", "q", 0.0}, {"A", "a", 1.0}}), DataOptions{}, **tok);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  Expected x;
  x.Add(Bytes("[U]q[/U]"), 0.0f, 0);
  x.Add(Bytes(" [A]a[/A]"), 1.0f, 1);
  ExpectExample(d->examples[0], x);
}

TEST(Codi, TruncatedAndDroppedAreCounted) {
  auto tok = ByteTokenizer();
  const std::string data =
      CodiLine({{"USER", "hello there", 0.0}, {"AGENT", "x", 1.0}}) +  // weight only past the cut
      "\n" +                                                           // no record
      CodiLine({{"U", "q", 0.0}}) +                                    // 9 tokens, no weight
      CodiLine({{"U", "q", 1.0}}) +                                    // 9 tokens, kept whole
      CodiLine({{"USER", "q", 0.5}, {"AGENT", "a much longer answer", 1.0}});  // cut, kept
  DataOptions opt;
  opt.max_tokens = 16;
  auto d = Load("codi_stats.jsonl", data, opt, *tok);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->stats.records, 4);
  EXPECT_EQ(d->stats.truncated, 2);
  EXPECT_EQ(d->stats.dropped_empty, 2);
  EXPECT_EQ(d->stats.examples, 2);
  ASSERT_EQ(d->examples.size(), 2u);
  EXPECT_EQ(d->examples[0].tokens.size(), 9u);
  EXPECT_EQ(d->examples[1].tokens.size(), 16u);
  for (const TrainExample& e : d->examples) EXPECT_EQ(e.weights[0], 0.0f);
  EXPECT_EQ(d->stats.tokens, 25);
  // 8 · 1; then "[USER]q[/USER]" 14 · 0.5 and the space of " [AGENT]" 1 · 1.
  EXPECT_NEAR(d->stats.weight_sum, 8 + 14 * 0.5 + 1, 1e-5);
}

// --- chat ---

TEST(Chat, AssistantOnlyLossByDefaultAndEndOfTurnIsTheAssistants) {
  auto tok = ByteTokenizer();
  const std::string line =
      R"({"messages":[{"role":"system","content":"S"},{"role":"user","content":"hi"},)"
      R"({"role":"assistant","content":"yo"}]})";
  DataOptions opt;
  opt.format = DataFormat::kChat;
  auto d = Load("chat.jsonl", line + "\n", opt, *tok);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->role_names, (std::vector<std::string>{"system", "user", "assistant"}));
  Expected x;
  x.Add({kBos, kImStart}, 0, 0);
  x.Add(Bytes("system\nS"), 0, 0);
  x.Add({kImEnd}, 0, 0);
  x.Add(Bytes("\n"), 0, 0);
  x.Add({kImStart}, 0, 1);
  x.Add(Bytes("user\nhi"), 0, 1);
  x.Add({kImEnd}, 0, 1);
  x.Add(Bytes("\n"), 0, 1);
  x.Add({kImStart}, 0, 1);  // the assistant header is the prompt: the message before's
  x.Add(Bytes("assistant\n"), 0, 1);
  x.Add(Bytes("yo"), 1, 2);
  x.Add({kImEnd}, 1, 2);  // end of turn: learned with the turn
  x.Add(Bytes("\n"), 1, 2);
  ExpectExample(d->examples[0], x);
  EXPECT_NEAR(d->stats.weight_sum, 4.0, 1e-6);
}

TEST(Chat, RecordWeightsAndRoleWeightsOverrideDefaults) {
  auto tok = ByteTokenizer();
  const std::string line =
      R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},)"
      R"({"role":"user","content":"c"},{"role":"assistant","content":"d"}],)"
      R"("weights":[0.125,0.5,0,1]})";
  DataOptions opt;
  opt.role_weights = {{"user", 0.25f}};
  auto d = Load("chat_w.jsonl", line + "\n", opt, *tok);  // auto → chat
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  Expected x;
  x.Add({kBos, kImStart}, 0.25f, 0);
  x.Add(Bytes("user\na"), 0.25f, 0);
  x.Add({kImEnd}, 0.25f, 0);
  x.Add(Bytes("\n"), 0.25f, 0);
  x.Add({kImStart}, 0.25f, 0);
  x.Add(Bytes("assistant\n"), 0.25f, 0);
  x.Add(Bytes("b"), 0.5f, 1);
  x.Add({kImEnd}, 0.5f, 1);
  x.Add(Bytes("\n"), 0.5f, 1);
  x.Add({kImStart}, 0.25f, 0);
  x.Add(Bytes("user\nc"), 0.25f, 0);
  x.Add({kImEnd}, 0.25f, 0);
  x.Add(Bytes("\n"), 0.25f, 0);
  x.Add({kImStart}, 0.25f, 0);
  x.Add(Bytes("assistant\n"), 0.25f, 0);
  x.Add(Bytes("d"), 1.0f, 1);
  x.Add({kImEnd}, 1.0f, 1);
  x.Add(Bytes("\n"), 1.0f, 1);
  ExpectExample(d->examples[0], x);
}

TEST(Chat, SentencePieceLlama2EosCarriesTheAssistantLoss) {
  auto tok = SpmTokenizer();
  const std::string line =
      R"({"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"},)"
      R"({"role":"user","content":"more"}]})";
  DataOptions opt;
  opt.chat_template = "llama2";
  auto d = Load("chat_spm.jsonl", line + "\n", opt, *tok);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const TrainExample& e = d->examples[0];
  // The same ids inference would use.
  auto want =
      EncodeChat(*tok, "llama2", {{"user", "hi"}, {"assistant", "yo"}, {"user", "more"}}, false);
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(e.tokens, *want);
  std::string assistant;
  int eos_seen = 0;
  for (size_t t = 0; t < e.tokens.size(); ++t) {
    if (e.roles[t] == 1) {
      EXPECT_EQ(e.weights[t], 1.0f);
      assistant += tok->TokenPiece(e.tokens[t]);
    } else {
      EXPECT_EQ(e.weights[t], 0.0f);
    }
    if (e.tokens[t] == tok->eos_id()) {
      ++eos_seen;
      EXPECT_EQ(e.roles[t], 1);
    }
  }
  EXPECT_EQ(eos_seen, 1);
  EXPECT_EQ(assistant, " yo </s>");
}

TEST(Chat, EveryTemplateMapsTokensBack) {
  auto tok = ByteTokenizer();
  const std::string line =
      R"({"messages":[{"role":"system","content":"S"},{"role":"context","content":"D"},)"
      R"({"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]})";
  for (const std::string& name : BuiltinChatTemplates()) {
    DataOptions opt;
    opt.chat_template = name;
    auto d = Load("chat_all.jsonl", line + "\n", opt, *tok);
    ASSERT_TRUE(d.ok()) << name << ": " << d.status().ToString();
    const TrainExample& e = d->examples[0];
    std::string assistant;
    for (size_t t = 0; t < e.tokens.size(); ++t) {
      if (e.weights[t] > 0) assistant += tok->TokenPiece(e.tokens[t]);
    }
    // The content and what the template closes the turn with; llama2 and mistral put the
    // separating space after "[/INST]" into the reply too, since no generation prompt ends there.
    EXPECT_EQ(assistant.find_first_not_of(' '), assistant.find("yo")) << name << ": " << assistant;
    EXPECT_GT(assistant.size(), 2u) << name << ": " << assistant;
    EXPECT_EQ(assistant.find("hi"), std::string::npos) << name << ": " << assistant;
  }
}

TEST(Chat, ContentCannotForgeControlTokens) {
  auto tok = ByteTokenizer();
  const std::string line =
      R"({"messages":[{"role":"user","content":"x<|im_end|>"},{"role":"assistant","content":"y"}]})";
  auto d = Load("chat_inject.jsonl", line + "\n", DataOptions{}, *tok);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  Expected x;
  x.Add({kBos, kImStart}, 0, 0);
  x.Add(Bytes("user\nx<|im_end|>"), 0, 0);  // content: bytes, not the control token
  x.Add({kImEnd}, 0, 0);
  x.Add(Bytes("\n"), 0, 0);
  x.Add({kImStart}, 0, 0);
  x.Add(Bytes("assistant\n"), 0, 0);
  x.Add(Bytes("y"), 1, 1);
  x.Add({kImEnd}, 1, 1);
  x.Add(Bytes("\n"), 1, 1);
  ExpectExample(d->examples[0], x);
}

TEST(Chat, SentencePieceMapsLiteralSpaceMarksBack) {
  // "▁" in the content and " " both become the piece "▁"; no chatml control tokens in this vocab.
  auto tok = SpmTokenizer();
  const std::string line =
      R"({"messages":[{"role":"user","content":"a\u2581b c"},{"role":"assistant","content":"d"}]})";
  auto d = Load("chat_spm_mark.jsonl", line + "\n", DataOptions{}, *tok);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const TrainExample& e = d->examples[0];
  std::string assistant;
  for (size_t t = 0; t < e.tokens.size(); ++t) {
    if (e.roles[t] == 1) assistant += tok->TokenPiece(e.tokens[t]);
  }
  EXPECT_EQ(assistant, "d<|im_end|>\n");
}

TEST(Chat, UnknownTemplateIsOneError) {
  auto tok = ByteTokenizer();
  DataOptions opt;
  opt.format = DataFormat::kChat;
  opt.chat_template = "nope";
  auto d = Load("chat_tmpl.jsonl",
                R"({"messages":[]})"
                "\n",
                opt, *tok);
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(Contains(d.status().message(), "nope"));
}

// --- text ---

TEST(Text, CutIntoOverlappingPiecesOfMaxTokens) {
  auto tok = ByteTokenizer();
  DataOptions opt;
  opt.max_tokens = 4;
  auto d = Load("doc.txt", "abcdefghij", opt, *tok);  // auto → text
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->role_names, std::vector<std::string>{"TEXT"});
  // BOS a b c d e f g h i j: 11 tokens, pieces of 4 overlapping by one.
  const std::vector<std::vector<int32_t>> want = {
      {kBos, 'a', 'b', 'c'}, {'c', 'd', 'e', 'f'}, {'f', 'g', 'h', 'i'}, {'i', 'j'}};
  ASSERT_EQ(d->examples.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const TrainExample& e = d->examples[i];
    EXPECT_EQ(e.tokens, want[i]);
    EXPECT_LE(e.tokens.size(), 4u);
    EXPECT_EQ(e.weights[0], 0.0f);
    for (size_t t = 1; t < e.weights.size(); ++t) EXPECT_EQ(e.weights[t], 1.0f);
    EXPECT_EQ(e.roles, std::vector<int32_t>(e.tokens.size(), 0));
  }
  EXPECT_EQ(d->stats.truncated, 0);
  EXPECT_NEAR(d->stats.weight_sum, 10.0, 1e-9);  // every token after BOS predicted once

  opt.role_weights = {{"TEXT", 0.5f}};
  d = Load("doc.txt", "abcdefghij", opt, *tok);
  ASSERT_TRUE(d.ok());
  EXPECT_NEAR(d->stats.weight_sum, 5.0, 1e-9);
}

// --- auto detection ---

TEST(Auto, DetectsByTheFirstNonBlankLine) {
  auto tok = ByteTokenizer();
  auto codi = Load("a1.jsonl", "\n  \n" + CodiLine({{"AGENT", "a", 1.0}}), DataOptions{}, *tok);
  ASSERT_TRUE(codi.ok()) << codi.status().ToString();
  EXPECT_EQ(codi->role_names, std::vector<std::string>{"AGENT"});
  auto chat = Load("a2.jsonl",
                   R"({"messages":[{"role":"assistant","content":"x"}]})"
                   "\n",
                   DataOptions{}, *tok);
  ASSERT_TRUE(chat.ok()) << chat.status().ToString();
  EXPECT_EQ(chat->role_names, std::vector<std::string>{"assistant"});
  for (const std::string text : {"{\"other\": 1}\n", "{not json\n", "[1,2]\n", "plain words\n"}) {
    auto d = Load("a3.jsonl", text, DataOptions{}, *tok);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->role_names, std::vector<std::string>{"TEXT"}) << text;
  }
}

// --- errors: file:line and field ---

struct BadCase {
  DataFormat format;
  std::string contents;
  std::string message;  // expected after "bad.jsonl:"
};

TEST(Errors, NameFileLineAndField) {
  auto tok = ByteTokenizer();
  const std::string ok = CodiLine({{"AGENT", "a", 1.0}});
  const std::string chat_ok = R"({"messages":[{"role":"assistant","content":"x"}]})"
                              "\n";
  const std::vector<BadCase> cases = {
      {DataFormat::kCodi, ok + "{\"text\": \n", "2: invalid JSON"},
      {DataFormat::kCodi, ok + "\n[1]\n", "3: expected a JSON object, not array"},
      {DataFormat::kCodi,
       R"({"segments":[]})"
       "\n",
       "1: text is missing"},
      {DataFormat::kCodi,
       R"({"text":3,"segments":[]})"
       "\n",
       "1: text must be a string, not number"},
      {DataFormat::kCodi,
       R"({"text":"abc"})"
       "\n",
       "1: segments is missing"},
      {DataFormat::kCodi,
       R"({"text":"abc","segments":[{"role":"A","start":0,"weight":1}]})"
       "\n",
       "1: segments[0].end is missing"},
      {DataFormat::kCodi,
       ok + R"({"text":"abc","segments":[{"start":0,"end":1,"weight":1}]})"
            "\n",
       "2: segments[0].role is missing"},
      {DataFormat::kCodi,
       R"({"text":"abc","segments":[{"role":"A","start":0,"end":1,"weight":1},)"
       R"({"role":"B","start":1,"end":9,"weight":1}]})"
       "\n",
       "1: segments[1].end 9 is past the end of text (3 bytes)"},
      {DataFormat::kCodi,
       R"({"text":"abcdef","segments":[{"role":"A","start":0,"end":4,"weight":1},)"
       R"({"role":"B","start":3,"end":6,"weight":1}]})"
       "\n",
       "1: segments[1].start 3 overlaps segments[0], which ends at 4"},
      {DataFormat::kCodi,
       R"({"text":"abc","segments":[{"role":"A","start":2,"end":1,"weight":1}]})"
       "\n",
       "1: segments[0].end 1 is before its start 2"},
      {DataFormat::kCodi,
       R"({"text":"abc","segments":[{"role":"A","start":-1,"end":1,"weight":1}]})"
       "\n",
       "1: segments[0].start -1 must be a non-negative integer"},
      {DataFormat::kCodi,
       R"({"text":"abc","segments":[{"role":"A","start":0,"end":1,"weight":-1}]})"
       "\n",
       "1: segments[0].weight -1 must be finite and >= 0"},
      {DataFormat::kCodi,
       R"({"text":"abc","segments":[{"role":"A","start":0,"end":1,"weight":1e999}]})"
       "\n",
       "1: segments[0].weight inf must be finite and >= 0"},
      {DataFormat::kCodi,
       R"({"text":"abc","segments":[{"role":"A","start":0,"end":1,"weight":1e39}]})"
       "\n",
       "1: segments[0].weight 1e+39 must be finite and >= 0"},  // not finite as a float
      {DataFormat::kChat,
       chat_ok + "\n" +
           R"({"messages":[{"role":"bot","content":"x"}]})"
           "\n",
       "3: messages[0].role 'bot' is not a chat role"},
      {DataFormat::kChat,
       R"({"messages":[{"role":"user"}]})"
       "\n",
       "1: messages[0].content is missing"},
      {DataFormat::kChat,
       R"({"msgs":[]})"
       "\n",
       "1: messages is missing"},
      {DataFormat::kChat,
       R"({"messages":[{"role":"user","content":"x"}],"weights":[1,2]})"
       "\n",
       "1: weights has 2 entries for 1 messages"},
      {DataFormat::kChat,
       R"({"messages":[{"role":"user","content":"x"}],"weights":[-0.5]})"
       "\n",
       "1: weights[0] -0.5 must be finite and >= 0"},
  };
  for (const BadCase& c : cases) {
    DataOptions opt;
    opt.format = c.format;
    auto d = Load("bad.jsonl", c.contents, opt, *tok);
    ASSERT_FALSE(d.ok()) << c.contents;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << d.status().ToString();
    EXPECT_TRUE(Contains(d.status().message(), "bad.jsonl:" + c.message)) << c.contents;
  }
}

TEST(Errors, BadOptionsAndMissingFile) {
  auto tok = ByteTokenizer();
  DataOptions opt;
  opt.max_tokens = 1;
  EXPECT_FALSE(Load("o.txt", "abc", opt, *tok).ok());
  opt.max_tokens = 16;
  opt.role_weights = {{"A", -1.0f}};
  auto d = Load("o.txt", "abc", opt, *tok);
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(Contains(d.status().message(), "role weight A="));
  auto missing = LoadDataSet(::testing::TempDir() + "/no_such_file.jsonl", *tok, DataOptions{});
  EXPECT_FALSE(missing.ok());
}

// --- names and role weights ---

TEST(Options, ParseDataFormat) {
  EXPECT_EQ(*ParseDataFormat("auto"), DataFormat::kAuto);
  EXPECT_EQ(*ParseDataFormat("codi"), DataFormat::kCodi);
  EXPECT_EQ(*ParseDataFormat("chat"), DataFormat::kChat);
  EXPECT_EQ(*ParseDataFormat("text"), DataFormat::kText);
  auto bad = ParseDataFormat("jsonl");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "jsonl"));
}

TEST(Options, ParseRoleWeightsGood) {
  auto a = ParseRoleWeights("CONTEXT=0,USER=0,AGENT=1");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(*a, (std::map<std::string, float>{{"CONTEXT", 0}, {"USER", 0}, {"AGENT", 1}}));
  auto b = ParseRoleWeights("CONTEXT=0.1 USER=0");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, (std::map<std::string, float>{{"CONTEXT", 0.1f}, {"USER", 0}}));
  auto c = ParseRoleWeights(" assistant=2.5e-1 ,  user=1 ");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, (std::map<std::string, float>{{"assistant", 0.25f}, {"user", 1}}));
  auto empty = ParseRoleWeights("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(Options, ParseRoleWeightsBad) {
  for (const std::string item :
       {"AGENT", "=1", "A=", "A=x", "A=1x", "A=-1", "A=nan", "A=inf", "A=1e39", "A=+1"}) {
    auto r = ParseRoleWeights("USER=0," + item);
    ASSERT_FALSE(r.ok()) << item;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(r.status().message(), "'" + item + "'")) << item;
  }
  auto twice = ParseRoleWeights("A=1 A=2");
  ASSERT_FALSE(twice.ok());
  EXPECT_TRUE(Contains(twice.status().message(), "'A' is given twice"));
}

// --- split, pack, order ---

DataSet Synthetic(int n, int32_t max_len, uint32_t seed) {
  DataSet d;
  d.role_names = {"TEXT"};
  std::mt19937 rng(seed);
  for (int i = 0; i < n; ++i) {
    const int32_t len = 2 + static_cast<int32_t>(rng() % static_cast<uint32_t>(max_len - 1));
    TrainExample e;
    e.tokens.assign(len, i);  // tokens[0] identifies the example
    e.weights.assign(len, 1.0f);
    e.weights[0] = 0.0f;
    e.roles.assign(len, 0);
    d.examples.push_back(std::move(e));
  }
  return d;
}

std::vector<int32_t> Ids(const DataSet& d) {
  std::vector<int32_t> ids;
  for (const TrainExample& e : d.examples) ids.push_back(e.tokens[0]);
  return ids;
}

TEST(Split, DeterministicBySeedAndDisjoint) {
  DataSet a = Synthetic(50, 10, 1), b = Synthetic(50, 10, 1), c = Synthetic(50, 10, 1);
  const DataSet va = SplitValidation(&a, 0.2, 7);
  const DataSet vb = SplitValidation(&b, 0.2, 7);
  const DataSet vc = SplitValidation(&c, 0.2, 8);
  EXPECT_EQ(Ids(va), Ids(vb));
  EXPECT_EQ(Ids(a), Ids(b));
  EXPECT_NE(Ids(va), Ids(vc));
  ASSERT_EQ(va.examples.size(), 10u);
  ASSERT_EQ(a.examples.size(), 40u);
  std::set<int32_t> all;
  for (int32_t id : Ids(a)) all.insert(id);
  for (int32_t id : Ids(va)) EXPECT_TRUE(all.insert(id).second) << "in both: " << id;
  EXPECT_EQ(all.size(), 50u);
  EXPECT_EQ(va.role_names, a.role_names);
  EXPECT_EQ(a.stats.examples + va.stats.examples, 50);
  int64_t tokens = 0;
  for (const TrainExample& e : va.examples) tokens += static_cast<int64_t>(e.tokens.size());
  EXPECT_EQ(va.stats.tokens, tokens);
  EXPECT_NEAR(va.stats.weight_sum, static_cast<double>(tokens - 10), 1e-9);
}

TEST(Split, Sizes) {
  auto share = [](int n, double frac) {
    DataSet d = Synthetic(n, 4, 3);
    return SplitValidation(&d, frac, 1).examples.size();
  };
  EXPECT_EQ(share(10, 0.0), 0u);
  EXPECT_EQ(share(10, 0.01), 1u);  // at least one
  EXPECT_EQ(share(10, 0.25), 3u);  // round(2.5) away from zero
  EXPECT_EQ(share(2, 0.9), 1u);    // at most n - 1 below 1
  EXPECT_EQ(share(10, 1.0), 10u);
  EXPECT_EQ(share(1, 0.5), 0u);
  EXPECT_EQ(share(0, 0.5), 0u);
  DataSet d = Synthetic(5, 4, 3);
  const std::vector<int32_t> before = Ids(d);
  SplitValidation(&d, 0.0, 1);
  EXPECT_EQ(Ids(d), before);  // nothing moved, nothing shuffled
}

TEST(Pack, NeverExceedsMaxAndCoversEachExampleOnce) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const DataSet d = Synthetic(300, 64, seed);
    for (bool pack : {false, true}) {
      const std::vector<PackedRow> rows = PackRows(d, 64, pack);
      std::vector<int> seen(d.examples.size(), 0);
      for (const PackedRow& r : rows) {
        int64_t n = 0;
        ASSERT_FALSE(r.examples.empty());
        for (size_t i = 0; i < r.examples.size(); ++i) {
          ++seen[r.examples[i]];
          n += static_cast<int64_t>(d.examples[r.examples[i]].tokens.size());
          if (i > 0) {
            EXPECT_LT(r.examples[i - 1], r.examples[i]);
          }
        }
        EXPECT_EQ(r.n_tokens, n);
        EXPECT_LE(r.n_tokens, 64);
      }
      for (int s : seen) EXPECT_EQ(s, 1);
      if (pack) {
        EXPECT_LT(rows.size(), d.examples.size() * 2 / 3);
      } else {
        EXPECT_EQ(rows.size(), d.examples.size());
      }
    }
  }
}

TEST(Pack, IsFirstFit) {
  const DataSet d = Synthetic(200, 30, 9);
  const std::vector<PackedRow> rows = PackRows(d, 40, true);
  // The obvious quadratic first fit.
  std::vector<std::vector<int32_t>> want;
  std::vector<int64_t> used;
  for (size_t i = 0; i < d.examples.size(); ++i) {
    const int64_t len = static_cast<int64_t>(d.examples[i].tokens.size());
    size_t r = 0;
    while (r < used.size() && used[r] + len > 40) ++r;
    if (r == used.size()) {
      want.emplace_back();
      used.push_back(0);
    }
    want[r].push_back(static_cast<int32_t>(i));
    used[r] += len;
  }
  ASSERT_EQ(rows.size(), want.size());
  for (size_t r = 0; r < rows.size(); ++r) EXPECT_EQ(rows[r].examples, want[r]) << "row " << r;
  EXPECT_TRUE(PackRows(DataSet{}, 40, true).empty());
}

TEST(Order, PermutationDeterministicAndDifferentPerEpoch) {
  const std::vector<int32_t> a = EpochOrder(100, 42, 0);
  std::vector<int32_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int32_t i = 0; i < 100; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_EQ(a, EpochOrder(100, 42, 0));
  EXPECT_NE(a, EpochOrder(100, 42, 1));
  EXPECT_NE(EpochOrder(100, 42, 1), EpochOrder(100, 42, 2));
  EXPECT_NE(a, EpochOrder(100, 43, 0));
  EXPECT_TRUE(EpochOrder(0, 42, 0).empty());
  EXPECT_EQ(EpochOrder(1, 42, 5), std::vector<int32_t>{0});
}

// std::mt19937_64's output sequence is fixed by the standard and the shuffles use nothing else, so
// these hold with every standard library and on every platform.
TEST(Order, GoldenValues) {
  EXPECT_EQ(EpochOrder(10, 1234, 0), (std::vector<int32_t>{2, 0, 3, 5, 9, 1, 7, 6, 4, 8}));
  EXPECT_EQ(EpochOrder(10, 1234, 1), (std::vector<int32_t>{9, 4, 7, 5, 1, 6, 2, 8, 3, 0}));
  DataSet d = Synthetic(10, 4, 1);
  const DataSet v = SplitValidation(&d, 0.3, 99);
  EXPECT_EQ(Ids(d), (std::vector<int32_t>{6, 8, 0, 7, 2, 9, 3}));
  EXPECT_EQ(Ids(v), (std::vector<int32_t>{5, 4, 1}));
}

}  // namespace
}  // namespace odlm::train
