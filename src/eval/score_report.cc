// eval/score_report.cc — JSON, tables, per-turn curves and the SVG plot.
#include "eval/score_report.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace odlm::eval {
namespace {

std::string Fixed(double v, int decimals = 1) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

Json OptionalNumber(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

// A CoQA aggregate's score, or null when it has no turn (nothing was measured; not a 0).
Json ScoreOrNull(const CoqaAggregate& a, double v) { return a.turns > 0 ? Json(v) : Json(nullptr); }

std::string EscapeXml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

template <typename Turn, typename Include, typename Value>
std::vector<TurnCurvePoint> ByTurn(const std::vector<Turn>& turns, Include include, Value value) {
  std::map<int, std::pair<double, int>> acc;
  for (const auto& t : turns) {
    if (!include(t)) continue;
    auto& a = acc[t.turn_index];
    a.first += value(t);
    a.second += 1;
  }
  std::vector<TurnCurvePoint> out;
  for (const auto& [index, a] : acc) out.push_back({index, 100.0 * a.first / a.second, a.second});
  return out;
}

}  // namespace

Json CoqaScoresToJson(const CoqaScores& s) {
  Json j = Json::object();
  j["task"] = "coqa";
  j["f1"] = s.overall.f1;
  j["em"] = s.overall.em;
  j["recall"] = s.overall.recall;
  j["turns"] = s.overall.turns;
  j["in_domain_f1"] = ScoreOrNull(s.in_domain, s.in_domain.f1);
  j["in_domain_em"] = ScoreOrNull(s.in_domain, s.in_domain.em);
  j["in_domain_recall"] = ScoreOrNull(s.in_domain, s.in_domain.recall);
  j["in_domain_turns"] = s.in_domain.turns;
  j["out_domain_f1"] = ScoreOrNull(s.out_domain, s.out_domain.f1);
  j["out_domain_em"] = ScoreOrNull(s.out_domain, s.out_domain.em);
  j["out_domain_recall"] = ScoreOrNull(s.out_domain, s.out_domain.recall);
  j["out_domain_turns"] = s.out_domain.turns;
  Json domains = Json::object();
  for (const auto& [source, a] : s.by_source) {
    domains[source] = {{"f1", ScoreOrNull(a, a.f1)},
                       {"em", ScoreOrNull(a, a.em)},
                       {"recall", ScoreOrNull(a, a.recall)},
                       {"turns", a.turns}};
  }
  j["domains"] = std::move(domains);
  j["missing_predictions"] = s.missing_predictions;
  j["unknown_predictions"] = s.unknown_predictions;
  j["duplicate_predictions"] = s.duplicate_predictions;
  j["unanswerable"] = {{"turns", s.unanswerable_turns},
                       {"answered_unknown", s.unanswerable_correct},
                       {"accuracy", s.unanswerable_turns > 0 ? Json(100.0 * s.unanswerable_correct /
                                                                    s.unanswerable_turns)
                                                             : Json()},
                       {"answerable_answered_unknown", s.answerable_refused}};
  j["warnings"] = s.warnings;
  return j;
}

Json QuacScoresToJson(const QuacScores& s) {
  Json j = Json::object();
  j["task"] = "quac";
  j["f1"] = s.f1;
  j["unfiltered_f1"] = s.unfiltered_f1;
  j["heq_q"] = s.heq_q;
  j["heq_d"] = s.heq_d;
  j["yes_no"] = OptionalNumber(s.yes_no);
  j["followup"] = OptionalNumber(s.followup);
  // What the two accuracies are measured against: the most common gold label alone, and the one
  // label every prediction carried (null when they differ), so a constant scores no better.
  j["yes_no_majority"] = {{"label", s.yes_no_majority_label},
                          {"accuracy", OptionalNumber(s.yes_no_majority)}};
  j["followup_majority"] = {{"label", s.followup_majority_label},
                            {"accuracy", OptionalNumber(s.followup_majority)}};
  j["yes_no_constant_prediction"] =
      s.constant_yesno.empty() ? Json(nullptr) : Json(s.constant_yesno);
  j["followup_constant_prediction"] =
      s.constant_followup.empty() ? Json(nullptr) : Json(s.constant_followup);
  j["unanswerable"] = OptionalNumber(s.unanswerable);
  j["human_f1"] = s.human_f1;
  j["questions"] = s.questions;
  j["scored_questions"] = s.scored_questions;
  j["low_agreement"] = s.low_agreement;
  j["unanswerable_questions"] = s.unanswerable_questions;
  j["dialogs"] = s.dialogs;
  j["heq_q_count"] = s.heq_q_count;
  j["heq_d_count"] = s.heq_d_count;
  j["missing_predictions"] = s.missing_predictions;
  j["unknown_predictions"] = s.unknown_predictions;
  j["misplaced_predictions"] = s.misplaced_predictions;
  j["duplicate_predictions"] = s.duplicate_predictions;
  j["warnings"] = s.warnings;
  return j;
}

std::string FormatCoqaTable(const CoqaScores& s) {
  std::string out;
  char line[160];
  std::snprintf(line, sizeof(line), "%-18s %7s %7s %7s %7s\n", "domain", "F1", "EM", "recall",
                "turns");
  out += line;
  // A row without turns shows "-": nothing was measured there (a 0.0 would read as a score).
  auto row = [&](const std::string& name, const CoqaAggregate& a) {
    auto cell = [&](double v) { return a.turns > 0 ? Fixed(v) : std::string("-"); };
    std::snprintf(line, sizeof(line), "%-18s %7s %7s %7s %7d\n", name.c_str(), cell(a.f1).c_str(),
                  cell(a.em).c_str(), cell(a.recall).c_str(), a.turns);
    out += line;
  };
  // Source domains without a turn in the data are left out of the table and named below it.
  std::string absent;
  auto domain_row = [&](const std::string& src) {
    const CoqaAggregate& a = s.by_source.at(src);
    if (a.turns > 0) {
      row(CoqaDomainDisplayName(src), a);
    } else {
      absent += (absent.empty() ? "" : ", ") + CoqaDomainDisplayName(src);
    }
  };
  for (const auto& src : CoqaInDomainSources()) domain_row(src);
  for (const auto& src : CoqaOutDomainSources()) domain_row(src);
  row("in_domain", s.in_domain);
  row("out_domain", s.out_domain);
  row("overall", s.overall);
  if (!absent.empty()) out += "(no turns in the data from: " + absent + ")\n";
  if (s.unanswerable_turns > 0) {
    out += "unanswerable: " + std::to_string(s.unanswerable_correct) + " of " +
           std::to_string(s.unanswerable_turns) + " answered unknown (" +
           Fixed(100.0 * s.unanswerable_correct / s.unanswerable_turns) + "%); " +
           std::to_string(s.answerable_refused) + " of " +
           std::to_string(s.overall.turns - s.unanswerable_turns) +
           " answerable answered unknown\n";
  }
  if (s.missing_predictions + s.unknown_predictions + s.duplicate_predictions > 0) {
    out += "warnings: " + std::to_string(s.missing_predictions) + " missing (scored 0), " +
           std::to_string(s.unknown_predictions) + " unknown (ignored), " +
           std::to_string(s.duplicate_predictions) + " duplicate predictions\n";
  }
  for (const auto& w : s.warnings) out += "  " + w + "\n";
  return out;
}

std::string FormatQuacTable(const QuacScores& s) {
  auto opt = [](const std::optional<double>& v) { return v ? Fixed(*v) : std::string("n/a"); };
  std::string out;
  out += "F1                   " + Fixed(s.f1) + "\n";
  out += "unfiltered F1        " + Fixed(s.unfiltered_f1) + "  (" + std::to_string(s.questions) +
         " questions)\n";
  out += "HEQ-Q                " + Fixed(s.heq_q) + "  (" + std::to_string(s.heq_q_count) + " / " +
         std::to_string(s.scored_questions) + ")\n";
  out += "HEQ-D                " + Fixed(s.heq_d) + "  (" + std::to_string(s.heq_d_count) + " / " +
         std::to_string(s.dialogs) + ")\n";
  // The two label accuracies, with what they are measured against (see QuacScores).
  auto against = [&](const std::optional<double>& majority, const std::string& label,
                     const std::string& constant) {
    if (!majority) return std::string();
    std::string note =
        "  (exact match with the gold label; '" + label + "' alone scores " + Fixed(*majority);
    if (!constant.empty()) note += "; every prediction is '" + constant + "'";
    return note + ")";
  };
  out += "yes/no accuracy      " + opt(s.yes_no) +
         against(s.yes_no_majority, s.yes_no_majority_label, s.constant_yesno) + "\n";
  out += "follow-up accuracy   " + opt(s.followup) +
         against(s.followup_majority, s.followup_majority_label, s.constant_followup) + "\n";
  out += "unanswerable acc.    " + opt(s.unanswerable) + "  (" +
         std::to_string(s.unanswerable_questions) + " questions)\n";
  out += "human F1             " + Fixed(s.human_f1) + "  (" + std::to_string(s.low_agreement) +
         " low-agreement questions left out)\n";
  if (s.missing_predictions + s.unknown_predictions + s.misplaced_predictions +
          s.duplicate_predictions >
      0) {
    out += "warnings: " + std::to_string(s.missing_predictions) + " missing (scored 0), " +
           std::to_string(s.unknown_predictions) + " unknown, " +
           std::to_string(s.misplaced_predictions) + " misplaced, " +
           std::to_string(s.duplicate_predictions) + " duplicate predictions\n";
  }
  for (const auto& w : s.warnings) out += "  " + w + "\n";
  return out;
}

std::vector<TurnCurvePoint> CoqaRecallByTurn(const CoqaScores& s) {
  return ByTurn(
      s.turns, [](const CoqaTurnResult&) { return true; },
      [](const CoqaTurnResult& t) { return t.recall; });
}

std::vector<TurnCurvePoint> QuacF1ByTurn(const QuacScores& s) {
  return ByTurn(
      s.turns, [](const QuacTurnResult& t) { return t.kept || !t.has_prediction; },
      [](const QuacTurnResult& t) { return t.f1; });
}

std::string CurvesToSvg(const std::vector<CurveSeries>& series, const std::string& title,
                        const std::string& y_label) {
  // Plot area [left, left + width] × [top, top + height]; y from 0 (bottom) to 100 (top).
  const double left = 60, top = 40, width = 520, height = 300;
  int max_turn = 1;
  for (const auto& s : series) {
    for (const auto& p : s.points) max_turn = std::max(max_turn, p.turn_index);
  }
  auto x_of = [&](double turn) {
    return max_turn == 1 ? left + width / 2 : left + (turn - 1) * width / (max_turn - 1);
  };
  auto y_of = [&](double v) { return top + height * (1.0 - std::clamp(v, 0.0, 100.0) / 100.0); };
  static const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
  std::string svg;
  svg +=
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"700\" height=\"400\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"700\" height=\"400\" fill=\"white\"/>\n";
  svg += "<text x=\"350\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" + EscapeXml(title) +
         "</text>\n";
  for (int v = 0; v <= 100; v += 20) {
    const std::string y = Fixed(y_of(v));
    svg += "<line x1=\"" + Fixed(left) + "\" y1=\"" + y + "\" x2=\"" + Fixed(left + width) +
           "\" y2=\"" + y + "\" stroke=\"#ddd\"/>\n";
    svg += "<text x=\"" + Fixed(left - 8) + "\" y=\"" + y +
           "\" text-anchor=\"end\" dominant-baseline=\"middle\">" + std::to_string(v) + "</text>\n";
  }
  for (int t = 1; t <= max_turn; ++t) {
    svg += "<text x=\"" + Fixed(x_of(t)) + "\" y=\"" + Fixed(top + height + 18) +
           "\" text-anchor=\"middle\">" + std::to_string(t) + "</text>\n";
  }
  svg += "<rect x=\"" + Fixed(left) + "\" y=\"" + Fixed(top) + "\" width=\"" + Fixed(width) +
         "\" height=\"" + Fixed(height) + "\" fill=\"none\" stroke=\"black\"/>\n";
  svg += "<text x=\"" + Fixed(left + width / 2) + "\" y=\"" + Fixed(top + height + 38) +
         "\" text-anchor=\"middle\">turn</text>\n";
  svg += "<text x=\"16\" y=\"" + Fixed(top + height / 2) +
         "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " + Fixed(top + height / 2) + ")\">" +
         EscapeXml(y_label) + "</text>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const char* color = kColors[i % 4];
    std::string pts;
    for (const auto& p : series[i].points) {
      if (!pts.empty()) pts += " ";
      pts += Fixed(x_of(p.turn_index)) + "," + Fixed(y_of(p.value));
    }
    svg += "<polyline fill=\"none\" stroke=\"" + std::string(color) +
           "\" stroke-width=\"2\" points=\"" + pts + "\"/>\n";
    for (const auto& p : series[i].points) {
      svg += "<circle cx=\"" + Fixed(x_of(p.turn_index)) + "\" cy=\"" + Fixed(y_of(p.value)) +
             "\" r=\"3\" fill=\"" + color + "\"><title>turn " + std::to_string(p.turn_index) +
             ": " + Fixed(p.value, 2) + " (n=" + std::to_string(p.count) + ")</title></circle>\n";
    }
    const double ly = top + 14 + 16.0 * i;
    svg += "<line x1=\"" + Fixed(left + width + 10) + "\" y1=\"" + Fixed(ly) + "\" x2=\"" +
           Fixed(left + width + 30) + "\" y2=\"" + Fixed(ly) + "\" stroke=\"" + color +
           "\" stroke-width=\"2\"/>\n";
    svg += "<text x=\"" + Fixed(left + width + 34) + "\" y=\"" + Fixed(ly) +
           "\" dominant-baseline=\"middle\">" + EscapeXml(series[i].label) + "</text>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace odlm::eval
