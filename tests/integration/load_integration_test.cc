// Load mode end to end against the mock (docs/load-testing.md): a short
// rate sweep of repeated conversations, and the SLO gate that passes or
// fails the run, in summary.json, JUnit and the exit code.
#include "support/mock_fixture.h"

namespace chatbatch {
namespace {

class LoadIntegrationTest : public IntegrationTest {};

// Two-turn conversations, 4 chunks 5 ms apart after a 20 ms first token.
std::string SweepJob(const std::string& slo) {
  return R"(
endpoint: ENDPOINT
defaults: {mock: {first_token_ms: 20, pace_ms: 5, chunks: 4}}
load:
  arrival: {process: poisson}
  think: {mean: 50ms, process: exponential}
  sweep: {rate: [10/s, 30/s], step: 1500ms}
  warmup: 200ms
  seed: 7
  repeat: true
)" + slo +
         R"(
conversations:
  - id: greet
    messages: [Hello, "How are you?"]
  - id: ask
    messages: ["What is 2+2?", "And times 10?"]
)";
}

TEST_F(LoadIntegrationTest, ASweepMeasuresEachStepAndTheGatePasses) {
  fs::path job = WriteJob(SweepJob(R"(slo:
  ttft_p95: 10s
  e2e_p99: 20s
  error_rate: 1%
  goodput: 90%
)"));
  fs::path out = dir_ / "out";
  fs::path junit = dir_ / "junit.xml";
  RunResult r = Chatbatch({"run", job.string(), "-o", out.string(), "-q",
                           "--junit", junit.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

  json summary = json::parse(ReadFile(out / "summary.json"));
  ASSERT_TRUE(summary.contains("load")) << summary.dump(1);
  const json& load = summary["load"];
  EXPECT_EQ(load["mode"], "open");
  EXPECT_EQ(load["seed"], 7);
  EXPECT_EQ(load["slo_ok"], true);
  ASSERT_EQ(load["steps"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const json& step = load["steps"][i];
    EXPECT_EQ(step["index"], i + 1);
    EXPECT_GT(step["conversations"].get<int64_t>(), 0);
    EXPECT_GT(step["turns"].get<int64_t>(), 0);
    EXPECT_EQ(step["turns_error"], 0);
    EXPECT_GT(step["ttft"]["p50_ms"].get<double>(), 15.0);  // the mock's 20
    EXPECT_GT(step["itl"]["count"].get<int64_t>(), 0);
    ASSERT_EQ(step["slo"].size(), 4u);
    for (const json& s : step["slo"]) EXPECT_EQ(s["ok"], true) << s;
    // Turn 2 carries turn 1's exchange: three messages.
    ASSERT_GE(step["by_turn"].size(), 2u);
    EXPECT_EQ(step["by_turn"][1]["history_messages"], 3.0);
  }
  EXPECT_EQ(load["steps"][0]["rate"], 10.0);
  EXPECT_EQ(load["steps"][1]["rate"], 30.0);
  // The second step starts more conversations than the first.
  EXPECT_GT(load["steps"][1]["conversations"].get<int64_t>(),
            load["steps"][0]["conversations"].get<int64_t>());

  // Copies are named "<id>#n", each a whole two-turn conversation.
  std::vector<json> first = Records(out / "greet#1.jsonl");
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[1]["status"], "ok");
  EXPECT_FALSE(fs::exists(out / "greet.jsonl"));

  std::string xml = ReadFile(junit);
  EXPECT_NE(xml.find("<testsuite name=\"slo\""), std::string::npos) << xml;
  EXPECT_EQ(xml.find("type=\"slo\""), std::string::npos) << xml;
}

TEST_F(LoadIntegrationTest, AMissedSloFailsTheRunAndNamesTheStep) {
  fs::path job = WriteJob(SweepJob(R"(slo:
  ttft_p95: 1ms
  error_rate: 1%
)"));
  fs::path out = dir_ / "out";
  fs::path junit = dir_ / "junit.xml";
  RunResult r = Chatbatch(
      {"run", job.string(), "-o", out.string(), "--junit", junit.string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  // The end table names each missed step with the measured value and the
  // limit.
  EXPECT_NE(r.out.find("ttft_p95"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("> 1 ms"), std::string::npos) << r.out;

  json summary = json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(summary["load"]["slo_ok"], false);
  for (const json& step : summary["load"]["steps"]) {
    EXPECT_EQ(step["slo"][0]["name"], "ttft_p95");
    EXPECT_EQ(step["slo"][0]["ok"], false);
    EXPECT_GT(step["slo"][0]["measured"].get<double>(), 1.0);
    EXPECT_EQ(step["slo"][1]["ok"], true);  // no errors
  }
  std::string xml = ReadFile(junit);
  EXPECT_NE(xml.find("type=\"slo\""), std::string::npos) << xml;
}

TEST_F(LoadIntegrationTest, SloAloneGatesAnOrdinaryRun) {
  fs::path job = WriteJob(R"(
endpoint: ENDPOINT
defaults: {mock: {first_token_ms: 30}}
slo: {ttft_p99: 5ms}
conversations:
  - messages: [one, two]
)");
  fs::path out = dir_ / "out";
  RunResult r = Chatbatch({"run", job.string(), "-o", out.string(), "-q"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  json summary = json::parse(ReadFile(out / "summary.json"));
  ASSERT_EQ(summary["load"]["steps"].size(), 1u);
  EXPECT_EQ(summary["load"]["steps"][0]["label"], "run");
  EXPECT_EQ(summary["load"]["steps"][0]["turns"], 2);
  // The turns themselves are fine: only the gate failed.
  EXPECT_EQ(summary["counts"]["conversations_ok"], 1);
}

TEST_F(LoadIntegrationTest, ALoadTestCannotBeResumed) {
  fs::path job = WriteJob(R"(
endpoint: ENDPOINT
load: {arrival: 5/s, duration: 1s, repeat: true}
conversations:
  - messages: [one]
)");
  RunResult r = Chatbatch(
      {"run", job.string(), "-o", (dir_ / "out").string(), "--resume"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("cannot be resumed"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace chatbatch
