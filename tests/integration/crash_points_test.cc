// Crash at every durable write: the CHATBATCH_FAULT test hook stops the
// process right after its N-th write, for every N a run makes; each
// directory is then resumed and must end up as an uninterrupted run left it.
#include <string>

#include "support/mock_fixture.h"
#include "support/run_dir_match.h"

namespace chatbatch {
namespace {

using testing::ExpectSameRun;
using testing::ExpectWholeFiles;

class CrashPointsTest : public IntegrationTest {
 protected:
  // Runs chatbatch with "extra_env"; stderr is kept in dir_/"stderr".
  RunResult RunWithEnv(std::vector<std::string> args,
                       const std::vector<std::string>& extra_env) {
    args.insert(args.begin(), CHATBATCH_BIN);
    Process p(args, dir_ / "stdout", dir_ / "stderr", extra_env);
    RunResult r;
    r.exit_code = p.Wait(std::chrono::seconds(60)).value_or(-1);
    r.out = ReadFile(dir_ / "stdout");
    r.err = ReadFile(dir_ / "stderr");
    return r;
  }
};

// Copilot is stateful in the mock: it remembers a name only under the
// conversation it was told in, so a resumed conversation that lost its
// conversation_id or its last conversation object answers differently.
constexpr char kStatefulJob[] = R"(
name: crash
endpoint: ENDPOINT
concurrency: 2
defaults: {provider: Copilot, model: ""}
conversations:
  - {id: heiner, messages: ["i am Heiner", "what is my name?", "thanks"]}
  - {id: anna, messages: ["i am Anna", "who am i?", "bye"]}
  - {id: nobody, messages: ["hello", "what is my name?", "i am Otto"]}
)";
constexpr int kConversations = 3, kTurns = 3, kConcurrency = 2;

// The paths named by the hook's "chatbatch-fault: write N: PATH" lines.
std::vector<std::string> WrittenPaths(const std::string& stderr_text) {
  std::vector<std::string> paths;
  std::istringstream in(stderr_text);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    const std::string prefix =
        "chatbatch-fault: write " + std::to_string(n + 1) + ": ";
    if (line.starts_with(prefix)) {
      paths.push_back(line.substr(prefix.size()));
      ++n;
    }
  }
  return paths;
}

TEST_F(CrashPointsTest, CrashAfterEveryDurableWriteThenResumeMatches) {
  fs::path job = WriteJob(kStatefulJob);
  fs::path clean = dir_ / "clean";
  RunResult counted =
      RunWithEnv({"run", job.string(), "-o", clean.string(), "-q"},
                 {"CHATBATCH_FAULT=count_writes"});
  ASSERT_EQ(counted.exit_code, 0) << counted.err;
  // The replies prove the mock kept state per conversation.
  EXPECT_NE(ReadFile(clean / "heiner.md").find("Your name is Heiner."),
            std::string::npos);
  EXPECT_NE(ReadFile(clean / "anna.md").find("Your name is Anna."),
            std::string::npos);
  EXPECT_NE(ReadFile(clean / "nobody.md").find("I don't know your name yet"),
            std::string::npos);

  // W: run.json once, summary.json at the start, as conversations finish
  // (at most once a second) and at the end, and per turn the .md then the
  // .jsonl.
  const std::vector<std::string> writes = WrittenPaths(counted.err);
  std::map<std::string, int> per_file;
  for (const std::string& path : writes) {
    ++per_file[fs::path(path).filename().string()];
  }
  EXPECT_EQ(writes.front(), (clean / "run.json").string());
  EXPECT_EQ(writes.back(), (clean / "summary.json").string());
  EXPECT_EQ(per_file["run.json"], 1);
  EXPECT_GE(per_file["summary.json"], 2);
  for (const char* id : {"heiner", "anna", "nobody"}) {
    EXPECT_EQ(per_file[std::string(id) + ".md"], kTurns) << id;
    EXPECT_EQ(per_file[std::string(id) + ".jsonl"], kTurns) << id;
  }
  const int w = static_cast<int>(writes.size());
  ASSERT_EQ(w, 1 + per_file["summary.json"] + 2 * kConversations * kTurns)
      << counted.err;

  for (int n = 1; n <= w; ++n) {
    SCOPED_TRACE("crash after write " + std::to_string(n) + " of " +
                 std::to_string(w));
    const fs::path out = dir_ / ("crashed-" + std::to_string(n));
    const int64_t requests_before = Stats()["requests"];
    RunResult crashed =
        RunWithEnv({"run", job.string(), "-o", out.string(), "-q"},
                   {"CHATBATCH_FAULT=crash_after_writes:" + std::to_string(n)});
    ASSERT_EQ(crashed.exit_code, 137) << crashed.err;
    EXPECT_NE(crashed.err.find("chatbatch-fault: crash after write " +
                               std::to_string(n) + ": "),
              std::string::npos)
        << crashed.err;
    ExpectWholeFiles(out, testing::Stop::kAfterWrite);
    RunResult resumed = RunWithEnv(
        {"run", job.string(), "-o", out.string(), "-q", "--resume"}, {});
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    ExpectSameRun(clean, out);
    // Only a turn in flight at the crash is sent again: at most one per
    // slot, and never a recorded one.
    const int64_t sent = Stats()["requests"].get<int64_t>() - requests_before;
    EXPECT_GE(sent, kConversations * kTurns);
    EXPECT_LE(sent, kConversations * kTurns + kConcurrency);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// The trace is buffered and written out once, at the end: that is its one
// durable write, after the run's own files; a crash right after it leaves
// the whole trace behind.
TEST_F(CrashPointsTest, TheTraceIsTheLastDurableWrite) {
  fs::path job = WriteJob(kStatefulJob);
  const fs::path trace = dir_ / "run.trace";
  RunResult counted =
      RunWithEnv({"run", job.string(), "-o", (dir_ / "out").string(), "-q",
                  "--trace", trace.string()},
                 {"CHATBATCH_FAULT=count_writes"});
  ASSERT_EQ(counted.exit_code, 0) << counted.err;
  const std::vector<std::string> writes = WrittenPaths(counted.err);
  ASSERT_GE(writes.size(), 2u) << counted.err;
  EXPECT_EQ(writes.back(), trace.string());
  EXPECT_EQ(writes[writes.size() - 2],
            (dir_ / "out" / "summary.json").string());

  const int w = static_cast<int>(writes.size());
  RunResult crashed =
      RunWithEnv({"run", job.string(), "-o", (dir_ / "crashed").string(), "-q",
                  "--trace", trace.string()},
                 {"CHATBATCH_FAULT=crash_after_writes:" + std::to_string(w)});
  ASSERT_EQ(crashed.exit_code, 137) << crashed.err;
  const std::string text = ReadFile(trace);
  for (const char* id : {"heiner", "anna", "nobody"}) {
    EXPECT_NE(text.find(std::string("== ") + id + "/3/1 end"),
              std::string::npos)
        << id;
  }
}

TEST_F(CrashPointsTest, AnInvalidFaultSettingStopsTheRun) {
  fs::path job = WriteJob(kStatefulJob);
  RunResult r =
      RunWithEnv({"run", job.string(), "-o", (dir_ / "out").string(), "-q"},
                 {"CHATBATCH_FAULT=crash_after_writes:0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("invalid CHATBATCH_FAULT=crash_after_writes:0"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace chatbatch
