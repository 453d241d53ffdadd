// tools/odlm/svg_writer.h — the few lines every SVG plot of the CLI starts and ends with, and a
// printf-style append (the plots are a handful of elements, formatted by hand: no library needed).
#pragma once

#include <cstdio>
#include <string>

namespace odlm::cli {

class SvgWriter {
 public:
  // A white canvas of w × h pixels, sans-serif 12 px text.
  SvgWriter(double w, double h) {
    Add("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
        "fill=\"white\"/>\n",
        w, h);
  }
  // Appends printf-formatted text (at most 511 bytes per call).
  template <typename... Args>
  void Add(const char* fmt, Args... args) {
    char buf[512];
    std::snprintf(buf, sizeof(buf), fmt, args...);
    text_ += buf;
  }
  void Raw(const std::string& s) { text_ += s; }
  // Text with <, > and & escaped.
  void Escaped(const std::string& s) {
    for (char c : s) {
      if (c == '<') {
        text_ += "&lt;";
      } else if (c == '>') {
        text_ += "&gt;";
      } else if (c == '&') {
        text_ += "&amp;";
      } else {
        text_ += c;
      }
    }
  }
  // The document, closed.
  std::string Finish() { return text_ + "</svg>\n"; }

 private:
  std::string text_;
};

}  // namespace odlm::cli
