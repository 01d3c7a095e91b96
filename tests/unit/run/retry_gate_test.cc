// Tables for the retry set, the retry delay and the endpoint gate (time
// passed in), and the gate's spacing asserted exactly in simulated time.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "chatbatch/runner.h"
#include "run/endpoint_gate.h"
#include "run/retry_policy.h"
#include "support/fake_transport.h"
#include "support/output_dir_fixture.h"
#include "support/sim_transport.h"
#include "support/steady_time.h"
#include "support/test_job.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

using testclock::At;

TEST(ShouldRetryTest, TokensMatchTheirKindsAndStatuses) {
  struct Row {
    std::vector<std::string> on;
    Error error;
    bool retried;
  };
  const Row rows[] = {
      {{"5xx"}, Error(ErrorCode::kHttp, "", 503), true},
      {{"5xx"}, Error(ErrorCode::kHttp, "", 500), true},
      {{"5xx"}, Error(ErrorCode::kHttp, "", 429), false},
      {{"5xx"}, Error(ErrorCode::kServer, "", 500), false},
      {{"4xx"}, Error(ErrorCode::kHttp, "", 404), true},
      {{"4xx"}, Error(ErrorCode::kHttp, "", 503), false},
      {{"429"}, Error(ErrorCode::kHttp, "", 429), true},
      {{"429"}, Error(ErrorCode::kHttp, "", 428), false},
      {{"timeout"}, Error(ErrorCode::kConnectTimeout, ""), true},
      {{"timeout"}, Error(ErrorCode::kFirstTokenTimeout, ""), true},
      {{"timeout"}, Error(ErrorCode::kIdleTimeout, ""), true},
      {{"timeout"}, Error(ErrorCode::kTotalTimeout, ""), true},
      {{"timeout"}, Error(ErrorCode::kConnect, ""), false},
      {{"connect"}, Error(ErrorCode::kConnect, ""), true},
      {{"connect"}, Error(ErrorCode::kConnectTimeout, ""), false},
      {{"idle_timeout"}, Error(ErrorCode::kIdleTimeout, ""), true},
      {{"idle_timeout"}, Error(ErrorCode::kTotalTimeout, ""), false},
      {{"incomplete"}, Error(ErrorCode::kIncomplete, ""), true},
      {{"protocol"}, Error(ErrorCode::kProtocol, ""), true},
      {{"limit"}, Error(ErrorCode::kLimit, ""), true},
      {{}, Error(ErrorCode::kHttp, "", 503), false},
      {{"connect", "504"}, Error(ErrorCode::kHttp, "", 504), true},
  };
  int i = 0;
  for (const Row& row : rows) {
    RetryPolicy policy;
    policy.on = row.on;
    policy.on_given = true;
    EXPECT_EQ(ShouldRetry(policy, row.error, /*produced_output=*/false),
              row.retried)
        << "row " << i;
    ++i;
  }
}

// The default set retries a 429 whether or not it says how long to wait.
TEST(ShouldRetryTest, DefaultsRetry429AndServerErrors) {
  const RetryPolicy defaults;
  for (int status : {408, 409, 425, 429, 500, 502, 503, 504}) {
    EXPECT_TRUE(ShouldRetry(defaults, Error(ErrorCode::kHttp, "", status),
                            /*produced_output=*/false))
        << status;
  }
  for (int status : {400, 401, 403, 404, 422, 501}) {
    EXPECT_FALSE(ShouldRetry(defaults, Error(ErrorCode::kHttp, "", status),
                             /*produced_output=*/false))
        << status;
  }
}

// Full jitter: uniform in [0, min(max_backoff, backoff * 2^(n-1))]. Over
// many seeded draws the largest is close to that ceiling and never above.
TEST(RetryDelayTest, ExponentialCeilingWithItsCap) {
  RetryPolicy policy;
  policy.backoff = milliseconds(1000);
  policy.max_backoff = milliseconds(60000);
  struct Row {
    int failed;
    int64_t ceiling_ms;
  };
  const Row rows[] = {{1, 1000},  {2, 2000},  {3, 4000},  {4, 8000},
                      {6, 32000}, {7, 60000}, {8, 60000}, {40, 60000}};
  std::mt19937_64 rng(42);
  for (const Row& row : rows) {
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < 2000; ++i) {
      const int64_t d =
          RetryDelay(policy, row.failed, std::nullopt, &rng).count();
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    EXPECT_LE(hi, row.ceiling_ms) << row.failed;
    EXPECT_GE(hi, row.ceiling_ms * 99 / 100) << row.failed;
    EXPECT_LE(lo, row.ceiling_ms / 100) << row.failed;
  }
}

TEST(RetryDelayTest, RetryAfterIsTakenAsGivenUpToAnHour) {
  RetryPolicy policy;
  std::mt19937_64 rng(1);
  EXPECT_EQ(RetryDelay(policy, 1, seconds(0), &rng), milliseconds(0));
  EXPECT_EQ(RetryDelay(policy, 1, seconds(3), &rng), milliseconds(3000));
  EXPECT_EQ(RetryDelay(policy, 5, seconds(120), &rng), milliseconds(120000));
  EXPECT_EQ(RetryDelay(policy, 1, seconds(3600), &rng), milliseconds(3600000));
  EXPECT_EQ(RetryDelay(policy, 1, seconds(86400), &rng), milliseconds(3600000));
}

TEST(RetryDelayTest, ZeroBackoffRetriesAtOnce) {
  RetryPolicy policy;
  policy.backoff = policy.max_backoff = milliseconds(0);
  std::mt19937_64 rng(1);
  EXPECT_EQ(RetryDelay(policy, 3, std::nullopt, &rng), milliseconds(0));
}

TEST(EndpointGateTest, RateSpacesStartsEvenlyWithoutBursts) {
  RateLimit rate;
  rate.requests_per_minute = 60;  // one a second
  EndpointGate gate(rate);
  Clock::time_point wake;
  struct Row {
    int at;
    bool admitted;
    int wake;  // when refused
  };
  const Row rows[] = {
      {0, true, 0},
      {0, false, 1000},
      {999, false, 1000},
      {1000, true, 0},
      {1500, false, 2000},
      {2000, true, 0},
      // Idle for a while: the next start is admitted, but it does not bank
      // the idle time into a burst.
      {9000, true, 0},
      {9000, false, 10000},
      {10000, true, 0},
  };
  for (const Row& row : rows) {
    const bool admitted = gate.TryAcquire(At(row.at), &wake);
    EXPECT_EQ(admitted, row.admitted) << row.at;
    if (admitted) {
      gate.Release();
    } else {
      EXPECT_EQ(wake, At(row.wake)) << row.at;
    }
  }
}

TEST(EndpointGateTest, MaxInFlightWaitsForARelease) {
  RateLimit rate;
  rate.max_in_flight = 2;
  EndpointGate gate(rate);
  Clock::time_point wake;
  EXPECT_TRUE(gate.TryAcquire(At(0), &wake));
  EXPECT_TRUE(gate.TryAcquire(At(0), &wake));
  EXPECT_FALSE(gate.TryAcquire(At(0), &wake));
  EXPECT_EQ(wake, Clock::time_point::max());
  EXPECT_EQ(gate.in_flight(), 2);
  gate.Release();
  EXPECT_TRUE(gate.TryAcquire(At(1), &wake));
}

TEST(EndpointGateTest, PauseHoldsEverybodyUntilItEnds) {
  EndpointGate gate(RateLimit{});
  Clock::time_point wake;
  gate.PauseUntil(At(3000));
  gate.PauseUntil(At(2000));  // a shorter pause does not cut a longer one
  EXPECT_FALSE(gate.TryAcquire(At(2999), &wake));
  EXPECT_EQ(wake, At(3000));
  EXPECT_TRUE(gate.TryAcquire(At(3000), &wake));
}

// ---------------------------------------------------------------------------
// The runner over simulated time: exact spacing.

Job SpacedJob(int conversations, int turns) {
  return testjob::NumberedJob(8, conversations, turns, "u",
                              [](const std::string&, int) { return "m"; });
}

class SpacingTest : public OutputDirFixture<> {
 protected:
  std::vector<double> Starts(const SimTransport& t) {
    std::vector<double> out;
    for (auto s : t.start_times) out.push_back(SimTransport::Ms(s));
    return out;
  }
};

// 600 a minute: every 100 ms exactly, turns and new conversations alike.
TEST_F(SpacingTest, RequestsPerMinuteSpacesEveryStartExactly) {
  Job job = SpacedJob(3, 2);
  job.rate.requests_per_minute = 600;
  SimTransport transport([](const HttpRequest&) {
    return OnePiece(SseReply("ok"), milliseconds(5));
  });
  Runner runner(job, {}, &transport, output_.get(), nullptr);
  ASSERT_TRUE(runner.Run().has_value());
  EXPECT_EQ(Starts(transport),
            (std::vector<double>{0, 100, 200, 300, 400, 500}));
}

// A 429 without Retry-After pauses the whole endpoint for the backoff the
// retry drew: a conversation that was not involved waits for it too.
TEST_F(SpacingTest, A429WithoutRetryAfterPausesTheEndpoint) {
  Job job = SpacedJob(3, 1);
  job.concurrency = 2;
  int calls = 0;
  SimTransport transport([&calls](const HttpRequest&) {
    if (++calls == 1) {
      SimResponse r =
          OnePiece("{\"error\":{\"message\":\"slow\"}}", milliseconds(2));
      r.status = 429;
      r.content_type = "application/json";
      return r;
    }
    return OnePiece(SseReply("ok"), milliseconds(5));
  });
  RunOptions options;
  options.random_seed = 7;
  Runner runner(job, options, &transport, output_.get(), nullptr);
  ASSERT_TRUE(runner.Run().has_value());
  const std::vector<double> starts = Starts(transport);
  ASSERT_EQ(starts.size(), 4u);
  EXPECT_EQ(starts[0], 0);
  EXPECT_EQ(starts[1], 0);
  // c2 was done at 6 ms, yet c3 waited for the pause like c1's retry: both
  // go at its end, which the seeded draw puts within [3, 1003] ms.
  EXPECT_GT(starts[2], 6.0);
  EXPECT_LE(starts[2], 1003.0);
  EXPECT_EQ(starts[3], starts[2]);
}

}  // namespace
}  // namespace chatbatch
