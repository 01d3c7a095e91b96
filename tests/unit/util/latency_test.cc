#include "chatbatch/latency.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace chatbatch {
namespace {

TEST(LatencyHistogramTest, OneValueIsExact) {
  LatencyHistogram h;
  h.AddMillis(80.0);  // its bucket's midpoint is 80.384 ms
  const Percentiles p = h.Summarize();
  EXPECT_EQ(p.count, 1);
  EXPECT_EQ(p.p50, 80.0);
  EXPECT_EQ(p.p99, 80.0);
  EXPECT_EQ(p.max, 80.0);
}

TEST(LatencyHistogramTest, MergeEqualsAddingEverything) {
  LatencyHistogram a, b, all;
  for (int i = 1; i <= 50; ++i) {
    a.AddMillis(i * 3.0);
    all.AddMillis(i * 3.0);
  }
  for (int i = 1; i <= 30; ++i) {
    b.AddMillis(1000.0 + i);
    all.AddMillis(1000.0 + i);
  }
  LatencyHistogram empty;
  a.Merge(empty);  // an empty part must not pull the minimum to 0
  a.Merge(b);
  const Percentiles merged = a.Summarize(), whole = all.Summarize();
  EXPECT_EQ(merged.count, 80);
  EXPECT_EQ(merged.p50, whole.p50);
  EXPECT_EQ(merged.p90, whole.p90);
  EXPECT_EQ(merged.max, 1030.0);
  LatencyHistogram low;
  low.AddMillis(3.0);  // its bucket's midpoint is 2.992 ms
  low.AddMillis(5.0);
  low.Merge(empty);
  EXPECT_EQ(low.Summarize().p50, 3.0);
}

// Counted zeros must give what storing them gives, wherever the ranks fall:
// among negatives, zeros (counted or stored) or positives.
TEST(ExactPercentilesTest, CountedZerosEqualStoredOnes) {
  std::mt19937 rng(12);
  for (int round = 0; round < 2000; ++round) {
    std::vector<float> values;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      switch (rng() % 4) {
        case 0:
          values.push_back(0.0f);
          break;
        case 1:
          values.push_back(-static_cast<float>(rng() % 100) / 8);
          break;
        default:
          values.push_back(static_cast<float>(rng() % 1000) / 8);
      }
    }
    const int64_t zeros = rng() % 3 == 0 ? 0 : rng() % 300;
    std::vector<float> stored = values;
    stored.insert(stored.end(), static_cast<size_t>(zeros), 0.0f);
    const Percentiles want = ExactPercentiles(&stored);
    const Percentiles got = ExactPercentiles(&values, zeros);
    ASSERT_EQ(got.count, want.count) << round;
    EXPECT_EQ(got.p50, want.p50) << round;
    EXPECT_EQ(got.p90, want.p90) << round;
    EXPECT_EQ(got.p99, want.p99) << round;
    EXPECT_EQ(got.max, want.max) << round;
  }
}

TEST(LatencyHistogramTest, AddTimesEqualsAddingOneByOne) {
  LatencyHistogram bulk, single;
  bulk.Add(0, 0);  // nothing: the minimum must not become 0
  bulk.Add(700);
  single.Add(700);
  bulk.Add(0, 90);
  for (int i = 0; i < 90; ++i) single.Add(0);
  bulk.Add(3, 5);
  for (int i = 0; i < 5; ++i) single.Add(3);
  EXPECT_EQ(bulk.count(), 96);
  const Percentiles a = bulk.Summarize(), b = single.Summarize();
  EXPECT_EQ(a.p50, b.p50);
  EXPECT_EQ(a.p90, b.p90);
  EXPECT_EQ(a.p99, b.p99);
  EXPECT_EQ(a.max, b.max);
  LatencyHistogram late;
  late.Add(40);
  late.Add(0, 0);
  EXPECT_EQ(late.Summarize().p50, 0.04);
}

}  // namespace
}  // namespace chatbatch
