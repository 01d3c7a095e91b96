// End-to-end: the real chatbatch binary against the real chatbatch-mock
// over loopback HTTP, on an ephemeral port.
#include "support/mock_fixture.h"

namespace chatbatch {
namespace {

TEST_F(IntegrationTest, HeinerSecondReplyKnowsTheName) {
  // The original workflow: Copilot is stateful and the mock is strict, so
  // the name comes back only if chatbatch echoes the conversation object.
  fs::path job = WriteJob(R"(
name: heiner
endpoint: ENDPOINT
defaults: {model: "", provider: Copilot, stream: true}
conversations:
  - id: heiner
    messages:
      - Hello, i am Heiner. How are you?
      - Tell me somethings about my name
)");
  fs::path out = dir_ / "out";
  RunResult r = RunInto(job, out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> records = Records(out / "heiner.jsonl");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["status"], "ok");
  EXPECT_EQ(records[1]["status"], "ok");
  EXPECT_NE(records[1]["reply"].get<std::string>().find("Heiner"),
            std::string::npos)
      << records[1]["reply"];
  EXPECT_EQ(records[0]["conversation_id"], records[1]["conversation_id"]);
  EXPECT_EQ(records[1]["provider"], "Copilot");
  // What the strict mock received: turn 1 started a conversation under an
  // id of its own; turn 2 continued it through the echoed object alone, and
  // chatbatch's conversation_id went along unused.
  json stats = Stats();
  EXPECT_EQ(stats["strict_g4f"], true);
  json log = stats["log"];
  ASSERT_GE(log.size(), 2u);
  const json& first = log[log.size() - 2];
  const json& second = log[log.size() - 1];
  EXPECT_EQ(first["conversation"], nullptr);
  EXPECT_EQ(first["continued"], nullptr);
  ASSERT_TRUE(first["started"].is_string()) << first;
  const std::string minted = first["started"];
  EXPECT_TRUE(minted.starts_with("mock-conv-")) << minted;
  EXPECT_EQ(second["conversation"],
            json({{"conversation_id", minted}, {"turn", 1}}));
  EXPECT_EQ(second["continued"], minted);
  EXPECT_EQ(second["started"], nullptr);
  EXPECT_EQ(second["conversation_id"], records[1]["conversation_id"]);
  EXPECT_NE(second["conversation_id"], minted);
  std::string md = ReadFile(out / "heiner.md");
  EXPECT_NE(md.find("Tell me somethings about my name"), std::string::npos);
  json summary = json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(summary["status"], "finished");
  EXPECT_TRUE(fs::exists(out / "chatbatch.log"));
  EXPECT_NE(r.out.find(out.string()), std::string::npos) << r.out;
}

TEST_F(IntegrationTest, TwoHundredConversationsRunFiftyWideInOrder) {
  std::string yaml = "name: wide\nendpoint: ENDPOINT\nconcurrency: 50\n";
  yaml +=
      "defaults: {model: m, provider: Stateless, mock: {pace_ms: 20, chunks: "
      "10}}\n";
  yaml += "conversations:\n";
  for (int i = 1; i <= 200; ++i) {
    std::string id = "w" + std::to_string(i);
    yaml += "  - id: " + id + "\n    conversation_id: conv-" + id +
            "\n    messages: [\"" + id + " turn 1\", \"" + id +
            " turn 2\", \"" + id + " turn 3\"]\n";
  }
  fs::path job = WriteJob(yaml);
  fs::path out = dir_ / "out";
  // SetUp reset the mock, so its stats describe this run alone.
  RunResult r = Chatbatch({"run", job.string(), "-o", out.string(), "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json summary = json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(summary["counts"]["conversations_ok"], 200);
  EXPECT_EQ(summary["counts"]["turns_ok"], 600);

  // How close to 50 the paced turns came depends on the machine's speed
  // (FiftyWideFillsAndKeepsItsCap checks that); the cap does not.
  json stats = Stats();
  EXPECT_LE(stats["max_in_flight"].get<int>(), 50) << "cap exceeded";
  std::map<std::string, std::vector<json>> by_conv;
  for (const json& e : stats["log"]) {
    std::string cid = e.value("conversation_id", "");
    if (cid.starts_with("conv-w")) by_conv[cid].push_back(e);
  }
  ASSERT_EQ(by_conv.size(), 200u);
  for (auto& [cid, entries] : by_conv) {
    ASSERT_EQ(entries.size(), 3u) << cid;
    std::sort(entries.begin(), entries.end(), [](const json& a, const json& b) {
      return a["start_us"].get<int64_t>() < b["start_us"].get<int64_t>();
    });
    std::string id = cid.substr(5);
    for (int t = 0; t < 3; ++t) {
      EXPECT_EQ(entries[t]["last_user"], id + " turn " + std::to_string(t + 1));
      EXPECT_EQ(entries[t]["messages"], 2 * t + 1) << "full history";
      if (t > 0) {
        EXPECT_LE(entries[t - 1]["end_us"].get<int64_t>(),
                  entries[t]["start_us"].get<int64_t>())
            << cid << " overlapping turns";
      }
    }
  }
}

// Every turn is held open after its first chunk, so the conversations in
// flight only add up: the test waits for the mock to count 50 of them (no
// pacing window to race) and then sees that no 51st starts.
TEST_F(IntegrationTest, FiftyWideFillsAndKeepsItsCap) {
  std::string yaml =
      "name: cap\nendpoint: ENDPOINT\nconcurrency: 50\n"
      "timeouts: {idle: 10m, total: 10m}\n"
      "defaults: {model: m, provider: Stateless, mock: {stall_ms: -1}}\n"
      "conversations:\n";
  for (int i = 1; i <= 200; ++i) {
    yaml += "  - messages: [hi]\n";
  }
  fs::path job = WriteJob(yaml);
  fs::path out = dir_ / "out";
  Process p({CHATBATCH_BIN, "run", job.string(), "-o", out.string(), "-q"},
            dir_ / "stdout", dir_ / "stderr");
  json stats = Stats();
  for (int i = 0; i < 3000 && stats["in_flight"].get<int>() < 50; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stats = Stats();
  }
  EXPECT_EQ(stats["in_flight"], 50) << ReadFile(dir_ / "stderr");
  // A run that ignored the cap would have started more by now.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stats = Stats();
  EXPECT_EQ(stats["in_flight"], 50);
  EXPECT_EQ(stats["max_in_flight"], 50);
  EXPECT_EQ(stats["requests"], 50);
  // The first Ctrl-C waits for the held turns; the second cancels them.
  p.Signal(SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  p.Signal(SIGINT);
  std::optional<int> code = p.Wait(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 130) << ReadFile(dir_ / "stderr");
}

TEST_F(IntegrationTest, EachScriptedFailureFailsOnlyItsConversation) {
  fs::path job = WriteJob(R"(
name: faults
endpoint: ENDPOINT
concurrency: 8
defaults: {model: "", provider: Stateless}
conversations:
  - id: fine
    messages: [hello, again]
  - id: g4f500
    messages: ["[[mock status=500 shape=g4f message=\"RuntimeError: provider exploded\"]] hi"]
  - id: llama400
    messages: ["[[mock status=400 shape=llama message=\"the request exceeds the available context size\"]] hi"]
  - id: openai503
    messages: ["[[mock status=503 shape=openai message=\"The server is overloaded\" retry_after=1]] hi"]
  - id: g4f422
    messages: ["[[mock status=422 shape=g4f422]] hi"]
  - id: ratelimited
    messages: ["[[mock status=429 shape=g4f message=\"Rate limit reached\" retry_after=3]] hi"]
  - id: streamerror
    messages: [ok first, "[[mock stream_error=\"Copilot: conversation expired\"]] second"]
  - id: cut
    messages: ["[[mock cut_after=2]] hi"]
  - id: malformed
    messages: ["[[mock malformed=2]] hi"]
  - id: crlf
    messages: ["[[mock crlf=true comments=true multiline=true]] hi"]
  - id: jsonbody
    messages: ["[[mock json_body=true]] hi"]
  - id: nodone
    messages: ["[[mock no_done=true]] hi"]
)");
  fs::path out = dir_ / "out";
  RunResult r = RunInto(job, out);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  json summary = json::parse(ReadFile(out / "summary.json"));
  std::map<std::string, std::string> status;
  for (const json& c : summary["conversations"]) status[c["id"]] = c["status"];
  for (const char* ok : {"fine", "malformed", "crlf", "jsonbody", "nodone"}) {
    EXPECT_EQ(status[ok], "ok") << ok << "\n"
                                << ReadFile(out / (std::string(ok) + ".jsonl"));
  }
  struct Expected {
    std::string id;
    int http_status;
    std::string message;
  };
  for (const Expected& e : std::vector<Expected>{
           {"g4f500", 500, "RuntimeError: provider exploded"},
           {"llama400", 400, "exceeds the available context size"},
           {"openai503", 503, "The server is overloaded"},
           {"g4f422", 422, ""},
           {"ratelimited", 429, "Rate limit reached"},
           {"streamerror", 200, "Copilot: conversation expired"},
           {"cut", 200, ""},
       }) {
    EXPECT_EQ(status[e.id], "error") << e.id;
    std::vector<json> records = Records(out / (e.id + ".jsonl"));
    ASSERT_FALSE(records.empty()) << e.id;
    const json& last = records.back();
    EXPECT_EQ(last["status"], "error") << e.id;
    EXPECT_EQ(last["http_status"], e.http_status) << e.id;
    EXPECT_NE(last["error"].get<std::string>().find(e.message),
              std::string::npos)
        << e.id << ": " << last["error"];
  }
  std::vector<json> stream = Records(out / "streamerror.jsonl");
  ASSERT_EQ(stream.size(), 2u);
  EXPECT_EQ(stream[0]["status"], "ok");
  EXPECT_EQ(Records(out / "cut.jsonl")[0]["error_kind"], "incomplete");
  EXPECT_EQ(Records(out / "malformed.jsonl")[0]["invalid_lines"], 2);
  std::string md = ReadFile(out / "g4f500.md");
  EXPECT_NE(md.find("RuntimeError: provider exploded"), std::string::npos);
}

// The latency figures over real HTTP. Only what the mock's schedule
// guarantees is checked: it cannot send a chunk before it is due, so the
// figures have lower bounds, never upper ones (no timing thresholds).
TEST_F(IntegrationTest, LatencyFiguresFollowTheMocksPacing) {
  fs::path job = WriteJob(R"(
name: paced
endpoint: ENDPOINT
retry: {attempts: 1}
defaults: {model: m, provider: Stateless}
conversations:
  - id: paced
    params: {mock: {first_token_ms: 100, pace_ms: 50, chunks: 5}}
    messages: [one]
  - id: broken
    params: {mock: {status: 503}}
    messages: [two]
)");
  fs::path out = dir_ / "out";
  RunResult r = RunInto(job, out);
  ASSERT_EQ(r.exit_code, 1) << r.err;

  std::vector<json> records = Records(out / "paced.jsonl");
  ASSERT_EQ(records.size(), 1u);
  const json& t = records[0];
  EXPECT_EQ(t["chunks"], 6);  // 5 content chunks and the final one
  // The first chunk is due 100 ms after the request arrived, the other
  // five 50 ms apart after it (the mock may fire 0.5 ms early per step).
  EXPECT_GE(t["ttft_ms"].get<double>(), 99.0) << t;
  EXPECT_GE(t["duration_ms"].get<double>(), 350.0 - 3.0) << t;
  const json& gaps = t["gaps_ms"];
  EXPECT_LE(gaps["p50"].get<double>(), gaps["p90"].get<double>()) << t;
  EXPECT_LE(gaps["p90"].get<double>(), gaps["p99"].get<double>()) << t;
  EXPECT_LE(gaps["p99"].get<double>(), gaps["max"].get<double>()) << t;
  EXPECT_GT(gaps["max"].get<double>(), 0.0) << t;
  EXPECT_LE(gaps["max"].get<double>(),
            t["duration_ms"].get<double>() - t["ttft_ms"].get<double>() + 0.1)
      << t;
  EXPECT_GT(t["chunks_per_s"].get<double>(), 0.0) << t;

  json summary = json::parse(ReadFile(out / "summary.json"));
  const json& latency = summary["latency"];
  EXPECT_EQ(latency["turns"], 1) << latency;
  EXPECT_EQ(latency["ttft_ms"]["p50"], t["ttft_ms"]) << latency;
  EXPECT_EQ(latency["duration_ms"]["max"], t["duration_ms"]) << latency;
  // The run's max is exact too, but kept in µs rather than in ms.
  EXPECT_NEAR(latency["gap_ms"]["max"].get<double>(), gaps["max"].get<double>(),
              0.2)
      << latency;
  EXPECT_EQ(latency["errors_by_kind"], json({{"http", 1}})) << latency;

  // The end-of-run table, as wrk prints its own.
  EXPECT_NE(r.out.find("  1 turn in "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  ttft "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  chunk gap "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  errors: http 1\n"), std::string::npos) << r.out;
}

// With connect failures out of retry.on they are final (by default the
// run waits for the endpoint instead: timeout_fault_test.cc).
TEST_F(IntegrationTest, ConnectionRefusedFailsTheConversation) {
  fs::path job = WriteJob(R"(
endpoint: http://127.0.0.1:1/v1/chat/completions
retry: {on: [5xx]}
conversations:
  - messages: [hi]
)");
  fs::path out = dir_ / "out";
  RunResult r = RunInto(job, out);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  std::vector<json> records = Records(out / "c1.jsonl");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["error_kind"], "connect");
}

TEST_F(IntegrationTest, ValidateReportsEveryProblemWithItsLine) {
  fs::path job = WriteJob(R"(name: bad
endpoint: ENDPOINT
concurrency: -3
conversations:
  - id: ../escape
    messages: [hi]
  - id: dup
    messages: []
  - id: DUP
    mesages: [x]
)");
  RunResult r = Chatbatch({"validate", job.string()});
  EXPECT_EQ(r.exit_code, 2);
  std::string prefix = job.string() + ":";
  EXPECT_NE(r.err.find(prefix + "3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(prefix + "5:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(prefix + "8:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(prefix + "10:"), std::string::npos) << r.err;
  // run validates first and sends nothing.
  RunResult run = Chatbatch({"run", job.string(), "-o", (dir_ / "o").string()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_FALSE(fs::exists(dir_ / "o" / "c1.jsonl"));
  EXPECT_FALSE(fs::exists(dir_ / "escape.jsonl"));
}

TEST_F(IntegrationTest, ValidateCountsInTheSingular) {
  fs::path job =
      WriteJob("endpoint: ENDPOINT\nconversations: [{messages: [hi]}]\n");
  RunResult r = Chatbatch({"validate", job.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, job.string() + ": ok (1 conversation, 1 turn)\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(IntegrationTest, ValidateWarnsAboutConversationsG4fMayJoin) {
  fs::path job = WriteJob(R"(endpoint: ENDPOINT
defaults: {provider: Copilot}
conversations:
  - {id: a, messages: [hello, more, bye]}
  - {id: b, messages: [hello, more, later]}
  - {id: c, messages: [unique, one]}
)");
  RunResult r = Chatbatch({"validate", job.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, job.string() +
                       ": warning: conversations a, b send identical "
                       "histories up to turn 3: g4f's conversation cache may "
                       "join their upstream sessions from turn 2 (use "
                       "`history: last` to keep them apart)\n");
}

TEST_F(IntegrationTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Chatbatch({"run"}).exit_code, 2);
  EXPECT_EQ(Chatbatch({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Chatbatch({"--version"}).exit_code, 0);
  fs::path job =
      WriteJob("endpoint: ENDPOINT\nconversations: [{messages: [hi]}]\n");
  RunResult r = Chatbatch(
      {"run", job.string(), "--only", "nope", "-o", (dir_ / "o").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST_F(IntegrationTest, InterruptWritesFinishedTurnsAndExits130) {
  std::string yaml = "name: intr\nendpoint: ENDPOINT\nconcurrency: 2\n";
  yaml += "defaults: {mock: {pace_ms: 100, chunks: 10}}\nconversations:\n";
  for (int i = 0; i < 6; ++i) yaml += "  - messages: [one, two, three]\n";
  fs::path job = WriteJob(yaml);
  fs::path out = dir_ / "out";
  Process p({CHATBATCH_BIN, "run", job.string(), "-o", out.string()},
            dir_ / "stdout", dir_ / "stderr");
  // Wait until the first turn is on disk, then interrupt twice.
  for (int i = 0; i < 500 && !fs::exists(out / "c1.jsonl"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(fs::exists(out / "c1.jsonl")) << "no turn finished";
  p.Signal(SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  p.Signal(SIGINT);
  std::optional<int> code = p.Wait(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 130) << ReadFile(dir_ / "stderr");
  json summary = json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(summary["status"], "interrupted");
  // Every record on disk is whole JSON, and there are some: c1's first turn
  // was on disk before the interrupt.
  size_t records = 0;
  for (const auto& entry : fs::directory_iterator(out)) {
    if (entry.path().extension() == ".jsonl") {
      records += Records(entry.path()).size();
    }
  }
  EXPECT_GE(records, 1u);
  EXPECT_FALSE(fs::exists(out / "c6.jsonl"));
}

}  // namespace
}  // namespace chatbatch
