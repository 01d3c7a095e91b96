#include "report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "report/junit_report.h"  // XmlEscape

namespace chatbatch {
namespace {

std::string Fixed(double v, int decimals = 1) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return values[std::min(index, values.size() - 1)];
}

std::string FormatMs(double ms) {
  if (ms < 0) return "–";
  if (ms < 1000) return Fixed(ms, 0) + " ms";
  if (ms < 60000) return Fixed(ms / 1000.0, 2) + " s";
  return Fixed(ms / 60000.0, 1) + " min";
}

ChartPercentiles PercentilesOf(std::vector<double> values) {
  ChartPercentiles p;
  if (values.empty()) return p;
  std::sort(values.begin(), values.end());
  const auto at = [&values](double q) {
    double rank = std::ceil(q / 100.0 * static_cast<double>(values.size()));
    size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
    return values[std::min(index, values.size() - 1)];
  };
  p.p50 = at(50);
  p.p90 = at(90);
  p.p99 = at(99);
  return p;
}

std::string FormatDelta(double baseline_ms, double new_ms) {
  const double d = new_ms - baseline_ms;
  // U+2212 for minus, as in the charts' text.
  // Below 10 ms a tenth of a millisecond still tells "no change" from a
  // small one.
  const double a = std::abs(d);
  std::string out =
      (d < 0 ? "\u2212" : "+") + (a < 10 ? Fixed(a, 1) + " ms" : FormatMs(a));
  if (baseline_ms > 0) {
    const double pct = d / baseline_ms * 100.0;
    out += " (" + std::string(pct < 0 ? "\u2212" : "+") +
           Fixed(std::abs(pct), 1) + " %)";
  }
  return out;
}

std::string HistogramSvg(const std::vector<double>& values,
                         std::string_view title, std::string_view unit,
                         int bins, const std::vector<double>* baseline) {
  constexpr int kWidth = 560, kHeight = 240;
  constexpr int kLeft = 44, kRight = 16, kTop = 30, kBottom = 40;
  const int plot_w = kWidth - kLeft - kRight;
  const int plot_h = kHeight - kTop - kBottom;
  const std::string label = XmlEscape(title, true);
  std::string svg =
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
      "viewBox=\"0 0 " +
      std::to_string(kWidth) + " " + std::to_string(kHeight) +
      "\" role=\"img\" aria-label=\"" + label + "\">";
  svg += "<text class=\"chart-title\" x=\"" + std::to_string(kLeft) +
         "\" y=\"18\">" + XmlEscape(title, false) + "</text>";
  const bool overlay = baseline != nullptr && !baseline->empty();
  if (values.empty() && !overlay) {
    svg += "<text class=\"axis\" x=\"" + std::to_string(kWidth / 2) +
           "\" y=\"" + std::to_string(kHeight / 2) +
           "\" text-anchor=\"middle\">no data</text></svg>";
    return svg;
  }
  bins = std::max(1, bins);
  double lo = 0;
  double hi =
      values.empty() ? 0 : *std::max_element(values.begin(), values.end());
  if (overlay) {
    hi = std::max(hi, *std::max_element(baseline->begin(), baseline->end()));
  }
  if (hi <= lo) hi = lo + 1;
  const auto histogram = [&](const std::vector<double>& of) {
    std::vector<int> counts(static_cast<size_t>(bins), 0);
    for (double v : of) {
      int b = static_cast<int>((v - lo) / (hi - lo) * bins);
      counts[static_cast<size_t>(std::clamp(b, 0, bins - 1))]++;
    }
    return counts;
  };
  const std::vector<int> counts = histogram(values);
  const std::vector<int> base_counts =
      overlay ? histogram(*baseline) : std::vector<int>();
  int max_count = *std::max_element(counts.begin(), counts.end());
  if (overlay) {
    max_count = std::max(
        max_count, *std::max_element(base_counts.begin(), base_counts.end()));
  }
  const double bar_w = static_cast<double>(plot_w) / bins;
  const auto x_of = [&](double v) {
    return kLeft + (v - lo) / (hi - lo) * plot_w;
  };
  // Axes.
  svg += "<line class=\"axis-line\" x1=\"" + std::to_string(kLeft) +
         "\" y1=\"" + std::to_string(kTop + plot_h) + "\" x2=\"" +
         std::to_string(kLeft + plot_w) + "\" y2=\"" +
         std::to_string(kTop + plot_h) + "\"/>";
  svg += "<text class=\"axis\" x=\"" + std::to_string(kLeft - 6) + "\" y=\"" +
         std::to_string(kTop + 4) + "\" text-anchor=\"end\">" +
         std::to_string(max_count) + "</text>";
  svg += "<text class=\"axis\" x=\"" + std::to_string(kLeft - 6) + "\" y=\"" +
         std::to_string(kTop + plot_h) + "\" text-anchor=\"end\">0</text>";
  for (int i = 0; i <= 4; ++i) {
    double v = lo + (hi - lo) * i / 4.0;
    svg += "<text class=\"axis\" x=\"" + Fixed(x_of(v)) + "\" y=\"" +
           std::to_string(kTop + plot_h + 16) + "\" text-anchor=\"middle\">" +
           XmlEscape(FormatMs(v), false) + "</text>";
  }
  svg += "<text class=\"axis\" x=\"" + std::to_string(kLeft + plot_w) +
         "\" y=\"" + std::to_string(kHeight - 4) + "\" text-anchor=\"end\">" +
         XmlEscape(unit, false) + "</text>";
  // The baseline's bars first, outlined, so the run's stay readable.
  for (int b = 0; overlay && b < bins; ++b) {
    const int c = base_counts[static_cast<size_t>(b)];
    if (c == 0) continue;
    double h = static_cast<double>(c) / max_count * plot_h;
    svg += "<rect class=\"bar-base\" x=\"" + Fixed(kLeft + b * bar_w + 1) +
           "\" y=\"" + Fixed(kTop + plot_h - h) + "\" width=\"" +
           Fixed(std::max(1.0, bar_w - 2)) + "\" height=\"" + Fixed(h) +
           "\"><title>baseline: " + std::to_string(c) + "</title></rect>";
  }
  if (overlay) {
    svg += "<rect class=\"bar\" x=\"" + std::to_string(kWidth - 190) +
           "\" y=\"9\" width=\"10\" height=\"10\"/><text class=\"axis\" x=\"" +
           std::to_string(kWidth - 176) +
           "\" y=\"18\">this run</text><rect class=\"bar-base\" x=\"" +
           std::to_string(kWidth - 110) +
           "\" y=\"9\" width=\"10\" height=\"10\"/><text class=\"axis\" x=\"" +
           std::to_string(kWidth - 96) + "\" y=\"18\">baseline</text>";
  }
  // Bars.
  for (int b = 0; b < bins; ++b) {
    const int c = counts[static_cast<size_t>(b)];
    if (c == 0) continue;
    double h = static_cast<double>(c) / max_count * plot_h;
    double from = lo + (hi - lo) * b / bins;
    double to = lo + (hi - lo) * (b + 1) / bins;
    svg += "<rect class=\"bar\" x=\"" + Fixed(kLeft + b * bar_w + 1) +
           "\" y=\"" + Fixed(kTop + plot_h - h) + "\" width=\"" +
           Fixed(std::max(1.0, bar_w - 2)) + "\" height=\"" + Fixed(h) +
           "\"><title>" + XmlEscape(FormatMs(from), false) + " – " +
           XmlEscape(FormatMs(to), false) + ": " + std::to_string(c) +
           "</title></rect>";
  }
  // Percentile markers.
  const struct {
    double p;
    const char* name;
  } marks[] = {{50, "p50"}, {90, "p90"}, {99, "p99"}};
  int row = 0;
  for (const auto& m : marks) {
    if (values.empty()) break;
    double v = Percentile(values, m.p);
    std::string x = Fixed(x_of(v));
    svg += "<line class=\"mark mark-" + std::string(m.name) + "\" x1=\"" + x +
           "\" y1=\"" + std::to_string(kTop) + "\" x2=\"" + x + "\" y2=\"" +
           std::to_string(kTop + plot_h) + "\"/>";
    // Labels right of the middle go left of their line, so none is cut off.
    const bool left = x_of(v) > kLeft + plot_w / 2.0;
    svg += "<text class=\"mark-label\" x=\"" +
           Fixed(x_of(v) + (left ? -3 : 3)) + "\" y=\"" +
           std::to_string(kTop + 10 + 12 * row++) + "\"" +
           (left ? " text-anchor=\"end\"" : "") + ">" + m.name + " " +
           XmlEscape(FormatMs(v), false) + "</text>";
  }
  svg += "</svg>";
  return svg;
}

}  // namespace chatbatch

namespace chatbatch {

std::string LineChartSvg(const std::vector<ChartLine>& lines,
                         std::string_view title, std::string_view x_unit,
                         std::string_view y_unit) {
  constexpr int kWidth = 560, kHeight = 280;
  constexpr int kLeft = 56, kRight = 24, kTop = 44, kBottom = 40;
  const int plot_w = kWidth - kLeft - kRight;
  const int plot_h = kHeight - kTop - kBottom;
  std::string svg =
      "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
      "viewBox=\"0 0 " +
      std::to_string(kWidth) + " " + std::to_string(kHeight) +
      "\" role=\"img\" aria-label=\"" + XmlEscape(title, true) + "\">";
  svg += "<text class=\"chart-title\" x=\"" + std::to_string(kLeft) +
         "\" y=\"18\">" + XmlEscape(title, false) + "</text>";
  double max_x = 0, max_y = 0;
  bool any = false;
  for (const ChartLine& line : lines) {
    for (const ChartPoint& p : line.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
      any = true;
      max_x = std::max(max_x, p.x);
      max_y = std::max(max_y, p.y);
    }
  }
  if (!any) {
    svg += "<text class=\"axis\" x=\"" + std::to_string(kWidth / 2) +
           "\" y=\"" + std::to_string(kHeight / 2) +
           "\" text-anchor=\"middle\">no data</text></svg>";
    return svg;
  }
  // A little room right and above the last point for its label.
  max_x = max_x > 0 ? max_x * 1.08 : 1;
  max_y = max_y > 0 ? max_y * 1.1 : 1;
  const auto x_of = [&](double v) { return kLeft + v / max_x * plot_w; };
  const auto y_of = [&](double v) {
    return kTop + plot_h - v / max_y * plot_h;
  };
  const std::string bottom = std::to_string(kTop + plot_h);
  svg += "<line class=\"axis-line\" x1=\"" + std::to_string(kLeft) +
         "\" y1=\"" + bottom + "\" x2=\"" + std::to_string(kLeft + plot_w) +
         "\" y2=\"" + bottom + "\"/>";
  svg += "<line class=\"axis-line\" x1=\"" + std::to_string(kLeft) +
         "\" y1=\"" + std::to_string(kTop) + "\" x2=\"" +
         std::to_string(kLeft) + "\" y2=\"" + bottom + "\"/>";
  for (int i = 0; i <= 4; ++i) {
    const double xv = max_x * i / 4.0, yv = max_y * i / 4.0;
    svg += "<text class=\"axis\" x=\"" + Fixed(x_of(xv)) + "\" y=\"" +
           std::to_string(kTop + plot_h + 16) + "\" text-anchor=\"middle\">" +
           (i == 0 ? "0" : Fixed(xv, xv < 10 ? 1 : 0)) + "</text>";
    svg += "<text class=\"axis\" x=\"" + std::to_string(kLeft - 6) + "\" y=\"" +
           Fixed(y_of(yv) + 3) + "\" text-anchor=\"end\">" +
           XmlEscape(FormatMs(yv), false) + "</text>";
  }
  svg += "<text class=\"axis\" x=\"" + std::to_string(kLeft + plot_w) +
         "\" y=\"" + std::to_string(kHeight - 4) + "\" text-anchor=\"end\">" +
         XmlEscape(x_unit, false) + "</text>";
  svg += "<text class=\"axis\" x=\"4\" y=\"" + std::to_string(kTop - 8) +
         "\">" + XmlEscape(y_unit, false) + "</text>";
  for (size_t n = 0; n < lines.size(); ++n) {
    const ChartLine& line = lines[n];
    const std::string index = std::to_string(n);
    // Legend, in a row under the title.
    const int lx = kLeft + static_cast<int>(n) * 150;
    svg += "<line class=\"series series-" + index + "\" x1=\"" +
           std::to_string(lx) + "\" y1=\"28\" x2=\"" + std::to_string(lx + 16) +
           "\" y2=\"28\"/><text class=\"axis\" x=\"" + std::to_string(lx + 20) +
           "\" y=\"31\">" + XmlEscape(line.name, false) + "</text>";
    std::string points, dots;
    for (const ChartPoint& p : line.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
      const std::string x = Fixed(x_of(p.x)), y = Fixed(y_of(p.y));
      points += (points.empty() ? "" : " ") + x + "," + y;
      dots += "<circle class=\"dot-" + index + "\" cx=\"" + x + "\" cy=\"" + y +
              "\" r=\"3\"><title>" +
              XmlEscape(p.label + ": " + line.name + " " + FormatMs(p.y) +
                            " at " + Fixed(p.x, 1) + " " + std::string(x_unit),
                        false) +
              "</title></circle>";
      if (line.labelled) {
        dots += "<text class=\"point-label\" x=\"" + Fixed(x_of(p.x) + 4) +
                "\" y=\"" + Fixed(y_of(p.y) - 6) + "\">" +
                XmlEscape(p.label, false) + "</text>";
      }
    }
    svg += "<polyline class=\"series series-" + index + "\" points=\"" +
           points + "\"/>" + dots;
  }
  svg += "</svg>";
  return svg;
}

}  // namespace chatbatch
