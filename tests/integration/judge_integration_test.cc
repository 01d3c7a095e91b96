// The judge check end to end against the mock's grader (docs/mock.md,
// "Grading"): verdicts that pass and fail, graders that give none or
// cannot be reached, how each is recorded and counted, and --resume
// grading what a killed run left pending.
#include <sys/socket.h>

#include <csignal>
#include <map>

#include "support/mock_fixture.h"
#include "support/socket_util.h"

namespace chatbatch {
namespace {

class JudgeIntegrationTest : public IntegrationTest {
 protected:
  // Every line of a <id>.jsonl: turn records and grade lines.
  static std::vector<json> Lines(const fs::path& path) { return Records(path); }
};

constexpr char kJudgeJob[] = R"(
endpoint: ENDPOINT
retry: {attempts: 1}
judge:
  retry: {attempts: 2, backoff: 10ms, max_backoff: 20ms}
  threshold: 0.5
conversations:
  - id: pass
    messages:
      - content: '[[mock reply="Paris is the capital of France."]] q1'
        expect: {judge: "[grader:slow] Names Paris as the capital"}
      - '[[mock reply="Next."]] q2'
  - id: fail
    messages:
      - content: '[[mock reply="Paris is the capital of France."]] q'
        expect: {judge: "Mentions the weather forecast", contains: Paris}
  - id: fenced
    messages:
      - content: '[[mock reply="Paris is the capital of France."]] q'
        expect: {judge: "[grader:fenced] Names Paris as the capital"}
  - id: garbage
    messages:
      - content: '[[mock reply="Paris is the capital of France."]] q'
        expect: {judge: "[grader:garbage] Names Paris"}
  - id: down
    messages:
      - content: '[[mock reply="Paris is the capital of France."]] q'
        expect: {judge: "[grader:500] Names Paris"}
)";

TEST_F(JudgeIntegrationTest, VerdictsErrorsAndCountsInEveryReport) {
  fs::path job = WriteJob(kJudgeJob);
  fs::path out = dir_ / "out";
  fs::path junit = dir_ / "junit.xml";
  RunResult r = Chatbatch({"run", job.string(), "-o", out.string(), "-q",
                           "--junit", junit.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // a failed judge, and judge errors
  EXPECT_NE(r.out.find("4 ok, 1 failed, 0 error"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("judge: 2 passed, 1 failed, 2 error"), std::string::npos)
      << r.out;

  // The graded conversation went on: turn 2 was recorded before turn 1's
  // (slow) grade line.
  std::vector<json> pass = Lines(out / "pass.jsonl");
  ASSERT_EQ(pass.size(), 3u);
  EXPECT_EQ(pass[0]["turn"], 1);
  EXPECT_EQ(pass[0]["expectations"][0]["status"], "pending");
  EXPECT_EQ(pass[0]["status"], "ok");
  EXPECT_EQ(pass[1]["turn"], 2);
  EXPECT_EQ(pass[2]["grade"], 1);
  const json& verdict = pass[2]["expectations"][0];
  EXPECT_EQ(verdict["check"], "judge");
  EXPECT_EQ(verdict["ok"], true);
  EXPECT_FALSE(verdict.contains("status"));
  EXPECT_EQ(verdict["expected"], "[grader:slow] Names Paris as the capital");
  EXPECT_GE(verdict["score"].get<double>(), 0.5);
  EXPECT_EQ(verdict["threshold"], 0.5);
  EXPECT_NE(verdict["reason"].get<std::string>().find("rubric words"),
            std::string::npos);
  EXPECT_NE(verdict["raw"].get<std::string>().find("\"pass\": true"),
            std::string::npos);

  std::vector<json> fail = Lines(out / "fail.jsonl");
  ASSERT_EQ(fail.size(), 2u);
  EXPECT_EQ(fail[1]["grade"], 1);
  EXPECT_EQ(fail[1]["status"], "failed");
  EXPECT_EQ(fail[1]["expectations"][0]["ok"], false);
  EXPECT_EQ(fail[1]["expectations"][0]["score"], 0);
  EXPECT_EQ(fail[1]["expectations"][1]["ok"], true);  // contains: kept

  std::vector<json> fenced = Lines(out / "fenced.jsonl");
  ASSERT_EQ(fenced.size(), 2u);
  EXPECT_EQ(fenced[1]["expectations"][0]["ok"], true);
  EXPECT_NE(
      fenced[1]["expectations"][0]["raw"].get<std::string>().find("```json"),
      std::string::npos);

  std::vector<json> garbage = Lines(out / "garbage.jsonl");
  ASSERT_EQ(garbage.size(), 2u);
  EXPECT_EQ(garbage[1]["status"], "ok");  // an error is not a failure
  EXPECT_EQ(garbage[1]["expectations"][0]["status"], "error");
  EXPECT_NE(garbage[1]["expectations"][0]["detail"].get<std::string>().find(
                "no JSON verdict"),
            std::string::npos);

  std::vector<json> down = Lines(out / "down.jsonl");
  ASSERT_EQ(down.size(), 2u);
  EXPECT_EQ(down[1]["expectations"][0]["status"], "error");
  EXPECT_NE(down[1]["expectations"][0]["detail"].get<std::string>().find(
                "after 2 attempts: http"),
            std::string::npos)
      << down[1];

  json s = json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(s["judge"], json::parse(R"({"requests":6,"passed":2,"failed":1,
      "errors":2,"pending":0})"));
  EXPECT_EQ(s["counts"]["turns_ok"], 5);
  EXPECT_EQ(s["counts"]["turns_failed"], 1);
  EXPECT_EQ(s["counts"]["conversations_ok"], 4);
  EXPECT_EQ(s["counts"]["conversations_failed"], 1);
  // Only decided checks count here: two judges passed and "contains".
  EXPECT_EQ(s["expectations"], json::parse(R"({"passed":3,"failed":1})"));

  const std::string xml = ReadFile(junit);
  EXPECT_EQ(testnet::Count(xml, "<error message=\"judge: "), 2) << xml;
  EXPECT_EQ(testnet::Count(xml, "type=\"judge\""), 2) << xml;
  EXPECT_EQ(testnet::Count(xml, "<failure "), 1) << xml;
}

TEST_F(JudgeIntegrationTest, AnUnreachableGraderIsAnError) {
  sockaddr_in addr{};
  const int fd = testnet::BindLoopback(&addr);
  ASSERT_GE(fd, 0);
  const int port = ntohs(addr.sin_port);
  close(fd);  // nothing listens there now
  fs::path job =
      WriteJob("endpoint: ENDPOINT\njudge:\n  endpoint: http://127.0.0.1:" +
               std::to_string(port) +
               "/v1/chat/completions\n  retry: {attempts: 1}\n"
               "conversations:\n  - id: c1\n    messages:\n"
               "      - content: hi\n        expect: {judge: \"greets\"}\n");
  fs::path out = dir_ / "out";
  RunResult r = Chatbatch({"run", job.string(), "-o", out.string(), "-q"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("1 ok, 0 failed, 0 error"), std::string::npos) << r.out;
  std::vector<json> lines = Lines(out / "c1.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  const json& e = lines[1]["expectations"][0];
  EXPECT_EQ(e["status"], "error");
  EXPECT_NE(e["detail"].get<std::string>().find("connect"), std::string::npos)
      << e;
  json s = json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(s["judge"]["errors"], 1);
}

TEST_F(JudgeIntegrationTest, ResumeGradesWhatAKilledRunLeftPending) {
  // A grader that accepts connections (the backlog) and never answers.
  sockaddr_in addr{};
  const int fd = testnet::BindLoopback(&addr);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(listen(fd, 16), 0);
  const std::string hung =
      "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) +
      "/v1/chat/completions";
  const std::string body =
      "conversations:\n  - id: c1\n    messages:\n"
      "      - content: '[[mock reply=\"Paris is the capital.\"]] q'\n"
      "        expect: {judge: \"Names Paris as the capital\"}\n";
  fs::path job =
      WriteJob("endpoint: ENDPOINT\njudge: {endpoint: " + hung + "}\n" + body);
  fs::path out = dir_ / "out";
  {
    Process p({CHATBATCH_BIN, "run", job.string(), "-o", out.string()},
              dir_ / "run.out", dir_ / "run.err");
    // The turn is recorded (a whole line) while its grading hangs.
    auto recorded = [&] {
      return fs::exists(out / "c1.jsonl") &&
             ReadFile(out / "c1.jsonl").ends_with("\n");
    };
    for (int i = 0; i < 1000 && !recorded(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(recorded());
    p.Signal(SIGKILL);
    p.Wait(std::chrono::seconds(10));
  }
  close(fd);
  std::vector<json> before = Lines(out / "c1.jsonl");
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0]["expectations"][0]["status"], "pending");
  const int requests = Stats()["requests"].get<int>();

  // The same job, its grader now the mock's.
  WriteJob("endpoint: ENDPOINT\n" + body);
  RunResult r =
      Chatbatch({"run", job.string(), "-o", out.string(), "--resume", "-q"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> after = Lines(out / "c1.jsonl");
  ASSERT_EQ(after.size(), 2u);  // the turn was not sent again
  EXPECT_EQ(after[0]["turn"], 1);
  EXPECT_EQ(after[1]["grade"], 1);
  EXPECT_EQ(after[1]["expectations"][0]["ok"], true);
  EXPECT_EQ(Stats()["requests"].get<int>(), requests + 1);  // the grading
  json s = json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(s["counts"]["conversations_ok"], 1);
  EXPECT_EQ(s["judge"]["passed"], 1);
  EXPECT_EQ(s["judge"]["pending"], 0);

  // Graded once: another --resume grades nothing again.
  RunResult again =
      Chatbatch({"run", job.string(), "-o", out.string(), "--resume", "-q"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Lines(out / "c1.jsonl").size(), 2u);
  EXPECT_EQ(Stats()["requests"].get<int>(), requests + 1);
}

}  // namespace
}  // namespace chatbatch

namespace chatbatch {
namespace {

// --cache keeps the grader's verdicts too: an --offline rerun sends
// nothing, neither turns nor gradings, and records the same verdicts,
// marked cached.
TEST_F(JudgeIntegrationTest, CachedVerdictsReplayOffline) {
  const fs::path job = WriteJob(R"(
endpoint: ENDPOINT
judge: {threshold: 0.5}
conversations:
  - id: graded
    messages:
      - content: '[[mock reply="Paris is the capital of France."]] q'
        expect: {judge: "Names Paris as the capital"}
      - content: '[[mock reply="It rains."]] q2'
        expect: {judge: "Mentions the weather forecast for Paris"}
)");
  const fs::path cache = dir_ / "cache";
  RunResult first = Chatbatch({"run", job.string(), "-o", (dir_ / "a").string(),
                               "--cache", cache.string(), "-q"});
  ASSERT_EQ(first.exit_code, 1) << first.err;  // the second judge fails
  EXPECT_EQ(Stats()["requests"], 4);           // two turns, two gradings

  ASSERT_NE(HttpGet(base_ + "/mock/reset", /*post=*/true).find("ok"),
            std::string::npos);
  RunResult second =
      Chatbatch({"run", job.string(), "-o", (dir_ / "b").string(), "--cache",
                 cache.string(), "--offline", "-q"});
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_EQ(Stats()["requests"], 0);
  EXPECT_NE(second.out.find("judge: 1 passed, 1 failed, 0 error"),
            std::string::npos)
      << second.out;
  // Grade lines by the turn they grade: two gradings in flight at once
  // finish in either order.
  auto grades = [](const std::vector<json>& lines) {
    std::map<int, json> by_turn;
    for (const json& line : lines) {
      if (line.contains("grade")) by_turn[line["grade"].get<int>()] = line;
    }
    return by_turn;
  };
  const std::map<int, json> a = grades(Lines(dir_ / "a" / "graded.jsonl"));
  const std::map<int, json> b = grades(Lines(dir_ / "b" / "graded.jsonl"));
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  int cached_verdicts = 0;
  for (const auto& [turn, line] : a) {
    const json& live = line["expectations"][0];
    const json& replayed = b.at(turn)["expectations"][0];
    EXPECT_EQ(live["ok"], replayed["ok"]);
    EXPECT_EQ(live["score"], replayed["score"]);
    EXPECT_EQ(live["raw"], replayed["raw"]);
    EXPECT_FALSE(live.contains("cached"));
    if (replayed.value("cached", false)) ++cached_verdicts;
  }
  EXPECT_EQ(cached_verdicts, 2);
}

}  // namespace
}  // namespace chatbatch
