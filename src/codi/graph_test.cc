// Tests of graph parsing and validation: the shipped example loads from YAML and equals its JSON
// form; every validation rule rejects a graph that breaks it, with a message naming the field.
#include "codi/graph.h"

#include <gtest/gtest.h>

#include <fstream>

namespace odlm::codi {
namespace {

using nlohmann::json;

// A small valid graph: CONTEXT, then questions and answers.
json ValidGraph() {
  return json::parse(R"({
    "name": "t",
    "roles": {"CONTEXT": 0, "USER": 0, "AGENT": 1},
    "phenomena": {"coreference": "Use a pronoun.", "ellipsis": "Leave words out."},
    "links": {
      "ctx": {"role": "CONTEXT", "source": "document"},
      "q": {"role": "USER", "check": "question", "instruction": "Ask.",
            "template": "Document:\n{document}\n\n{history}\n{instruction}\n{phenomenon}\n{seed_examples}\nWrite only the question.",
            "seeds": ["Why?", "When?"], "phenomena": {"coreference": 0.5, "ellipsis": 0.25}},
      "a": {"role": "AGENT", "check": "grounded",
            "template": "Document:\n{document}\n\n{history}\nWrite only the answer. {{literal}}"}
    },
    "start": {"ctx": 1},
    "transitions": {"ctx": {"q": 1}, "q": {"a": 1}, "a": {"q": 1}},
    "length": {"3": 0.5, "5": 0.5}
  })");
}

std::string Error(const json& j) {
  auto g = ParseGraph(j);
  return g.ok() ? "" : g.status().message();
}

TEST(GraphTest, ValidGraphParses) {
  auto g = ParseGraph(ValidGraph());
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->links.size(), 3u);
  const Link& q = g->links[g->LinkId("q")];
  EXPECT_EQ(q.role, "USER");
  EXPECT_EQ(q.check, LinkCheck::kQuestion);
  EXPECT_EQ(q.slots, (std::vector<std::string>{"document", "history", "instruction", "phenomenon",
                                               "seed_examples"}));
  EXPECT_EQ(g->links[g->LinkId("ctx")].source, LinkSource::kDocument);
  EXPECT_DOUBLE_EQ(g->RoleWeight("AGENT"), 1.0);
  EXPECT_EQ(g->max_length(), 5);
  EXPECT_DOUBLE_EQ(g->transitions[g->LinkId("a")][g->LinkId("q")], 1.0);
}

TEST(GraphTest, ShippedExampleLoadsFromYamlAndMatchesJson) {
  const std::string path = std::string(ODLM_SOURCE_DIR) + "/examples/codi/coqa_graph.yaml";
  auto g = LoadGraphFile(path);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->name, "coqa-style-grounded-qa");
  EXPECT_GE(g->links.size(), 6u);
  EXPECT_GE(g->phenomena.size(), 4u);
  EXPECT_EQ(g->links[g->LinkId("answer")].check, LinkCheck::kGrounded);
  EXPECT_DOUBLE_EQ(g->links[g->LinkId("answer")].min_support, 0.6);
  // The same graph written as JSON parses to the same structure.
  std::ifstream f(path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto j = YamlToJson(text);
  ASSERT_TRUE(j.ok());
  auto g2 = ParseGraph(json::parse(j->dump()));
  ASSERT_TRUE(g2.ok());
  EXPECT_EQ(g2->transitions, g->transitions);
  EXPECT_EQ(g2->lengths, g->lengths);
}

TEST(GraphTest, YamlScalarsAndErrors) {
  auto j = YamlToJson("a: 1\nb: 0.25\nc: true\nd: '7'\ne: ~\nf: hello\ng: [1, x]\n");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["a"], 1);
  EXPECT_DOUBLE_EQ((*j)["b"].get<double>(), 0.25);
  EXPECT_EQ((*j)["c"], true);
  EXPECT_EQ((*j)["d"], "7");  // quoted: a string
  EXPECT_TRUE((*j)["e"].is_null());
  EXPECT_EQ((*j)["f"], "hello");
  EXPECT_EQ((*j)["g"][1], "x");
  auto bad = YamlToJson("a: [1, 2\nb: 3\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line"), std::string::npos);
  auto dup = YamlToJson("a: 1\na: 2\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("duplicate key 'a'"), std::string::npos);
}

TEST(GraphTest, RowsMustSumToOne) {
  json j = ValidGraph();
  j["transitions"]["q"] = {{"a", 0.9}};
  EXPECT_NE(Error(j).find("transitions.q: probabilities sum to 0.9, expected 1"), std::string::npos)
      << Error(j);
  j = ValidGraph();
  j["start"] = {{"ctx", 0.5}, {"q", 0.4999}};
  EXPECT_NE(Error(j).find("start: probabilities sum to"), std::string::npos) << Error(j);
  // Within 1e-6 is fine.
  j = ValidGraph();
  j["start"] = {{"ctx", 0.5}, {"q", 0.5000004}};
  EXPECT_EQ(Error(j), "");
  j = ValidGraph();
  j["length"] = {{"3", 0.5}, {"5", 0.6}};
  EXPECT_NE(Error(j).find("length: probabilities sum to 1.1"), std::string::npos) << Error(j);
  j = ValidGraph();
  j["links"]["q"]["phenomena"] = {{"coreference", 0.7}, {"ellipsis", 0.5}};
  EXPECT_NE(Error(j).find("links.q.phenomena: probabilities sum to 1.2, expected at most 1"),
            std::string::npos)
      << Error(j);
  j = ValidGraph();
  j["transitions"]["q"] = {{"a", -0.5}, {"q", 1.5}};
  EXPECT_NE(Error(j).find("is not in [0, 1]"), std::string::npos) << Error(j);
}

TEST(GraphTest, UnknownLinkNames) {
  json j = ValidGraph();
  j["transitions"]["a"] = {{"qq", 1.0}};
  EXPECT_NE(Error(j).find("transitions.a.qq: unknown link 'qq'"), std::string::npos) << Error(j);
  j = ValidGraph();
  j["start"] = {{"nope", 1.0}};
  EXPECT_NE(Error(j).find("start.nope: unknown link 'nope'"), std::string::npos) << Error(j);
  j = ValidGraph();
  j["transitions"]["zzz"] = {{"a", 1.0}};
  EXPECT_NE(Error(j).find("transitions.zzz: unknown link"), std::string::npos) << Error(j);
  j = ValidGraph();
  j["transitions"].erase("a");
  EXPECT_NE(Error(j).find("link 'a' has no row"), std::string::npos) << Error(j);
}

TEST(GraphTest, UnreachableLinks) {
  json j = ValidGraph();
  j["links"]["orphan"] = {{"role", "USER"}, {"template", "{document}"}};
  j["transitions"]["orphan"] = {{"a", 1.0}};
  EXPECT_NE(Error(j).find("links.orphan: unreachable"), std::string::npos) << Error(j);
  // Reachable, but only deeper than the longest walk.
  j = ValidGraph();
  j["length"] = {{"2", 1.0}};
  EXPECT_NE(Error(j).find("links.a: unreachable within the longest walk (2 turns; it needs 3)"),
            std::string::npos)
      << Error(j);
}

TEST(GraphTest, SlotsUnknownUnfilledOrUnclosed) {
  json j = ValidGraph();
  j["links"]["a"]["template"] = "{document} {answer_style}";
  EXPECT_NE(Error(j).find("links.a.template: unknown slot {answer_style} at byte 11"),
            std::string::npos)
      << Error(j);
  j = ValidGraph();
  j["links"]["a"]["template"] = "{document} {instruction}";
  EXPECT_NE(Error(j).find("uses {instruction} but the link has no 'instruction'"),
            std::string::npos)
      << Error(j);
  j = ValidGraph();
  j["links"]["a"]["template"] = "{document} {seed_examples}";
  EXPECT_NE(Error(j).find("uses {seed_examples} but the link has no 'seeds'"), std::string::npos);
  j = ValidGraph();
  j["links"]["a"]["template"] = "{document} {phenomenon}";
  EXPECT_NE(Error(j).find("uses {phenomenon} but the link has no 'phenomena'"), std::string::npos);
  j = ValidGraph();
  j["links"]["q"]["template"] = "{document} {instruction} {seed_examples}";
  EXPECT_NE(Error(j).find("has phenomena but its template has no {phenomenon}"), std::string::npos)
      << Error(j);
  j = ValidGraph();
  j["links"]["a"]["template"] = "{document";
  EXPECT_NE(Error(j).find("unclosed '{' at byte 0"), std::string::npos) << Error(j);
  j = ValidGraph();
  j["links"]["a"]["template"] = "x } y";
  EXPECT_NE(Error(j).find("stray '}' at byte 2"), std::string::npos) << Error(j);
}

TEST(GraphTest, BadLengthsRolesAndFields) {
  json j = ValidGraph();
  j["length"] = {{"0", 1.0}};
  EXPECT_NE(Error(j).find("length.0: a walk length must be an integer"), std::string::npos);
  j["length"] = {{"three", 1.0}};
  EXPECT_NE(Error(j).find("length.three"), std::string::npos);
  j = ValidGraph();
  j["links"]["a"]["role"] = "JUDGE";
  EXPECT_NE(Error(j).find("links.a.role: role 'JUDGE' has no loss weight"), std::string::npos);
  j = ValidGraph();
  j["links"]["a"]["min_words"] = 10;
  j["links"]["a"]["max_words"] = 5;
  EXPECT_NE(Error(j).find("links.a: min_words 10 > max_words 5"), std::string::npos);
  j = ValidGraph();
  j["links"]["a"]["tempature"] = 0.5;
  EXPECT_NE(Error(j).find("links.a.tempature: unknown field"), std::string::npos);
  j = ValidGraph();
  j["links"]["a"]["check"] = "factual";
  EXPECT_NE(Error(j).find("links.a.check: 'factual'"), std::string::npos);
  j = ValidGraph();
  j["links"]["q"]["phenomena"]["sarcasm"] = 0.1;
  EXPECT_NE(Error(j).find("links.q.phenomena.sarcasm: unknown phenomenon"), std::string::npos);
  j = ValidGraph();
  j.erase("roles");
  EXPECT_NE(Error(j).find("roles: missing"), std::string::npos);
  j = ValidGraph();
  j["roles"]["AGENT"] = -1;
  EXPECT_NE(Error(j).find("roles.AGENT: loss weight -1"), std::string::npos);
  j = ValidGraph();
  j["links"]["ctx"]["template"] = "{document}";
  EXPECT_NE(Error(j).find("a \"document\" link takes its text from the document"),
            std::string::npos);
  EXPECT_NE(Error(json::array()).find("expected an object"), std::string::npos);
}

TEST(GraphTest, FileErrorsNameThePath) {
  auto missing = LoadGraphFile("/nonexistent/graph.yaml");
  EXPECT_FALSE(missing.ok());
  const std::string path = ::testing::TempDir() + "/bad_graph.json";
  std::ofstream(path) << "{\"name\": \"x\",, }";
  auto bad = LoadGraphFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("JSON syntax error at byte"), std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find(path), std::string::npos);
}

// Issue 16 (2): a role weight nested 150,000 levels deep was printed into the error message and
// overflowed the stack. Deep nesting is refused before parsing (JSON) or while converting (YAML).
TEST(GraphTest, DeepNestingIsAnErrorNotACrash) {
  const std::string deep = std::string(150000, '[') + std::string(150000, ']');
  json g = ValidGraph();
  std::string text = g.dump();
  text.replace(text.find("\"AGENT\":1"), 9, "\"AGENT\":" + deep);
  auto from_json = ParseGraphText(text, /*yaml=*/false);
  ASSERT_FALSE(from_json.ok());
  EXPECT_NE(from_json.status().message().find("nested deeper than 64 levels"), std::string::npos)
      << from_json.status().message();
  auto from_yaml = ParseGraphText("roles: {AGENT: " + deep + "}\n", /*yaml=*/true);
  ASSERT_FALSE(from_yaml.ok());
  EXPECT_LT(from_yaml.status().message().size(), 300u);
  // A value of the wrong type (but within the bound) is named by its type, not printed.
  g["roles"]["AGENT"] = json::array({json::array({1, 2, 3})});
  EXPECT_EQ(Error(g), "roles.AGENT: loss weight of type array (expected a number >= 0)");
  // 64 levels are fine for YAML as for JSON (and then fail validation as usual).
  const std::string ok_depth = std::string(60, '[') + "1" + std::string(60, ']');
  auto within = YamlToJson("x: " + ok_depth + "\n");
  EXPECT_TRUE(within.ok()) << within.status().ToString();
}

// Issue 16 (5): ten levels of aliases, each repeated nine times, stand for 9^10 nodes; expanding
// them hung `codi check`. The expansion is bounded.
TEST(GraphTest, YamlAliasExpansionIsBounded) {
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level <= 10; ++level) {
    const std::string prev = "*a" + std::to_string(level - 1);
    yaml += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int k = 0; k < 9; ++k) yaml += (k ? ", " : "") + prev;
    yaml += "]\n";
  }
  auto r = YamlToJson(yaml);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("more than 100,000 nodes"), std::string::npos)
      << r.status().message();
  // A few aliases, as people write them, are fine.
  auto fine = YamlToJson("base: &b {x: 1}\none: *b\ntwo: *b\n");
  ASSERT_TRUE(fine.ok()) << fine.status().ToString();
  EXPECT_EQ((*fine)["two"]["x"], 1);
}

TEST(GraphTest, FillTemplate) {
  EXPECT_EQ(FillTemplate("a {document} b {{x}} {history}", {{"document", "D"}, {"history", "H"}}),
            "a D b {x} H");
}

}  // namespace
}  // namespace odlm::codi
