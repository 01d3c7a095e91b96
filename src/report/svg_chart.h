// Small inline SVG charts for the HTML report (no scripts, no fonts to load).
#ifndef CHATBATCH_SVG_CHART_H_
#define CHATBATCH_SVG_CHART_H_

#include <string>
#include <string_view>
#include <vector>

namespace chatbatch {

// Nearest-rank percentile ("p" in 0..100) of "values"; 0 when empty.
double Percentile(std::vector<double> values, double p);

// A histogram of "values" (e.g. milliseconds) as one <svg> element with
// "bins" bars, the p50/p90/p99 marked as dashed vertical lines, and axis
// labels in "unit". "title" labels the chart (and its aria-label). With no
// values, a placeholder saying so. With "baseline", its histogram is drawn
// over the same bins as outlined bars (class "bar-base") behind the run's,
// with a legend.
std::string HistogramSvg(const std::vector<double>& values,
                         std::string_view title, std::string_view unit,
                         int bins = 20,
                         const std::vector<double>* baseline = nullptr);

// One line of a LineChartSvg: points in the order drawn, each with a
// label ("step 2") for its tooltip, and for the chart when "labelled".
struct ChartPoint {
  double x = 0, y = 0;
  std::string label;
};
struct ChartLine {
  std::string name;  // the legend's
  std::vector<ChartPoint> points;
  bool labelled = false;  // write each point's label beside it
};

// Lines with points (class "series-N" and "dot-N", N the line's index, up
// to three styled) as one <svg> element, both axes from 0: x in "x_unit"
// (plain numbers), y in milliseconds (FormatMs), a legend of the lines'
// names. With no point, a placeholder saying so.
std::string LineChartSvg(const std::vector<ChartLine>& lines,
                         std::string_view title, std::string_view x_unit,
                         std::string_view y_unit);

// The p50, p90 and p99 (nearest rank) of "values", all 0 when empty.
struct ChartPercentiles {
  double p50 = 0, p90 = 0, p99 = 0;
};
ChartPercentiles PercentilesOf(std::vector<double> values);

// "new - baseline" of a latency as "+12 ms (+4.1 %)" / "−3 ms (−0.5 %)";
// the relative part is left out when the baseline is 0.
std::string FormatDelta(double baseline_ms, double new_ms);

// "1234.5" ms as "1.23 s" / "812 ms"; "–" for a negative value.
std::string FormatMs(double ms);

}  // namespace chatbatch

#endif  // CHATBATCH_SVG_CHART_H_
