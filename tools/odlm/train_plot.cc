// tools/odlm/train_plot.cc — SVG loss curves from a training log.
#include "train_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "platform/file_util.h"
#include "svg_writer.h"

namespace odlm::cli {

Status WriteLossPlotSvg(const std::string& log_path, const std::string& svg_path,
                        const std::string& title) {
  auto text = ReadFileToString(log_path);
  if (!text.ok()) return text.status();
  struct Point {
    double step, value;
  };
  std::vector<Point> train, val;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("step")) continue;
    const double step = j["step"].get<double>();
    if (j.contains("loss") && j["loss"].is_number()) train.push_back({step, j["loss"]});
    if (j.contains("val_loss") && j["val_loss"].is_number()) val.push_back({step, j["val_loss"]});
  }
  if (train.empty()) return InvalidArgumentError(log_path + " holds no training step");
  double x_hi = 1, y_lo = 1e30, y_hi = -1e30;
  for (const auto* s : {&train, &val}) {
    for (const Point& p : *s) {
      x_hi = std::max(x_hi, p.step);
      y_lo = std::min(y_lo, p.value);
      y_hi = std::max(y_hi, p.value);
    }
  }
  if (y_hi - y_lo < 1e-6) y_hi = y_lo + 1;
  const double w = 760, h = 420, left = 70, right = 130, top = 45, bottom = 50;
  auto x_of = [&](double s) { return left + (w - left - right) * s / x_hi; };
  auto y_of = [&](double v) { return top + (h - top - bottom) * (1 - (v - y_lo) / (y_hi - y_lo)); };
  SvgWriter o(w, h);
  o.Add("<text x=\"%.0f\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">", w / 2);
  o.Escaped(title);
  o.Raw("</text>\n");
  for (int i = 0; i <= 5; ++i) {
    const double v = y_lo + (y_hi - y_lo) * i / 5, y = y_of(v);
    o.Add("<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left,
          w - right, y, y);
    o.Add("<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", left - 6, y + 4, v);
    const double s = x_hi * i / 5;
    o.Add("<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.0f</text>\n", x_of(s),
          h - bottom + 16, s);
  }
  o.Add("<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">optimizer step</text>\n",
        (left + w - right) / 2, h - 12);
  o.Add(
      "<text x=\"16\" y=\"%.0f\" transform=\"rotate(-90 16 %.0f)\" text-anchor=\"middle\">"
      "loss (nats per weighted token)</text>\n",
      (top + h - bottom) / 2, (top + h - bottom) / 2);
  const char* colors[] = {"#1f77b4", "#d62728"};
  const char* names[] = {"training", "validation"};
  int k = 0;
  for (const auto* s : {&train, &val}) {
    if (!s->empty()) {
      o.Add("<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"%s\" points=\"", colors[k]);
      for (const Point& p : *s) o.Add("%.1f,%.1f ", x_of(p.step), y_of(p.value));
      o.Raw("\"/>\n");
      o.Add(
          "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" "
          "stroke-width=\"2\"/>\n",
          w - right + 10, w - right + 30, top + 10.0 + 18 * k, top + 10.0 + 18 * k, colors[k]);
      o.Add("<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", w - right + 34, top + 14.0 + 18 * k,
            names[k]);
    }
    ++k;
  }
  return WriteFileAtomically(svg_path, o.Finish());
}

}  // namespace odlm::cli
