#include "report/junit_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "support/report_test_util.h"

namespace chatbatch {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;
using testing_report::CountOf;
using testing_report::SampleRun;
using testing_report::Slurp;
using testing_report::XsdProblems;

TEST(XmlEscapeTest, EscapesMarkupAndQuotes) {
  EXPECT_EQ(XmlEscape("a<b>&\"c'", false), "a&lt;b&gt;&amp;\"c'");
  EXPECT_EQ(XmlEscape("a<b>&\"c'", true), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(XmlEscape("x]]>y", false), "x]]&gt;y");
}

TEST(XmlEscapeTest, KeepsLineBreaksInTextEncodesThemInAttributes) {
  EXPECT_EQ(XmlEscape("a\nb\tc", false), "a\nb\tc");
  EXPECT_EQ(XmlEscape("a\nb\tc\r", true), "a&#10;b&#9;c&#13;");
}

TEST(XmlEscapeTest, ReplacesCharactersXmlForbids) {
  EXPECT_EQ(XmlEscape("a\x01z", false), "a\xEF\xBF\xBDz");
  EXPECT_EQ(XmlEscape(std::string("a\0z", 3), true), "a\xEF\xBF\xBDz");
  EXPECT_EQ(XmlEscape("bad \xC3 utf8", false), "bad \xEF\xBF\xBD utf8");
  EXPECT_EQ(XmlEscape("\xEF\xBF\xBF", false), "\xEF\xBF\xBD");  // U+FFFF
  EXPECT_EQ(XmlEscape("\xED\xA0\x80", false),                   // surrogate
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(XmlEscape("héllo ✓ 😀", false), "héllo ✓ 😀");
}

TEST(JunitReportTest, CountsAndOneTestcasePerConversation) {
  JunitOptions options;
  options.hostname = "ci-host";
  std::string xml = RenderJunit(SampleRun(), "smoke", options);
  EXPECT_EQ(CountOf(xml, "<testsuite "), 1);
  EXPECT_EQ(CountOf(xml, "<testcase "), 4);
  EXPECT_THAT(xml,
              HasSubstr("<testsuite name=\"smoke\" tests=\"4\" failures=\"1\" "
                        "errors=\"1\" skipped=\"1\""));
  EXPECT_THAT(xml, HasSubstr("hostname=\"ci-host\""));
  EXPECT_THAT(xml, HasSubstr("timestamp=\"2024-05-01T10:00:00.000\""));
  EXPECT_THAT(
      xml, HasSubstr("<testcase classname=\"chatbatch.smoke\" name=\"greet\" "
                     "time=\"3.000\"/>"));
}

TEST(JunitReportTest, FailureNamesTurnExpectationAndReply) {
  std::string xml = RenderJunit(SampleRun(), "smoke");
  EXPECT_THAT(xml,
              HasSubstr("<failure message=\"turn 1: contains &quot;4&quot;: "
                        "reply does not contain 4\" type=\"expectation\">"));
  EXPECT_THAT(
      xml, HasSubstr("reply: It is five &lt;b&gt;&amp;&lt;/b&gt; \"quoted\""));
}

TEST(JunitReportTest, ErrorCarriesServerMessageAndKind) {
  std::string xml = RenderJunit(SampleRun(), "smoke");
  EXPECT_THAT(
      xml, HasSubstr("<error message=\"RuntimeError: &lt;down&gt; &amp; out\" "
                     "type=\"http\">"));
  EXPECT_THAT(xml, HasSubstr("HTTP 500"));
  EXPECT_THAT(xml, HasSubstr("<skipped message=\"not run\"/>"));
}

TEST(JunitReportTest, ValidatesAgainstTheJunitSchema) {
  ReportRun run = SampleRun();
  // Hostile text everywhere.
  run.conversations[1].turns[0].reply = "]]> \x01\x02 <![CDATA[ x ]]> \xFF";
  run.conversations[2].turns[0].error = "\x1b[31mred\x1b[0m \"q\" <a>";
  std::string xml = RenderJunit(run, "sm\"oke<&>");
  EXPECT_EQ(XsdProblems(xml), "") << xml;
}

TEST(JunitReportTest, SchemaCheckRejectsInvalidDocuments) {
  // The validation really checks: a testcase without a name, a testsuite
  // without "tests", and a control character must each fail.
  EXPECT_NE(XsdProblems("<testsuites><testsuite name=\"a\" tests=\"1\">"
                        "<testcase classname=\"x\"/></testsuite></testsuites>"),
            "");
  EXPECT_NE(XsdProblems("<testsuite name=\"a\"><testcase name=\"b\"/>"
                        "</testsuite>"),
            "");
  EXPECT_NE(XsdProblems("<testsuite name=\"a\" tests=\"1\"><testcase "
                        "name=\"b\"><failure>\x01</failure></testcase>"
                        "</testsuite>"),
            "");
  EXPECT_NE(XsdProblems("<testsuite name=\"a\" tests=\"1\"><testcase "
                        "name=\"b\"><failure/><skipped/></testcase>"
                        "</testsuite>"),
            "");
}

TEST(JunitReportTest, EmptyRunIsValid) {
  ReportRun run;
  run.job = "empty";
  std::string xml = RenderJunit(run, "empty");
  EXPECT_THAT(xml, HasSubstr("tests=\"0\""));
  EXPECT_EQ(XsdProblems(xml), "") << xml;
}

// Turn 1 failed an expectation, turn 2 then errored: CI must see both, not
// only the error that ended the conversation.
TEST(JunitReportTest, ErroredConversationAlsoShowsEarlierFailedExpectation) {
  ReportRun run = SampleRun();
  ReportConversation& conv = run.conversations[1];  // "math"
  conv.status = "error";
  conv.error = "connection reset";
  ReportTurn bad = testing_report::Turn(2, "and 3+3?", "", "error");
  bad.error = "connection reset";
  bad.error_kind = "network";
  conv.turns.push_back(bad);
  std::string xml = RenderJunit(run, "smoke");
  size_t begin = xml.find("name=\"math\"");
  ASSERT_NE(begin, std::string::npos) << xml;
  std::string testcase =
      xml.substr(begin, xml.find("</testcase>", begin) - begin);
  EXPECT_THAT(testcase, HasSubstr("<error message=\"connection reset\" "
                                  "type=\"network\">turn 2"));
  EXPECT_THAT(testcase,
              HasSubstr("<failure message=\"turn 1: contains &quot;4&quot;: "
                        "reply does not contain 4\" type=\"expectation\">"));
  // Counted once, by its outcome, so tests = passed + failures + errors +
  // skipped still holds.
  EXPECT_THAT(
      xml, HasSubstr("tests=\"4\" failures=\"0\" errors=\"2\" skipped=\"1\""));
  EXPECT_EQ(XsdProblems(xml), "") << xml;
}

class ReportDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/chatbatch_report_XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  fs::path dir_;
};

TEST_F(ReportDirTest, ReadsOldAndNewRecordsTolerantly) {
  Write("summary.json", R"({"job":"j","job_file":"j.yaml","started_at":"S",
    "ended_at":"E","status":"finished","counts":{},
    "conversations":[{"id":"old","status":"error","error":"boom"},
                     {"id":"new","status":"failed"},
                     {"id":"good","status":"ok"},
                     {"id":"never","status":"pending"}]})");
  // A record as written before expectations existed.
  Write(
      "old.jsonl",
      R"({"turn":1,"user":"u","reply":"","reasoning":"","finish_reason":null,"usage":null,"provider":"p","model":"m","conversation_id":"c","status":"error","error":"boom","error_kind":"http","http_status":500,"ttft_ms":null,"duration_ms":12.5,"chunks":0,"started_at":"S"})"
      "\n");
  // A newer record with expectation results, then a torn tail.
  Write(
      "new.jsonl",
      R"({"turn":1,"user":"u","reply":"r","status":"failed","ttft_ms":5,"duration_ms":20,"expect_ok":false,"expectations":[{"check":"contains","expected":"x","ok":false,"detail":"no x"},{"check":"min_length","expected":1,"ok":true}]})"
      "\n{\"turn\":2,\"us");
  Write("good.jsonl", R"({"turn":1,"user":"u","reply":"r","status":"ok"})"
                      "\n");
  Result<ReportRun> run = LoadReportRun(dir_.string());
  ASSERT_TRUE(run) << run.error().message;
  ASSERT_EQ(run->conversations.size(), 4u);
  EXPECT_EQ(run->job, "j");
  const ReportConversation& old = run->conversations[0];
  EXPECT_EQ(old.status, "error");
  ASSERT_EQ(old.turns.size(), 1u);
  EXPECT_EQ(old.turns[0].http_status, 500);
  EXPECT_EQ(old.turns[0].ttft_ms, -1);
  const ReportConversation& nu = run->conversations[1];
  EXPECT_EQ(nu.status, "failed");
  ASSERT_EQ(nu.turns.size(), 1u);
  ASSERT_EQ(nu.turns[0].expectations.size(), 2u);
  EXPECT_EQ(nu.turns[0].expectations[1].expected, "1");
  EXPECT_FALSE(nu.turns[0].expectations[0].ok);
  EXPECT_EQ(run->conversations[3].status, "pending");

  fs::path xml = dir_ / "report.xml";
  ASSERT_TRUE(WriteJunitFile({{"j", dir_.string()}}, xml.string()));
  std::string text = Slurp(xml);
  EXPECT_THAT(
      text, HasSubstr("tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\""));
  EXPECT_EQ(XsdProblems(text), "") << text;
}

TEST_F(ReportDirTest, OldSummaryErrorWithOnlyExpectationFailuresIsFailed) {
  Write("summary.json",
        R"({"job":"j","conversations":[{"id":"a","status":"error"}]})");
  Write(
      "a.jsonl",
      R"({"turn":1,"status":"ok","expectations":[{"check":"equals","ok":false}]})"
      "\n");
  Result<ReportRun> run = LoadReportRun(dir_.string());
  ASSERT_TRUE(run);
  EXPECT_EQ(run->conversations[0].status, "failed");
  EXPECT_EQ(run->conversations[0].turns[0].status, "failed");
}

TEST_F(ReportDirTest, NotARunIsAnError) {
  EXPECT_FALSE(LoadReportRun(dir_.string()));
  EXPECT_FALSE(LoadReportRun((dir_ / "missing").string()));
}

}  // namespace
}  // namespace chatbatch
