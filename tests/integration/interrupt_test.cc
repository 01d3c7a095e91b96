// Stopping a run from outside: one SIGINT (in-flight turns finish), the
// grace period running out on hung streams, a second SIGINT, SIGTERM, and
// --overwrite of an interrupted directory. After each, a resumed run must
// end with every turn recorded exactly once.
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "support/mock_fixture.h"

namespace chatbatch {
namespace {

class InterruptTest : public IntegrationTest {
 protected:
  // "convs" conversations of "turns" turns each, every reply paced by
  // "mock" (a mock directive body, e.g. "pace_ms=50 chunks=10").
  fs::path Job(int convs, int turns, const std::string& mock,
               const std::string& extra = "") {
    std::string yaml =
        "name: intr\nendpoint: ENDPOINT\nconcurrency: 2\n" + extra +
        "defaults: {model: \"\", provider: Stateless}\n" + "conversations:\n";
    for (int i = 1; i <= convs; ++i) {
      yaml += "  - id: c" + std::to_string(i) + "\n    messages:\n";
      for (int t = 1; t <= turns; ++t) {
        yaml += "      - \"[[mock " + mock + "]] turn " + std::to_string(t) +
                "\"\n";
      }
    }
    return WriteJob(yaml);
  }

  // Waits (bounded) until the mock has "n" requests of this test in flight.
  void WaitInFlight(int n) {
    for (int i = 0; i < 1000; ++i) {
      if (Stats()["in_flight"].get<int>() >= n) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "the mock never had " << n << " requests in flight";
  }

  static void WaitForFile(const fs::path& path) {
    for (int i = 0; i < 1000 && !fs::exists(path); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(fs::exists(path)) << "never written";
  }

  // Every conversation has exactly turns 1..turns, once each, all ok.
  void ExpectComplete(const fs::path& out, int convs, int turns) {
    for (int i = 1; i <= convs; ++i) {
      const fs::path file = out / ("c" + std::to_string(i) + ".jsonl");
      ASSERT_TRUE(fs::exists(file)) << file;
      std::vector<json> records = Records(file);
      ASSERT_EQ(records.size(), static_cast<size_t>(turns)) << file;
      for (int t = 0; t < turns; ++t) {
        EXPECT_EQ(records[t]["turn"], t + 1) << file;
        EXPECT_EQ(records[t]["status"], "ok") << file;
      }
    }
  }

  int RunToEnd(Process* p) {
    std::optional<int> code = p->Wait(std::chrono::seconds(60));
    EXPECT_TRUE(code.has_value()) << "still running after 60 s";
    return code.value_or(-1);
  }

  // "chatbatch run job -o out" in the background, its output in
  // dir_/run.out and dir_/run.err.
  std::unique_ptr<Process> StartRun(const fs::path& job, const fs::path& out) {
    return std::make_unique<Process>(
        std::vector<std::string>{CHATBATCH_BIN, "run", job.string(), "-o",
                                 out.string()},
        dir_ / "run.out", dir_ / "run.err");
  }

  // What the background run wrote to stderr so far.
  std::string RunErr() const { return ReadFile(dir_ / "run.err"); }

  // The run's summary says it was interrupted.
  static void ExpectInterrupted(const fs::path& out) {
    json summary = json::parse(ReadFile(out / "summary.json"));
    EXPECT_EQ(summary["status"], "interrupted");
  }

  // "chatbatch run job -o out --resume" (and "extra") exits 0 and leaves
  // every turn recorded once.
  void ExpectResumeCompletes(const fs::path& job, const fs::path& out,
                             int convs, int turns,
                             const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"run", job.string(), "-o", out.string(),
                                     "--resume"};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult resumed = Chatbatch(args);
    EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
    ExpectComplete(out, convs, turns);
  }

  // Runs "job" into "out" and sends it "signal" once c1 has a record and
  // a turn is in flight; the run exits 130.
  void InterruptMidRun(const fs::path& job, const fs::path& out, int signal) {
    std::unique_ptr<Process> p = StartRun(job, out);
    WaitForFile(out / "c1.jsonl");
    WaitInFlight(1);
    p->Signal(signal);
    EXPECT_EQ(RunToEnd(p.get()), 130) << RunErr();
  }

  // Starts a run into "out" of two one-turn conversations whose streams
  // never end, with grace period "grace", and sends it SIGINT once both
  // are in flight.
  std::unique_ptr<Process> InterruptHungRun(const std::string& grace,
                                            const fs::path& out) {
    fs::path job =
        Job(2, 1, "stall_after=1 stall_ms=-1",
            "grace: " + grace + "\ntimeouts: {idle: off, total: off}\n");
    std::unique_ptr<Process> p = StartRun(job, out);
    WaitInFlight(2);
    p->Signal(SIGINT);
    return p;
  }
};

// One SIGINT: the turns in flight finish and are recorded, nothing new
// starts, exit 130; --resume then does the rest and nothing twice.
TEST_F(InterruptTest, OneSigintFinishesInFlightTurns) {
  fs::path job = Job(4, 3, "pace_ms=40 chunks=10");
  const fs::path out = dir_ / "out";
  InterruptMidRun(job, out, SIGINT);
  const std::string err = RunErr();
  EXPECT_NE(err.find("interrupted: finishing"), std::string::npos) << err;
  EXPECT_EQ(err.find("cancelled"), std::string::npos) << err;
  ExpectInterrupted(out);
  // Whatever is on disk finished: no cancelled or error records, and at
  // least c1's first turn and the one in flight at the interrupt.
  size_t records = 0;
  for (const auto& entry : fs::directory_iterator(out)) {
    if (entry.path().extension() != ".jsonl") continue;
    for (const json& r : Records(entry.path())) {
      EXPECT_EQ(r["status"], "ok") << entry.path();
      ++records;
    }
  }
  EXPECT_GE(records, 2u);
  ExpectResumeCompletes(job, out, 4, 3);
}

// Streams that never end: the grace period runs out, they are cancelled
// and not recorded, exit 130; a resume sends those turns again.
TEST_F(InterruptTest, GraceExpiryCancelsHungStreams) {
  const fs::path out = dir_ / "out";
  std::unique_ptr<Process> p = InterruptHungRun("300ms", out);
  EXPECT_EQ(RunToEnd(p.get()), 130);
  const std::string err = RunErr();
  EXPECT_NE(err.find("grace period over"), std::string::npos) << err;
  EXPECT_TRUE(Records(out / "c1.jsonl").empty());
  EXPECT_TRUE(Records(out / "c2.jsonl").empty());
  ExpectInterrupted(out);
  // Resumed against replies that end, both turns are sent again.
  fs::path fixed = Job(2, 1, "pace_ms=1", "grace: 300ms\n");
  ExpectResumeCompletes(fixed, out, 2, 1, {"--force"});
}

// A second SIGINT does not wait for the (long) grace period.
TEST_F(InterruptTest, SecondSigintCancelsAtOnce) {
  const fs::path out = dir_ / "out";
  std::unique_ptr<Process> p = InterruptHungRun("10m", out);
  // Two pending SIGINTs would arrive as one: send the second only once
  // the first was taken.
  for (int i = 0;
       i < 1000 && RunErr().find("interrupted: finishing") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  p->Signal(SIGINT);
  EXPECT_EQ(RunToEnd(p.get()), 130);
  const std::string err = RunErr();
  EXPECT_EQ(err.find("grace period over"), std::string::npos) << err;
  EXPECT_NE(err.find("cancelled"), std::string::npos) << err;
  EXPECT_TRUE(Records(out / "c1.jsonl").empty());
}

// SIGTERM (what a scheduler sends) behaves like the first Ctrl-C.
TEST_F(InterruptTest, SigtermIsAnInterrupt) {
  fs::path job = Job(4, 3, "pace_ms=40 chunks=10");
  const fs::path out = dir_ / "out";
  InterruptMidRun(job, out, SIGTERM);
  ExpectInterrupted(out);
  ExpectResumeCompletes(job, out, 4, 3);
}

// An interrupted directory is not touched by a plain run; --overwrite
// starts over and leaves exactly what a fresh run leaves.
TEST_F(InterruptTest, OverwriteStartsOver) {
  fs::path job = Job(3, 2, "pace_ms=40 chunks=10");
  const fs::path out = dir_ / "out";
  {
    std::unique_ptr<Process> p = StartRun(job, out);
    WaitForFile(out / "c1.jsonl");
    p->Signal(SIGINT);
    EXPECT_EQ(RunToEnd(p.get()), 130);
  }
  const std::string before = ReadFile(out / "run.json");
  RunResult refused = RunInto(job, out);
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("--resume"), std::string::npos) << refused.err;
  EXPECT_EQ(ReadFile(out / "run.json"), before);
  RunResult over =
      Chatbatch({"run", job.string(), "-o", out.string(), "--overwrite"});
  EXPECT_EQ(over.exit_code, 0) << over.err;
  ExpectComplete(out, 3, 2);
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(out)) {
    files.insert(entry.path().filename().string());
  }
  EXPECT_EQ(files, (std::set<std::string>{
                       "c1.jsonl", "c1.md", "c2.jsonl", "c2.md", "c3.jsonl",
                       "c3.md", "chatbatch.log", "run.json", "summary.json"}));
}

// Issue 12 scaled down: 2,000 single-turn prompts from a JSONL file, a
// SIGINT at about half, then --resume: every prompt has exactly one record,
// and the final summary lists every conversation once.
TEST_F(InterruptTest, PromptFileInterruptedAtHalfResumesExactlyOnce) {
  constexpr int kPrompts = 2000;
  std::string prompts;
  for (int i = 1; i <= kPrompts; ++i) {
    prompts += "\"prompt " + std::to_string(i) + "\"\n";
  }
  WriteFile(dir_ / "p.jsonl", prompts);
  fs::path job = WriteJob(
      "name: many\nendpoint: ENDPOINT\nconcurrency: 64\n"
      "defaults: {model: \"\", mock: {chunks: 8, words: 8, pace_ms: 2}}\n"
      "conversations_from: p.jsonl\n");
  const fs::path out = dir_ / "out";
  std::unique_ptr<Process> p = StartRun(job, out);
  auto count_jsonl = [&] {
    int n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out, ec)) {
      if (e.path().extension() == ".jsonl") ++n;
    }
    return n;
  };
  for (int i = 0; i < 3000 && count_jsonl() < kPrompts / 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  p->Signal(SIGINT);
  const int code = RunToEnd(p.get());
  const int done = count_jsonl();
  if (code == 130) {
    ExpectInterrupted(out);
    EXPECT_LT(done, kPrompts);
  }
  RunResult resumed =
      Chatbatch({"run", job.string(), "-o", out.string(), "--resume"});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  for (int i = 1; i <= kPrompts; ++i) {
    const fs::path file = out / ("p-" + std::to_string(i) + ".jsonl");
    ASSERT_TRUE(fs::exists(file)) << file;
    std::vector<json> records = Records(file);
    ASSERT_EQ(records.size(), 1u) << file;
    EXPECT_EQ(records[0]["status"], "ok") << file;
  }
  json summary = json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(summary["status"], "finished");
  EXPECT_EQ(summary["counts"]["conversations_ok"], kPrompts);
  EXPECT_EQ(summary["counts"]["turns_ok"], kPrompts);
  EXPECT_EQ(summary["conversations"].size(), static_cast<size_t>(kPrompts));
}

}  // namespace
}  // namespace chatbatch
