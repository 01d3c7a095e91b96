// The endpoint-wide reachability policy (time passed in), and the runner
// over a simulated endpoint that is down, comes back, or never does.
#include "run/endpoint_health.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "chatbatch/runner.h"
#include "support/fake_transport.h"
#include "support/output_dir_fixture.h"
#include "support/sim_transport.h"
#include "support/socket_util.h"
#include "support/steady_time.h"
#include "support/test_job.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

using testclock::At;

TEST(EndpointHealthTest, UpAdmitsEverything) {
  EndpointHealth h(milliseconds(1000), milliseconds(8000), milliseconds(0));
  Clock::time_point wake;
  EXPECT_TRUE(h.MayStart(At(0), &wake));
  EXPECT_FALSE(h.Started());
  EXPECT_TRUE(h.MayStart(At(0), &wake));
  EXPECT_FALSE(h.down());
  EXPECT_EQ(h.give_up_at(), Clock::time_point::max());
}

// Probe waits: backoff * 2^failed probes, capped at max_backoff.
TEST(EndpointHealthTest, ProbesBackOffExponentiallyUpToTheCap) {
  EndpointHealth h(milliseconds(1000), milliseconds(5000), milliseconds(0));
  EXPECT_TRUE(h.OnConnectFailure(At(100), /*probe=*/false));
  Clock::time_point wake;
  struct Row {
    int fail_at;
    int next_probe;
  };
  // Went down at 100: first probe at 1100; then waits of 2 s, 4 s, 5 s, 5 s.
  const Row rows[] = {
      {1100, 3100}, {3100, 7100}, {7100, 12100}, {12100, 17100}};
  EXPECT_FALSE(h.MayStart(At(1099), &wake));
  EXPECT_EQ(wake, At(1100));
  for (const Row& row : rows) {
    ASSERT_TRUE(h.MayStart(At(row.fail_at), &wake)) << row.fail_at;
    EXPECT_TRUE(h.Started());
    // One probe at a time: nobody else until it ends.
    EXPECT_FALSE(h.MayStart(At(row.fail_at), &wake));
    EXPECT_EQ(wake, Clock::time_point::max());
    EXPECT_FALSE(h.OnConnectFailure(At(row.fail_at), /*probe=*/true));
    EXPECT_FALSE(h.MayStart(At(row.next_probe - 1), &wake));
    EXPECT_EQ(wake, At(row.next_probe)) << row.fail_at;
  }
  EXPECT_EQ(h.failed_probes(), 4);
}

// Requests that were already out when the endpoint went down fail too;
// they neither move the probe's backoff nor count as probes.
TEST(EndpointHealthTest, StragglersDoNotMoveTheBackoff) {
  EndpointHealth h(milliseconds(1000), milliseconds(60000), milliseconds(0));
  EXPECT_TRUE(h.OnConnectFailure(At(0), false));
  EXPECT_FALSE(h.OnConnectFailure(At(5), false));
  EXPECT_FALSE(h.OnConnectFailure(At(9), false));
  Clock::time_point wake;
  EXPECT_FALSE(h.MayStart(At(999), &wake));
  EXPECT_EQ(wake, At(1000));
  EXPECT_EQ(h.failed_probes(), 0);
}

TEST(EndpointHealthTest, ConnectedEndsTheOutageOnce) {
  EndpointHealth h(milliseconds(1000), milliseconds(60000), milliseconds(0));
  h.OnConnectFailure(At(0), false);
  Clock::time_point wake;
  ASSERT_TRUE(h.MayStart(At(1000), &wake));
  EXPECT_TRUE(h.Started());
  EXPECT_TRUE(h.OnConnected());
  EXPECT_FALSE(h.OnConnected());
  EXPECT_TRUE(h.MayStart(At(1000), &wake));
  EXPECT_FALSE(h.down());
}

TEST(EndpointHealthTest, ACancelledProbeFreesTheSlot) {
  EndpointHealth h(milliseconds(1000), milliseconds(60000), milliseconds(0));
  h.OnConnectFailure(At(0), false);
  Clock::time_point wake;
  ASSERT_TRUE(h.MayStart(At(1000), &wake));
  EXPECT_TRUE(h.Started());
  h.OnOtherEnd(/*probe=*/false);
  EXPECT_FALSE(h.MayStart(At(1000), &wake));
  h.OnOtherEnd(/*probe=*/true);
  EXPECT_TRUE(h.MayStart(At(1000), &wake));
}

TEST(EndpointHealthTest, GiveUpCountsFromTheStartOfTheOutage) {
  EndpointHealth h(milliseconds(1000), milliseconds(60000),
                   milliseconds(600000));
  EXPECT_EQ(h.give_up_at(), Clock::time_point::max());
  h.OnConnectFailure(At(250), false);
  h.OnConnectFailure(At(1250), true);
  EXPECT_EQ(h.give_up_at(), At(600250));
  h.OnConnected();
  EXPECT_EQ(h.give_up_at(), Clock::time_point::max());
}

// ---------------------------------------------------------------------------
// The runner against a simulated endpoint.

Job DownJob(int conversations, int turns) {
  Job job = testjob::NumberedJob(
      8, conversations, turns, "u",
      [](const std::string&, int t) { return "m" + std::to_string(t); });
  job.retry.backoff = milliseconds(1000);
  job.retry.max_backoff = milliseconds(60000);
  for (Conversation& c : job.conversations) {
    c.mutable_settings().retry = std::make_shared<const RetryPolicy>(job.retry);
    OwnRetry(&c).attempts = 2;
  }
  return job;
}

using testnet::Count;

// A refused connection, for every request.
SimResponse Refused(const HttpRequest&) {
  SimResponse r;
  r.refused = true;
  return r;
}

class EndpointDownTest : public OutputDirFixture<> {
 protected:
  void SetUp() override {
    OutputDirFixture::SetUp();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
    sink->set_pattern("%l: %v");
    previous_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  void TearDown() override {
    spdlog::set_default_logger(previous_);
    OutputDirFixture::TearDown();
  }

  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> previous_;
};

// Refused until 2.5 s, then fine: one probe at a time (at 1 s, then 3 s),
// one line when it goes down and one when it is back, and nobody's
// attempts used up (2 each would not have survived 3 refusals).
TEST_F(EndpointDownTest, WaitsBehindOneProbeAndSaysSoOnce) {
  Job job = DownJob(5, 1);
  SimTransport* sim = nullptr;
  SimTransport transport([&sim](const HttpRequest&) {
    SimResponse r;
    if (SimTransport::Ms(sim->Now()) < 2500) {
      r.refused = true;
      return r;
    }
    return OnePiece(SseReply("ok"), milliseconds(2));
  });
  sim = &transport;
  Runner runner(job, {}, &transport, output_.get(), nullptr);
  Result<RunSummary> summary = runner.Run();
  ASSERT_TRUE(summary.has_value());
  std::vector<double> starts;
  for (auto t : transport.start_times) starts.push_back(SimTransport::Ms(t));
  // Five at once, refused at 1 ms; the refused probe at 1001, the good one
  // at 3002 (2 s after that refusal); its headers at 3003 let the other
  // four go at once.
  EXPECT_EQ(starts, (std::vector<double>{0, 0, 0, 0, 0, 1001, 3002, 3003, 3003,
                                         3003, 3003}));
  int unreachable = 0;
  for (int i = 1; i <= 5; ++i) {
    std::vector<json> records =
        ReadJsonl(dir_ / ("c" + std::to_string(i) + ".jsonl"));
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0]["status"], "ok");
    EXPECT_EQ(records[0]["attempts"], 1);
    EXPECT_TRUE(records[0]["attempt_errors"].empty());
    unreachable += records[0].value("unreachable_attempts", 0);
  }
  EXPECT_EQ(unreachable, 6);  // five first tries and one failed probe
  EXPECT_EQ(Count(log_.str(), "is unreachable"), 1) << log_.str();
  EXPECT_EQ(Count(log_.str(), "reachable again"), 1) << log_.str();
  EXPECT_EQ(Count(log_.str(), "retrying"), 0) << log_.str();
  EXPECT_FALSE(summary->stopped_early);
}

// Never comes back: the run stops at retry.give_up_after with every turn
// unsent (pending, resumable) and no record written.
TEST_F(EndpointDownTest, GivesUpAfterGiveUpAfterLeavingTurnsUnsent) {
  Job job = DownJob(3, 2);
  job.retry.give_up_after = milliseconds(5000);
  SimTransport transport(Refused);
  Runner runner(job, {}, &transport, output_.get(), nullptr);
  Result<RunSummary> summary = runner.Run();
  ASSERT_TRUE(summary.has_value());
  EXPECT_TRUE(summary->stopped_early);
  EXPECT_NE(summary->stop_reason.find("unreachable for 5s"), std::string::npos)
      << summary->stop_reason;
  for (const ConversationOutcome& o : summary->conversations) {
    EXPECT_EQ(o.status, ConversationStatus::kPending) << o.id;
  }
  for (int i = 1; i <= 3; ++i) {
    EXPECT_TRUE(ReadJsonl(dir_ / ("c" + std::to_string(i) + ".jsonl")).empty());
  }
  // Down at 1 ms; probes at 1001 and 3002 (the next would be 7003).
  EXPECT_EQ(transport.start_times.size(), 5u);
  EXPECT_EQ(SimTransport::Ms(transport.Now()), 5001.0);
}

// A turn's timeouts.total still bounds its wait when it is shorter than
// retry.give_up_after.
TEST_F(EndpointDownTest, TurnTotalStillAppliesWhileWaiting) {
  Job job = DownJob(1, 1);
  job.retry.give_up_after = milliseconds(60000);
  job.conversations[0].mutable_settings().timeouts.total = milliseconds(2000);
  SimTransport transport(Refused);
  Runner runner(job, {}, &transport, output_.get(), nullptr);
  ASSERT_TRUE(runner.Run().has_value());
  std::vector<json> records = ReadJsonl(dir_ / "c1.jsonl");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["status"], "error");
  EXPECT_EQ(records[0]["error_kind"], "total_timeout");
  EXPECT_EQ(records[0]["duration_ms"], 2000);
  // The run ends with its last conversation, not at give_up_after.
  EXPECT_EQ(SimTransport::Ms(transport.Now()), 2000.0);
}

// With connect failures taken out of retry.on, they stay final.
TEST_F(EndpointDownTest, ConnectNotRetriedMeansNoWaiting) {
  Job job = DownJob(2, 1);
  for (Conversation& c : job.conversations) OwnRetry(&c).on = {"5xx"};
  SimTransport transport(Refused);
  Runner runner(job, {}, &transport, output_.get(), nullptr);
  ASSERT_TRUE(runner.Run().has_value());
  EXPECT_EQ(ReadJsonl(dir_ / "c1.jsonl")[0]["error_kind"], "connect");
  EXPECT_EQ(ReadJsonl(dir_ / "c2.jsonl")[0]["error_kind"], "connect");
  EXPECT_EQ(transport.start_times.size(), 2u);
  EXPECT_EQ(Count(log_.str(), "is unreachable"), 0);
}

}  // namespace
}  // namespace chatbatch
