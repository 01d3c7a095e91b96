// `run --junit` and `report --html` end to end against the mock.
#include <gtest/gtest.h>

#include "support/mock_fixture.h"
#include "support/report_test_util.h"
#include "support/socket_util.h"

namespace chatbatch {
namespace {

using testing_report::XsdProblems;

using testnet::Count;

constexpr char kReportJob[] = R"(
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
  fs::path job = WriteJob(kReportJob);
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
  EXPECT_EQ(Count(html, "<tr class=\"conv\""), 4);
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
  EXPECT_EQ(Count(compared, "data-changed=\"0\""), 4) << compared;
  EXPECT_EQ(Count(compared, "data-changed=\"1\""), 0) << compared;
}

// Shards merged, with and without a missing shard, and a matrix run: each
// JUnit document validates and counts every conversation once.
constexpr char kShardedJob[] = R"(
name: sharded
endpoint: ENDPOINT
retry: {attempts: 1}
defaults: {model: m, provider: Stateless}
conversations:
  - id: one
    messages: ["hello"]
  - id: two
    messages: ["hello", "again"]
  - id: three
    messages: ["hi"]
  - id: wrong
    messages:
      - content: '[[mock reply="five"]] 2+2?'
        expect: {contains: "4"}
  - id: down
    messages: ['[[mock status=500 shape=g4f message="RuntimeError: down"]] q']
  - id: wrong-then-down
    messages:
      - content: '[[mock reply="five"]] 2+2?'
        expect: {contains: "4"}
      - '[[mock status=500 shape=g4f message="RuntimeError: down"]] q'
)";

TEST_F(IntegrationTest, JunitOfMergedShardsValidates) {
  fs::path job = WriteJob(kShardedJob);
  auto d = [&](const std::string& name) { return (dir_ / name).string(); };
  for (const std::string k : {"1", "2"}) {
    RunResult r = Chatbatch(
        {"run", job.string(), "-o", d("s" + k), "-q", "--shard", k + "/2"});
    ASSERT_LE(r.exit_code, 1) << r.err;
  }
  RunResult merged = Chatbatch({"merge", d("s1"), d("s2"), "-o", d("all")});
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  RunResult rep = Chatbatch({"report", d("all"), "--junit", d("all.xml")});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  std::string xml = ReadFile(dir_ / "all.xml");
  EXPECT_EQ(XsdProblems(xml), "") << xml;
  EXPECT_NE(xml.find("<testsuites name=\"chatbatch\" tests=\"6\" "
                     "failures=\"1\" errors=\"2\" skipped=\"0\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testsuite name=\"sharded\" tests=\"6\" failures=\"1\" "
                     "errors=\"2\" skipped=\"0\""),
            std::string::npos)
      << xml;
  // Its turn 1 failed an expectation, its turn 2 errored: both are shown.
  EXPECT_EQ(testing_report::CountOf(xml, "<failure "), 2) << xml;
  EXPECT_EQ(testing_report::CountOf(xml, "<error "), 2) << xml;
  for (const std::string id :
       {"one", "two", "three", "wrong", "down", "wrong-then-down"}) {
    EXPECT_EQ(testing_report::CountOf(xml, " name=\"" + id + "\""), 1) << id;
  }
  EXPECT_NE(xml.find("<property name=\"run_status\" value=\"finished\"/>"),
            std::string::npos)
      << xml;

  // One shard alone, merged with --allow-partial: a "partial" run.
  RunResult partial =
      Chatbatch({"merge", d("s2"), "--allow-partial", "-o", d("half")});
  ASSERT_EQ(partial.exit_code, 0) << partial.err;
  EXPECT_NE(partial.out.find("partial: shard 1/2 is missing"),
            std::string::npos)
      << partial.out;
  ASSERT_EQ(
      Chatbatch({"report", d("half"), "--junit", d("half.xml")}).exit_code, 0);
  std::string half = ReadFile(dir_ / "half.xml");
  EXPECT_EQ(XsdProblems(half), "") << half;
  EXPECT_NE(half.find("<property name=\"run_status\" value=\"partial\"/>"),
            std::string::npos)
      << half;
}

TEST_F(IntegrationTest, JunitOfAMatrixRunValidates) {
  fs::path job = WriteJob(R"(
name: mx
endpoint: ENDPOINT
retry: {attempts: 1}
defaults: {model: m, provider: Stateless}
matrix:
  - {name: plain, mock: {reply: "4"}}
  - {name: fives, mock: {reply: "five"}}
conversations:
  - id: sum
    messages:
      - content: "2+2?"
        expect: {contains: "4"}
  - id: chat
    messages: ["hello"]
  - id: sum-then-down
    messages:
      - content: "2+2?"
        expect: {contains: "4"}
      - '[[mock status=500 shape=g4f message="RuntimeError: down"]] q'
)");
  fs::path xml_path = dir_ / "mx.xml";
  RunResult r = Chatbatch({"run", job.string(), "-o", (dir_ / "out").string(),
                           "-q", "--junit", xml_path.string()});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  std::string xml = ReadFile(xml_path);
  EXPECT_EQ(XsdProblems(xml), "") << xml;
  EXPECT_NE(xml.find("<testsuites name=\"chatbatch\" tests=\"6\" "
                     "failures=\"1\" errors=\"2\" skipped=\"0\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testsuite name=\"mx.plain\" tests=\"3\" failures=\"0\" "
                     "errors=\"1\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testsuite name=\"mx.fives\" tests=\"3\" failures=\"1\" "
                     "errors=\"1\""),
            std::string::npos)
      << xml;
  // "fives" fails sum-then-down's expectation before its turn 2 errors.
  EXPECT_EQ(testing_report::CountOf(xml, "<failure "), 2) << xml;
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
