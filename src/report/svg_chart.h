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
// values, a placeholder saying so.
std::string HistogramSvg(const std::vector<double>& values,
                         std::string_view title, std::string_view unit,
                         int bins = 20);

// "1234.5" ms as "1.23 s" / "812 ms"; "–" for a negative value.
std::string FormatMs(double ms);

}  // namespace chatbatch

#endif  // CHATBATCH_SVG_CHART_H_
