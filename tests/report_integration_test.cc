// `run --junit` and `report --html` end to end against the mock.
#include <gtest/gtest.h>

#include "mock_fixture.h"
#include "report_test_util.h"

namespace chatbatch {
namespace {

using testing_report::XsdProblems;

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = 0; (p = text.find(what, p)) != std::string::npos; ++p) ++n;
  return n;
}

constexpr char kJob[] = R"(
name: reports
endpoint: ENDPOINT
concurrency: 4
retry: {attempts: 1}
defaults: {model: m, provider: Stateless}
conversations:
  - id: fine
    messages: ["hello", "again"]
  - id: hostile
    messages: ["[[mock reply=\"<script>alert(1)</script></textarea> & done\"]] hi"]
  - id: down
    messages: ["[[mock status=500 shape=g4f message=\"RuntimeError: <down> & \\\"out\\\"\"]] hi"]
  - id: cut
    messages: ["ok first", "[[mock cut_after=1]] then cut"]
)";

TEST_F(IntegrationTest, JunitFromARunWithErrorsValidates) {
  fs::path job = WriteJob(kJob);
  fs::path out = dir_ / "out";
  fs::path xml_path = dir_ / "report.xml";
  RunResult r = Chatbatch({"run", job.string(), "-o", out.string(), "-q",
                           "--junit", xml_path.string()});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  std::string xml = ReadFile(xml_path);
  EXPECT_EQ(XsdProblems(xml), "") << xml;
  EXPECT_NE(xml.find("<testsuite name=\"reports\" tests=\"4\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("errors=\"2\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"fine\""), std::string::npos);
  EXPECT_NE(xml.find("message=\"RuntimeError: &lt;down&gt; &amp; "
                     "&quot;out&quot;\" type=\"http\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("type=\"incomplete\""), std::string::npos) << xml;
  // No temporary file left beside it.
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_FALSE(e.path().filename().string().ends_with(".tmp")) << e.path();
  }

  // The same from `report --junit`, and an HTML report.
  fs::path again = dir_ / "again.xml";
  fs::path html_path = dir_ / "report.html";
  RunResult rep = Chatbatch({"report", out.string(), "--junit", again.string(),
                             "--html", html_path.string()});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_EQ(XsdProblems(ReadFile(again)), "");
  std::string html = ReadFile(html_path);
  EXPECT_EQ(Count(html, "<tr class=\"conv\""), 4u);
  EXPECT_EQ(html.find("<script>alert(1)"), std::string::npos);
  EXPECT_EQ(html.find("</textarea>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;&lt;/textarea&gt;"),
            std::string::npos);

  // Against a second run of the same job (its own ids and times, the same
  // replies and errors): four rows, none changed.
  fs::path out2 = dir_ / "out2";
  ASSERT_EQ(
      Chatbatch({"run", job.string(), "-o", out2.string(), "-q"}).exit_code, 1);
  RunResult cmp = Chatbatch(
      {"report", out2.string(), out.string(), "--html", html_path.string()});
  ASSERT_EQ(cmp.exit_code, 0) << cmp.err;
  const std::string compared = ReadFile(html_path);
  EXPECT_EQ(Count(compared, "data-changed=\"0\""), 4u) << compared;
  EXPECT_EQ(Count(compared, "data-changed=\"1\""), 0u) << compared;
}

TEST_F(IntegrationTest, ReportUsageErrors) {
  EXPECT_EQ(Chatbatch({"report", (dir_ / "nope").string(), "--html",
                       (dir_ / "x.html").string()})
                .exit_code,
            2);
  EXPECT_EQ(Chatbatch({"report", dir_.string()}).exit_code, 2);
}

}  // namespace
}  // namespace chatbatch
