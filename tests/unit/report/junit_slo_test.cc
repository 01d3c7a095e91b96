// The JUnit report's "slo" suite: one testcase per step and SLO.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "chatbatch/run_output.h"
#include "report/junit_report.h"
#include "support/load_report_sample.h"
#include "support/report_test_util.h"
#include "support/temp_dir.h"

namespace chatbatch {
namespace {

using ::testing::HasSubstr;
using testing_load::SampleLoad;
using testing_report::CountOf;
using testing_report::SampleRun;
using testing_report::Slurp;
using testing_report::XsdProblems;

// The text of the <testsuite> named "name", from its start tag to its end
// tag; "" when there is none.
std::string Suite(const std::string& xml, const std::string& name) {
  const size_t at = xml.find("<testsuite name=\"" + name + "\"");
  if (at == std::string::npos) return "";
  const size_t end = xml.find("</testsuite>", at);
  return end == std::string::npos ? "" : xml.substr(at, end - at);
}

ReportRun LoadRun() {
  ReportRun run = SampleRun();
  run.load = SampleLoad();
  return run;
}

TEST(JunitSloTest, OneTestcasePerStepAndSlo) {
  JunitOptions options;
  options.hostname = "ci-host";
  const std::string xml = RenderJunit(LoadRun(), "smoke", options);
  EXPECT_EQ(CountOf(xml, "<testsuite "), 2);
  const std::string slo = Suite(xml, "slo");
  ASSERT_NE(slo, "") << xml;
  EXPECT_THAT(slo, HasSubstr("<testsuite name=\"slo\" tests=\"4\" "
                             "failures=\"2\" errors=\"0\" skipped=\"0\""));
  EXPECT_EQ(CountOf(slo, "<testcase "), 4);
  EXPECT_EQ(CountOf(slo, "<failure "), 2);
  EXPECT_THAT(slo, HasSubstr("<testcase classname=\"slo\" name=\"step 1 rate "
                             "10/s: ttft_p95\" time=\"0.000\"/>"));
  EXPECT_THAT(slo, HasSubstr("<testcase classname=\"slo\" name=\"step 1 rate "
                             "10/s: goodput\" time=\"0.000\"/>"));
  EXPECT_THAT(slo, HasSubstr("<testcase classname=\"slo\" name=\"step 2 rate "
                             "20/s: ttft_p95\" time=\"0.000\">\n      "
                             "<failure message=\"ttft_p95 612 ms &gt; limit "
                             "500 ms\" type=\"slo\">step 2 (rate 20/s): "
                             "ttft_p95 612 ms &gt; 500 ms\n"));
  EXPECT_THAT(slo, HasSubstr("<failure message=\"goodput 91.2% &lt; limit "
                             "95%\" type=\"slo\">"));
  // Step 2 was client-limited: said in the suite's properties and in its
  // failures.
  EXPECT_THAT(slo, HasSubstr("<property name=\"client_limited\" value=\"step "
                             "2 (rate 20/s): schedule lag p99 14.2 ms &gt; 10 "
                             "ms; 3 cap hits\"/>"));
  EXPECT_EQ(CountOf(slo, "name=\"client_limited\""), 1);
  EXPECT_EQ(CountOf(slo, "client-limited: schedule lag"), 2);
  // The conversations' suite is as it was; the totals add both.
  EXPECT_THAT(xml,
              HasSubstr("<testsuite name=\"smoke\" tests=\"4\" failures=\"1\" "
                        "errors=\"1\" skipped=\"1\""));
  EXPECT_THAT(xml, HasSubstr("<testsuites name=\"chatbatch\" tests=\"8\" "
                             "failures=\"3\" errors=\"1\" skipped=\"1\""));
  EXPECT_EQ(XsdProblems(xml), "") << xml;
}

TEST(JunitSloTest, OneStepNamesTheSloAlone) {
  ReportRun run = LoadRun();
  run.load->steps.resize(1);
  run.load->steps[0].label = "run";
  run.load->slo_ok = true;
  const std::string slo = Suite(RenderJunit(run, "smoke"), "slo");
  EXPECT_THAT(slo, HasSubstr("tests=\"2\" failures=\"0\""));
  EXPECT_THAT(slo, HasSubstr("<testcase classname=\"slo\" name=\"ttft_p95\" "
                             "time=\"0.000\"/>"));
  EXPECT_EQ(CountOf(slo, "<failure"), 0);
}

TEST(JunitSloTest, NoSloSuiteWithoutSlos) {
  EXPECT_EQ(CountOf(RenderJunit(SampleRun(), "smoke"), "<testsuite "), 1);
  ReportRun run = LoadRun();
  for (LoadStepResult& s : run.load->steps) s.slo.clear();
  EXPECT_EQ(CountOf(RenderJunit(run, "smoke"), "<testsuite "), 1);
}

TEST(JunitSloTest, SeveralRunsNameTheirSloSuites) {
  const std::vector<JunitSuite> suites = {{"job.a", LoadRun()},
                                          {"job.b", SampleRun()}};
  const std::string xml = RenderJunit(suites);
  EXPECT_EQ(CountOf(xml, "<testsuite "), 3);
  EXPECT_NE(Suite(xml, "job.a.slo"), "");
  EXPECT_EQ(Suite(xml, "slo"), "");
  EXPECT_EQ(XsdProblems(xml), "") << xml;
}

// `run --junit` and `report --junit` write the file from the run
// directory, so the suite comes from summary.json's "load".
TEST(JunitSloTest, WrittenFromTheRunDirectorysSummary) {
  testfs::TempDir tmp{"chatbatch_junit_slo_"};
  const std::string dir = tmp.path() + "/run";
  std::filesystem::create_directories(dir);
  RunSummary summary;
  summary.job_name = "loadjob";
  summary.load = SampleLoad();
  std::ofstream(dir + "/summary.json", std::ios::binary)
      << SummaryToJson(summary);
  const std::string path = tmp.path() + "/junit.xml";
  ASSERT_TRUE(WriteJunitFile({{"loadjob", dir}}, path));
  const std::string xml = Slurp(path);
  EXPECT_THAT(Suite(xml, "slo"), HasSubstr("tests=\"4\" failures=\"2\""));
  EXPECT_EQ(XsdProblems(xml), "") << xml;
}

}  // namespace
}  // namespace chatbatch
