// `chatbatch compare` and `chatbatch report --html` over the same two run
// directories must agree on what changed, and `compare --json` must say
// which transcripts differ.
#include <regex>

#include "support/mock_fixture.h"
#include "support/run_pair_fixture.h"

namespace chatbatch {
namespace {

using testing_report::RecordLine;

class ReportAgreementIntegrationTest : public IntegrationTest {
 protected:
  void Put(const std::string& side, const std::string& name,
           const std::string& content) {
    fs::create_directories(dir_ / side);
    WriteFile(dir_ / side / name, content);
  }
  std::string D(const std::string& side) { return (dir_ / side).string(); }
  // One unchanged, three changed (reply, user message only, status only),
  // one missing and two new conversations, each with its transcript.
  void WriteRuns() {
    const auto both = [&](const std::string& id, const std::string& base,
                          const std::string& run) {
      if (!base.empty()) {
        Put("base", id + ".jsonl", base);
        Put("base", id + ".md", "# " + id + "\n\n" + base);
      }
      if (!run.empty()) {
        Put("run", id + ".jsonl", run);
        Put("run", id + ".md", "# " + id + "\n\n" + run);
      }
    };
    both("same", RecordLine(1, "hi", "hello"), RecordLine(1, "hi", "hello"));
    both("reply", RecordLine(1, "q", "the quick brown fox"),
         RecordLine(1, "q", "the slow brown fox"));
    both("user", RecordLine(1, "q", "r"), RecordLine(1, "q, reworded", "r"));
    both("status", RecordLine(1, "q", "r"), RecordLine(1, "q", "r", "error"));
    both("gone", RecordLine(1, "q", "r"), "");
    both("fresh1", "", RecordLine(1, "q", "r"));
    both("fresh2", "", RecordLine(1, "q", "r"));
  }
};

TEST_F(ReportAgreementIntegrationTest, HtmlReportCountsAsCompareDoes) {
  WriteRuns();
  RunResult cmp = Chatbatch({"compare", D("base"), D("run"), "--json"});
  ASSERT_EQ(cmp.exit_code, 0) << cmp.err;
  json doc = json::parse(cmp.out);
  const json& counts = doc["counts"]["conversations"];
  EXPECT_EQ(counts["changed"], 3);
  EXPECT_EQ(counts["missing"], 1);
  EXPECT_EQ(counts["new"], 2);

  fs::path html_path = dir_ / "report.html";
  RunResult rep =
      Chatbatch({"report", D("base"), D("run"), "--html", html_path.string()});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  const std::string html = ReadFile(html_path);
  for (const char* change : {"changed", "missing", "new"}) {
    const std::string n = std::to_string(counts[change].get<int>());
    const std::string filter = std::string("data-filter=\"") + change + "\">" +
                               change + " (" + n + ")</button>";
    EXPECT_NE(html.find(filter), std::string::npos) << filter;
  }
  // Each row's label is compare's.
  std::map<std::string, std::string> labels, want;
  static const std::regex row(
      "<tr class=\"conv\"[^>]*data-change=\"([a-z]+)\"[^>]*><td>([^<]*)</td>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), row);
       it != std::sregex_iterator(); ++it) {
    labels[(*it)[2]] = (*it)[1];
  }
  for (const json& conv : doc["conversations"]) {
    want[conv["id"]] = conv["change"];
  }
  EXPECT_EQ(labels, want);
}

TEST_F(ReportAgreementIntegrationTest, CompareJsonSaysWhichTranscriptsDiffer) {
  WriteRuns();
  // Same records, another transcript (as when only the reasoning changed,
  // which compare does not diff).
  Put("run", "same.md", "# same\n\nreasoning\n");
  RunResult cmp = Chatbatch({"compare", D("base"), D("run"), "--json"});
  ASSERT_EQ(cmp.exit_code, 0) << cmp.err;
  const json doc = json::parse(cmp.out);
  std::map<std::string, bool> got;
  for (const json& conv : doc["conversations"]) {
    got[conv["id"]] = conv["transcript_changed"];
  }
  // A conversation in one run only has no pair of transcripts.
  std::map<std::string, bool> want = {
      {"fresh1", false}, {"fresh2", false}, {"gone", false}, {"reply", true},
      {"same", true},    {"status", true},  {"user", true}};
  EXPECT_EQ(got, want) << cmp.out;
}

}  // namespace
}  // namespace chatbatch
