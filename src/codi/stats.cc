// codi/stats.cc — statistics of a synthesized file (contract in stats.h).
#include "codi/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "codi/chi_square.h"
#include "codi/near_duplicates.h"
#include "codi/records.h"
#include "codi/turn_check.h"

namespace odlm::codi {

using nlohmann::json;

namespace {

json WordStats(std::vector<int> v) {
  if (v.empty()) return {{"count", 0}};
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (int x : v) sum += x;
  auto q = [&](double p) { return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))]; };
  return {{"count", v.size()},
          {"mean_words", std::round(sum / v.size() * 100) / 100},
          {"p50_words", q(0.5)},
          {"p95_words", q(0.95)},
          {"max_words", v.back()}};
}

json ChiJson(const ChiSquareResult& r) {
  return {{"statistic", std::round(r.statistic * 1e4) / 1e4},
          {"df", r.df},
          {"p_value", r.p_value},
          {"n", r.total},
          {"impossible", r.impossible}};
}

}  // namespace

StatusOr<json> ComputeStats(const std::string& path, const Graph* g) {
  uint64_t total = 0, ok = 0;
  std::map<std::string, uint64_t> failures, link_turns;
  std::map<std::string, std::vector<int>> role_words;
  std::map<std::string, std::map<std::string, uint64_t>> link_phen;  // link -> ph|"" -> n
  std::map<std::string, uint64_t> phen_total;
  std::map<std::string, std::pair<uint64_t, uint64_t>> phen_checked;  // name -> (checked, verified)
  // Diversity: distinct-1/2 of questions (USER turns) and answers (AGENT turns), near-duplicate
  // conversations (their non-CONTEXT turns), conversations per document.
  DistinctCounter q1(1), q2(2), a1(1), a2(2);
  NearDuplicateIndex near_dups;
  uint64_t duplicates = 0;
  std::map<std::string, uint64_t> per_doc;
  std::map<std::string, std::map<std::string, uint64_t>> transitions;
  std::map<std::string, uint64_t> starts;
  std::map<int, uint64_t> lengths;
  uint64_t grounded = 0, grounded_ok = 0, teacher_turns = 0;
  double support_sum = 0;
  size_t torn = 0;
  auto fn = [&](const json& r, size_t line) -> Status {
    const std::string where = path + ":" + std::to_string(line);
    ++total;
    if (r["status"] == "ok") {
      ++ok;
    } else {
      // A failed conversation counts by its reason only: its partial turns and planned
      // phenomena are not what the data holds (export leaves it out too).
      ++failures[r.value("reason", std::string("unknown"))];
      return Status::Ok();
    }
    const json& walk = r["walk"];
    std::vector<std::string> names;
    for (const auto& w : walk) {
      if (!w.is_string()) return InvalidArgumentError(where + ": walk entries must be link names");
      if (g && g->LinkId(w.get<std::string>()) < 0) {
        return InvalidArgumentError(where + ": link '" + w.get<std::string>() +
                                    "' is not in the graph (stats for another graph?)");
      }
      names.push_back(w.get<std::string>());
    }
    ++lengths[static_cast<int>(names.size())];
    if (!names.empty()) ++starts[names[0]];
    for (size_t i = 1; i < names.size(); ++i) ++transitions[names[i - 1]][names[i]];
    const json& phs = r.contains("phenomena") ? r["phenomena"] : json::array();
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string ph = i < phs.size() && phs[i].is_string() ? phs[i].get<std::string>() : "";
      ++link_phen[names[i]][ph];
      if (!ph.empty()) ++phen_total[ph];
    }
    for (const auto& t : r["turns"]) {
      if (!t.is_object() || !t.contains("role") || !t.contains("text") || !t["text"].is_string()) {
        return InvalidArgumentError(where + ": a turn without role and text");
      }
      const std::string link = t.value("link", std::string());
      ++link_turns[link];
      const std::string& role = t["role"].get_ref<const std::string&>();
      const std::string& text = t["text"].get_ref<const std::string&>();
      if (role == "USER") {
        q1.Add(text);
        q2.Add(text);
      } else if (role == "AGENT" || role == "ASSISTANT") {
        a1.Add(text);
        a2.Add(text);
      }

      role_words[t["role"].get<std::string>()].push_back(WordCount(t["text"].get<std::string>()));
      if (t.contains("attempts")) ++teacher_turns;
      if (t.contains("phenomenon") && t["phenomenon"].is_string() &&
          t.contains("phenomenon_verified") && t["phenomenon_verified"].is_boolean()) {
        auto& [checked, verified] = phen_checked[t["phenomenon"].get<std::string>()];
        ++checked;
        if (t["phenomenon_verified"].get<bool>()) ++verified;
      }
      if (t.contains("support") && t["support"].is_number()) {
        ++grounded;
        const double s = t["support"].get<double>();
        support_sum += s;
        double threshold = 0.5;
        if (g && g->LinkId(link) >= 0) threshold = g->links[g->LinkId(link)].min_support;
        if (s >= threshold) ++grounded_ok;
      }
    }
    if (near_dups.Add(DialogueText(r)) >= 0) ++duplicates;
    const auto doc = r.find("doc_id");
    ++per_doc[doc != r.end() && doc->is_string() ? doc->get<std::string>() : std::string()];
    return Status::Ok();
  };
  RETURN_IF_ERROR(ForEachRecord(path, fn, &torn));

  json out;
  out["file"] = path;
  out["conversations"] = {{"total", total}, {"ok", ok}, {"failed", total - ok}};
  if (torn) out["conversations"]["torn_last_line"] = true;
  out["failures_by_reason"] = failures;
  json roles = json::object();
  for (auto& [r, v] : role_words) roles[r] = WordStats(v);
  out["turns_by_role"] = roles;
  out["turns_by_link"] = link_turns;
  json ph = json::object();
  for (const auto& [name, n] : phen_total) {
    ph[name] = {{"count", n},
                {"share_of_teacher_turns",
                 teacher_turns ? std::round(1e4 * n / double(teacher_turns)) / 1e4 : 0.0}};
    // Planned (the walk asked for it) against verified (the text shows it, codi/phenomena.h).
    const auto it = phen_checked.find(name);
    if (it != phen_checked.end() && it->second.first > 0) {
      const auto [checked, verified] = it->second;
      ph[name]["checked"] = checked;
      ph[name]["verified"] = verified;
      ph[name]["verified_rate"] = std::round(1e4 * verified / double(checked)) / 1e4;
      ph[name]["verified_share_of_teacher_turns"] =
          teacher_turns ? std::round(1e4 * verified / double(teacher_turns)) / 1e4 : 0.0;
    }
  }
  out["phenomena"] = ph;
  json ph_link = json::object();
  for (const auto& [link, m] : link_phen) {
    uint64_t n = 0;
    for (const auto& [_, c] : m) n += c;
    json row = json::object();
    for (const auto& [p, c] : m) {
      json cell = {{"observed", std::round(1e4 * c / double(n)) / 1e4}};
      if (g && !p.empty()) {
        for (const auto& [pn, pp] : g->links[g->LinkId(link)].phenomena) {
          if (pn == p) cell["configured"] = pp;
        }
      }
      row[p.empty() ? "(none)" : p] = cell;
    }
    ph_link[link] = row;
  }
  out["phenomena_by_link"] = ph_link;
  std::vector<int> convs_per_doc;
  for (const auto& [_, n] : per_doc) convs_per_doc.push_back(static_cast<int>(n));
  std::sort(convs_per_doc.begin(), convs_per_doc.end());
  const auto ratio = [](const DistinctN& d) { return std::round(1e4 * d.ratio()) / 1e4; };
  out["diversity"] = {
      {"questions", {{"distinct_1", ratio(q1.result())}, {"distinct_2", ratio(q2.result())}}},
      {"answers", {{"distinct_1", ratio(a1.result())}, {"distinct_2", ratio(a2.result())}}},
      {"near_duplicate_conversations", duplicates},
      {"near_duplicate_share", ok ? std::round(1e4 * duplicates / double(ok)) / 1e4 : 0.0},
      {"documents", per_doc.size()},
      {"conversations_per_document", convs_per_doc.empty()
                                         ? json{{"min", 0}, {"p50", 0}, {"max", 0}}
                                         : json{{"min", convs_per_doc.front()},
                                                {"p50", convs_per_doc[convs_per_doc.size() / 2]},
                                                {"max", convs_per_doc.back()}}}};
  out["grounding"] = {
      {"turns_with_support", grounded},
      {"mean_support", grounded ? std::round(1e4 * support_sum / grounded) / 1e4 : 0.0},
      {"grounded_rate", grounded ? std::round(1e4 * grounded_ok / double(grounded)) / 1e4 : 0.0}};
  json trans = json::object();
  for (const auto& [from, row] : transitions) {
    uint64_t n = 0;
    for (const auto& [_, c] : row) n += c;
    json o = json::object();
    for (const auto& [to, c] : row) o[to] = {{"count", c}, {"observed", c / double(n)}};
    if (g) {
      const int f = g->LinkId(from);
      for (size_t t = 0; t < g->links.size(); ++t) {
        if (g->transitions[f][t] > 0) o[g->links[t].name]["configured"] = g->transitions[f][t];
      }
    }
    trans[from] = o;
  }
  out["transitions"] = trans;
  if (g) {
    json tests = json::object();
    double stat_sum = 0;
    int df_sum = 0;
    int64_t impossible = 0;
    auto add = [&](const std::string& name, const ChiSquareResult& r) {
      tests[name] = ChiJson(r);
      stat_sum += r.statistic;
      df_sum += r.df;
      impossible += r.impossible;
    };
    const size_t n = g->links.size();
    std::vector<int64_t> obs(n, 0);
    for (const auto& [name, c] : starts) obs[g->LinkId(name)] = static_cast<int64_t>(c);
    add("start", ChiSquareFit(obs, g->start));
    for (size_t f = 0; f < n; ++f) {
      std::fill(obs.begin(), obs.end(), 0);
      const auto it = transitions.find(g->links[f].name);
      if (it == transitions.end()) continue;
      for (const auto& [to, c] : it->second) obs[g->LinkId(to)] = static_cast<int64_t>(c);
      add("from " + g->links[f].name, ChiSquareFit(obs, g->transitions[f]));
    }
    std::vector<int64_t> lobs;
    std::vector<double> lexp;
    int64_t other_lengths = 0;
    for (const auto& [len, c] : lengths) {
      bool known = false;
      for (const auto& [l, p] : g->lengths) known |= l == len;
      if (!known) other_lengths += static_cast<int64_t>(c);
    }
    for (const auto& [l, p] : g->lengths) {
      lobs.push_back(lengths.count(l) ? static_cast<int64_t>(lengths.at(l)) : 0);
      lexp.push_back(p);
    }
    lobs.push_back(other_lengths);
    lexp.push_back(0);
    add("length", ChiSquareFit(lobs, lexp));
    json combined = {
        {"statistic", std::round(stat_sum * 1e4) / 1e4},
        {"df", df_sum},
        {"p_value", impossible ? 0.0 : (df_sum > 0 ? ChiSquarePValue(stat_sum, df_sum) : 1.0)},
        {"impossible", impossible}};
    out["chi_square"] = {{"tests", tests}, {"combined", combined}};
  }
  return out;
}

std::string FormatStats(const json& s) {
  std::string o;
  char buf[512];
  const json& c = s["conversations"];
  std::snprintf(buf, sizeof(buf), "conversations: %llu (ok %llu, failed %llu)\n",
                c["total"].get<unsigned long long>(), c["ok"].get<unsigned long long>(),
                c["failed"].get<unsigned long long>());
  o += buf;
  for (const auto& [r, n] : s["failures_by_reason"].items()) {
    o += "  failed: " + r + ": " + n.dump() + "\n";
  }
  o += "turns by role:\n";
  for (const auto& [r, w] : s["turns_by_role"].items()) {
    std::snprintf(buf, sizeof(buf), "  %-10s %7llu turns, words mean %.1f p50 %d p95 %d max %d\n",
                  r.c_str(), w["count"].get<unsigned long long>(), w.value("mean_words", 0.0),
                  w.value("p50_words", 0), w.value("p95_words", 0), w.value("max_words", 0));
    o += buf;
  }
  o += "phenomena:\n";
  for (const auto& [p, v] : s["phenomena"].items()) {
    std::snprintf(buf, sizeof(buf), "  %-20s %7llu planned (%.1f%% of teacher turns)", p.c_str(),
                  v["count"].get<unsigned long long>(),
                  100 * v["share_of_teacher_turns"].get<double>());
    o += buf;
    if (v.contains("verified")) {
      std::snprintf(buf, sizeof(buf), ", %llu of %llu checked shown (%.1f%%)",
                    v["verified"].get<unsigned long long>(), v["checked"].get<unsigned long long>(),
                    100 * v["verified_rate"].get<double>());
      o += buf;
    }
    o += "\n";
  }
  if (s.contains("diversity")) {
    const json& d = s["diversity"];
    std::snprintf(
        buf, sizeof(buf),
        "diversity: questions distinct-1 %.3f distinct-2 %.3f, answers distinct-1 %.3f "
        "distinct-2 %.3f; %llu near-duplicate conversations (%.1f%%); %llu documents, "
        "%d-%d conversations each (median %d)\n",
        d["questions"]["distinct_1"].get<double>(), d["questions"]["distinct_2"].get<double>(),
        d["answers"]["distinct_1"].get<double>(), d["answers"]["distinct_2"].get<double>(),
        d["near_duplicate_conversations"].get<unsigned long long>(),
        100 * d["near_duplicate_share"].get<double>(), d["documents"].get<unsigned long long>(),
        d["conversations_per_document"]["min"].get<int>(),
        d["conversations_per_document"]["max"].get<int>(),
        d["conversations_per_document"]["p50"].get<int>());
    o += buf;
  }
  const json& gr = s["grounding"];
  std::snprintf(buf, sizeof(buf),
                "grounding: %llu turns checked, mean support %.3f, grounded %.1f%%\n",
                gr["turns_with_support"].get<unsigned long long>(),
                gr["mean_support"].get<double>(), 100 * gr["grounded_rate"].get<double>());
  o += buf;
  o += "transitions (observed vs configured):\n";
  for (const auto& [from, row] : s["transitions"].items()) {
    o += "  " + from + " ->";
    for (const auto& [to, cell] : row.items()) {
      std::snprintf(buf, sizeof(buf), " %s %.3f", to.c_str(), cell.value("observed", 0.0));
      o += buf;
      if (cell.contains("configured")) {
        std::snprintf(buf, sizeof(buf), " (%.3f)", cell["configured"].get<double>());
        o += buf;
      }
    }
    o += "\n";
  }
  if (s.contains("chi_square")) {
    o += "chi-square against the graph:\n";
    for (const auto& [name, t] : s["chi_square"]["tests"].items()) {
      std::snprintf(buf, sizeof(buf), "  %-28s chi2 %10.3f  df %3d  p %.4g%s\n", name.c_str(),
                    t["statistic"].get<double>(), t["df"].get<int>(), t["p_value"].get<double>(),
                    t["impossible"].get<int64_t>() ? "  (transitions the graph forbids!)" : "");
      o += buf;
    }
    const json& cb = s["chi_square"]["combined"];
    std::snprintf(buf, sizeof(buf), "  %-28s chi2 %10.3f  df %3d  p %.4g\n", "combined",
                  cb["statistic"].get<double>(), cb["df"].get<int>(), cb["p_value"].get<double>());
    o += buf;
  }
  return o;
}

}  // namespace odlm::codi
