// Expectations end to end against the mock: jsonl, summary, stdout and the
// exit code keep failed (an expectation) and error (the server) apart;
// --resume treats failed as finished; --fail-fast stops early.
#include "support/mock_fixture.h"

namespace chatbatch {
namespace {

class ExpectIntegrationTest : public IntegrationTest {};

constexpr char kExpectJob[] = R"(
endpoint: ENDPOINT
retry: {attempts: 1}
vars: {answer: "42"}
expect_each_turn: {not_contains: "As an AI"}
conversations:
  - id: good
    messages:
      - content: '[[mock reply="The answer is 42."]] q'
        expect: {contains: "{{answer}}", regex: 'answer is \d+', finish_reason: stop}
  - id: wrong
    messages:
      - content: '[[mock reply="{\"a\": [1, 2]}"]] q'
        expect: [{json: true}, {json_path: {path: "$.a[1]", equals: 3}}]
      - content: '[[mock reply="fine"]] q'
        expect: {any: [{contains: fine}, {contains: good}]}
  - id: broken
    messages:
      - '[[mock status=500 shape=g4f message="RuntimeError: down"]] q'
      - never sent
)";

TEST_F(ExpectIntegrationTest, FailedAndErrorAreKeptApartEverywhere) {
  fs::path job = WriteJob(kExpectJob);
  fs::path out = dir_ / "out";
  RunResult r = Chatbatch({"run", job.string(), "-o", out.string(), "-q"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("1 ok, 1 failed, 1 error"), std::string::npos) << r.out;

  std::vector<json> good = Records(out / "good.jsonl");
  ASSERT_EQ(good.size(), 1u);
  EXPECT_EQ(good[0]["status"], "ok");
  EXPECT_EQ(good[0]["expect_ok"], true);
  ASSERT_EQ(good[0]["expectations"].size(), 4u);  // each-turn + 3 own
  EXPECT_EQ(good[0]["expectations"][0]["check"], "not_contains");
  EXPECT_EQ(good[0]["expectations"][1]["expected"], "42");  // substituted

  std::vector<json> wrong = Records(out / "wrong.jsonl");
  ASSERT_EQ(wrong.size(), 2u);  // the failed expectation did not end it
  EXPECT_EQ(wrong[0]["status"], "failed");
  EXPECT_EQ(wrong[0]["expect_ok"], false);
  EXPECT_TRUE(wrong[0]["error"].is_null());
  const json& path_check = wrong[0]["expectations"][2];
  EXPECT_EQ(path_check["check"], "json_path");
  EXPECT_EQ(path_check["ok"], false);
  EXPECT_EQ(path_check["detail"], "$.a[1] is 2, expected 3");
  EXPECT_EQ(wrong[1]["status"], "ok");

  std::vector<json> broken = Records(out / "broken.jsonl");
  ASSERT_EQ(broken.size(), 1u);
  EXPECT_EQ(broken[0]["status"], "error");
  EXPECT_EQ(broken[0]["expectations"], json::array());

  json s = json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(s["counts"], json::parse(R"({"conversations":3,
      "conversations_ok":1,"conversations_failed":1,"conversations_error":1,
      "conversations_pending":0,"turns_ok":2,"turns_failed":1,
      "turns_error":1,"turns_cached":0})"));
  EXPECT_EQ(s["expectations"], json::parse(R"({"passed":8,"failed":1})"));
  EXPECT_EQ(s["conversations"][1]["status"], "failed");
  EXPECT_EQ(s["conversations"][1]["failure"],
            "turn 1: json_path: $.a[1] is 2, expected 3");
  EXPECT_EQ(s["conversations"][2]["status"], "error");
  EXPECT_NE(s["conversations"][2]["error"].get<std::string>().find("down"),
            std::string::npos);
  const std::string md = ReadFile(out / "wrong.md");
  EXPECT_NE(md.find("**Expectations failed:**"), std::string::npos) << md;
  // The transcript shows the expected value too.
  EXPECT_NE(md.find("- json_path: `$.a[1] is 2, expected 3`\n"),
            std::string::npos)
      << md;

  // --resume: failed and error are both finished; nothing is sent.
  const int before = Stats()["requests"].get<int>();
  r = Chatbatch({"run", job.string(), "-o", out.string(), "-q", "--resume"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(Stats()["requests"].get<int>(), before);
  // --retry-failed re-runs the error conversation only.
  r = Chatbatch(
      {"run", job.string(), "-o", out.string(), "-q", "--retry-failed"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(Stats()["requests"].get<int>(), before + 1);
  EXPECT_EQ(Records(out / "wrong.jsonl").size(), 2u);
  s = json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(s["counts"]["conversations_failed"], 1);
  EXPECT_EQ(s["counts"]["conversations_error"], 1);
}

TEST_F(ExpectIntegrationTest, FailFastStopsStartingTurns) {
  fs::path job = WriteJob(R"(
endpoint: ENDPOINT
concurrency: 1
conversations:
  - id: first
    messages:
      - content: '[[mock reply="no"]] q'
        expect: {equals: "yes"}
  - id: second
    messages: [hi]
  - id: third
    messages: [hi]
)");
  fs::path out = dir_ / "out";
  RunResult r =
      Chatbatch({"run", job.string(), "-o", out.string(), "-q", "--fail-fast"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("stopped early"), std::string::npos) << r.out;
  json s = json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(s["status"], "stopped");
  EXPECT_EQ(s["stopped_early"], true);
  EXPECT_EQ(s["counts"]["conversations_failed"], 1);
  EXPECT_EQ(s["counts"]["conversations_pending"], 2);
  EXPECT_FALSE(fs::exists(out / "second.jsonl"));

  // --max-failures 5 lets the whole (small) run through.
  r = Chatbatch({"run", job.string(), "-o", (dir_ / "out2").string(), "-q",
                 "--max-failures", "5"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  s = json::parse(ReadFile(dir_ / "out2" / "summary.json"));
  EXPECT_EQ(s["status"], "finished");
  EXPECT_EQ(s["counts"]["conversations_ok"], 2);
}

}  // namespace
}  // namespace chatbatch
