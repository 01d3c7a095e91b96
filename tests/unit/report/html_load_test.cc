// The HTML report's "Load" section, from summary.json's "load".
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "chatbatch/run_output.h"
#include "report/html_report.h"
#include "report/svg_chart.h"
#include "support/load_report_sample.h"
#include "support/report_test_util.h"
#include "support/temp_dir.h"

namespace chatbatch {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing_load::SampleLoad;
using testing_report::CountOf;
using testing_report::SampleRun;

// The section's text; "" when the report has none.
std::string Section(const std::string& html) {
  const size_t at = html.find("<section id=\"load\">");
  if (at == std::string::npos) return "";
  return html.substr(at, html.find("</section>", at) - at);
}

TEST(HtmlLoadTest, NoSectionWithoutLoad) {
  const std::string html = RenderHtmlReport(SampleRun());
  EXPECT_EQ(Section(html), "");
  EXPECT_THAT(html, Not(HasSubstr("Throughput vs latency")));
}

TEST(HtmlLoadTest, StepTableMissesAndClientLimits) {
  ReportRun run = SampleRun();
  run.load = SampleLoad();
  const std::string load = Section(RenderHtmlReport(run));
  ASSERT_NE(load, "");
  EXPECT_THAT(load, HasSubstr("<h2>Load</h2>"));
  EXPECT_THAT(load, HasSubstr("seed 7"));
  EXPECT_THAT(load, HasSubstr("data-slo=\"missed\">SLO missed</span>"));
  // Lag under 10 ms to a tenth: 1.5 ms is not "2 ms".
  EXPECT_THAT(load, HasSubstr("<td class=\"num\">1.5 ms</td>"));
  EXPECT_THAT(load, HasSubstr("<td class=\"num\">14 ms</td>"));
  EXPECT_EQ(CountOf(load, "<tr class=\"step"), 2);
  EXPECT_THAT(load, HasSubstr("<tr class=\"step\" data-step=\"1\"><td>1</td>"
                              "<td>rate 10/s</td><td class=\"num\">9.8/s</td>"
                              "<td class=\"num\">29.4</td><td "
                              "class=\"num\">1234</td><td class=\"num\">120 "
                              "ms</td><td class=\"num\">310 ms</td>"));
  EXPECT_THAT(load, HasSubstr("<tr class=\"step miss\" data-step=\"2\">"));
  EXPECT_THAT(load, HasSubstr("<td class=\"num\">~2301</td>"));
  EXPECT_THAT(load, HasSubstr("<td class=\"num\">91.2 %</td>"));
  EXPECT_THAT(load, HasSubstr("<td class=\"num\">28 (1.0 %)</td>"));
  EXPECT_THAT(load, HasSubstr("client-limited</span>"));
  EXPECT_THAT(load, HasSubstr("<li class=\"miss\">step 2 (rate 20/s): "
                              "ttft_p95 612 ms &gt; 500 ms</li>"));
  EXPECT_THAT(load, HasSubstr("<li class=\"miss\">step 2 (rate 20/s): "
                              "goodput 91.2% &lt; 95%</li>"));
  EXPECT_THAT(load, HasSubstr("step 2 (rate 20/s): client-limited: schedule "
                              "lag p99 14.2 ms &gt; 10 ms; 3 cap hits"));
}

TEST(HtmlLoadTest, ChartAcrossStepsAndTtftByTurn) {
  ReportRun run = SampleRun();
  run.load = SampleLoad();
  const std::string load = Section(RenderHtmlReport(run));
  EXPECT_THAT(load, HasSubstr("aria-label=\"Throughput vs latency across "
                              "steps\""));
  EXPECT_EQ(CountOf(load, "<polyline class=\"series"), 3);
  EXPECT_EQ(CountOf(load, "<circle "), 6);  // 3 lines × 2 steps
  EXPECT_EQ(CountOf(load, "class=\"point-label\""), 2);
  EXPECT_THAT(load, HasSubstr(">step 2: TTFT p99 951 ms at 55.9 achieved "
                              "turns/s</title>"));
  // The last step in full, the first folded.
  EXPECT_THAT(load, HasSubstr("<h3>TTFT by turn number</h3>"));
  EXPECT_EQ(CountOf(load, "<table class=\"byturn\""), 2);
  EXPECT_THAT(load, HasSubstr("<details><summary>step 1 (rate 10/s)"));
  EXPECT_THAT(load, HasSubstr("<tr><td class=\"num\">2</td><td "
                              "class=\"num\">490</td><td class=\"num\">140 "
                              "ms</td><td class=\"num\">160 ms</td><td "
                              "class=\"num\">4.0</td><td "
                              "class=\"num\">950</td><td "
                              "class=\"num\">–</td></tr>"));
}

TEST(HtmlLoadTest, LabelsAreEscaped) {
  ReportRun run = SampleRun();
  run.load = SampleLoad();
  run.load->steps[0].label = "<script>x</script>";
  const std::string load = Section(RenderHtmlReport(run));
  EXPECT_THAT(load, HasSubstr("&lt;script&gt;x&lt;/script&gt;"));
  EXPECT_THAT(load, Not(HasSubstr("<script>")));
}

TEST(HtmlLoadTest, ReadFromTheRunDirectorysSummary) {
  testfs::TempDir tmp{"chatbatch_html_load_"};
  RunSummary summary;
  summary.job_name = "loadjob";
  summary.load = SampleLoad();
  std::ofstream(tmp.path() + "/summary.json", std::ios::binary)
      << SummaryToJson(summary);
  Result<ReportRun> run = LoadReportRun(tmp.path());
  ASSERT_TRUE(run.has_value()) << run.error().message;
  ASSERT_TRUE(run->load.has_value());
  EXPECT_THAT(Section(RenderHtmlReport(*run)), HasSubstr("<td>rate 20/s</td>"));
}

TEST(LineChartTest, PlaceholderWithoutPoints) {
  EXPECT_THAT(LineChartSvg({{"TTFT p50", {}, false}}, "t", "x", "ms"),
              HasSubstr(">no data</text>"));
}

}  // namespace
}  // namespace chatbatch
