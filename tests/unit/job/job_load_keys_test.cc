// The `load:` and `slo:` keys of a job file (docs/job-file.md, "Load mode
// and SLOs"): every form they take, and every rule with where it points.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "chatbatch/job.h"
#include "chatbatch/load.h"
#include "support/job_text.h"

namespace chatbatch {
namespace {

using testjob::ParseJobText;

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kConversations[] = "conversations: [{messages: [hi]}]\n";

// The job with "load_yaml" (which starts at line 1) and one conversation.
Job LoadWithLoad(const std::string& load_yaml) {
  Result<Job> job = ParseJobText(load_yaml + kConversations);
  EXPECT_TRUE(job.has_value()) << job.error().message;
  return job.has_value() ? *std::move(job) : Job();
}

std::string LoadKeyErrors(const std::string& load_yaml) {
  Result<Job> job = ParseJobText(load_yaml + kConversations);
  EXPECT_FALSE(job.has_value()) << "expected an error for:\n" << load_yaml;
  return job.has_value() ? "" : job.error().message;
}

TEST(JobLoadKeysTest, NoLoadNoSlo) {
  Job job = LoadWithLoad("");
  EXPECT_FALSE(job.load.has_value());
  EXPECT_TRUE(job.slo.empty());
}

TEST(JobLoadKeysTest, TheIssueExampleWithoutSweep) {
  Job job = LoadWithLoad(R"(name: t
load:
  arrival: {rate: 20/s, process: poisson}
  think: {mean: 2s, process: exponential}
  duration: 5m
  warmup: 30s
  cooldown: 10s
  seed: 7
  repeat: true
)");
  ASSERT_TRUE(job.load.has_value());
  const LoadSpec& load = *job.load;
  EXPECT_EQ(load.line, 2);
  ASSERT_TRUE(load.arrival.has_value());
  EXPECT_EQ(load.arrival->process, ArrivalSpec::Process::kPoisson);
  EXPECT_DOUBLE_EQ(load.arrival->rate_per_s, 20);
  EXPECT_EQ(load.think.process, ThinkSpec::Process::kExponential);
  EXPECT_EQ(load.think.mean, milliseconds(2000));
  EXPECT_EQ(load.duration, milliseconds(300000));
  EXPECT_EQ(load.warmup, milliseconds(30000));
  EXPECT_EQ(load.cooldown, milliseconds(10000));
  EXPECT_EQ(load.seed, 7u);
  EXPECT_TRUE(load.seed_given);
  EXPECT_TRUE(load.repeat);
  EXPECT_EQ(load.sweep.kind, SweepSpec::Kind::kNone);
}

TEST(JobLoadKeysTest, EmptyLoadIsAClosedLoopWithDefaults) {
  Job job = LoadWithLoad("load: {}\n");
  ASSERT_TRUE(job.load.has_value());
  EXPECT_FALSE(job.load->arrival.has_value());
  EXPECT_EQ(job.load->think.mean, milliseconds(0));
  EXPECT_EQ(job.load->duration, milliseconds(0));
  EXPECT_FALSE(job.load->seed_given);
  EXPECT_FALSE(job.load->repeat);
  EXPECT_EQ(job.load->line, 1);
}

TEST(JobLoadKeysTest, RateUnits) {
  auto rate = [](const std::string& text) {
    Job job = LoadWithLoad("load: {arrival: " + text + "}\n");
    return job.load && job.load->arrival ? job.load->arrival->rate_per_s : -1;
  };
  EXPECT_DOUBLE_EQ(rate("20/s"), 20);
  EXPECT_DOUBLE_EQ(rate("90/m"), 1.5);
  EXPECT_DOUBLE_EQ(rate("3600/h"), 1);
  EXPECT_DOUBLE_EQ(rate("2.5"), 2.5);
  EXPECT_DOUBLE_EQ(rate("7"), 7);
  EXPECT_DOUBLE_EQ(rate("0.5/s"), 0.5);
  EXPECT_DOUBLE_EQ(rate("1000000/s"), 1e6);
}

TEST(JobLoadKeysTest, ArrivalScalarIsPoisson) {
  Job job = LoadWithLoad("load: {arrival: 20/s}\n");
  ASSERT_TRUE(job.load && job.load->arrival);
  EXPECT_EQ(job.load->arrival->process, ArrivalSpec::Process::kPoisson);
  EXPECT_DOUBLE_EQ(job.load->arrival->burstiness, 1);
}

TEST(JobLoadKeysTest, ArrivalProcesses) {
  Job constant =
      LoadWithLoad("load: {arrival: {rate: 5, process: constant}}\n");
  ASSERT_TRUE(constant.load && constant.load->arrival);
  EXPECT_EQ(constant.load->arrival->process, ArrivalSpec::Process::kConstant);

  Job gamma = LoadWithLoad(
      "load: {arrival: {rate: 5/s, process: gamma, burstiness: 0.25}}\n");
  ASSERT_TRUE(gamma.load && gamma.load->arrival);
  EXPECT_EQ(gamma.load->arrival->process, ArrivalSpec::Process::kGamma);
  EXPECT_DOUBLE_EQ(gamma.load->arrival->burstiness, 0.25);

  // Gamma without burstiness has shape 1: poisson.
  Job plain = LoadWithLoad("load: {arrival: {rate: 5/s, process: gamma}}\n");
  ASSERT_TRUE(plain.load && plain.load->arrival);
  EXPECT_DOUBLE_EQ(plain.load->arrival->burstiness, 1);
}

TEST(JobLoadKeysTest, ThinkForms) {
  Job scalar = LoadWithLoad("load: {think: 1.5s}\n");
  ASSERT_TRUE(scalar.load);
  EXPECT_EQ(scalar.load->think.process, ThinkSpec::Process::kConstant);
  EXPECT_EQ(scalar.load->think.mean, milliseconds(1500));

  Job map = LoadWithLoad("load: {think: {mean: 250ms}}\n");
  ASSERT_TRUE(map.load);
  EXPECT_EQ(map.load->think.process, ThinkSpec::Process::kConstant);
  EXPECT_EQ(map.load->think.mean, milliseconds(250));

  Job expo = LoadWithLoad("load: {think: {mean: 3s, process: exponential}}\n");
  ASSERT_TRUE(expo.load);
  EXPECT_EQ(expo.load->think.process, ThinkSpec::Process::kExponential);
}

TEST(JobLoadKeysTest, SeedTakesAll64Bits) {
  Job zero = LoadWithLoad("load: {seed: 0}\n");
  ASSERT_TRUE(zero.load);
  EXPECT_EQ(zero.load->seed, 0u);
  EXPECT_TRUE(zero.load->seed_given);
  Job big = LoadWithLoad("load: {seed: 18446744073709551615}\n");
  ASSERT_TRUE(big.load);
  EXPECT_EQ(big.load->seed, 18446744073709551615u);
}

TEST(JobLoadKeysTest, RateSweepImpliesPoisson) {
  Job job =
      LoadWithLoad("load:\n  sweep: {rate: [5/s, 10/s, 1200/m], step: 2m}\n");
  ASSERT_TRUE(job.load);
  EXPECT_EQ(job.load->sweep.kind, SweepSpec::Kind::kRate);
  EXPECT_THAT(job.load->sweep.values, ElementsAre(5, 10, 20));
  EXPECT_EQ(job.load->sweep.step, milliseconds(120000));
  ASSERT_TRUE(job.load->arrival.has_value());
  EXPECT_EQ(job.load->arrival->process, ArrivalSpec::Process::kPoisson);
}

TEST(JobLoadKeysTest, RateSweepKeepsTheArrivalProcessAndWinsOverItsRate) {
  Job job = LoadWithLoad(R"(load:
  arrival: {process: gamma, burstiness: 4}
  sweep: {rate: [1, 2], step: 10s}
)");
  ASSERT_TRUE(job.load && job.load->arrival);
  EXPECT_EQ(job.load->arrival->process, ArrivalSpec::Process::kGamma);
  EXPECT_DOUBLE_EQ(job.load->arrival->burstiness, 4);
  EXPECT_THAT(job.load->sweep.values, ElementsAre(1, 2));

  // Both rates given is fine: the sweep's are the steps'.
  Job both = LoadWithLoad(R"(load:
  arrival: {rate: 50/s}
  sweep: {rate: [1, 2], step: 10s}
)");
  ASSERT_TRUE(both.load);
  EXPECT_THAT(both.load->sweep.values, ElementsAre(1, 2));
}

TEST(JobLoadKeysTest, ConcurrencySweepAndStepFromDuration) {
  Job job =
      LoadWithLoad("load: {duration: 90s, sweep: {concurrency: [1, 4, 16]}}\n");
  ASSERT_TRUE(job.load);
  EXPECT_EQ(job.load->sweep.kind, SweepSpec::Kind::kConcurrency);
  EXPECT_THAT(job.load->sweep.values, ElementsAre(1, 4, 16));
  EXPECT_EQ(job.load->sweep.step, milliseconds(90000));
  EXPECT_FALSE(job.load->arrival.has_value());
}

// The issue's example: both a duration and a step; the step wins.
TEST(JobLoadKeysTest, TheIssueExampleWithSweep) {
  Job job = LoadWithLoad(R"(load:
  arrival: {rate: 20/s, process: poisson}
  think: {mean: 2s, process: exponential}
  duration: 5m
  warmup: 30s
  cooldown: 10s
  seed: 7
  repeat: true
  sweep: {rate: [5/s, 10/s, 20/s, 40/s], step: 2m}
slo:
  ttft_p95: 500ms
  itl_p99: 100ms
  e2e_p99: 20s
  error_rate: 1%
  goodput: 95%
)");
  ASSERT_TRUE(job.load);
  EXPECT_EQ(job.load->sweep.step, milliseconds(120000));
  EXPECT_EQ(job.load->duration, milliseconds(300000));
  EXPECT_THAT(job.load->sweep.values, ElementsAre(5, 10, 20, 40));
  EXPECT_EQ(job.slo.size(), 5u);
}

TEST(JobLoadKeysTest, RepeatWithASweepEnds) {
  Job job =
      LoadWithLoad("load: {repeat: true, sweep: {rate: [1], step: 5s}}\n");
  ASSERT_TRUE(job.load);
  EXPECT_TRUE(job.load->repeat);
}

TEST(JobLoadKeysTest, WarmupWithoutDurationIsAllowed) {
  Job job = LoadWithLoad("load: {warmup: 5s}\n");
  ASSERT_TRUE(job.load);
  EXPECT_EQ(job.load->warmup, milliseconds(5000));
}

TEST(JobLoadKeysTest, SloEveryForm) {
  Job job = LoadWithLoad(R"(slo:
  ttft_p95: 500ms
  itl_p99: 100ms
  e2e_p99: 20s
  tpot_mean: 40ms
  e2el_p99.9: 30s
  ttft_max: 2s
  itl_p100: 1s
  error_rate: 1%
  goodput: 0.95
)");
  ASSERT_EQ(job.slo.size(), 9u);
  auto expect = [&](size_t i, std::string_view name, SloLimit::Metric metric,
                    double quantile, double limit, int line) {
    SCOPED_TRACE(name);
    EXPECT_EQ(job.slo[i].name, name);
    EXPECT_EQ(job.slo[i].metric, metric);
    EXPECT_DOUBLE_EQ(job.slo[i].quantile, quantile);
    EXPECT_DOUBLE_EQ(job.slo[i].limit, limit);
    EXPECT_EQ(job.slo[i].line, line);
  };
  using M = SloLimit::Metric;
  expect(0, "ttft_p95", M::kTtft, 0.95, 500, 2);
  expect(1, "itl_p99", M::kItl, 0.99, 100, 3);
  expect(2, "e2e_p99", M::kE2e, 0.99, 20000, 4);
  expect(3, "tpot_mean", M::kTpot, -1, 40, 5);
  expect(4, "e2el_p99.9", M::kE2e, 0.999, 30000, 6);
  expect(5, "ttft_max", M::kTtft, 1, 2000, 7);
  expect(6, "itl_p100", M::kItl, 1, 1000, 8);
  expect(7, "error_rate", M::kErrorRate, 0, 0.01, 9);
  expect(8, "goodput", M::kGoodput, 0, 0.95, 10);
  EXPECT_FALSE(job.load.has_value());  // an SLO needs no load
}

TEST(JobLoadKeysTest, SloPercentBounds) {
  Job job = LoadWithLoad("slo: {error_rate: 0%, goodput: 100%}\n");
  ASSERT_EQ(job.slo.size(), 2u);
  EXPECT_DOUBLE_EQ(job.slo[0].limit, 0);
  EXPECT_DOUBLE_EQ(job.slo[1].limit, 1);
  Job fraction = LoadWithLoad("slo: {error_rate: 0, goodput: 1}\n");
  ASSERT_EQ(fraction.slo.size(), 2u);
  EXPECT_DOUBLE_EQ(fraction.slo[1].limit, 1);
}

// ---------------------------------------------------------------------------
// Errors, each with its place.

TEST(JobLoadKeysTest, LoadMustBeAMapping) {
  EXPECT_THAT(LoadKeyErrors("load: 20/s\n"),
              HasSubstr("jobs/t.yaml:1:7: 'load': expected a mapping with any "
                        "of arrival, think"));
}

TEST(JobLoadKeysTest, UnknownLoadKeys) {
  EXPECT_THAT(LoadKeyErrors("load:\n  duraton: 5m\n"),
              HasSubstr("jobs/t.yaml:2:3: job: unknown key 'load.duraton' "
                        "(did you mean 'load.duration'?); allowed keys under "
                        "'load': arrival, think, duration, warmup, cooldown, "
                        "seed, repeat, sweep"));
  EXPECT_THAT(
      LoadKeyErrors("load:\n  arrival: {rate: 1, shape: 2}\n"),
      HasSubstr("jobs/t.yaml:2:22: job: unknown key 'load.arrival.shape'"));
  EXPECT_THAT(LoadKeyErrors("load:\n  think: {mean: 1s, jitter: 2}\n"),
              HasSubstr("jobs/t.yaml:2:21: job: unknown key "
                        "'load.think.jitter'"));
  EXPECT_THAT(
      LoadKeyErrors("load:\n  sweep: {rate: [1], step: 1s, steps: 2}\n"),
      HasSubstr("jobs/t.yaml:2:32: job: unknown key "
                "'load.sweep.steps'"));
}

TEST(JobLoadKeysTest, BadRates) {
  EXPECT_THAT(LoadKeyErrors("load:\n  arrival: 20/min\n"),
              HasSubstr("jobs/t.yaml:2:12: 'load.arrival': '20/min' is not a "
                        "rate; expected a rate such as 20/s, 90/m, 3600/h or "
                        "20 (per second)"));
  EXPECT_THAT(LoadKeyErrors("load:\n  arrival: {rate: 0/s}\n"),
              HasSubstr("jobs/t.yaml:2:19: 'load.arrival.rate': must be more "
                        "than 0, got '0/s'"));
  EXPECT_THAT(LoadKeyErrors("load:\n  arrival: {rate: -3}\n"),
              HasSubstr("jobs/t.yaml:2:19: 'load.arrival.rate': must be more "
                        "than 0"));
  EXPECT_THAT(LoadKeyErrors("load:\n  arrival: {rate: 2000000}\n"),
              HasSubstr("jobs/t.yaml:2:19: 'load.arrival.rate': '2000000' is "
                        "too high (at most 1000000/s)"));
  EXPECT_THAT(LoadKeyErrors("load:\n  arrival: {rate: [1]}\n"),
              HasSubstr("jobs/t.yaml:2:19: 'load.arrival.rate': expected a "
                        "rate such as 20/s"));
  EXPECT_THAT(LoadKeyErrors("load:\n  arrival: [1]\n"),
              HasSubstr("jobs/t.yaml:2:12: 'load.arrival': expected a rate "
                        "such as 20/s, 90/m, 3600/h or 20 (per second), or a "
                        "mapping with any of rate, process, burstiness"));
  EXPECT_THAT(LoadKeyErrors("load:\n  arrival: {rate: inf}\n"),
              HasSubstr("jobs/t.yaml:2:19: 'load.arrival.rate': 'inf' is not "
                        "a rate"));
}

TEST(JobLoadKeysTest, ArrivalNeedsARate) {
  EXPECT_THAT(LoadKeyErrors("load:\n  arrival: {process: constant}\n"),
              HasSubstr("jobs/t.yaml:2:3: 'load.arrival': missing 'rate' "
                        "(e.g. rate: 20/s)"));
}

TEST(JobLoadKeysTest, UnknownProcesses) {
  EXPECT_THAT(LoadKeyErrors("load:\n  arrival: {rate: 1, process: poison}\n"),
              HasSubstr("jobs/t.yaml:2:31: 'load.arrival.process': unknown "
                        "process 'poison' (did you mean 'poisson'?); expected "
                        "poisson, constant or gamma"));
  EXPECT_THAT(LoadKeyErrors("load:\n  think: {mean: 1s, process: poisson}\n"),
              HasSubstr("jobs/t.yaml:2:30: 'load.think.process': unknown "
                        "process 'poisson'; expected constant or "
                        "exponential"));
}

TEST(JobLoadKeysTest, BurstinessOnlyWithGamma) {
  EXPECT_THAT(LoadKeyErrors("load:\n  arrival: {rate: 1, burstiness: 2}\n"),
              HasSubstr("jobs/t.yaml:2:22: 'load.arrival.burstiness': only "
                        "for process: gamma"));
  EXPECT_THAT(
      LoadKeyErrors(
          "load:\n  arrival: {rate: 1, process: constant, burstiness: 2}\n"),
      HasSubstr("jobs/t.yaml:2:41: 'load.arrival.burstiness': only for "
                "process: gamma"));
  EXPECT_THAT(
      LoadKeyErrors("load:\n  arrival: {rate: 1, process: gamma, burstiness: "
                    "0}\n"),
      HasSubstr("jobs/t.yaml:2:50: 'load.arrival.burstiness': must be "
                "more than 0"));
}

TEST(JobLoadKeysTest, ThinkErrors) {
  EXPECT_THAT(LoadKeyErrors("load:\n  think: {process: exponential}\n"),
              HasSubstr("jobs/t.yaml:2:10: 'load.think': missing 'mean' "
                        "(e.g. mean: 2s)"));
  EXPECT_THAT(LoadKeyErrors("load:\n  think: 2 minutes\n"),
              HasSubstr("jobs/t.yaml:2:10: 'load.think': "));
  EXPECT_THAT(LoadKeyErrors("load:\n  think: [1s]\n"),
              HasSubstr("jobs/t.yaml:2:10: 'load.think': expected a duration "
                        "such as 2s, or a mapping with mean and process"));
}

TEST(JobLoadKeysTest, DurationAndSeedErrors) {
  EXPECT_THAT(LoadKeyErrors("load:\n  duration: 0s\n"),
              HasSubstr("jobs/t.yaml:2:13: 'load.duration': must be more than "
                        "0 (leave it out to run until the conversations are "
                        "used up)"));
  EXPECT_THAT(LoadKeyErrors("load:\n  warmup: soon\n"),
              HasSubstr("jobs/t.yaml:2:11: 'load.warmup': "));
  EXPECT_THAT(LoadKeyErrors("load:\n  seed: -1\n"),
              HasSubstr("jobs/t.yaml:2:9: 'load.seed': must not be negative, "
                        "got -1"));
  EXPECT_THAT(LoadKeyErrors("load:\n  seed: 1.5\n"),
              HasSubstr("jobs/t.yaml:2:9: 'load.seed': expected a "
                        "non-negative integer"));
  EXPECT_THAT(LoadKeyErrors("load:\n  repeat: yes please\n"),
              HasSubstr("jobs/t.yaml:2:11: 'load.repeat': expected true or "
                        "false"));
}

TEST(JobLoadKeysTest, RepeatWithoutAnEnd) {
  EXPECT_THAT(LoadKeyErrors("load:\n  arrival: 5/s\n  repeat: true\n"),
              HasSubstr("jobs/t.yaml:3:3: 'load.repeat': true without "
                        "'load.duration' or 'load.sweep' would never end; "
                        "give a duration"));
  // false is no problem.
  Job job = LoadWithLoad("load:\n  repeat: false\n");
  ASSERT_TRUE(job.load);
  EXPECT_FALSE(job.load->repeat);
}

TEST(JobLoadKeysTest, WarmupAndCooldownMustLeaveAWindow) {
  EXPECT_THAT(LoadKeyErrors("load:\n  duration: 1m\n  warmup: 40s\n  cooldown: "
                            "20s\n"),
              HasSubstr("jobs/t.yaml:3:3: 'load.warmup' (40s) and "
                        "'load.cooldown' (20s) leave nothing of "
                        "'load.duration' (1m) to measure; together they "
                        "must be shorter"));
  EXPECT_THAT(LoadKeyErrors("load:\n  cooldown: 2m\n  sweep: {rate: [1], step: "
                            "1m}\n"),
              HasSubstr("jobs/t.yaml:2:3: 'load.warmup' (0s) and "
                        "'load.cooldown' (2m) leave nothing of each step "
                        "(1m) to measure"));
  EXPECT_THAT(LoadKeyErrors("load:\n  cooldown: 5s\n"),
              HasSubstr("jobs/t.yaml:2:3: 'load.cooldown': needs "
                        "'load.duration' (or a sweep's step)"));
  // Just shorter is fine.
  Job job = LoadWithLoad("load: {duration: 1m, warmup: 40s, cooldown: 19s}\n");
  ASSERT_TRUE(job.load);
}

TEST(JobLoadKeysTest, SweepErrors) {
  EXPECT_THAT(
      LoadKeyErrors("load:\n  sweep: {rate: [1], concurrency: [2], step: "
                    "1s}\n"),
      HasSubstr("jobs/t.yaml:2:3: 'load.sweep': give either rate or "
                "concurrency, not both"));
  EXPECT_THAT(LoadKeyErrors("load:\n  sweep: {step: 1s}\n"),
              HasSubstr("jobs/t.yaml:2:3: 'load.sweep': missing 'rate' (a "
                        "list of arrival rates) or 'concurrency'"));
  EXPECT_THAT(LoadKeyErrors("load:\n  sweep: {rate: [1, 2]}\n"),
              HasSubstr("jobs/t.yaml:2:3: 'load.sweep': missing 'step' (each "
                        "step's length, e.g. step: 2m), and there is no "
                        "'load.duration' to take it from"));
  EXPECT_THAT(LoadKeyErrors("load:\n  sweep: {rate: [], step: 1s}\n"),
              HasSubstr("jobs/t.yaml:2:17: 'load.sweep.rate': is empty; give "
                        "at least one rate"));
  EXPECT_THAT(LoadKeyErrors("load:\n  sweep: {rate: 5/s, step: 1s}\n"),
              HasSubstr("jobs/t.yaml:2:17: 'load.sweep.rate': expected a list "
                        "of rates"));
  EXPECT_THAT(LoadKeyErrors("load:\n  sweep: {rate: [5/s, fast], step: 1s}\n"),
              HasSubstr("jobs/t.yaml:2:23: 'load.sweep.rate' item 2: 'fast' "
                        "is not a rate"));
  EXPECT_THAT(
      LoadKeyErrors("load:\n  sweep: {concurrency: [4, 0], step: 1s}\n"),
      HasSubstr("jobs/t.yaml:2:28: 'load.sweep.concurrency' item 2: "
                "must be at least 1, got 0"));
  EXPECT_THAT(LoadKeyErrors("load:\n  sweep: {concurrency: [1], step: 0s}\n"),
              HasSubstr("jobs/t.yaml:2:35: 'load.sweep.step': must be more "
                        "than 0"));
  EXPECT_THAT(LoadKeyErrors("load:\n  sweep: [1, 2]\n"),
              HasSubstr("jobs/t.yaml:2:10: 'load.sweep': expected a mapping "
                        "with rate or concurrency (a list) and step"));
}

TEST(JobLoadKeysTest, ConcurrencySweepWithArrival) {
  EXPECT_THAT(
      LoadKeyErrors("load:\n  arrival: 5/s\n  sweep: {concurrency: [1, 2], "
                    "step: 1m}\n"),
      HasSubstr("jobs/t.yaml:2:3: 'load.arrival': a concurrency sweep "
                "is a closed loop"));
}

TEST(JobLoadKeysTest, OneMistakeOneMessage) {
  // A bad rate is not also a missing one.
  const std::string errors = LoadKeyErrors("load:\n  arrival: {rate: fast}\n");
  EXPECT_THAT(errors, HasSubstr("'fast' is not a rate"));
  EXPECT_THAT(errors, Not(HasSubstr("missing 'rate'")));
}

TEST(JobLoadKeysTest, LoadWithResumeOrMatrix) {
  EXPECT_THAT(LoadKeyErrors("resume: true\nload: {arrival: 1/s}\n"),
              HasSubstr("jobs/t.yaml:2:1: 'load' cannot be combined with "
                        "'resume: true' (line 1): a load test measures one "
                        "uninterrupted run, so it cannot be resumed"));
  Job job = LoadWithLoad("resume: false\nload: {}\n");
  EXPECT_TRUE(job.load.has_value());
  EXPECT_THAT(LoadKeyErrors("load: {}\nmatrix: [{params: {model: a}}]\n"),
              HasSubstr("jobs/t.yaml:1:1: 'load' cannot be combined with "
                        "'matrix' (line 2): each matrix set would be a load "
                        "run of its own"));
}

TEST(JobLoadKeysTest, SloErrors) {
  const std::string unknown =
      LoadKeyErrors("slo:\n  ttft_p95: 1s\n  latency: 2s\n");
  EXPECT_THAT(unknown,
              HasSubstr("jobs/t.yaml:3:3: slo: unknown limit 'latency'; "
                        "expected <metric>_<stat> with metric ttft, tpot, itl "
                        "or e2e and stat p<N> (0 < N <= 100: p50, p95, "
                        "p99.9), mean or max; or error_rate or goodput"));
  EXPECT_THAT(LoadKeyErrors("slo:\n  ttft_median: 1s\n"),
              HasSubstr("jobs/t.yaml:2:3: slo: unknown limit 'ttft_median'"));
  EXPECT_THAT(LoadKeyErrors("slo:\n  ttfb_p95: 1s\n"),
              HasSubstr("jobs/t.yaml:2:3: slo: unknown limit 'ttfb_p95'"));
  EXPECT_THAT(LoadKeyErrors("slo:\n  ttft_p1e2: 1s\n"),
              HasSubstr("jobs/t.yaml:2:3: slo: unknown limit 'ttft_p1e2'"));
  EXPECT_THAT(LoadKeyErrors("slo:\n  ttft_p0: 1s\n"),
              HasSubstr("jobs/t.yaml:2:3: 'slo.ttft_p0': the percentile must "
                        "be more than 0 and at most 100"));
  EXPECT_THAT(LoadKeyErrors("slo:\n  ttft_p100.5: 1s\n"),
              HasSubstr("jobs/t.yaml:2:3: 'slo.ttft_p100.5': the percentile "
                        "must be more than 0"));
  EXPECT_THAT(LoadKeyErrors("slo:\n  ttft_p95: 0ms\n"),
              HasSubstr("jobs/t.yaml:2:13: 'slo.ttft_p95': must be more than "
                        "0"));
  EXPECT_THAT(LoadKeyErrors("slo:\n  ttft_p95: fast\n"),
              HasSubstr("jobs/t.yaml:2:13: 'slo.ttft_p95': "));
  EXPECT_THAT(LoadKeyErrors("slo:\n  error_rate: 101%\n"),
              HasSubstr("jobs/t.yaml:2:15: 'slo.error_rate': '101%' is not "
                        "from 0% to 100%"));
  EXPECT_THAT(LoadKeyErrors("slo:\n  goodput: 95\n"),
              HasSubstr("jobs/t.yaml:2:12: 'slo.goodput': '95' is not a "
                        "fraction from 0 to 1 (write a percentage with %)"));
  EXPECT_THAT(LoadKeyErrors("slo:\n  goodput: -1%\n"),
              HasSubstr("jobs/t.yaml:2:12: 'slo.goodput': '-1%' is not from "
                        "0% to 100%"));
  EXPECT_THAT(LoadKeyErrors("slo:\n  goodput: most\n"),
              HasSubstr("jobs/t.yaml:2:12: 'slo.goodput': 'most' is not a "
                        "percentage; expected a percentage such as 1% or a "
                        "fraction 0..1"));
  EXPECT_THAT(LoadKeyErrors("slo:\n  error_rate:\n"),
              HasSubstr("jobs/t.yaml:2:3: 'slo.error_rate': expected a "
                        "percentage such as 1%"));
  EXPECT_THAT(LoadKeyErrors("slo: [ttft_p95]\n"),
              HasSubstr("jobs/t.yaml:1:6: 'slo': expected a mapping of limits "
                        "(e.g. ttft_p95: 500ms, error_rate: 1%)"));
  EXPECT_THAT(LoadKeyErrors("slo:\n  e2e_p99: 1s\n  e2el_p99: 2s\n"),
              HasSubstr("jobs/t.yaml:3:3: 'slo.e2el_p99': the same limit as "
                        "at line 2; give it once"));
}

}  // namespace
}  // namespace chatbatch
