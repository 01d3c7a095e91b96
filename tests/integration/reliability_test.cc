// Fault injection end to end: every failure the mock can script, with the
// retry, timeout and limit settings of the job, checked in the final
// outputs; then resume after interruptions, kill -9 and unwritable output.
#include <cstdlib>
#include <random>

#include "support/mock_fixture.h"
#include "support/run_dir_match.h"

namespace chatbatch {
namespace {

using testing::ExpectSameRun;
using testing::ExpectWholeFiles;

class ReliabilityTest : public IntegrationTest {};

// Quick retries so the matrix runs in seconds; one conversation per fault.
constexpr char kFaultJob[] = R"(
name: faults
endpoint: ENDPOINT
concurrency: 32
retry: {attempts: 3, backoff: 20ms, max_backoff: 100ms}
timeouts: {connect: 2s, first_token: 1s, idle: 500ms, total: 5s}
limits: {max_line_bytes: 4KiB}
defaults: {model: "", provider: Stateless}
conversations:
  - {id: ok, messages: [hello]}
  - {id: g4f500_once, messages: ["[[mock status=500 shape=g4f message=\"RuntimeError: flaky\" fail_times=1]] hi"]}
  - {id: g4f500_always, messages: ["[[mock status=500 shape=g4f message=\"RuntimeError: down\"]] hi"]}
  - {id: g4f401, messages: ["[[mock status=401 shape=g4f message=\"Missing auth\"]] hi"]}
  - {id: g4f404, messages: ["[[mock status=404 shape=g4f message=\"Model not found\"]] hi"]}
  - {id: g4f422, messages: ["[[mock status=422 shape=g4f422]] hi"]}
  - {id: llama400, messages: ["[[mock status=400 shape=llama message=\"context exceeded\"]] hi"]}
  - {id: openai503_twice, messages: ["[[mock status=503 shape=openai message=\"overloaded\" fail_times=2]] hi"]}
  - {id: r408, messages: ["[[mock status=408 fail_times=1]] hi"]}
  - {id: r502, messages: ["[[mock status=502 shape=text fail_times=1]] hi"]}
  - {id: r504, messages: ["[[mock status=504 fail_times=1]] hi"]}
  - {id: retry_after, messages: ["[[mock status=429 message=\"slow down\" retry_after=1 fail_times=1]] hi"]}
  - {id: stream_error, messages: ["[[mock stream_error=\"conversation expired\"]] hi"]}
  - {id: stream_error_early, messages: ["[[mock stream_error=\"RuntimeError: busy\" error_after=0 fail_times=1]] hi"]}
  - {id: stream_error_listed, retry: {on: [server]}, messages: ["[[mock stream_error=\"conversation expired\" fail_times=1]] hi"]}
  - {id: cut_once, messages: ["[[mock cut_after=2 fail_times=1]] hi"]}
  - {id: cut_always, messages: ["[[mock cut_after=2]] hi"]}
  - {id: stall_once, messages: ["[[mock stall_ms=3000 stall_after=2 fail_times=1]] hi"]}
  - {id: slow_first_token, messages: ["[[mock first_token_ms=3000 fail_times=1]] hi"]}
  - {id: malformed, messages: ["[[mock malformed=3]] hi"]}
  - {id: oversized_line, messages: ["[[mock reply=\"LONG\"]] hi"]}
  - {id: second_turn_fails, messages: [one, "[[mock status=400 shape=openai message=\"bad turn\"]] two", three]}
)";

struct Expectation {
  std::string id;
  std::string status;  // "ok" or "error"
  int attempts;
  std::string error_kind;                  // of the final record, "" when ok
  std::string message;                     // part of the error, "" for none
  std::vector<std::string> attempt_kinds;  // error_kind of each failed try
};

TEST_F(ReliabilityTest, FaultMatrix) {
  std::string yaml = kFaultJob;
  // A reply with one word longer than the 4 KiB line cap.
  yaml.replace(yaml.find("LONG"), 4, std::string(6000, 'x'));
  fs::path job = WriteJob(yaml);
  fs::path out = dir_ / "out";
  RunResult r = RunInto(job, out);
  EXPECT_EQ(r.exit_code, 1) << r.err;

  const std::vector<Expectation> matrix = {
      {"ok", "ok", 1, "", "", {}},
      {"g4f500_once", "ok", 2, "", "", {"http"}},
      {"g4f500_always",
       "error",
       3,
       "http",
       "RuntimeError: down",
       {"http", "http"}},
      {"g4f401", "error", 1, "http", "Missing auth", {}},
      {"g4f404", "error", 1, "http", "Model not found", {}},
      {"g4f422", "error", 1, "http", "", {}},
      {"llama400", "error", 1, "http", "context exceeded", {}},
      {"openai503_twice", "ok", 3, "", "", {"http", "http"}},
      {"r408", "ok", 2, "", "", {"http"}},
      {"r502", "ok", 2, "", "", {"http"}},
      {"r504", "ok", 2, "", "", {"http"}},
      {"retry_after", "ok", 2, "", "", {"http"}},
      // After text: not retried unless retry.on lists "server".
      {"stream_error", "error", 1, "server", "conversation expired", {}},
      {"stream_error_early", "ok", 2, "", "", {"server"}},
      {"stream_error_listed", "ok", 2, "", "", {"server"}},
      {"cut_once", "ok", 2, "", "", {"incomplete"}},
      {"cut_always",
       "error",
       3,
       "incomplete",
       "mid-stream",
       {"incomplete", "incomplete"}},
      {"stall_once", "ok", 2, "", "", {"idle_timeout"}},
      {"slow_first_token", "ok", 2, "", "", {"first_token_timeout"}},
      {"malformed", "ok", 1, "", "", {}},
      {"oversized_line", "error", 1, "limit", "", {}},
  };
  for (const Expectation& e : matrix) {
    std::vector<json> records = Records(out / (e.id + ".jsonl"));
    ASSERT_EQ(records.size(), 1u) << e.id;
    const json& rec = records[0];
    EXPECT_EQ(rec["status"], e.status) << e.id << ": " << rec.dump();
    EXPECT_EQ(rec["attempts"], e.attempts) << e.id << ": " << rec.dump();
    if (!e.error_kind.empty()) {
      EXPECT_EQ(rec["error_kind"], e.error_kind) << e.id;
      EXPECT_NE(rec["error"].get<std::string>().find(e.message),
                std::string::npos)
          << e.id << ": " << rec["error"];
    }
    ASSERT_EQ(rec["attempt_errors"].size(), e.attempt_kinds.size()) << e.id;
    for (size_t i = 0; i < e.attempt_kinds.size(); ++i) {
      EXPECT_EQ(rec["attempt_errors"][i]["error_kind"], e.attempt_kinds[i])
          << e.id;
    }
  }
  EXPECT_EQ(Records(out / "malformed.jsonl")[0]["invalid_lines"], 3);
  std::vector<json> second = Records(out / "second_turn_fails.jsonl");
  ASSERT_EQ(second.size(), 2u);  // turn 3 never sent
  EXPECT_EQ(second[1]["error"], "bad turn");
  json summary = json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(summary["counts"]["conversations_ok"], 13);
  EXPECT_EQ(summary["counts"]["conversations_failed"], 0);
  EXPECT_EQ(summary["counts"]["conversations_error"], 9);
}

TEST_F(ReliabilityTest, RetryAfterIsWaitedOut) {
  fs::path job = WriteJob(R"(
endpoint: ENDPOINT
retry: {backoff: 10ms}
conversations:
  - messages: ["[[mock status=429 retry_after=2 fail_times=1]] hi"]
)");
  fs::path out = dir_ / "out";
  RunResult r = RunInto(job, out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json stats = Stats();
  ASSERT_EQ(stats["log"].size(), 2u);
  int64_t gap = stats["log"][1]["start_us"].get<int64_t>() -
                stats["log"][0]["end_us"].get<int64_t>();
  EXPECT_GE(gap, 1'900'000) << "Retry-After: 2 not honoured";
}

std::string ResumeJob(int conversations, int turns) {
  std::string yaml =
      "name: resume\nendpoint: ENDPOINT\nconcurrency: 8\n"
      "defaults: {provider: Stateless, mock: {pace_ms: 10, chunks: 4}}\n"
      "conversations:\n";
  for (int i = 1; i <= conversations; ++i) {
    yaml += "  - messages: [";
    for (int t = 1; t <= turns; ++t) {
      yaml += (t > 1 ? ", " : "") + std::string("\"c") + std::to_string(i) +
              " says " + std::to_string(t) + "\"";
    }
    yaml += "]\n";
  }
  return yaml;
}

std::map<std::string, std::string> Transcripts(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".md") {
      out[entry.path().filename()] = ReadFile(entry.path());
    }
  }
  return out;
}

TEST_F(ReliabilityTest, ResumeSkipsFinishedWorkAndRefusesSurprises) {
  fs::path job = WriteJob(ResumeJob(3, 2));
  fs::path out = dir_ / "out";
  ASSERT_EQ(RunInto(job, out).exit_code, 0);
  int64_t sent = Stats()["requests"];
  // A plain re-run must not silently append to or wipe the earlier run.
  RunResult again = RunInto(job, out);
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("--resume"), std::string::npos) << again.err;
  // Resuming a finished run sends nothing.
  EXPECT_EQ(Chatbatch({"run", job.string(), "-o", out.string(), "--resume"})
                .exit_code,
            0);
  EXPECT_EQ(Stats()["requests"].get<int64_t>(), sent);
  // A changed job is refused, then --force re-runs exactly what changed.
  std::string changed = ResumeJob(3, 2);
  changed.replace(changed.find("c2 says 2"), 9, "c2 says 22");
  WriteJob(changed);
  RunResult refused =
      Chatbatch({"run", job.string(), "-o", out.string(), "--resume"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("changed since " + out.string() +
                             " was started: 1 conversation differs (c2);"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(Stats()["requests"].get<int64_t>(), sent);
  RunResult forced = Chatbatch(
      {"run", job.string(), "-o", out.string(), "--resume", "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  // Progress counts on from the two conversations already done.
  EXPECT_NE(forced.err.find("[3/3] c2 ok (2/2 turns)\n"), std::string::npos)
      << forced.err;
  EXPECT_EQ(Stats()["requests"].get<int64_t>(), sent + 2);
  std::vector<json> c2 = Records(out / "c2.jsonl");
  ASSERT_EQ(c2.size(), 2u);
  EXPECT_EQ(c2[1]["user"], "c2 says 22");
}

TEST_F(ReliabilityTest, RetryFailedReRunsOnlyTheFailedTurn) {
  fs::path job = WriteJob(R"(
endpoint: ENDPOINT
retry: {attempts: 1}
defaults: {provider: Stateless}
conversations:
  - id: good
    messages: [a, b]
  - id: flaky
    messages: [first, "[[mock status=500 fail_times=1]] second", third]
)");
  fs::path out = dir_ / "out";
  ASSERT_EQ(RunInto(job, out).exit_code, 1);
  EXPECT_EQ(Records(out / "flaky.jsonl").size(), 2u);
  // --resume alone leaves a failed conversation alone.
  EXPECT_EQ(Chatbatch({"run", job.string(), "-o", out.string(), "--resume"})
                .exit_code,
            1);
  int64_t before = Stats()["requests"];
  RunResult r = Chatbatch(
      {"run", job.string(), "-o", out.string(), "--resume", "--retry-failed"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Stats()["requests"].get<int64_t>(), before + 2);  // turns 2, 3
  std::vector<json> flaky = Records(out / "flaky.jsonl");
  ASSERT_EQ(flaky.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(flaky[i]["turn"], i + 1);
    EXPECT_EQ(flaky[i]["status"], "ok");
  }
  // The resumed turn carried the recorded history and conversation_id.
  json log = Stats()["log"];
  const json& resent = log[log.size() - 2];
  EXPECT_EQ(resent["messages"], 3);
  EXPECT_EQ(resent["conversation_id"], flaky[0]["conversation_id"]);
}

// The proof the issue asks for: kill -9 at many random moments, resume
// until done, and compare with an uninterrupted run.
TEST_F(ReliabilityTest, KillNineAnywhereThenResumeMatchesAnUninterruptedRun) {
  constexpr int kConversations = 24, kTurns = 3, kConcurrency = 8;
  fs::path job = WriteJob(ResumeJob(kConversations, kTurns));
  fs::path clean = dir_ / "clean";
  ASSERT_EQ(
      Chatbatch({"run", job.string(), "-o", clean.string(), "-q"}).exit_code,
      0);
  const int64_t clean_requests = Stats()["requests"];
  ASSERT_EQ(clean_requests, kConversations * kTurns);

  // CHATBATCH_TEST_SEED replays a failure; the seed is in every message.
  const char* seed_env = std::getenv("CHATBATCH_TEST_SEED");
  const unsigned seed = seed_env != nullptr
                            ? static_cast<unsigned>(std::stoul(seed_env))
                            : std::random_device{}();
  SCOPED_TRACE("CHATBATCH_TEST_SEED=" + std::to_string(seed));
  std::mt19937 rng(seed);
  // Each kill lands a random number of requests into the round (counted
  // by the mock, so a slow or busy machine cannot let a round run to the
  // end before its kill), then a random few ms later: anywhere in a turn.
  // A turn lasts at least 40 ms, so a round sends at most 6 + 2 * 8 of the 72
  // requests and at least three rounds end in a kill.
  std::uniform_int_distribution<int> sent_before_kill(1, 6);
  std::uniform_int_distribution<int> delay_ms(0, 20);
  fs::path out = dir_ / "killed";
  int kills = 0;
  bool finished = false;
  for (int round = 0; round < 40 && !finished; ++round) {
    std::vector<std::string> args = {CHATBATCH_BIN, "run",        job.string(),
                                     "-o",          out.string(), "-q"};
    if (round > 0) args.push_back("--resume");
    const int64_t target =
        Stats()["requests"].get<int64_t>() + sent_before_kill(rng);
    Process p(args, dir_ / "stdout", dir_ / "stderr");
    std::optional<int> code;
    for (int i = 0; i < 5000; ++i) {
      code = p.Wait(std::chrono::seconds(0));
      if (code || Stats()["requests"].get<int64_t>() >= target) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    if (!code) code = p.Wait(std::chrono::seconds(0));
    if (!code) {
      p.Signal(SIGKILL);
      code = p.Wait(std::chrono::seconds(10));
      ASSERT_TRUE(code.has_value()) << "round " << round << ": not killed";
    }
    // A run that got to the end before the signal is no kill: it must have
    // finished cleanly, and it ends the loop.
    if (*code == 0) {
      finished = true;
      break;
    }
    ASSERT_EQ(*code, 128 + SIGKILL)
        << "round " << round << ": " << ReadFile(dir_ / "stderr");
    ++kills;
    // Whatever the kill left is whole or repairable; the next --resume
    // must clear the rest away (ExpectSameRun below).
    if (fs::exists(out)) ExpectWholeFiles(out, testing::Stop::kAnywhere);
    if (HasFatalFailure()) return;
  }
  if (!finished) {
    RunResult r =
        Chatbatch({"run", job.string(), "-o", out.string(), "-q", "--resume"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_GE(kills, 3) << "too few kills landed mid-run to prove anything";
  // Same files, transcripts byte for byte, each turn recorded exactly once.
  ExpectSameRun(clean, out);
  EXPECT_EQ(Transcripts(out), Transcripts(clean));
  for (int i = 1; i <= kConversations; ++i) {
    std::string id = "c" + std::to_string(i);
    std::vector<json> records = Records(out / (id + ".jsonl"));
    ASSERT_EQ(records.size(), static_cast<size_t>(kTurns)) << id;
    std::set<std::string> conversation_ids;
    for (int t = 0; t < kTurns; ++t) {
      EXPECT_EQ(records[t]["turn"], t + 1) << id;
      EXPECT_EQ(records[t]["status"], "ok") << id;
      conversation_ids.insert(records[t]["conversation_id"]);
    }
    EXPECT_EQ(conversation_ids.size(), 1u) << id << " changed conversation_id";
  }
  // Only turns in flight at a kill can be sent again: at most
  // kConcurrency per kill, never a recorded one.
  int64_t extra = Stats()["requests"].get<int64_t>() - 2 * clean_requests;
  EXPECT_LE(extra, static_cast<int64_t>(kills) * kConcurrency);
  json summary = json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(summary["counts"]["conversations_ok"], kConversations);
  EXPECT_EQ(summary["counts"]["turns_ok"], kConversations * kTurns);
}

TEST_F(ReliabilityTest, UnwritableOutputStopsTheRunWithAnError) {
  // One long conversation: run.json and summary.json stay small, so the
  // limit falls on c1.jsonl after a few turns rather than before the first.
  fs::path job = WriteJob(ResumeJob(1, 20));
  fs::path out = dir_ / "out";
  // A file-size limit makes the writes fail part-way, like a full disk.
  RunResult r = RunInto(job, out);
  ASSERT_EQ(r.exit_code, 0);
  fs::path limited = dir_ / "limited";
  Process p({"/usr/bin/prlimit", "--fsize=6000", CHATBATCH_BIN, "run",
             job.string(), "-o", limited.string(), "-q"},
            dir_ / "stdout", dir_ / "stderr");
  std::optional<int> code = p.Wait(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 3) << ReadFile(dir_ / "stderr");
  EXPECT_NE(ReadFile(dir_ / "stderr").find("File too large"), std::string::npos)
      << ReadFile(dir_ / "stderr");
  // What was written is whole, and something was written before the limit.
  size_t records = 0;
  for (const auto& entry : fs::directory_iterator(limited)) {
    if (entry.path().extension() == ".jsonl") {
      records += Records(entry.path()).size();
    }
  }
  EXPECT_GE(records, 1u);
  EXPECT_LT(records, 20u);
  // And a path that cannot be a directory fails before anything is sent.
  RunResult bad =
      Chatbatch({"run", job.string(), "-o", (job / "sub").string(), "-q"});
  EXPECT_EQ(bad.exit_code, 3);
}

}  // namespace
}  // namespace chatbatch
