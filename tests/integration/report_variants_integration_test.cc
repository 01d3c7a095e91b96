// `chatbatch report` of several runs end to end against the mock: a matrix
// job's output folder and three run directories, each laid side by side
// with a summary row per run (issue 13 §4).
#include <regex>

#include "support/mock_fixture.h"

namespace chatbatch {
namespace {

class ReportVariantsIntegrationTest : public IntegrationTest {
 protected:
  std::string D(const std::string& name) { return (dir_ / name).string(); }

  static size_t Count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t p = 0; (p = text.find(what, p)) != std::string::npos; ++p) ++n;
    return n;
  }

  // The cells of the summary row of run "name": conversations, ok, failed,
  // error, pending, pass rate, then the latencies.
  static std::vector<std::string> SummaryRow(const std::string& html,
                                             const std::string& name) {
    std::vector<std::string> cells;
    const std::string start =
        "<tr class=\"variant\" data-run=\"" + name + "\">";
    size_t at = html.find(start);
    if (at == std::string::npos) return cells;
    const size_t end = html.find("</tr>", at);
    static const std::regex cell("<td[^>]*>([^<]*)</td>");
    const std::string row = html.substr(at, end - at);
    for (auto it = std::sregex_iterator(row.begin(), row.end(), cell);
         it != std::sregex_iterator(); ++it) {
      cells.push_back((*it)[1]);
    }
    return cells;
  }
};

constexpr char kMatrixJob[] = R"(
name: variants
endpoint: ENDPOINT
retry: {attempts: 1}
defaults: {model: m, provider: Stateless}
matrix:
  - {name: right, mock: {reply: "4 is the answer"}}
  - {name: wrong, mock: {reply: "five"}}
conversations:
  - id: math
    messages:
      - content: What is 2+2?
        expect: {contains: "4"}
  - id: chat
    messages: ["hello", "again"]
)";

TEST_F(ReportVariantsIntegrationTest, MatrixOutputFolderSideBySide) {
  fs::path job = WriteJob(kMatrixJob);
  RunResult run = Chatbatch({"run", job.string(), "-o", D("out"), "-q"});
  ASSERT_EQ(run.exit_code, 1) << run.err;  // "wrong" fails math
  fs::path html_path = dir_ / "report.html";
  fs::path xml_path = dir_ / "report.xml";
  RunResult rep = Chatbatch({"report", D("out"), "--html", html_path.string(),
                             "--junit", xml_path.string()});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_NE(rep.out.find("HTML report of 2 runs"), std::string::npos)
      << rep.out;
  const std::string html = ReadFile(html_path);
  EXPECT_EQ(Count(html, "<tr class=\"variant\""), 2u);
  std::vector<std::string> right = SummaryRow(html, "right");
  std::vector<std::string> wrong = SummaryRow(html, "wrong");
  ASSERT_GE(right.size(), 7u) << html;
  ASSERT_GE(wrong.size(), 7u) << html;
  EXPECT_EQ(std::vector<std::string>(right.begin() + 1, right.begin() + 7),
            (std::vector<std::string>{"2", "2", "0", "0", "0", "100.0 %"}));
  EXPECT_EQ(std::vector<std::string>(wrong.begin() + 1, wrong.begin() + 7),
            (std::vector<std::string>{"2", "1", "1", "0", "0", "50.0 %"}));
  // One row per conversation, one column per set; the sets' replies differ
  // in both.
  EXPECT_EQ(Count(html, "<tr class=\"conv\""), 2u);
  EXPECT_EQ(Count(html, "data-differs=\"1\""), 2u);
  EXPECT_NE(html.find("data-statuses=\"ok failed\""), std::string::npos);
  EXPECT_NE(html.find("<pre>4 is the answer</pre>"), std::string::npos);
  EXPECT_NE(html.find("<pre>five</pre>"), std::string::npos);
  // JUnit: one suite per set, named as `run --junit` names them.
  const std::string xml = ReadFile(xml_path);
  EXPECT_NE(xml.find("<testsuite name=\"variants.right\""), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testsuite name=\"variants.wrong\""), std::string::npos);
}

TEST_F(ReportVariantsIntegrationTest, ThreeRunDirectoriesSideBySide) {
  const auto job_with = [&](const std::string& reply, const std::string& file) {
    std::string yaml = R"(
name: three
endpoint: ENDPOINT
retry: {attempts: 1}
defaults: {model: m, provider: Stateless, mock: {reply: ")" +
                       reply + R"("}}
conversations:
  - id: math
    messages:
      - content: What is 2+2?
        expect: {contains: "4"}
)";
    return WriteJob(yaml, file);
  };
  const std::vector<std::pair<std::string, std::string>> runs = {
      {"a", "4"}, {"b", "four"}, {"c", "4 again"}};
  for (const auto& [name, reply] : runs) {
    fs::path job = job_with(reply, name + ".yaml");
    RunResult r = Chatbatch({"run", job.string(), "-o", D(name), "-q"});
    ASSERT_EQ(r.exit_code, name == "b" ? 1 : 0) << r.err;
  }
  fs::path html_path = dir_ / "three.html";
  RunResult rep = Chatbatch(
      {"report", D("a"), D("b"), D("c"), "--html", html_path.string()});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  const std::string html = ReadFile(html_path);
  EXPECT_EQ(Count(html, "<tr class=\"variant\""), 3u);
  EXPECT_EQ(SummaryRow(html, "b").at(3), "1");  // failed
  EXPECT_NE(html.find("repeat(3,minmax(0,1fr))"), std::string::npos);
  EXPECT_EQ(Count(html, "<script"), 1u);
  // Two directories keep the baseline/run comparison.
  RunResult two =
      Chatbatch({"report", D("a"), D("b"), "--html", html_path.string()});
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_NE(ReadFile(html_path).find("data-filter=\"changed\""),
            std::string::npos);
  // A folder that is neither a run nor holds one is still an error.
  fs::create_directories(dir_ / "empty");
  RunResult none =
      Chatbatch({"report", D("empty"), "--html", html_path.string()});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("empty"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace chatbatch
