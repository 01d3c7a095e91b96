// The wrk-style end-of-run table (no network).
#include "report/latency_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "util/counted.h"

namespace chatbatch {
namespace {

using ::testing::HasSubstr;

RunSummary TwoTurns() {
  RunSummary s;
  s.chunks = 40;
  s.bytes = 2'000'000;
  s.completion_tokens = 100;
  s.latency.wall_s = 2.0;
  s.latency.turns = 2;
  s.latency.ttft.AddMillis(120);
  s.latency.ttft.AddMillis(80);
  s.latency.duration.AddMillis(1500);
  s.latency.duration.AddMillis(12000);
  for (int i = 0; i < 38; ++i) s.latency.gaps.Add(40'000);  // 40 ms
  return s;
}

TEST(LatencyTableTest, EmptyWhenNoTurnRan) {
  EXPECT_EQ(FormatLatencyTable(RunSummary{}), "");
}

TEST(LatencyTableTest, ThroughputAndPercentileRows) {
  const std::string table = FormatLatencyTable(TwoTurns());
  EXPECT_THAT(table, HasSubstr("2 turns in 2.00s: 1.0 turns/s, 20 chunks/s, "
                               "50 tokens/s, 1.00 MB/s\n"));
  EXPECT_THAT(table,
              HasSubstr("p50       p90       p99       max     count\n"));
  // Nearest rank over {80, 120}: p50 80, p90/p99/max 120 (the extremes are
  // exact); units switch at 100 ms and at 10 s.
  EXPECT_THAT(table, HasSubstr("  ttft         80.00ms     120ms     120ms     "
                               "120ms         2\n"));
  EXPECT_THAT(table, HasSubstr("  duration      1500ms     12.0s     12.0s     "
                               "12.0s         2\n"));
  EXPECT_THAT(table, HasSubstr("  chunk gap"));
  EXPECT_THAT(table, HasSubstr("        38\n"));
  EXPECT_EQ(table.find("errors:"), std::string::npos) << table;
}

TEST(LatencyTableTest, ErrorsAndRetriesByKind) {
  RunSummary s = TwoTurns();
  s.latency.errors_by_kind = {{"idle_timeout", 1}, {"http", 3}};
  s.latency.retries_by_kind = {{"connect", 2}};
  const std::string table = FormatLatencyTable(s);
  EXPECT_THAT(table, HasSubstr("  errors: http 3, idle_timeout 1\n"));
  EXPECT_THAT(table, HasSubstr("  retried attempts: connect 2\n"));
}

TEST(LatencyTableTest, OneTurnInTheSingular) {
  RunSummary s;
  s.latency.turns = 1;
  s.latency.wall_s = 2;
  const std::string table = FormatLatencyTable(s);
  EXPECT_EQ(table.rfind("  1 turn in 2.00s: 0.5 turns/s,", 0), 0u) << table;
}

TEST(CountedTest, PluralUnlessOne) {
  EXPECT_EQ(Counted(0, "conversation"), "0 conversations");
  EXPECT_EQ(Counted(1, "conversation"), "1 conversation");
  EXPECT_EQ(Counted(2, "matrix set"), "2 matrix sets");
}

TEST(LatencyTableTest, OnlyErrorsStillPrintsATable) {
  RunSummary s;
  s.latency.errors_by_kind = {{"connect", 4}};
  const std::string table = FormatLatencyTable(s);
  EXPECT_THAT(table, HasSubstr("0 turns in 0.00s"));
  EXPECT_THAT(table, HasSubstr("  ttft               -\n"));
  EXPECT_THAT(table, HasSubstr("  errors: connect 4\n"));
}

}  // namespace
}  // namespace chatbatch
