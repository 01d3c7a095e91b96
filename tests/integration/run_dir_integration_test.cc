// One owner of the run directory (issue 11 §1): what the run directory says
// after a resume, what the end line says after --retry-failed, and which
// folders compare accepts as runs.
#include <regex>

#include "support/mock_fixture.h"

namespace chatbatch {
namespace {

class RunDirTest : public IntegrationTest {
 protected:
  std::string D(const std::string& name) { return (dir_ / name).string(); }
  int Requests() { return Stats()["requests"].get<int>(); }
};

constexpr char kRunDirJob[] = R"(
name: rd
endpoint: ENDPOINT
retry: {attempts: 1}
conversations:
  - id: good
    messages: ['[[mock reply="one two three four five"]] q', again]
  - id: other
    messages: ['[[mock reply="six seven eight"]] q']
  - id: broken
    messages:
      - '[[mock status=500 shape=g4f message="RuntimeError: down"]] q'
)";

// summary.json describes the run directory, not the last process: a resume
// that had nothing to do leaves it exactly as it was.
TEST_F(RunDirTest, NoOpResumeLeavesSummaryAsItWas) {
  fs::path job = WriteJob(kRunDirJob);
  RunResult r = Chatbatch({"run", job.string(), "-o", D("out"), "-q"});
  ASSERT_EQ(r.exit_code, 1) << r.err;
  const std::string before = ReadFile(dir_ / "out" / "summary.json");
  const json s = json::parse(before);
  ASSERT_EQ(s["latency"]["turns"], 3);
  const int requests = Requests();

  r = Chatbatch({"run", job.string(), "-o", D("out"), "-q", "--resume"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(Requests(), requests);
  EXPECT_EQ(ReadFile(dir_ / "out" / "summary.json"), before);
}

// After --retry-failed the end line's rates are this process's turns over
// this process's time, never the whole run's chunks over it.
TEST_F(RunDirTest, RetryFailedEndLineDescribesThisProcess) {
  fs::path job = WriteJob(kRunDirJob);
  ASSERT_EQ(Chatbatch({"run", job.string(), "-o", D("out")}).exit_code, 1);
  RunResult r =
      Chatbatch({"run", job.string(), "-o", D("out"), "--retry-failed"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  // The one turn sent failed again with HTTP 500: no chunk arrived.
  std::smatch m;
  const std::string all = r.out + r.err;
  ASSERT_TRUE(std::regex_search(
      all, m,
      std::regex(R"((\d+) turns? in ([0-9.]+)s: ([0-9.]+) turns/s, )"
                 R"(([0-9.]+) chunks/s, ([0-9.]+) tokens/s)")))
      << all;
  EXPECT_EQ(m[1], "0") << all;
  EXPECT_EQ(m[4], "0") << all;
  EXPECT_EQ(m[5], "0") << all;
  // summary.json still counts the whole run.
  json s = json::parse(ReadFile(dir_ / "out" / "summary.json"));
  EXPECT_EQ(s["latency"]["turns"], 3);
  EXPECT_EQ(s["counts"]["turns_error"], 1);
  EXPECT_GT(s["totals"]["chunks"].get<int>(), 0);
}

// compare refuses, like report, a folder that holds no run.
TEST_F(RunDirTest, CompareRefusesAFolderThatIsNotARun) {
  fs::path job = WriteJob(kRunDirJob);
  ASSERT_EQ(Chatbatch({"run", job.string(), "-o", D("out"), "-q"}).exit_code,
            1);
  fs::create_directories(dir_ / "empty");
  fs::create_directories(dir_ / "parent" / "set-a");
  fs::copy(dir_ / "out", dir_ / "parent" / "set-a",
           fs::copy_options::recursive);
  for (const std::string bad : {"empty", "parent"}) {
    for (const bool first : {true, false}) {
      std::vector<std::string> args = {"compare", D("out"), D(bad)};
      if (first) std::swap(args[1], args[2]);
      RunResult c = Chatbatch(args);
      EXPECT_EQ(c.exit_code, 2) << bad << c.out << c.err;
      EXPECT_NE(c.err.find("'" + D(bad) + "' is not a chatbatch run"),
                std::string::npos)
          << c.err;
      EXPECT_EQ(c.out.find("missing"), std::string::npos) << c.out;
    }
  }
  EXPECT_EQ(Chatbatch({"compare", D("out"), D("parent/set-a")}).exit_code, 0);
}

}  // namespace
}  // namespace chatbatch
