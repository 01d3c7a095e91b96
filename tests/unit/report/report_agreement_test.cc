// `compare` and the HTML report read the same two run directories: they must
// agree on what changed, and compare's JSON must say which transcripts
// differ.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "report/compare.h"
#include "report/html_report.h"
#include "report/report_model.h"
#include "support/run_pair_fixture.h"

namespace chatbatch {
namespace {

using nlohmann::json;
using testing_report::RecordLine;

class ReportAgreementTest : public testing_report::RunPairFixture {
 protected:
  // One unchanged, three changed (reply, user message only, status only),
  // one missing and two new conversations.
  void WriteFixture() {
    Write("base", "same.jsonl", RecordLine(1, "hi", "hello"));
    Write("run", "same.jsonl", RecordLine(1, "hi", "hello"));
    Write("base", "reply.jsonl", RecordLine(1, "q", "the quick brown fox"));
    Write("run", "reply.jsonl", RecordLine(1, "q", "the slow brown fox"));
    Write("base", "user.jsonl", RecordLine(1, "q", "r"));
    Write("run", "user.jsonl", RecordLine(1, "q, reworded", "r"));
    Write("base", "status.jsonl", RecordLine(1, "q", "r"));
    Write("run", "status.jsonl", RecordLine(1, "q", "r", "error"));
    Write("base", "gone.jsonl", RecordLine(1, "q", "r"));
    Write("run", "fresh1.jsonl", RecordLine(1, "q", "r"));
    Write("run", "fresh2.jsonl", RecordLine(1, "q", "r"));
  }
};

// The "vs baseline" label of every row of the HTML report, by id.
std::map<std::string, std::string> HtmlLabels(const std::string& html) {
  std::map<std::string, std::string> labels;
  static const std::regex row(
      "<tr class=\"conv\"[^>]*data-change=\"([a-z]+)\"[^>]*><td>([^<]*)</td>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), row);
       it != std::sregex_iterator(); ++it) {
    labels[(*it)[2]] = (*it)[1];
  }
  return labels;
}

TEST_F(ReportAgreementTest, HtmlReportCountsAndLabelsAsCompareDoes) {
  WriteFixture();
  Result<Comparison> cmp = CompareRuns(Dir("base"), Dir("run"), {});
  ASSERT_TRUE(cmp.has_value()) << cmp.error().message;
  const ChangeCounts& counts = cmp->conversation_counts;
  EXPECT_EQ(counts.unchanged, 1);
  EXPECT_EQ(counts.changed, 3);
  EXPECT_EQ(counts.missing, 1);
  EXPECT_EQ(counts.added, 2);

  Result<ReportRun> run = LoadReportRun(Dir("run"));
  Result<ReportRun> base = LoadReportRun(Dir("base"));
  ASSERT_TRUE(run.has_value() && base.has_value());
  std::string html = RenderHtmlReport(*run, &*base);
  for (const auto& [name, n] :
       {std::pair{"changed", counts.changed},
        std::pair{"missing", counts.missing}, std::pair{"new", counts.added}}) {
    std::string filter = std::string("data-filter=\"") + name + "\">" + name +
                         " (" + std::to_string(n) + ")</button>";
    EXPECT_NE(html.find(filter), std::string::npos) << filter;
    std::string card = std::string("data-count=\"") + name + "\"><b>" +
                       std::to_string(n) + "</b>";
    EXPECT_NE(html.find(card), std::string::npos) << card;
  }
  std::map<std::string, std::string> want;
  for (const ConversationComparison& conv : cmp->conversations) {
    want[conv.id] = ChangeName(conv.change);
  }
  EXPECT_EQ(HtmlLabels(html), want) << html;
  // compare's word diff, shown on both sides.
  EXPECT_NE(html.find("the <del>quick</del> brown fox"), std::string::npos);
  EXPECT_NE(html.find("the <ins>slow</ins> brown fox"), std::string::npos);
}

TEST_F(ReportAgreementTest, CompareJsonSaysWhichTranscriptsDiffer) {
  WriteFixture();
  Write("base", "same.md", "# same\n");
  Write("run", "same.md", "# same\n");
  Write("base", "reply.md", "# reply\n\nthe quick brown fox\n");
  Write("run", "reply.md", "# reply\n\nthe slow brown fox\n");
  // Same records, a different transcript (e.g. reasoning, which compare
  // does not diff).
  Write("base", "user.md", "# user\n");
  Write("run", "user.md", "# user\n\nreasoning\n");
  // The options `chatbatch compare` passes.
  Result<Comparison> cmp = CompareRuns(Dir("base"), Dir("run"), {});
  ASSERT_TRUE(cmp.has_value()) << cmp.error().message;
  json doc = json::parse(FormatJson(*cmp, {}, {}));
  std::map<std::string, bool> got;
  for (const json& conv : doc["conversations"]) {
    got[conv["id"]] = conv["transcript_changed"];
  }
  // status.md exists on neither side; a new or missing conversation's
  // transcript exists on one side only when it was written.
  std::map<std::string, bool> want = {
      {"fresh1", false}, {"fresh2", false}, {"gone", false}, {"reply", true},
      {"same", false},   {"status", false}, {"user", true}};
  EXPECT_EQ(got, want) << doc.dump(2);
  // A transcript difference alone does not make a conversation changed
  // unless asked (golden files ask).
  EXPECT_EQ(cmp->conversation_counts.changed, 3);
  CompareOptions strict;
  strict.transcripts = true;
  Write("run", "same.md", "# same, reworded\n");
  Result<Comparison> golden = CompareRuns(Dir("base"), Dir("run"), strict);
  ASSERT_TRUE(golden.has_value());
  EXPECT_EQ(golden->conversation_counts.changed, 4);
}

}  // namespace
}  // namespace chatbatch
