// Load mode in simulated time (SimTransport is the fake clock): when
// conversations start, their think times, the concurrency cap, sweeps
// drained step by step, and the SLO gate.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "chatbatch/runner.h"
#include "support/fake_transport.h"
#include "support/output_dir_fixture.h"
#include "support/sim_transport.h"
#include "support/test_job.h"

namespace chatbatch {
namespace {

using std::chrono::milliseconds;

// Two content chunks: the first at "ttft", the reply ends at "e2e".
SimResponse Reply(milliseconds ttft, milliseconds e2e) {
  SimResponse r;
  r.status_at = milliseconds(1);
  r.pieces = {{ttft, SseChunk("a")},
              {e2e - milliseconds(1), SseChunk("b")},
              {e2e, "data: [DONE]\n\n"}};
  r.end_at = e2e;
  return r;
}

Job LoadJob(int conversations, int turns) {
  Job job = testjob::NumberedJob(4, conversations, turns, "u",
                                 [](const std::string& id, int t) {
                                   return id + " turn " + std::to_string(t);
                                 });
  job.load.emplace();
  job.load->seed = 7;
  job.load->seed_given = true;
  return job;
}

ArrivalSpec Constant(double rate) {
  ArrivalSpec a;
  a.process = ArrivalSpec::Process::kConstant;
  a.rate_per_s = rate;
  return a;
}

std::vector<double> StartMs(const SimTransport& t) {
  std::vector<double> out;
  for (auto at : t.start_times) out.push_back(SimTransport::Ms(at));
  return out;
}

class RunnerLoadTest : public OutputDirFixture<::testing::Test> {
 protected:
  RunSummary Run(const Job& job, SimTransport* transport,
                 RunOptions options = {}) {
    Runner runner(job, std::move(options), transport, output_.get(), nullptr);
    Result<RunSummary> summary = runner.Run();
    EXPECT_TRUE(summary.has_value());
    return summary.has_value() ? std::move(*summary) : RunSummary();
  }
};

TEST_F(RunnerLoadTest, OpenLoopStartsOnTheScheduleNotOnReplies) {
  Job job = LoadJob(1, 1);
  job.load->arrival = Constant(10);
  job.load->duration = milliseconds(1000);
  job.load->repeat = true;
  // Each reply takes 350 ms: a closed loop of 4 would start at 0 and 350.
  SimTransport transport([](const HttpRequest&) {
    return Reply(milliseconds(50), milliseconds(350));
  });
  RunSummary s = Run(job, &transport);
  const std::vector<double> starts = StartMs(transport);
  ASSERT_EQ(starts.size(), 10u);
  for (size_t i = 0; i < starts.size(); ++i) {
    EXPECT_DOUBLE_EQ(starts[i] - starts[0], 100.0 * static_cast<double>(i));
  }
  // Copies are named after the conversation, numbered from 1.
  EXPECT_TRUE(std::filesystem::exists(dir_ / "c1#1.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "c1#10.jsonl"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "c1.jsonl"));
  ASSERT_TRUE(s.load.has_value());
  EXPECT_EQ(s.load->mode, "open");
  EXPECT_EQ(s.load->seed, 7u);
  ASSERT_EQ(s.load->steps.size(), 1u);
  const LoadStepResult& step = s.load->steps[0];
  EXPECT_EQ(step.conversations, 10);
  EXPECT_EQ(step.turns, 10);
  EXPECT_EQ(step.lag.count, 10);
  EXPECT_EQ(step.lag.max, 0.0);
  EXPECT_FALSE(step.client_limited);
  EXPECT_DOUBLE_EQ(step.rate, 10.0);
  EXPECT_NEAR(step.achieved_rate, 10.0, 1e-9);
  EXPECT_NEAR(step.ttft.p50, 50.0, 1.0);
  EXPECT_NEAR(step.e2e.max, 350.0, 1.0);
  EXPECT_EQ(s.conversations.size(), 10u);
}

TEST_F(RunnerLoadTest, ThinkTimeSeparatesAReplyFromTheNextTurn) {
  Job job = LoadJob(1, 3);
  job.load->arrival = Constant(1);
  job.load->think.mean = milliseconds(500);
  SimTransport transport([](const HttpRequest&) {
    return Reply(milliseconds(10), milliseconds(40));
  });
  RunSummary s = Run(job, &transport);
  const std::vector<double> starts = StartMs(transport);
  ASSERT_EQ(starts.size(), 3u);
  EXPECT_DOUBLE_EQ(starts[1] - starts[0], 540.0);
  EXPECT_DOUBLE_EQ(starts[2] - starts[1], 540.0);
  // Without repeat the job's own conversation runs, under its own name.
  EXPECT_TRUE(std::filesystem::exists(dir_ / "c1.jsonl"));
  ASSERT_TRUE(s.load.has_value());
  ASSERT_EQ(s.load->steps[0].by_turn.size(), 3u);
  const TurnNumberStats& third = s.load->steps[0].by_turn[2];
  EXPECT_EQ(third.turn, 3);
  EXPECT_EQ(third.turns, 1);
  EXPECT_DOUBLE_EQ(third.history_messages, 5.0);  // 2 exchanges + the new one
  // "c1 turn 1" + "ab" + "c1 turn 2" + "ab" + "c1 turn 3"
  EXPECT_DOUBLE_EQ(third.history_chars, 9 + 2 + 9 + 2 + 9);
}

TEST_F(RunnerLoadTest, TheCapHoldsArrivalsBackAndMarksTheStepClientLimited) {
  Job job = LoadJob(1, 1);
  job.load->arrival = Constant(10);
  job.load->duration = milliseconds(1000);
  job.load->repeat = true;
  job.concurrency = 1;
  job.concurrency_given = true;
  SimTransport transport([](const HttpRequest&) {
    return Reply(milliseconds(10), milliseconds(150));
  });
  RunSummary s = Run(job, &transport);
  ASSERT_TRUE(s.load.has_value());
  const LoadStepResult& step = s.load->steps[0];
  EXPECT_GT(step.cap_hits, 0);
  EXPECT_GT(step.lag.max, 0.0);  // a held arrival starts late
  EXPECT_TRUE(step.client_limited);
  EXPECT_NE(step.client_limited_reason.find("concurrency cap 1"),
            std::string::npos);
  // Never two at once.
  const std::vector<double> starts = StartMs(transport);
  for (size_t i = 1; i < starts.size(); ++i) {
    EXPECT_GE(starts[i] - starts[i - 1], 150.0);
  }
}

TEST_F(RunnerLoadTest, AConcurrencySweepRunsItsStepsOneAfterAnother) {
  Job job = LoadJob(2, 1);
  job.load->repeat = true;
  job.load->sweep.kind = SweepSpec::Kind::kConcurrency;
  job.load->sweep.values = {1, 3};
  job.load->sweep.step = milliseconds(1000);
  SimTransport transport([](const HttpRequest&) {
    return Reply(milliseconds(10), milliseconds(100));
  });
  RunSummary s = Run(job, &transport);
  ASSERT_TRUE(s.load.has_value());
  EXPECT_EQ(s.load->mode, "closed");
  ASSERT_EQ(s.load->steps.size(), 2u);
  EXPECT_EQ(s.load->steps[0].label, "concurrency 1");
  EXPECT_EQ(s.load->steps[1].label, "concurrency 3");
  // One at a time for 1 s of 100 ms replies, then three at a time.
  EXPECT_EQ(s.load->steps[0].conversations, 10);
  EXPECT_EQ(s.load->steps[1].conversations, 30);
  EXPECT_NEAR(s.load->steps[0].turns_per_s, 10.0, 1.0);
  EXPECT_NEAR(s.load->steps[1].turns_per_s, 30.0, 3.0);
  // The second step starts after the first drained, and its copies go on
  // numbering: c1#1..c1#5 in step 1 (alternating with c2), then c1#6...
  EXPECT_TRUE(std::filesystem::exists(dir_ / "c1#20.jsonl"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "c1#21.jsonl"));
}

TEST_F(RunnerLoadTest, WarmupConversationsAreRunButNotMeasured) {
  Job job = LoadJob(1, 1);
  job.load->arrival = Constant(10);
  job.load->duration = milliseconds(1000);
  job.load->warmup = milliseconds(300);
  job.load->cooldown = milliseconds(200);
  job.load->repeat = true;
  SimTransport transport([](const HttpRequest&) {
    return Reply(milliseconds(10), milliseconds(50));
  });
  RunSummary s = Run(job, &transport);
  const LoadStepResult& step = s.load->steps[0];
  EXPECT_EQ(step.conversations, 10);
  EXPECT_EQ(step.conversations_measured, 5);  // 300, 400, ..., 700 ms
  EXPECT_EQ(step.turns, 5);
  EXPECT_DOUBLE_EQ(step.window_s, 0.5);
}

SloLimit Limit(std::string name, SloLimit::Metric metric, double quantile,
               double limit) {
  SloLimit l;
  l.name = std::move(name);
  l.metric = metric;
  l.quantile = quantile;
  l.limit = limit;
  return l;
}

TEST_F(RunnerLoadTest, SloAloneGatesAClosedLoopRun) {
  Job job = testjob::NumberedJob(2, 4, 2, "u",
                                 [](const std::string&, int) { return "hi"; });
  job.slo = {Limit("ttft_p95", SloLimit::Metric::kTtft, 0.95, 100),
             Limit("e2e_max", SloLimit::Metric::kE2e, 1, 200)};
  int n = 0;
  SimTransport transport([&n](const HttpRequest&) {
    // One slow first token in eight turns.
    return ++n == 3 ? Reply(milliseconds(150), milliseconds(180))
                    : Reply(milliseconds(20), milliseconds(60));
  });
  RunSummary s = Run(job, &transport);
  ASSERT_TRUE(s.load.has_value());
  ASSERT_EQ(s.load->steps.size(), 1u);
  const LoadStepResult& step = s.load->steps[0];
  EXPECT_EQ(step.label, "run");
  EXPECT_EQ(step.turns, 8);
  ASSERT_EQ(step.slo.size(), 2u);
  EXPECT_FALSE(step.slo[0].ok);  // p95 of 8 is the slowest
  EXPECT_NEAR(step.slo[0].measured, 150.0, 2.0);
  EXPECT_TRUE(step.slo[1].ok);
  EXPECT_FALSE(s.load->slo_ok);
  EXPECT_NEAR(step.goodput, 7.0 / 8.0, 1e-9);
}

TEST_F(RunnerLoadTest, AnSloNothingMeasuredIsMissed) {
  Job job = testjob::NumberedJob(1, 1, 1, "u",
                                 [](const std::string&, int) { return "hi"; });
  OwnRetry(&job.conversations[0]).attempts = 1;
  job.slo = {Limit("ttft_p99", SloLimit::Metric::kTtft, 0.99, 100)};
  SimTransport transport([](const HttpRequest&) {
    SimResponse r;
    r.refused = true;
    return r;
  });
  RunOptions options;
  RunSummary s = Run(job, &transport, std::move(options));
  ASSERT_TRUE(s.load.has_value());
  ASSERT_EQ(s.load->steps[0].slo.size(), 1u);
  EXPECT_TRUE(std::isnan(s.load->steps[0].slo[0].measured));
  EXPECT_FALSE(s.load->steps[0].slo[0].ok);
}

TEST_F(RunnerLoadTest, TheSameSeedGivesTheSameStarts) {
  auto starts = [this](uint64_t seed) {
    Job job = LoadJob(1, 1);
    ArrivalSpec a;
    a.rate_per_s = 50;
    job.load->arrival = a;
    job.load->duration = milliseconds(2000);
    job.load->repeat = true;
    job.load->seed = seed;
    SimTransport transport([](const HttpRequest&) {
      return Reply(milliseconds(5), milliseconds(20));
    });
    std::filesystem::remove_all(dir_);
    output_ = std::move(RunOutput::Open(dir_.string()).value());
    Run(job, &transport);
    std::vector<double> out = StartMs(transport);
    for (double& v : out) v -= out.front();
    return out;
  };
  const std::vector<double> a = starts(7), b = starts(7), c = starts(8);
  EXPECT_GT(a.size(), 60u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

}  // namespace
}  // namespace chatbatch
