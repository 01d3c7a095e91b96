// When each of the four per-attempt timeouts fires, in simulated time:
// alone and with every combination of the other three on (long) or off.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chatbatch/runner.h"
#include "support/fake_transport.h"
#include "support/output_dir_fixture.h"
#include "support/sim_transport.h"
#include "support/test_job.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

enum class Kind { kConnect, kFirstToken, kIdle, kTotal };

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kConnect:
      return "connect_timeout";
    case Kind::kFirstToken:
      return "first_token_timeout";
    case Kind::kIdle:
      return "idle_timeout";
    case Kind::kTotal:
      return "total_timeout";
  }
  return "";
}

constexpr milliseconds kConnect(300);
constexpr milliseconds kFirstToken(700);
constexpr milliseconds kIdle(500);
constexpr milliseconds kTotal(1500);
constexpr milliseconds kLong(60000);

// A response that trips exactly the timeout of "kind".
SimResponse Trip(Kind kind) {
  SimResponse r;
  switch (kind) {
    case Kind::kConnect:
      r.connect_hangs = true;
      break;
    case Kind::kFirstToken:
      // Headers and a role-only chunk, then nothing with content.
      r.status_at = milliseconds(5);
      r.pieces = {{milliseconds(10),
                   "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}"
                   "]}\n\n"}};
      break;
    case Kind::kIdle:
      // Two chunks, then a stall (the stall_after=2).
      r.status_at = milliseconds(5);
      r.pieces = {{milliseconds(10), SseChunk("a")},
                  {milliseconds(20), SseChunk("b")}};
      break;
    case Kind::kTotal:
      // Never silent for long, never done.
      r.status_at = milliseconds(5);
      for (int t = 10; t <= 5000; t += 10) {
        r.pieces.emplace_back(milliseconds(t), SseChunk("x"));
      }
      r.end_at = milliseconds(5010);
      break;
  }
  return r;
}

// When "kind" must fire, from the attempt's start.
milliseconds Deadline(Kind kind) {
  switch (kind) {
    case Kind::kConnect:
      return kConnect;
    case Kind::kFirstToken:
      return kFirstToken;
    case Kind::kIdle:
      return milliseconds(20) + kIdle;  // after the last chunk
    case Kind::kTotal:
      return kTotal;
  }
  return {};
}

Job OneTurnJob(Kind kind, int others_on_mask) {
  Job job = testjob::NumberedJob(
      1, 1, 1, "u", [](const std::string&, int) { return "hello"; });
  Conversation& c = job.conversations[0];
  OwnRetry(&c).attempts = 1;
  OwnRetry(&c).on = {};
  Timeouts& t = c.mutable_settings().timeouts;
  milliseconds* slots[] = {&t.connect, &t.first_token, &t.idle, &t.total};
  const milliseconds values[] = {kConnect, kFirstToken, kIdle, kTotal};
  int bit = 0;
  for (int i = 0; i < 4; ++i) {
    if (i == static_cast<int>(kind)) {
      *slots[i] = values[i];
      continue;
    }
    *slots[i] = (others_on_mask >> bit++) & 1 ? kLong : milliseconds(0);
  }
  return job;
}

class TimeoutTest
    : public OutputDirFixture<::testing::TestWithParam<std::tuple<Kind, int>>> {
};

TEST_P(TimeoutTest, FiresAtItsOwnDeadline) {
  const auto [kind, mask] = GetParam();
  Job job = OneTurnJob(kind, mask);
  SimTransport transport([kind](const HttpRequest&) { return Trip(kind); });
  Runner runner(job, {}, &transport, output_.get(), nullptr);
  ASSERT_TRUE(runner.Run().has_value());
  std::vector<json> records = ReadJsonl(dir_ / "c1.jsonl");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["status"], "error");
  EXPECT_EQ(records[0]["error_kind"], KindName(kind));
  ASSERT_EQ(transport.end_times.size(), 1u);
  const double fired_ms = SimTransport::Ms(transport.end_times[0]) -
                          SimTransport::Ms(transport.start_times[0]);
  // The loop's granularity is 1 ms (timers are rounded up).
  EXPECT_GE(fired_ms, static_cast<double>(Deadline(kind).count()));
  EXPECT_LE(fired_ms, static_cast<double>(Deadline(kind).count()) + 1.0);
}

std::string TimeoutName(
    const ::testing::TestParamInfo<std::tuple<Kind, int>>& info) {
  return std::string(KindName(std::get<0>(info.param))) + "_others_" +
         std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(
    EveryKindAndCombination, TimeoutTest,
    ::testing::Combine(::testing::Values(Kind::kConnect, Kind::kFirstToken,
                                         Kind::kIdle, Kind::kTotal),
                       ::testing::Range(0, 8)),
    TimeoutName);

// The case: with first_token on, the idle timeout used to wait for
// the first_token timer (2 s) before it looked at the silence.
TEST_F(TimeoutTest, IdleIsNotHeldBackByALaterFirstTokenDeadline) {
  Job job = OneTurnJob(Kind::kIdle, 0);
  job.conversations[0].mutable_settings().timeouts.first_token =
      milliseconds(2000);
  job.conversations[0].mutable_settings().timeouts.total = milliseconds(600000);
  SimTransport transport([](const HttpRequest&) { return Trip(Kind::kIdle); });
  Runner runner(job, {}, &transport, output_.get(), nullptr);
  ASSERT_TRUE(runner.Run().has_value());
  EXPECT_EQ(ReadJsonl(dir_ / "c1.jsonl")[0]["error_kind"], "idle_timeout");
  EXPECT_EQ(SimTransport::Ms(transport.end_times[0]), 520.0);
}

// A stream that pauses for less than the idle timeout again and again is
// never cut, however long it runs.
TEST_F(TimeoutTest, IdleMeasuresEachGapNotTheWholeStream) {
  Job job = OneTurnJob(Kind::kIdle, 0);
  SimTransport transport([](const HttpRequest&) {
    SimResponse r;
    for (int t = 400; t <= 4000; t += 400) {
      r.pieces.emplace_back(milliseconds(t), SseChunk("x"));
    }
    r.pieces.emplace_back(
        milliseconds(4000),
        "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        "data: [DONE]\n\n");
    r.end_at = milliseconds(4001);
    return r;
  });
  Runner runner(job, {}, &transport, output_.get(), nullptr);
  ASSERT_TRUE(runner.Run().has_value());
  EXPECT_EQ(ReadJsonl(dir_ / "c1.jsonl")[0]["status"], "ok");
}

// Each kind is its own retry.on token: listed, it is retried after the
// backoff; not listed, the turn ends with it.
class TimeoutRetryTest : public TimeoutTest {};

TEST_P(TimeoutRetryTest, RetriedOnlyWhenListed) {
  const Kind kind = std::get<0>(GetParam());
  const bool listed = std::get<1>(GetParam()) == 1;
  Job job = OneTurnJob(kind, 0);
  Conversation& c = job.conversations[0];
  RetryPolicy& retry = OwnRetry(&c);
  retry.attempts = 2;
  retry.backoff = retry.max_backoff = milliseconds(100);
  job.retry.backoff = job.retry.max_backoff = milliseconds(100);
  // The other timeout kinds are listed either way: only "kind" decides.
  for (Kind other :
       {Kind::kFirstToken, Kind::kIdle, Kind::kTotal, Kind::kConnect}) {
    if (other != kind || listed) retry.on.push_back(KindName(other));
  }
  int calls = 0;
  SimTransport transport([&calls, kind](const HttpRequest&) {
    if (++calls == 1) return Trip(kind);
    return OnePiece(SseReply("fine"), milliseconds(3));
  });
  RunOptions options;
  options.random_seed = 7;
  Runner runner(job, options, &transport, output_.get(), nullptr);
  ASSERT_TRUE(runner.Run().has_value());
  json record = ReadJsonl(dir_ / "c1.jsonl")[0];
  if (!listed) {
    EXPECT_EQ(record["status"], "error");
    EXPECT_EQ(record["error_kind"], KindName(kind));
    EXPECT_EQ(transport.requests.size(), 1u);
    return;
  }
  EXPECT_EQ(record["status"], "ok");
  ASSERT_EQ(transport.start_times.size(), 2u);
  const double gap = SimTransport::Ms(transport.start_times[1]) -
                     SimTransport::Ms(transport.start_times[0]);
  // Fired at the deadline, then waited at most the (jittered) backoff.
  EXPECT_GE(gap, static_cast<double>(Deadline(kind).count()));
  EXPECT_LE(gap, static_cast<double>(Deadline(kind).count()) + 101.0);
  if (kind == Kind::kConnect) {
    // A connect failure is the endpoint's: the turn waits for it without
    // spending an attempt (docs/job-file.md, "Reliability").
    EXPECT_EQ(record["attempts"], 1);
    EXPECT_EQ(record["unreachable_attempts"], 1);
  } else {
    EXPECT_EQ(record["attempts"], 2);
    EXPECT_EQ(record["attempt_errors"][0]["error_kind"], KindName(kind));
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryKind, TimeoutRetryTest,
    ::testing::Combine(::testing::Values(Kind::kConnect, Kind::kFirstToken,
                                         Kind::kIdle, Kind::kTotal),
                       ::testing::Values(0, 1)),
    [](const ::testing::TestParamInfo<std::tuple<Kind, int>>& info) {
      return std::string(KindName(std::get<0>(info.param))) +
             (std::get<1>(info.param) ? "_listed" : "_not_listed");
    });

}  // namespace
}  // namespace chatbatch
