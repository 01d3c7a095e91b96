#include "report/html_report.h"

#include <gtest/gtest.h>

#include "report/svg_chart.h"
#include "report/text_diff.h"
#include "support/report_test_util.h"

namespace chatbatch {
namespace {

using testing_report::CountOf;
using testing_report::SampleRun;

TEST(HtmlReportTest, OneRowAndOneTranscriptPerConversation) {
  std::string html = RenderHtmlReport(SampleRun());
  EXPECT_TRUE(html.starts_with("<!DOCTYPE html>"));
  EXPECT_NE(html.find("<title>chatbatch report: smoke</title>"),
            std::string::npos);
  EXPECT_EQ(CountOf(html, "<tr class=\"conv\""), 4);
  EXPECT_EQ(CountOf(html, "<section class=\"transcript\""), 4);
  EXPECT_NE(html.find("data-status=\"failed\""), std::string::npos);
  EXPECT_NE(html.find("data-status=\"error\""), std::string::npos);
  EXPECT_NE(html.find("data-filter=\"failed\""), std::string::npos);
  EXPECT_NE(html.find("data-filter=\"error\""), std::string::npos);
  EXPECT_EQ(html.find("data-filter=\"changed\""), std::string::npos);
  EXPECT_EQ(CountOf(html, "<svg class=\"chart\""), 3);  // TTFT, duration, gap
  EXPECT_NE(html.find("✗ contains"), std::string::npos);
  EXPECT_NE(html.find("HTTP 500"), std::string::npos);
}

TEST(HtmlReportTest, SelfContained) {
  std::string html = RenderHtmlReport(SampleRun());
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find(" href="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  // The only http:// is the SVG namespace name (never fetched).
  EXPECT_EQ(CountOf(html, "http://"),
            CountOf(html, "xmlns=\"http://www.w3.org/2000/svg\""));
}

TEST(HtmlReportTest, UntrustedTextRendersAsText) {
  ReportRun run = SampleRun();
  run.conversations[0].id = "x\"><img onerror=alert(1)>";
  run.conversations[0].turns[0].reply =
      "<script>alert('pwned')</script></textarea></pre><b>bold</b>";
  run.conversations[0].turns[0].reasoning = "</details><script>x()</script>";
  run.conversations[0].turns[1].user = "]]><!-- \x01 -->";
  run.job = "<script>job</script>";
  std::string html = RenderHtmlReport(run);
  EXPECT_EQ(CountOf(html, "<script"), 1) << "only the report's own script";
  EXPECT_EQ(html.find("</textarea>"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<b>bold"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert('pwned')&lt;/script&gt;&lt;/"
                      "textarea&gt;&lt;/pre&gt;&lt;b&gt;bold&lt;/b&gt;"),
            std::string::npos);
  EXPECT_NE(html.find("x\"&gt;&lt;img onerror=alert(1)&gt;"),
            std::string::npos);
  EXPECT_EQ(html.find('\x01'), std::string::npos);
}

TEST(HtmlReportTest, ComparisonMarksChangedAndShowsDiff) {
  ReportRun base = SampleRun();
  // Recorded in the baseline, so compare knows it (it lists <id>.jsonl).
  base.conversations.back().turns = {testing_report::Turn(1, "q", "a")};
  ReportRun run = SampleRun();
  run.conversations[0].turns[1].reply = "Goodbye and good luck";
  run.conversations.pop_back();  // "later" is missing from this run
  ReportConversation extra{"fresh", "ok", "", {}};
  extra.turns = {testing_report::Turn(1, "q", "a")};
  run.conversations.push_back(extra);
  std::string html = RenderHtmlReport(run, &base);
  EXPECT_NE(html.find("data-filter=\"changed\""), std::string::npos);
  EXPECT_EQ(CountOf(html, "<tr class=\"conv\""), 5);
  EXPECT_EQ(CountOf(html, "data-changed=\"1\""), 3);  // greet, fresh, later
  EXPECT_NE(html.find("<ins> and good luck</ins>"), std::string::npos) << html;
  EXPECT_NE(html.find("<span class=\"badge missing\">missing</span>"),
            std::string::npos);
  EXPECT_NE(html.find("<span class=\"badge new\">new</span>"),
            std::string::npos);
}

// One word diff (report/text_diff.h) behind compare's "[-a-]{+b+}" text and
// the report's <del>/<ins>; both headers in one file must compile.
TEST(WordDiffTest, PiecesBehindCompareAndTheReport) {
  std::vector<DiffPiece> d = WordDiffPieces("the quick fox", "the slow fox");
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].kind, DiffPiece::kSame);
  EXPECT_EQ(d[0].text, "the ");
  EXPECT_EQ(d[1].kind, DiffPiece::kRemoved);
  EXPECT_EQ(d[1].text, "quick");
  EXPECT_EQ(d[2].kind, DiffPiece::kAdded);
  EXPECT_EQ(d[2].text, "slow");
  EXPECT_EQ(d[3].text, " fox");
  EXPECT_TRUE(WordDiffPieces("", "").empty());
  EXPECT_EQ(WordDiff("the quick fox", "the slow fox"),
            "the [-quick-]{+slow+} fox");
}

TEST(WordDiffTest, BoundedDiffKeepsTheCommonEnds) {
  std::vector<DiffPiece> d =
      WordDiffPieces("keep a b c end", "keep x y z end", /*max_cells=*/4);
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0], (DiffPiece{DiffPiece::kSame, "keep "}));
  EXPECT_EQ(d[1], (DiffPiece{DiffPiece::kRemoved, "a b c"}));
  EXPECT_EQ(d[2], (DiffPiece{DiffPiece::kAdded, "x y z"}));
  EXPECT_EQ(d[3], (DiffPiece{DiffPiece::kSame, " end"}));
  // Within the bound, the exact diff.
  EXPECT_EQ(WordDiffPieces("keep a b c end", "keep x y z end", 25),
            WordDiffPieces("keep a b c end", "keep x y z end"));
}

TEST(SvgChartTest, PercentilesAndMarkers) {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(Percentile(v, 50), 50);
  EXPECT_EQ(Percentile(v, 90), 90);
  EXPECT_EQ(Percentile(v, 99), 99);
  EXPECT_EQ(Percentile({}, 50), 0);
  std::string svg = HistogramSvg(v, "TTFT <ms>", "ms");
  EXPECT_TRUE(svg.starts_with("<svg"));
  EXPECT_NE(svg.find("TTFT &lt;ms&gt;"), std::string::npos);
  EXPECT_NE(svg.find("class=\"mark mark-p50\""), std::string::npos);
  EXPECT_NE(svg.find("class=\"mark mark-p99\""), std::string::npos);
  EXPECT_EQ(CountOf(svg, "<rect class=\"bar\""), 20);
  EXPECT_NE(HistogramSvg({}, "t", "ms").find("no data"), std::string::npos);
}

}  // namespace
}  // namespace chatbatch
