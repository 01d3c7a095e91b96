#include "chatbatch/runner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "check/expect.h"
#include "support/fake_transport.h"
#include "support/output_dir_fixture.h"
#include "support/test_job.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Job MakeJob(int conversations, int turns) {
  Job job = testjob::NumberedJob(4, conversations, turns, "uuid-",
                                 [](const std::string& id, int t) {
                                   return id + " turn " + std::to_string(t);
                                 });
  job.defaults = {{"model", ""}, {"stream", true}};
  return job;
}

// Replies "re: <last user message>" so tests can see what was answered.
FakeResponse Echo(const HttpRequest& request) {
  json body = json::parse(request.body);
  std::string last = body["messages"].back()["content"];
  return FakeResponse{.body = SseReply("re: " + last)};
}

class RunnerTest : public OutputDirFixture<> {
 protected:
  // Runs "job" against "transport" with "options", into output_.
  Result<RunSummary> Run(const Job& job, Transport* transport,
                         const RunOptions& options = {}) {
    Runner runner(job, options, transport, output_.get(), nullptr);
    return runner.Run();
  }
};

TEST_F(RunnerTest, RunsEveryTurnInOrderWithFullHistory) {
  Job job = MakeJob(3, 3);
  FakeTransport transport(Echo);
  Result<RunSummary> summary = Run(job, &transport);
  ASSERT_TRUE(summary.has_value()) << summary.error().message;
  EXPECT_EQ(transport.requests.size(), 9u);
  for (const ConversationOutcome& c : summary->conversations) {
    EXPECT_EQ(c.status, ConversationStatus::kOk) << c.id;
    EXPECT_EQ(c.turns_ok, 3);
  }
  // The third request of c2 carries both earlier exchanges, in order.
  std::vector<json> c2;
  for (const HttpRequest& r : transport.requests) {
    json body = json::parse(r.body);
    if (body["conversation_id"] == "uuid-2") c2.push_back(body);
  }
  ASSERT_EQ(c2.size(), 3u);
  const json& msgs = c2[2]["messages"];
  ASSERT_EQ(msgs.size(), 5u);
  EXPECT_EQ(msgs[0]["content"], "c2 turn 1");
  EXPECT_EQ(msgs[1]["role"], "assistant");
  EXPECT_EQ(msgs[1]["content"], "re: c2 turn 1");
  EXPECT_EQ(msgs[3]["content"], "re: c2 turn 2");
  EXPECT_EQ(msgs[4]["content"], "c2 turn 3");

  std::vector<json> records = ReadJsonl(dir_ / "c2.jsonl");
  ASSERT_EQ(records.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(records[i]["turn"], i + 1);
    EXPECT_EQ(records[i]["status"], "ok");
  }
  EXPECT_TRUE(fs::exists(dir_ / "summary.json"));
}

TEST_F(RunnerTest, NeverExceedsConcurrencyAndOneRequestPerConversation) {
  Job job = MakeJob(20, 2);
  job.concurrency = 5;
  FakeTransport transport(Echo);
  ASSERT_TRUE(Run(job, &transport).has_value());
  EXPECT_EQ(transport.max_in_flight, 5);
  EXPECT_EQ(transport.requests.size(), 40u);
  // 20 conversations x 2 turns at 5 wide need 8 rounds when every freed
  // slot is reused at once.
  EXPECT_EQ(transport.rounds, 8);
}

TEST_F(RunnerTest, CommandLineConcurrencyOverridesJob) {
  Job job = MakeJob(10, 1);
  FakeTransport transport(Echo);
  RunOptions options;
  options.concurrency = 2;
  ASSERT_TRUE(Run(job, &transport, options).has_value());
  EXPECT_EQ(transport.max_in_flight, 2);
}

TEST_F(RunnerTest, FailedTurnEndsOnlyItsConversation) {
  Job job = MakeJob(3, 3);
  FakeTransport transport([](const HttpRequest& r) {
    json body = json::parse(r.body);
    if (body["messages"].back()["content"] == "c2 turn 2") {
      return FakeResponse{
          .status = 400,
          .content_type = "application/json",
          .body = R"({"error":{"message":"RuntimeError: boom"}})"};
    }
    return Echo(r);
  });
  Result<RunSummary> summary = Run(job, &transport);
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(summary->conversations[0].status, ConversationStatus::kOk);
  EXPECT_EQ(summary->conversations[1].status, ConversationStatus::kError);
  EXPECT_EQ(summary->conversations[1].turns_ok, 1);
  EXPECT_EQ(summary->conversations[2].status, ConversationStatus::kOk);
  EXPECT_EQ(transport.requests.size(), 8u);  // c2 turn 3 never sent
  std::vector<json> records = ReadJsonl(dir_ / "c2.jsonl");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1]["status"], "error");
  EXPECT_EQ(records[1]["http_status"], 400);
  EXPECT_NE(records[1]["error"].get<std::string>().find("RuntimeError: boom"),
            std::string::npos);
}

TEST_F(RunnerTest, IncompleteStreamFailsTheTurn) {
  Job job = MakeJob(1, 2);
  OwnRetry(&job.conversations[0]).attempts = 1;
  FakeTransport transport([](const HttpRequest&) {
    return FakeResponse{
        .body = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n",
        .transport = Fail(ErrorCode::kIncomplete, "transfer closed")};
  });
  Result<RunSummary> summary = Run(job, &transport);
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(summary->conversations[0].status, ConversationStatus::kError);
  std::vector<json> records = ReadJsonl(dir_ / "c1.jsonl");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["error_kind"], "incomplete");
  EXPECT_EQ(records[0]["reply"], "Hel");
}

TEST_F(RunnerTest, EchoesTheLastConversationObject) {
  Job job = MakeJob(1, 3);
  int n = 0;
  FakeTransport transport([&n](const HttpRequest&) {
    ++n;
    return FakeResponse{
        .body = SseReply("r", R"({"conversation_id":"srv","turn":)" +
                                  std::to_string(n) + "}")};
  });
  ASSERT_TRUE(Run(job, &transport).has_value());
  ASSERT_EQ(transport.requests.size(), 3u);
  EXPECT_FALSE(
      json::parse(transport.requests[0].body).contains("conversation"));
  EXPECT_EQ(json::parse(transport.requests[1].body)["conversation"]["turn"], 1);
  EXPECT_EQ(json::parse(transport.requests[2].body)["conversation"]["turn"], 2);
  for (const HttpRequest& r : transport.requests) {
    EXPECT_EQ(json::parse(r.body)["conversation_id"], "uuid-1");
  }
}

TEST_F(RunnerTest, OnlyRunsTheNamedConversations) {
  Job job = MakeJob(4, 1);
  FakeTransport transport(Echo);
  Result<RunSummary> summary = Run(job, &transport, RunOptions{.only = {"c3"}});
  ASSERT_TRUE(summary.has_value());
  ASSERT_EQ(summary->conversations.size(), 1u);
  EXPECT_EQ(summary->conversations[0].id, "c3");
  EXPECT_FALSE(fs::exists(dir_ / "c1.jsonl"));
}

TEST_F(RunnerTest, UnknownOnlyIdIsAUsageError) {
  Job job = MakeJob(2, 1);
  FakeTransport transport(Echo);
  Result<RunSummary> summary =
      Run(job, &transport, RunOptions{.only = {"nope"}});
  ASSERT_FALSE(summary.has_value());
  EXPECT_EQ(summary.error().code, ErrorCode::kUsage);
  EXPECT_TRUE(transport.requests.empty());
}

TEST_F(RunnerTest, InterruptLetsInFlightTurnsFinishAndStartsNoMore) {
  Job job = MakeJob(6, 3);
  job.concurrency = 2;
  FakeTransport transport(Echo);
  Runner runner(job, {}, &transport, output_.get(), nullptr);
  int answered = 0;
  transport.before_answer = [&] {
    if (++answered == 3) runner.Interrupt();
  };
  Result<RunSummary> summary = runner.Run();
  ASSERT_TRUE(summary.has_value());
  EXPECT_TRUE(summary->interrupted);
  // Rounds of 2: the interrupt came while answering round 2, whose two
  // in-flight turns still finished and were recorded; nothing new started.
  EXPECT_EQ(transport.requests.size(), 4u);
  EXPECT_EQ(ReadJsonl(dir_ / "c1.jsonl").size(), 2u);
  EXPECT_EQ(ReadJsonl(dir_ / "c2.jsonl").size(), 2u);
  EXPECT_FALSE(fs::exists(dir_ / "c3.jsonl"));
  json written = json::parse(std::ifstream(dir_ / "summary.json"));
  EXPECT_EQ(written["status"], "interrupted");
}

TEST_F(RunnerTest, InterruptBeforeAnyTurnSendsNothing) {
  Job job = MakeJob(2, 2);
  FakeTransport transport(Echo);
  Runner runner(job, {}, &transport, output_.get(), nullptr);
  runner.Interrupt();
  Result<RunSummary> summary = runner.Run();
  ASSERT_TRUE(summary.has_value());
  EXPECT_TRUE(transport.requests.empty());
  EXPECT_TRUE(summary->interrupted);
}

FakeResponse HttpError(int status, std::string message) {
  return FakeResponse{.status = status,
                      .content_type = "application/json",
                      .body = R"({"error":{"message":")" + message + "\"}}"};
}

// Answers the first request with "first" and every later one with an echo.
FakeTransport::Responder FirstThenEcho(FakeResponse first) {
  return [first = std::move(first),
          answered = false](const HttpRequest& r) mutable {
    if (answered) return Echo(r);
    answered = true;
    return first;
  };
}

// A 429 whose Retry-After asks for "wait".
FakeResponse RateLimited(std::chrono::seconds wait) {
  FakeResponse resp = HttpError(429, "slow down");
  resp.retry_after = wait;
  return resp;
}

// HTTP 500 "down" for the turn whose user message is "content"; an echo
// for every other.
FakeTransport::Responder DownOn(std::string content) {
  return [content = std::move(content)](const HttpRequest& r) {
    if (json::parse(r.body)["messages"].back()["content"] == content) {
      return HttpError(500, "down");
    }
    return Echo(r);
  };
}

TEST_F(RunnerTest, RetriesRetryableErrorsAndRecordsEachAttempt) {
  Job job = MakeJob(1, 2);
  OwnRetry(&job.conversations[0]).backoff = std::chrono::milliseconds(100);
  int calls = 0;
  FakeTransport transport([&calls](const HttpRequest& r) {
    ++calls;
    if (calls == 1) return HttpError(503, "overloaded");
    if (calls == 2) {
      return FakeResponse{.body = "data: {\"choices\":[{\"delta\":{}}]}\n\n",
                          .transport = Fail(ErrorCode::kIncomplete, "cut")};
    }
    return Echo(r);
  });
  RunOptions options;
  options.random_seed = 7;
  Result<RunSummary> summary = Run(job, &transport, options);
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(summary->conversations[0].status, ConversationStatus::kOk);
  std::vector<json> records = ReadJsonl(dir_ / "c1.jsonl");
  ASSERT_EQ(records.size(), 2u);  // failed attempts are not turns
  EXPECT_EQ(records[0]["attempts"], 3);
  ASSERT_EQ(records[0]["attempt_errors"].size(), 2u);
  EXPECT_EQ(records[0]["attempt_errors"][0]["http_status"], 503);
  EXPECT_EQ(records[0]["attempt_errors"][0]["error"], "overloaded");
  EXPECT_EQ(records[0]["attempt_errors"][1]["error_kind"], "incomplete");
  EXPECT_EQ(records[1]["attempts"], 1);
}

TEST_F(RunnerTest, GivesUpAfterTheLastAttempt) {
  Job job = MakeJob(1, 2);
  OwnRetry(&job.conversations[0]).attempts = 3;
  OwnRetry(&job.conversations[0]).backoff = std::chrono::milliseconds(10);
  FakeTransport transport(
      [](const HttpRequest&) { return HttpError(500, "boom"); });
  Result<RunSummary> summary = Run(job, &transport);
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(transport.requests.size(), 3u);
  std::vector<json> records = ReadJsonl(dir_ / "c1.jsonl");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["status"], "error");
  EXPECT_EQ(records[0]["attempts"], 3);
  EXPECT_EQ(records[0]["attempt_errors"].size(), 2u);
}

// g4f's provider failure after some text: an error frame in a 200 stream.
constexpr char kTextThenErrorFrame[] =
    "data: {\"choices\":[{\"delta\":{\"content\":\"Par\"}}]}\n\n"
    "data: {\"error\":{\"message\":\"nope\"}}\n\ndata: [DONE]\n\n";

TEST_F(RunnerTest, DoesNotRetryOtherClientErrorsOrErrorFramesAfterText) {
  Job job = MakeJob(2, 1);
  FakeTransport transport([](const HttpRequest& r) {
    if (json::parse(r.body)["conversation_id"] == "uuid-1") {
      return HttpError(400, "bad request");
    }
    return FakeResponse{.body = kTextThenErrorFrame};
  });
  ASSERT_TRUE(Run(job, &transport).has_value());
  EXPECT_EQ(transport.requests.size(), 2u);
  EXPECT_EQ(ReadJsonl(dir_ / "c2.jsonl")[0]["error_kind"], "server");
}

TEST_F(RunnerTest, RetriesAnErrorFrameBeforeAnyTextByDefault) {
  Job job = MakeJob(1, 1);
  OwnRetry(&job.conversations[0]).backoff = std::chrono::milliseconds(10);
  FakeTransport transport(FirstThenEcho(FakeResponse{
      .body = "data: {\"error\":{\"message\":\"x\"}}\n\ndata: [DONE]\n\n"}));
  ASSERT_TRUE(Run(job, &transport).has_value());
  std::vector<json> records = ReadJsonl(dir_ / "c1.jsonl");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["status"], "ok");
  EXPECT_EQ(records[0]["attempts"], 2);
  EXPECT_EQ(records[0]["attempt_errors"][0]["error_kind"], "server");
}

TEST_F(RunnerTest, RetryOnCanWidenThePolicy) {
  Job job = MakeJob(1, 1);
  OwnRetry(&job.conversations[0]).on = {"server"};
  OwnRetry(&job.conversations[0]).on_given = true;  // as a job file sets it
  OwnRetry(&job.conversations[0]).backoff = std::chrono::milliseconds(10);
  FakeTransport transport(
      FirstThenEcho(FakeResponse{.body = kTextThenErrorFrame}));
  ASSERT_TRUE(Run(job, &transport).has_value());
  EXPECT_EQ(ReadJsonl(dir_ / "c1.jsonl")[0]["attempts"], 2);
}

TEST_F(RunnerTest, RetryAfterIsHonouredAndPausesTheWholeEndpoint) {
  Job job = MakeJob(3, 1);
  job.concurrency = 3;
  FakeTransport transport(FirstThenEcho(RateLimited(std::chrono::seconds(2))));
  ASSERT_TRUE(Run(job, &transport).has_value());
  ASSERT_EQ(transport.requests.size(), 4u);
  // The retry waited the full 2 s (no jitter for a server-given delay).
  auto retry_gap = transport.start_times[3] - transport.start_times[0];
  EXPECT_GE(retry_gap, std::chrono::seconds(2));
  EXPECT_LT(retry_gap, std::chrono::milliseconds(2100));
}

TEST_F(RunnerTest, A429HoldsBackConversationsThatHaveNotStartedYet) {
  Job job = MakeJob(3, 1);
  job.concurrency = 1;
  FakeTransport transport(FirstThenEcho(RateLimited(std::chrono::seconds(1))));
  ASSERT_TRUE(Run(job, &transport).has_value());
  ASSERT_EQ(transport.requests.size(), 4u);
  // c1 waits without its slot, but c2 may not use it before the pause ends.
  EXPECT_GE(transport.start_times[1] - transport.start_times[0],
            std::chrono::seconds(1));
}

TEST_F(RunnerTest, WaitingConversationHoldsNoSlot) {
  Job job = MakeJob(2, 1);
  job.concurrency = 1;
  OwnRetry(&job.conversations[0]).backoff = std::chrono::milliseconds(5000);
  OwnRetry(&job.conversations[0]).max_backoff = std::chrono::milliseconds(5000);
  FakeTransport transport(FirstThenEcho(HttpError(503, "later")));
  RunOptions options;
  options.random_seed = 3;
  ASSERT_TRUE(Run(job, &transport, options).has_value());
  ASSERT_EQ(transport.requests.size(), 3u);
  // c2 went out while c1 was backing off, not after it.
  EXPECT_EQ(json::parse(transport.requests[1].body)["conversation_id"],
            "uuid-2");
}

TEST_F(RunnerTest, EachTimeoutIsADistinctNamedError) {
  Job job = MakeJob(2, 1);
  job.conversations[0].mutable_settings().timeouts.first_token =
      std::chrono::milliseconds(200);
  job.conversations[1].mutable_settings().timeouts.total =
      std::chrono::milliseconds(300);
  for (Conversation& c : job.conversations) OwnRetry(&c).attempts = 1;
  FakeTransport transport(
      [](const HttpRequest&) { return FakeResponse{.hang = true}; });
  ASSERT_TRUE(Run(job, &transport).has_value());
  EXPECT_EQ(ReadJsonl(dir_ / "c1.jsonl")[0]["error_kind"],
            "first_token_timeout");
  EXPECT_EQ(ReadJsonl(dir_ / "c2.jsonl")[0]["error_kind"], "total_timeout");
}

TEST_F(RunnerTest, TimeoutsAreRetried) {
  Job job = MakeJob(1, 1);
  job.conversations[0].mutable_settings().timeouts.idle =
      std::chrono::milliseconds(100);
  OwnRetry(&job.conversations[0]).backoff = std::chrono::milliseconds(10);
  FakeTransport transport(FirstThenEcho(FakeResponse{
      .body = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n",
      .hang = true}));
  ASSERT_TRUE(Run(job, &transport).has_value());
  json record = ReadJsonl(dir_ / "c1.jsonl")[0];
  EXPECT_EQ(record["status"], "ok");
  EXPECT_EQ(record["attempt_errors"][0]["error_kind"], "idle_timeout");
}

TEST_F(RunnerTest, RequestsPerMinuteSpacesRequests) {
  Job job = MakeJob(4, 1);
  job.rate.requests_per_minute = 120;  // one every 500 ms
  FakeTransport transport(Echo);
  ASSERT_TRUE(Run(job, &transport).has_value());
  ASSERT_EQ(transport.start_times.size(), 4u);
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_GE(transport.start_times[i] - transport.start_times[i - 1],
              std::chrono::milliseconds(500));
  }
}

TEST_F(RunnerTest, MaxInFlightCapsTheEndpoint) {
  Job job = MakeJob(10, 1);
  job.concurrency = 8;
  job.rate.max_in_flight = 3;
  FakeTransport transport(Echo);
  ASSERT_TRUE(Run(job, &transport).has_value());
  EXPECT_EQ(transport.max_in_flight, 3);
}

// c1's turn 1 as a prior run recorded it: ok, answered "earlier reply".
TurnRecord EarlierTurn() {
  TurnRecord t1;
  t1.turn = 1;
  t1.ok = true;
  t1.user = "c1 turn 1";
  t1.reply.content = "earlier reply";
  return t1;
}

// Resuming a run that left c1 pending after "t1" and c2 finished.
RunOptions ResumeAfter(const Job& job, const TurnRecord& t1) {
  RunOptions options;
  options.prior = PriorRuns(&job);
  options.prior.Add(0, PriorConversation{ConversationStatus::kPending, {t1}});
  options.prior.Add(1, PriorConversation{ConversationStatus::kOk, {}});
  return options;
}

TEST_F(RunnerTest, ContinuesAfterPriorTurnsWithTheirHistory) {
  Job job = MakeJob(2, 3);
  TurnRecord t1 = EarlierTurn();
  t1.reply.conversation_json = R"({"conversation_id":"srv"})";
  const RunOptions options = ResumeAfter(job, t1);
  FakeTransport transport(Echo);
  Result<RunSummary> summary = Run(job, &transport, options);
  ASSERT_TRUE(summary.has_value());
  ASSERT_EQ(transport.requests.size(), 2u);  // c1 turns 2 and 3 only
  json body = json::parse(transport.requests[0].body);
  EXPECT_EQ(body["messages"][1]["content"], "earlier reply");
  EXPECT_EQ(body["conversation"]["conversation_id"], "srv");
  EXPECT_EQ(summary->conversations[0].turns_ok, 3);
  EXPECT_EQ(summary->conversations[1].status, ConversationStatus::kOk);
}

// Records what the observer is told at the start.
class StartRecorder final : public RunObserver {
 public:
  void OnRunStart(const RunStart& start) override { start_ = start; }
  void OnConversationStart(const Conversation&) override {}
  void OnTurnDone(const Conversation&, const TurnRecord&) override {}
  void OnConversationDone(const Conversation&,
                          const ConversationOutcome&) override {}
  RunStart start_;
};

TEST_F(RunnerTest, ObserverStartsFromWhatAPriorRunFinished) {
  Job job = MakeJob(3, 3);
  const RunOptions options = ResumeAfter(job, EarlierTurn());
  FakeTransport transport(Echo);
  StartRecorder recorder;
  Runner runner(job, options, &transport, output_.get(), &recorder);
  ASSERT_TRUE(runner.Run().has_value());
  EXPECT_EQ(recorder.start_.conversations, 3);
  EXPECT_EQ(recorder.start_.conversations_done, 1);
  EXPECT_EQ(recorder.start_.turns, 9);
  EXPECT_EQ(recorder.start_.turns_done, 4);  // c2's 3, c1's turn 1
}

// ------------------------------------------------------- expectations

std::shared_ptr<const CheckGroup> Contains(std::string text) {
  auto group = std::make_shared<CheckGroup>();
  Check check;
  check.kind = CheckKind::kContains;
  check.expected = text;
  check.strings = {std::move(text)};
  group->checks.push_back(std::move(check));
  return group;
}

// c<n> expects its turn 1 to contain "<want>"; Echo replies "re: c<n> ...".
void ExpectOnTurn1(Job* job, size_t conv, std::string want) {
  Conversation& c = job->conversations[conv];
  c.expects.resize(c.messages.size());
  c.expects[0] = Contains(std::move(want));
}

TEST_F(RunnerTest, FailedExpectationIsFailedNotErrorAndTheConversationGoesOn) {
  Job job = MakeJob(3, 3);
  ExpectOnTurn1(&job, 0, "c1 turn 1");  // holds
  ExpectOnTurn1(&job, 1, "nope");       // fails
  job.expect_each_turn = Contains("re: ");
  FakeTransport transport(DownOn("c3 turn 2"));
  OwnRetry(&job.conversations[2]).attempts = 1;
  Result<RunSummary> summary = Run(job, &transport);
  ASSERT_TRUE(summary.has_value());
  const auto& convs = summary->conversations;
  EXPECT_EQ(convs[0].status, ConversationStatus::kOk);
  EXPECT_EQ(convs[0].expectations_passed, 4);  // 3 each-turn + 1 own
  EXPECT_EQ(convs[1].status, ConversationStatus::kFailed);
  EXPECT_EQ(convs[1].turns_ok, 2);
  EXPECT_EQ(convs[1].turns_failed, 1);
  EXPECT_EQ(convs[1].turns_error, 0);
  EXPECT_EQ(convs[1].expectations_failed, 1);
  EXPECT_EQ(convs[1].failure,
            "turn 1: contains: reply does not contain \"nope\"; reply "
            "\"re: c2 turn 1\"");
  EXPECT_EQ(convs[2].status, ConversationStatus::kError);
  EXPECT_EQ(convs[2].turns_error, 1);
  EXPECT_EQ(convs[2].error, "down");

  // All three turns of c2 were sent and recorded: a failed expectation
  // keeps the context.
  std::vector<json> c2 = ReadJsonl(dir_ / "c2.jsonl");
  ASSERT_EQ(c2.size(), 3u);
  EXPECT_EQ(c2[0]["status"], "failed");
  EXPECT_EQ(c2[0]["expect_ok"], false);
  ASSERT_EQ(c2[0]["expectations"].size(), 2u);
  EXPECT_EQ(c2[0]["expectations"][0]["check"], "contains");
  EXPECT_EQ(c2[0]["expectations"][0]["expected"], "re: ");
  EXPECT_EQ(c2[0]["expectations"][0]["ok"], true);
  EXPECT_EQ(c2[0]["expectations"][1]["expected"], "nope");
  EXPECT_EQ(c2[0]["expectations"][1]["ok"], false);
  EXPECT_EQ(c2[1]["status"], "ok");
  EXPECT_EQ(c2[2]["status"], "ok");
  // Error turns are not evaluated.
  std::vector<json> c3 = ReadJsonl(dir_ / "c3.jsonl");
  ASSERT_EQ(c3.size(), 2u);
  EXPECT_EQ(c3[1]["status"], "error");
  EXPECT_EQ(c3[1]["expectations"], json::array());
  EXPECT_EQ(c3[1]["expect_ok"], true);

  json s = json::parse(std::ifstream(dir_ / "summary.json"));
  EXPECT_EQ(s["counts"], json::parse(R"({"conversations":3,
      "conversations_ok":1,"conversations_failed":1,"conversations_error":1,
      "conversations_pending":0,"turns_ok":6,"turns_failed":1,
      "turns_error":1,"turns_cached":0})"));
  EXPECT_EQ(s["expectations"], json::parse(R"({"passed":8,"failed":1})"));
  EXPECT_EQ(s["status"], "finished");
  EXPECT_EQ(s["stopped_early"], false);
}

// Stops the run after "max_failures" failed conversations, "concurrency"
// at a time.
RunOptions StopAfterFailures(int max_failures, int concurrency) {
  RunOptions options;
  options.concurrency = concurrency;
  options.max_failures = max_failures;
  return options;
}

TEST_F(RunnerTest, FailFastStartsNoNewTurnsAfterTheFirstFailure) {
  Job job = MakeJob(4, 2);
  ExpectOnTurn1(&job, 0, "nope");
  FakeTransport transport(Echo);
  Result<RunSummary> summary = Run(job, &transport, StopAfterFailures(1, 1));
  ASSERT_TRUE(summary.has_value());
  // c1 runs to its end (a failed expectation does not end it), then the
  // run stops: c2..c4 never start.
  EXPECT_EQ(transport.requests.size(), 2u);
  EXPECT_EQ(summary->conversations[0].status, ConversationStatus::kFailed);
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(summary->conversations[i].status, ConversationStatus::kPending);
  }
  EXPECT_TRUE(summary->stopped_early);
  EXPECT_EQ(summary->stop_reason, "--fail-fast: conversation c1 failed");
  json s = json::parse(std::ifstream(dir_ / "summary.json"));
  EXPECT_EQ(s["status"], "stopped");
  EXPECT_EQ(s["counts"]["conversations_pending"], 3);
}

TEST_F(RunnerTest, FailFastLetsInFlightTurnsFinish) {
  Job job = MakeJob(3, 3);
  for (Conversation& c : job.conversations) OwnRetry(&c).attempts = 1;
  FakeTransport transport(DownOn("c1 turn 1"));
  Result<RunSummary> summary = Run(job, &transport, StopAfterFailures(1, 3));
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(summary->conversations[0].status, ConversationStatus::kError);
  // c2 and c3 had turn 1 in flight: it finished and was recorded, and
  // nothing after it was sent.
  EXPECT_EQ(transport.requests.size(), 3u);
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(summary->conversations[i].status, ConversationStatus::kPending);
    EXPECT_EQ(summary->conversations[i].turns_ok, 1);
  }
  EXPECT_TRUE(summary->stopped_early);
}

TEST_F(RunnerTest, MaxFailuresStopsAfterN) {
  Job job = MakeJob(6, 1);
  for (size_t i = 0; i < 6; ++i) ExpectOnTurn1(&job, i, "nope");
  FakeTransport transport(Echo);
  Result<RunSummary> summary = Run(job, &transport, StopAfterFailures(2, 1));
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(transport.requests.size(), 2u);
  EXPECT_EQ(summary->conversations[1].status, ConversationStatus::kFailed);
  EXPECT_EQ(summary->conversations[2].status, ConversationStatus::kPending);
  EXPECT_EQ(summary->stop_reason, "--max-failures 2 reached");
}

TEST_F(RunnerTest, NoMaxFailuresRunsEverything) {
  Job job = MakeJob(3, 1);
  for (size_t i = 0; i < 3; ++i) ExpectOnTurn1(&job, i, "nope");
  FakeTransport transport(Echo);
  Result<RunSummary> summary = Run(job, &transport);
  ASSERT_TRUE(summary.has_value());
  EXPECT_EQ(transport.requests.size(), 3u);
  EXPECT_FALSE(summary->stopped_early);
}

}  // namespace
}  // namespace chatbatch

namespace chatbatch {
namespace {

// Chunk timing on a scripted pacing, in simulated time: every figure is
// exact.
TEST_F(RunnerTest, LatencyFiguresFollowTheScriptedPacing) {
  Job job = MakeJob(1, 1);
  auto chunk = [](const std::string& text) {
    return "data: {\"choices\":[{\"delta\":{\"content\":\"" + text +
           "\"}}]}\n\n";
  };
  FakeTransport transport([&](const HttpRequest&) {
    FakeResponse r;
    r.paced = {
        {std::chrono::milliseconds(100), chunk("a")},
        {std::chrono::milliseconds(50), chunk("b") + chunk("c")},  // one read
        {std::chrono::milliseconds(200),
         "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],"
         "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":10,"
         "\"total_tokens\":13}}\n\ndata: [DONE]\n\n"},
    };
    return r;
  });
  Result<RunSummary> summary = Run(job, &transport);
  ASSERT_TRUE(summary.has_value()) << summary.error().message;

  // Answered 10 ms after the request started (the fake's round), so the
  // first chunk came at 110 ms, the last at 360 ms.
  std::vector<json> records = ReadJsonl(dir_ / "c1.jsonl");
  ASSERT_EQ(records.size(), 1u);
  const json& r = records[0];
  EXPECT_EQ(r["chunks"], 4);
  EXPECT_EQ(r["ttft_ms"], 110.0);
  EXPECT_EQ(r["duration_ms"], 360.0);
  // Gaps: 50 (a -> b), 0 (b -> c, same read), 200 (c -> finish).
  EXPECT_EQ(r["gaps_ms"]["p50"], 50.0);
  EXPECT_EQ(r["gaps_ms"]["p90"], 200.0);
  EXPECT_EQ(r["gaps_ms"]["p99"], 200.0);
  EXPECT_EQ(r["gaps_ms"]["max"], 200.0);
  EXPECT_EQ(r["chunks_per_s"], 11.1);  // 4 / 0.36 s
  EXPECT_EQ(r["tokens_per_s"], 40.0);  // 10 / (0.36 - 0.11) s

  const RunLatency& run = summary->latency;
  EXPECT_EQ(run.turns, 1);
  EXPECT_EQ(run.ttft.count(), 1);
  EXPECT_EQ(run.ttft.Summarize().p50, 110.0);  // one value: exact
  EXPECT_EQ(run.gaps.count(), 3);
  const Percentiles gaps = run.gaps.Summarize();
  EXPECT_NEAR(gaps.p50, 50.0, 0.5);  // histogram: within a bucket
  EXPECT_EQ(gaps.max, 200.0);
  EXPECT_DOUBLE_EQ(run.wall_s, 0.36);
  json s = json::parse(std::ifstream(dir_ / "summary.json"));
  EXPECT_EQ(s["latency"]["ttft_ms"]["p50"], 110.0);
  EXPECT_EQ(s["latency"]["duration_ms"]["max"], 360.0);
  EXPECT_EQ(s["latency"]["turns"], 1);
}

}  // namespace
}  // namespace chatbatch
