// What the HTML report shows of a change (issue 13 §4): statuses counted by
// the one rule compare uses, the baseline's status and error, changed user
// messages, new and missing turns, cached turns, undecided checks, latency
// deltas, and several runs side by side.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "output/run_dir.h"
#include "report/compare.h"
#include "report/html_report.h"
#include "report/junit_report.h"
#include "report/report_model.h"
#include "report/svg_chart.h"
#include "support/report_test_util.h"
#include "support/run_pair_fixture.h"

namespace chatbatch {
namespace {

using nlohmann::json;
using testing_report::CountOf;
using testing_report::RecordLine;
using testing_report::Turn;

// RecordLine with changes: "cached", expectations.
std::string Record(int turn, const std::string& user, const std::string& reply,
                   const std::string& status, const json& extra) {
  json r = json::parse(RecordLine(turn, user, reply, status));
  for (const auto& [k, v] : extra.items()) r[k] = v;
  return r.dump() + "\n";
}

TEST(ConversationStatusTest, OneRuleForCompareAndReports) {
  EXPECT_EQ(ConversationStatusOf("", {}), "pending");
  EXPECT_EQ(ConversationStatusOf("", {"ok", "ok"}), "ok");
  EXPECT_EQ(ConversationStatusOf("", {"ok", "failed"}), "failed");
  EXPECT_EQ(ConversationStatusOf("", {"failed", "error"}), "error");
  EXPECT_EQ(ConversationStatusOf("", {"ok", "pending"}), "pending");
  EXPECT_EQ(ConversationStatusOf("running", {"ok"}), "pending");
  // Stopped early: the summary knows more turns were due.
  EXPECT_EQ(ConversationStatusOf("pending", {"ok"}), "pending");
  // Older summaries said "error" for a failed expectation.
  EXPECT_EQ(ConversationStatusOf("error", {"failed"}), "failed");
  // A check the summary did not know was undecided or still grading.
  EXPECT_EQ(ConversationStatusOf("ok", {"error"}), "error");
  EXPECT_EQ(ConversationStatusOf("ok", {"pending"}), "pending");
  EXPECT_EQ(ConversationStatusOf("failed", {"ok"}), "failed");

  StatusCounts c;
  for (const char* s : {"ok", "ok", "failed", "error", "pending", "running"}) {
    c.Add(s);
  }
  EXPECT_EQ(c.ok, 2);
  EXPECT_EQ(c.failed, 1);
  EXPECT_EQ(c.error, 1);
  EXPECT_EQ(c.pending, 2);
  EXPECT_EQ(c.total(), 6);
}

TEST(ConversationStatusTest, UndecidedChecksAreErrorOrPendingNotFailed) {
  TurnRecord r;
  r.ok = true;
  r.expect_ok = false;
  r.reply.content = "hi";
  ExpectationResult judged;
  judged.check = "judge";
  judged.ok = false;
  judged.status = "error";
  judged.detail = "judge unreachable: connect refused";
  r.expectations = {judged};
  EXPECT_EQ(TurnDisplayStatus(r), "error");
  EXPECT_EQ(UndecidedCheck(r), "judge: judge unreachable: connect refused");
  TurnSide side = SideOf(TurnRecord(r));
  EXPECT_EQ(side.status, "error");
  EXPECT_EQ(side.error_kind, "judge");
  EXPECT_EQ(side.error, "judge: judge unreachable: connect refused");

  r.expectations[0].status = "pending";
  r.expect_ok = true;
  EXPECT_EQ(TurnDisplayStatus(r), "pending");
  r.expectations[0].status = "";
  r.expectations[0].ok = true;
  EXPECT_EQ(TurnDisplayStatus(r), "ok");
  // A transport error stays what it is.
  r.ok = false;
  r.error = "HTTP 500";
  r.expectations[0].status = "pending";
  EXPECT_EQ(TurnDisplayStatus(r), "error");
}

class ReportChangesTest : public testing_report::RunPairFixture {
 protected:
  // base -> run: "flip" went from error to failed, "user" changed its user
  // message, "longer" gained a turn, "shorter" lost one, "cached" has a
  // cached turn, "later" is only in run's summary (never started).
  void WriteFixture() {
    Write("base", "flip.jsonl", RecordLine(1, "q", "", "error"));
    Write("run", "flip.jsonl",
          Record(1, "q", "five", "failed",
                 {{"expect_ok", false},
                  {"expectations", json::array({{{"check", "contains"},
                                                 {"expected", "4"},
                                                 {"ok", false},
                                                 {"detail", "no 4"}}})}}));
    Write("base", "user.jsonl", RecordLine(1, "what is two", "r"));
    Write("run", "user.jsonl", RecordLine(1, "what is three", "r"));
    Write("base", "longer.jsonl", RecordLine(1, "a", "b"));
    Write("run", "longer.jsonl",
          RecordLine(1, "a", "b") + RecordLine(2, "c", "d"));
    Write("base", "shorter.jsonl",
          RecordLine(1, "a", "b") + RecordLine(2, "gone", "old"));
    Write("run", "shorter.jsonl", RecordLine(1, "a", "b"));
    Write("base", "cached.jsonl", RecordLine(1, "a", "b"));
    Write(
        "run", "cached.jsonl",
        Record(
            1, "a", "b", "ok",
            {{"cached", true}, {"ttft_ms", 7777.0}, {"duration_ms", 8888.0}}));
    Write("run", "summary.json",
          json{{"job", "j"},
               {"status", "interrupted"},
               {"conversations",
                json::array({{{"id", "later"}, {"status", "pending"}},
                             {{"id", "flip"}, {"status", "failed"}}})}}
              .dump());
  }
};

TEST_F(ReportChangesTest, CompareCountsStatusesAsTheReportFiltersDo) {
  WriteFixture();
  Result<Comparison> cmp = CompareRuns(Dir("base"), Dir("run"), {});
  ASSERT_TRUE(cmp.has_value()) << cmp.error().message;
  EXPECT_EQ(cmp->run_status.ok, 4);  // user, longer, shorter, cached
  EXPECT_EQ(cmp->run_status.failed, 1);
  EXPECT_EQ(cmp->run_status.error, 0);
  EXPECT_EQ(cmp->run_status.pending, 1);  // later: summary only
  EXPECT_EQ(cmp->baseline_status.error, 1);
  EXPECT_EQ(cmp->baseline_statuses.at("flip"), "error");
  EXPECT_EQ(cmp->run_statuses.at("later"), "pending");
  EXPECT_EQ(cmp->conversation_counts.changed, 4);  // flip user longer shorter

  const std::string md = FormatMarkdown(*cmp, {});
  EXPECT_NE(md.find("| error | 1 | 0 |\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| pending | 0 | 1 |\n"), std::string::npos) << md;
  json doc = json::parse(FormatJson(*cmp, {}, {}));
  const json& status = doc["counts"]["status"];
  EXPECT_EQ(status["run"]["ok"], 4);
  EXPECT_EQ(status["run"]["pending"], 1);
  EXPECT_EQ(status["baseline"]["error"], 1);

  Result<ReportRun> run = LoadReportRun(Dir("run"));
  Result<ReportRun> base = LoadReportRun(Dir("base"));
  ASSERT_TRUE(run.has_value() && base.has_value());
  const std::string html = RenderHtmlReport(*run, &*base);
  for (const auto& [name, n] :
       {std::pair{"ok", 4}, std::pair{"failed", 1}, std::pair{"error", 0},
        std::pair{"pending", 1}, std::pair{"changed", 4},
        std::pair{"missing", 0}, std::pair{"new", 0}}) {
    const std::string button = std::string("data-n=\"") + std::to_string(n) +
                               "\" data-filter=\"" + name + "\"";
    EXPECT_NE(html.find(button), std::string::npos) << button;
  }
}

TEST_F(ReportChangesTest, TranscriptShowsWhatChanged) {
  WriteFixture();
  Result<ReportRun> run = LoadReportRun(Dir("run"));
  Result<ReportRun> base = LoadReportRun(Dir("base"));
  ASSERT_TRUE(run.has_value() && base.has_value());
  const std::string html = RenderHtmlReport(*run, &*base);
  // error -> failed: the baseline box holds the baseline's error.
  EXPECT_NE(html.find("baseline <span class=\"badge error\">error</span>"
                      "</div><pre class=\"err\">http: HTTP 500</pre>"),
            std::string::npos)
      << html;
  // The changed user message, old beside new.
  EXPECT_NE(html.find("message changed"), std::string::npos);
  EXPECT_NE(html.find("what is <del>two</del>"), std::string::npos);
  EXPECT_NE(html.find("what is <ins>three</ins>"), std::string::npos);
  // New and missing turns are marked as such.
  EXPECT_EQ(CountOf(html, "data-turn-change=\"new\""), 1);
  EXPECT_EQ(CountOf(html, "data-turn-change=\"missing\""), 1);
  EXPECT_NE(html.find("<pre>gone</pre>"), std::string::npos);
  EXPECT_NE(html.find("(1 new)"), std::string::npos);
  EXPECT_NE(html.find("(1 missing)"), std::string::npos);
  // Similarity and baseline status columns.
  EXPECT_NE(html.find("<th class=\"num\">similarity</th>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"basecol\"><span class=\"badge error\">"),
            std::string::npos);
  // The cached turn: a badge, and out of the charts' data.
  EXPECT_NE(html.find("<span class=\"badge cached\">cached</span>"),
            std::string::npos);
  // flip, user, longer (2) and shorter: the cached turn is not charted.
  EXPECT_NE(html.find("Time to first token (5 turns)"), std::string::npos);
  // Three charts with the baseline drawn behind, and the deltas.
  EXPECT_EQ(CountOf(html, "<svg class=\"chart\""), 3);
  EXPECT_GT(CountOf(html, "<rect class=\"bar-base\""), 3);
  EXPECT_EQ(CountOf(html, "<tr class=\"delta\""), 3);
}

TEST(ReportChangesUnitTest, ChecksShowTheirStatusScoreAndReason) {
  ReportRun run = testing_report::SampleRun();
  ReportTurn& t = run.conversations[0].turns[0];
  ReportExpectation judge{"judge", "uses the name", false, "grader timed out"};
  judge.status = "error";
  ReportExpectation graded{"judge", "is polite", true, ""};
  graded.score = 0.875;
  graded.reason = "Polite & brief";
  ReportExpectation waiting{"judge", "is short", false, ""};
  waiting.status = "pending";
  t.expectations = {judge, graded, waiting};
  t.cached = true;
  const std::string html = RenderHtmlReport(run);
  EXPECT_NE(html.find("<li class=\"experr\" data-check-status=\"error\">⚠ "
                      "error judge <code>uses the name</code> — grader timed "
                      "out</li>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("score 0.875 · <span class=\"reason\">Polite &amp; "
                      "brief</span>"),
            std::string::npos);
  EXPECT_NE(html.find("data-check-status=\"pending\">… pending judge"),
            std::string::npos);
  EXPECT_FALSE(t.expectations_failed());
  EXPECT_NE(html.find("cached (not timed)"), std::string::npos);
  // The single-run report has the status filters, not compare's.
  EXPECT_NE(html.find("data-n=\"1\" data-filter=\"ok\""), std::string::npos);
  EXPECT_NE(html.find("data-n=\"1\" data-filter=\"pending\""),
            std::string::npos);
  EXPECT_EQ(html.find("data-filter=\"changed\""), std::string::npos);
  EXPECT_EQ(html.find("class=\"delta\""), std::string::npos);
}

TEST(ReportChangesUnitTest, JunitNamesAnUndecidedCheckAnError) {
  ReportRun run = testing_report::SampleRun();
  ReportConversation conv{"graded", "error", "", {}};
  ReportTurn t = Turn(1, "hi", "hello", "error");
  t.error_kind = "judge";
  t.error = "judge: grader unreachable";
  ReportExpectation judge{"judge", "x", false, "grader unreachable"};
  judge.status = "error";
  t.expectations = {judge};
  conv.turns = {t};
  run.conversations = {conv};
  const std::string xml =
      RenderJunit(run, "smoke", {"h", "2024-01-01T00:00:00"});
  EXPECT_NE(xml.find("<error message=\"judge: grader unreachable\" "
                     "type=\"judge\""),
            std::string::npos)
      << xml;
  EXPECT_EQ(xml.find("<failure"), std::string::npos) << xml;
}

TEST(ReportChangesUnitTest, DeltasAndOverlay) {
  EXPECT_EQ(FormatDelta(100, 150), "+50 ms (+50.0 %)");
  EXPECT_EQ(FormatDelta(200, 150), "\u221250 ms (\u221225.0 %)");
  EXPECT_EQ(FormatDelta(0, 10), "+10 ms");
  EXPECT_EQ(FormatDelta(2, 2.25), "+0.2 ms (+12.5 %)");
  EXPECT_EQ(FormatDelta(1.5, 1.5), "+0.0 ms (+0.0 %)");
  ChartPercentiles p = PercentilesOf({5, 1, 4, 2, 3});
  EXPECT_EQ(p.p50, 3);
  EXPECT_EQ(p.p99, 5);
  std::vector<double> base = {10, 20, 30}, run = {15};
  std::string svg = HistogramSvg(run, "t", "ms", 10, &base);
  EXPECT_EQ(CountOf(svg, "<rect class=\"bar-base\""), 3 + 1);  // + legend
  EXPECT_EQ(CountOf(svg, "<rect class=\"bar\""), 1 + 1);
  // A run with no data over a baseline with some still shows the baseline.
  std::string empty = HistogramSvg({}, "t", "ms", 10, &base);
  EXPECT_EQ(empty.find("no data"), std::string::npos);
  EXPECT_EQ(empty.find("mark-p50"), std::string::npos);
}

TEST(ReportChangesUnitTest, VariantsSideBySide) {
  std::vector<NamedRun> runs;
  for (const char* name : {"alpha", "beta", "gamma"}) {
    runs.push_back({name, testing_report::SampleRun()});
  }
  runs[1].run.conversations[0].turns[1].reply = "Farewell";
  runs[2].run.conversations[1].status = "ok";
  runs[2].run.conversations.pop_back();  // "later" only in two runs
  const std::string html = RenderVariantsReport(runs);
  EXPECT_EQ(CountOf(html, "<tr class=\"variant\""), 3);
  EXPECT_NE(html.find("<tr class=\"variant\" data-run=\"alpha\"><td>alpha</td>"
                      "<td class=\"num\">4</td><td class=\"num\">1</td>"
                      "<td class=\"num\">1</td><td class=\"num\">1</td>"
                      "<td class=\"num\">1</td><td class=\"num\">25.0 %</td>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<td class=\"num\">66.7 %</td>"), std::string::npos);
  EXPECT_EQ(CountOf(html, "<tr class=\"conv\""), 4);
  // greet (reply), math (status) and later (absent in gamma) differ.
  EXPECT_EQ(CountOf(html, "data-differs=\"1\""), 3);
  EXPECT_NE(html.find("data-n=\"3\" data-filter=\"differs\""),
            std::string::npos);
  EXPECT_NE(html.find("repeat(3,minmax(0,1fr))"), std::string::npos);
  EXPECT_NE(html.find("<pre>Farewell</pre>"), std::string::npos);
  EXPECT_EQ(CountOf(html, "<script"), 1);
}

class RunDirsInTest : public testing_report::RunPairFixture {};

TEST_F(RunDirsInTest, AMatrixParentListsItsSets) {
  Write("base", "a.jsonl", RecordLine(1, "q", "r"));
  Write("run", "a.jsonl", RecordLine(1, "q", "r"));
  std::filesystem::create_directories(root_ / "empty");  // not a run
  Result<std::vector<std::string>> sets = RunDirsIn(root_.string());
  ASSERT_TRUE(sets.has_value()) << sets.error().message;
  EXPECT_EQ(*sets, (std::vector<std::string>{Dir("base"), Dir("run")}));
  // A run directory is not a parent of runs.
  Result<std::vector<std::string>> none = RunDirsIn(Dir("run"));
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(RunDirsIn((root_ / "nope").string()).has_value());
}

}  // namespace
}  // namespace chatbatch
