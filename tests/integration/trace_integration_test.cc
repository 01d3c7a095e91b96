// --trace end to end: the real binary against the mock, with a job whose
// headers carry an API key from the environment and a job-declared secret.
#include <cstdlib>
#include <regex>

#include "support/mock_fixture.h"

namespace chatbatch {
namespace {

constexpr char kKey[] = "sk-trace-secret-4242";
constexpr char kTeamToken[] = "team-literal-5150";

constexpr char kTraceJob[] = R"(
name: traced
endpoint: ENDPOINT
headers:
  Authorization: "Bearer ${CB_TRACE_TEST_KEY}"
  X-Team-Token: team-literal-5150
  X-Visible: shown-value
secret_headers: [x-team-token]
defaults: {model: m, provider: Stateless, mock: {chunks: 3, pace_ms: 20}}
conversations:
  - id: c1
    messages: [hello there]
)";

// Every regular file under "dir", read whole.
std::vector<std::pair<fs::path, std::string>> AllFiles(const fs::path& dir) {
  std::vector<std::pair<fs::path, std::string>> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      out.emplace_back(entry.path(), ReadFile(entry.path()));
    }
  }
  return out;
}

TEST_F(IntegrationTest, TraceShowsTheWireWithSecretsMasked) {
  ASSERT_EQ(setenv("CB_TRACE_TEST_KEY", kKey, 1), 0);
  fs::path job = WriteJob(kTraceJob);
  fs::path out = dir_ / "out";
  fs::path trace_path = dir_ / "trace.txt";
  RunResult r = Chatbatch({"run", job.string(), "-o", out.string(), "--trace",
                           trace_path.string(), "-v"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string trace = ReadFile(trace_path);

  EXPECT_TRUE(std::regex_search(
      trace, std::regex("^== [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{3}Z "
                        "c1 turn 1 attempt 1\n")))
      << trace;
  EXPECT_NE(trace.find("=> c1/1/1 POST " + Endpoint() + "\n"),
            std::string::npos)
      << trace;
  EXPECT_NE(trace.find("=> c1/1/1 Send header, "), std::string::npos);
  EXPECT_NE(trace.find(": POST /v1/chat/completions HTTP/1.1\n"),
            std::string::npos)
      << trace;
  EXPECT_NE(trace.find(": Authorization: ***\n"), std::string::npos) << trace;
  EXPECT_NE(trace.find(": X-Team-Token: ***\n"), std::string::npos) << trace;
  EXPECT_NE(trace.find(": X-Visible: shown-value\n"), std::string::npos);
  EXPECT_NE(trace.find("=> c1/1/1 Send data, "), std::string::npos);
  EXPECT_NE(trace.find("\"content\":\"hello there\""), std::string::npos)
      << trace;
  EXPECT_NE(trace.find("<= c1/1/1 Recv header, "), std::string::npos);
  EXPECT_NE(trace.find(": HTTP/1.1 200 OK\n"), std::string::npos) << trace;
  EXPECT_NE(trace.find("<= c1/1/1 Status 200 (+"), std::string::npos);
  EXPECT_NE(trace.find(": data: [DONE]\n"), std::string::npos) << trace;

  // The reads add up to the body the attempt's end record, the -v line
  // and the jsonl record name.
  const std::regex read_re("<= c1/1/1 Recv data, ([0-9]+) bytes \\(\\+");
  int64_t read_bytes = 0;
  int reads = 0;
  for (std::sregex_iterator it(trace.begin(), trace.end(), read_re), end;
       it != end; ++it) {
    read_bytes += std::stoll((*it)[1]);
    ++reads;
  }
  EXPECT_GE(reads, 2);  // paced chunks arrive in separate reads
  std::smatch end;
  ASSERT_TRUE(std::regex_search(
      trace, end,
      std::regex("== c1/1/1 end \\(\\+[0-9.]+ ms\\): ok; ([0-9]+) bytes, "
                 "([0-9]+) chunks\n")))
      << trace;
  EXPECT_EQ(std::stoll(end[1]), read_bytes);
  EXPECT_EQ(end[2], "4");  // 3 content chunks and the final one
  EXPECT_NE(r.err.find("c1: turn 1 attempt 1: " + std::to_string(read_bytes) +
                       " bytes, 4 chunks"),
            std::string::npos)
      << r.err;
  std::vector<json> records = Records(out / "c1.jsonl");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["status"], "ok");

  // The secrets appear nowhere: not in the trace, not in the run's files.
  EXPECT_EQ(trace.find(kKey), std::string::npos);
  EXPECT_EQ(trace.find(kTeamToken), std::string::npos);
  for (const auto& [path, text] : AllFiles(dir_)) {
    if (path.filename() == "job.yaml") continue;  // holds the literal token
    EXPECT_EQ(text.find(kKey), std::string::npos) << path;
    EXPECT_EQ(text.find(kTeamToken), std::string::npos) << path;
  }
}

TEST_F(IntegrationTest, NoTraceFlagWritesNoTrace) {
  ASSERT_EQ(setenv("CB_TRACE_TEST_KEY", kKey, 1), 0);
  fs::path job = WriteJob(kTraceJob);
  fs::path out = dir_ / "out";
  RunResult r = RunInto(job, out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> names;
  for (const auto& [path, text] : AllFiles(dir_)) {
    names.insert(fs::relative(path, dir_).string());
    EXPECT_EQ(text.find("Recv data"), std::string::npos) << path;
    EXPECT_EQ(text.find("c1/1/1"), std::string::npos) << path;
  }
  EXPECT_FALSE(names.contains("trace.txt"));
  EXPECT_TRUE(names.contains("out/c1.jsonl"));
}

TEST_F(IntegrationTest, TraceThatCannotBeOpenedStopsBeforeRunning) {
  ASSERT_EQ(setenv("CB_TRACE_TEST_KEY", kKey, 1), 0);
  fs::path job = WriteJob(kTraceJob);
  RunResult r = Chatbatch({"run", job.string(), "-o", (dir_ / "out").string(),
                           "--trace", (dir_ / "no/such/dir/t.txt").string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("no/such/dir/t.txt: No such file or directory"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

}  // namespace
}  // namespace chatbatch
