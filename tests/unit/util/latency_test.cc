#include "chatbatch/latency.h"

#include <gtest/gtest.h>

#include <cmath>
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

}  // namespace
}  // namespace chatbatch
