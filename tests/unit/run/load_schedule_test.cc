// The draws of load mode (run/load_schedule.h): reproducible from the seed,
// and with the rate and dispersion each process promises, within bounds
// taken from the distribution (four standard errors). The draws are a pure
// function of the seed, so these tests give the same result on every run;
// the bounds are what make them right for any seed, and several seeds are
// tried.
#include "run/load_schedule.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

#include "chatbatch/load.h"

namespace chatbatch {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr uint64_t kSeeds[] = {7, 42, 20261130};

ArrivalSpec Arrival(ArrivalSpec::Process process, double burstiness = 1) {
  ArrivalSpec spec;
  spec.process = process;
  spec.burstiness = burstiness;
  return spec;
}

// The first "n" arrival offsets.
std::vector<int64_t> Offsets(ArrivalSchedule schedule, int n) {
  std::vector<int64_t> offsets(n);
  for (int64_t& offset : offsets) offset = schedule.NextOffsetUs();
  return offsets;
}

struct Moments {
  double mean = 0;
  double variance = 0;  // sample variance (n - 1)
};

Moments MomentsOf(const std::vector<double>& xs) {
  Moments m;
  for (double x : xs) m.mean += x;
  m.mean /= static_cast<double>(xs.size());
  for (double x : xs) m.variance += (x - m.mean) * (x - m.mean);
  m.variance /= static_cast<double>(xs.size() - 1);
  return m;
}

// The gaps between successive offsets, the first from 0.
std::vector<double> Gaps(const std::vector<int64_t>& offsets) {
  std::vector<double> gaps;
  int64_t previous = 0;
  for (int64_t offset : offsets) {
    gaps.push_back(static_cast<double>(offset - previous));
    previous = offset;
  }
  return gaps;
}

// Checks n draws of a gamma distribution with shape k and the given mean
// (k = 1: exponential): their mean within four standard errors of "mean"
// (sd / sqrt(n)), and their variance within four standard errors of
// mean^2 / k; the variance of a sample variance is sigma^4 (2 + 6/k) / n,
// the gamma's excess kurtosis being 6/k. So the coefficient of variation
// is 1/sqrt(k) within those bounds.
void ExpectGammaMoments(const std::vector<double>& xs, double k, double mean) {
  const double n = static_cast<double>(xs.size());
  const Moments m = MomentsOf(xs);
  const double variance = mean * mean / k;
  const double mean_error = 4 * std::sqrt(variance / n);
  const double variance_error = 4 * variance * std::sqrt((2 + 6 / k) / n);
  EXPECT_NEAR(m.mean, mean, mean_error);
  EXPECT_NEAR(m.variance, variance, variance_error);
  // The coefficient of variation, 1/sqrt(k), within what those allow.
  const double cv = std::sqrt(m.variance) / m.mean;
  EXPECT_GE(cv, std::sqrt(variance - variance_error) / (mean + mean_error));
  EXPECT_LE(cv, std::sqrt(variance + variance_error) / (mean - mean_error));
}

TEST(CounterRandomTest, SameSeedAndStreamSameSequence) {
  CounterRandom a(7, 3), b(7, 3), other_seed(8, 3), other_stream(7, 4);
  int same_seed = 0, same_stream = 0;
  for (int i = 0; i < 1000; ++i) {
    const double x = a.Uniform();
    EXPECT_EQ(x, b.Uniform());
    same_seed += x == other_seed.Uniform();
    same_stream += x == other_stream.Uniform();
  }
  EXPECT_EQ(same_seed, 0);
  EXPECT_EQ(same_stream, 0);
}

// The draws are pinned: a change to what is hashed, or how, changes every
// schedule recorded so far.
TEST(CounterRandomTest, DrawsArePinned) {
  CounterRandom random(7, 0);
  std::vector<double> first(3);
  for (double& x : first) x = random.Uniform();
  EXPECT_EQ(first,
            (std::vector<double>{0x1.a5300d82578c8p-3, 0x1.1d1e7ff4cb63ep-2,
                                 0x1.ee7471286e8b8p-1}));
}

TEST(CounterRandomTest, UniformIsInsideTheOpenIntervalAndUniform) {
  CounterRandom random(1, 0);
  constexpr int kDraws = 1'000'000;
  double min = 1, max = 0, sum = 0;
  int below_half = 0;
  for (int i = 0; i < kDraws; ++i) {
    const double u = random.Uniform();
    ASSERT_GT(u, 0);
    ASSERT_LT(u, 1);
    min = std::min(min, u);
    max = std::max(max, u);
    sum += u;
    below_half += u < 0.5;
  }
  // Mean 1/2, variance 1/12.
  EXPECT_NEAR(sum / kDraws, 0.5, 4 * std::sqrt(1.0 / 12 / kDraws));
  // A binomial(n, 1/2) count.
  EXPECT_NEAR(below_half, kDraws / 2.0, 4 * std::sqrt(kDraws * 0.25));
}

TEST(CounterRandomTest, NormalHasMeanZeroAndVarianceOne) {
  for (uint64_t seed : kSeeds) {
    CounterRandom random(seed, 0);
    constexpr int kDraws = 20000;
    std::vector<double> xs(kDraws);
    for (double& x : xs) x = random.Normal();
    const Moments m = MomentsOf(xs);
    EXPECT_NEAR(m.mean, 0, 4 / std::sqrt(kDraws));
    // Var(s^2) = 2 sigma^4 / n for a normal.
    EXPECT_NEAR(m.variance, 1, 4 * std::sqrt(2.0 / kDraws));
  }
}

TEST(CounterRandomTest, GammaMoments) {
  for (double k : {0.25, 1.0, 4.0}) {
    for (uint64_t seed : kSeeds) {
      SCOPED_TRACE("k " + std::to_string(k) + " seed " + std::to_string(seed));
      CounterRandom random(seed, 1);
      std::vector<double> xs(40000);
      for (double& x : xs) x = random.Gamma(k, 3 / k);
      ExpectGammaMoments(xs, k, 3);
    }
  }
}

TEST(ArrivalScheduleTest, SameSeedSameSchedule) {
  for (auto process :
       {ArrivalSpec::Process::kPoisson, ArrivalSpec::Process::kGamma}) {
    const ArrivalSpec spec = Arrival(process, 0.5);
    const std::vector<int64_t> a =
        Offsets(ArrivalSchedule(spec, 20, 7, 1), 500);
    EXPECT_EQ(a, Offsets(ArrivalSchedule(spec, 20, 7, 1), 500));
    EXPECT_NE(a, Offsets(ArrivalSchedule(spec, 20, 8, 1), 500));
    EXPECT_NE(a, Offsets(ArrivalSchedule(spec, 20, 7, 2), 500));
  }
}

TEST(ArrivalScheduleTest, OffsetsNeverGoBack) {
  for (auto process :
       {ArrivalSpec::Process::kPoisson, ArrivalSpec::Process::kGamma}) {
    const std::vector<int64_t> offsets =
        Offsets(ArrivalSchedule(Arrival(process, 0.25), 1000, 7, 0), 20000);
    EXPECT_GE(offsets.front(), 0);
    for (size_t i = 1; i < offsets.size(); ++i) {
      ASSERT_GE(offsets[i], offsets[i - 1]) << i;
    }
  }
}

TEST(ArrivalScheduleTest, PoissonGapsAreExponential) {
  constexpr double kRate = 20;  // per second
  for (uint64_t seed : kSeeds) {
    SCOPED_TRACE(seed);
    const std::vector<int64_t> offsets =
        Offsets(ArrivalSchedule(Arrival(ArrivalSpec::Process::kPoisson), kRate,
                                seed, 0),
                20000);
    // Exponential: the gamma of shape 1, coefficient of variation 1.
    ExpectGammaMoments(Gaps(offsets), 1, 1e6 / kRate);
  }
}

TEST(ArrivalScheduleTest, GammaGapsHaveTheirBurstiness) {
  constexpr double kRate = 50;
  for (double k : {0.25, 4.0}) {
    for (uint64_t seed : kSeeds) {
      SCOPED_TRACE("k " + std::to_string(k) + " seed " + std::to_string(seed));
      const std::vector<int64_t> offsets =
          Offsets(ArrivalSchedule(Arrival(ArrivalSpec::Process::kGamma, k),
                                  kRate, seed, 0),
                  40000);
      // Coefficient of variation 1/sqrt(k): 2 for k = 0.25, 1/2 for k = 4.
      ExpectGammaMoments(Gaps(offsets), k, 1e6 / kRate);
    }
  }
}

TEST(ArrivalScheduleTest, ConstantStartsAtZeroWithFixedGaps) {
  // 3/s: a gap of 333333.33 us, so the offsets are rounded products.
  ArrivalSchedule schedule(Arrival(ArrivalSpec::Process::kConstant), 3, 7, 0);
  const std::vector<int64_t> offsets = Offsets(schedule, 30000);
  for (size_t i = 0; i < offsets.size(); ++i) {
    ASSERT_EQ(offsets[i], std::llround(static_cast<double>(i) * 1e6 / 3)) << i;
  }
  // Coefficient of variation 0, but for the rounding to microseconds.
  const Moments m =
      MomentsOf(Gaps(std::vector<int64_t>(offsets.begin() + 1, offsets.end())));
  EXPECT_LE(std::sqrt(m.variance), 1.0);
}

TEST(ArrivalScheduleTest, NoRateNeverArrives) {
  ArrivalSchedule schedule(Arrival(ArrivalSpec::Process::kPoisson), 0, 7, 0);
  EXPECT_EQ(schedule.NextOffsetUs(), INT64_MAX);
}

// Counts per one-second window the arrivals a loop releases when a
// simulated clock, advancing in 1 ms ticks for "seconds", reaches their
// offset: how the runner meets the schedule.
std::vector<double> CountsPerSecond(ArrivalSchedule schedule, int seconds) {
  std::vector<double> counts(seconds);
  int64_t next = schedule.NextOffsetUs();
  for (int64_t now_us = 0; now_us < int64_t{seconds} * 1'000'000;
       now_us += 1000) {
    while (next <= now_us) {
      counts[now_us / 1'000'000] += 1;
      next = schedule.NextOffsetUs();
    }
  }
  return counts;
}

TEST(ArrivalScheduleTest, FakeClockPoissonCountsPerSecond) {
  constexpr double kRate = 20;
  constexpr int kSeconds = 600;
  for (uint64_t seed : kSeeds) {
    SCOPED_TRACE(seed);
    const Moments m = MomentsOf(
        CountsPerSecond(ArrivalSchedule(Arrival(ArrivalSpec::Process::kPoisson),
                                        kRate, seed, 0),
                        kSeconds));
    // Each window's count is Poisson(rate): mean and variance both the
    // rate; a Poisson sample variance has variance (l + 2 l^2) / n.
    EXPECT_NEAR(m.mean, kRate, 4 * std::sqrt(kRate / kSeconds));
    EXPECT_NEAR(m.variance, kRate,
                4 * std::sqrt((kRate + 2 * kRate * kRate) / kSeconds));
  }
}

TEST(ArrivalScheduleTest, FakeClockConstantCountsPerSecond) {
  const std::vector<double> counts = CountsPerSecond(
      ArrivalSchedule(Arrival(ArrivalSpec::Process::kConstant), 20, 7, 0), 60);
  for (size_t second = 0; second < counts.size(); ++second) {
    EXPECT_EQ(counts[second], 20) << second;
  }
}

TEST(ThinkTimesTest, NoneConstantAndExponential) {
  ThinkSpec none;
  ThinkTimes no_pause(none, 7, 1);
  EXPECT_EQ(no_pause.Next(), microseconds(0));

  ThinkSpec constant{ThinkSpec::Process::kConstant, milliseconds(1500)};
  ThinkTimes fixed(constant, 7, 1);
  EXPECT_EQ(fixed.Next(), microseconds(1'500'000));
  EXPECT_EQ(fixed.Next(), microseconds(1'500'000));

  ThinkSpec exponential{ThinkSpec::Process::kExponential, milliseconds(2000)};
  for (uint64_t seed : kSeeds) {
    SCOPED_TRACE(seed);
    ThinkTimes times(exponential, seed, 3);
    std::vector<double> pauses(20000);
    for (double& pause : pauses)
      pause = static_cast<double>(times.Next().count());
    ExpectGammaMoments(pauses, 1, 2e6);
  }
}

TEST(ThinkTimesTest, EachInstanceItsOwnReproducibleStream) {
  ThinkSpec spec{ThinkSpec::Process::kExponential, milliseconds(2000)};
  auto draws = [&](uint64_t seed, uint64_t instance) {
    ThinkTimes times(spec, seed, instance);
    std::vector<int64_t> out(100);
    for (int64_t& x : out) x = times.Next().count();
    return out;
  };
  EXPECT_EQ(draws(7, 5), draws(7, 5));
  EXPECT_NE(draws(7, 5), draws(7, 6));
  EXPECT_NE(draws(7, 5), draws(8, 5));
}

// An arrival stream and a think-time stream with the same number and seed
// are not the same draws.
TEST(ThinkTimesTest, NotTheArrivalDraws) {
  ThinkSpec spec{ThinkSpec::Process::kExponential, milliseconds(50)};
  ThinkTimes times(spec, 7, 0);
  ArrivalSchedule arrivals(Arrival(ArrivalSpec::Process::kPoisson), 20, 7, 0);
  int64_t previous = 0;
  int same = 0;  // equal but for rounding: the same uniform draw
  for (int i = 0; i < 100; ++i) {
    const int64_t offset = arrivals.NextOffsetUs();
    same += std::abs(times.Next().count() - (offset - previous)) <= 1;
    previous = offset;
  }
  // Two independent exponentials of mean 50 ms are within 1 us of each
  // other about once in 25000 draws.
  EXPECT_LE(same, 1);
}

}  // namespace
}  // namespace chatbatch
