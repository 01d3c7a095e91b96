// The end-of-run table of a load run, as text.
#include "report/load_table.h"

#include <gtest/gtest.h>

#include <cmath>

#include "support/load_report_sample.h"

namespace chatbatch {
namespace {

using testing_load::SampleLoad;
using testing_load::Slo;

TEST(LoadTableTest, OneRowPerStepThenMissesAndClientLimits) {
  EXPECT_EQ(
      FormatLoadTable(SampleLoad()),
      "  step  requested  achieved  turns/s  tokens/s  TTFT p50  TTFT p99   "
      "ITL p99   E2E p99  goodput  errors   lag p99   CPU  flags\n"
      "  1          10/s     9.8/s     29.4      1234     120ms     310ms   "
      "40.30ms    2101ms    99.5%    0.0%    1.50ms   12%\n"
      "  2          20/s    18.6/s     55.9     ~2301     410ms     951ms   "
      "40.30ms    2101ms    91.2%    1.0%   14.20ms   31%  client-limited "
      "MISS\n"
      "  ~ tokens counted as content chunks (the server sent no usage)\n"
      "  step 2 (rate 20/s): ttft_p95 612 ms > 500 ms\n"
      "  step 2 (rate 20/s): goodput 91.2% < 95%\n"
      "  step 2 (rate 20/s): client-limited: schedule lag p99 14.2 ms > 10 "
      "ms; 3 cap hits\n");
}

TEST(LoadTableTest, NothingWithoutSteps) {
  EXPECT_EQ(FormatLoadTable(LoadReport{}), "");
}

TEST(LoadTableTest, ClosedLoopShowsConcurrencyAndNoGoodput) {
  LoadReport load;
  load.mode = "closed";
  LoadStepResult s;
  s.index = 1;
  s.label = "concurrency 16";
  s.concurrency = 16;
  s.achieved_rate = 4;
  s.turns_per_s = 12;
  s.tokens_per_s = 480;
  s.cpu_share = 0.02;
  load.steps = {s};
  const std::string table = FormatLoadTable(load);
  // Nothing measured: dashes, not zeros; no flag, no line under the table.
  EXPECT_EQ(
      table.substr(table.find('\n') + 1),
      "  1       conc 16     4.0/s     12.0       480         -         - "
      "        -         -        -    0.0%         -    2%\n");
}

TEST(LoadTableTest, SloValuesInMillisecondsOrPercent) {
  EXPECT_EQ(FormatSloValue(612.3, false), "612 ms");
  EXPECT_EQ(FormatSloValue(500, false), "500 ms");
  EXPECT_EQ(FormatSloValue(12.46, false), "12.5 ms");
  EXPECT_EQ(FormatSloValue(0.912, true), "91.2%");
  EXPECT_EQ(FormatSloValue(0.95, true), "95%");
  EXPECT_EQ(FormatSloValue(std::nan(""), false), "not measured");
}

TEST(LoadTableTest, MissesSayWhichWayTheLimitGoes) {
  EXPECT_EQ(DescribeSloMiss(Slo("ttft_p95", 500, 612.3, false, false)),
            "ttft_p95 612 ms > 500 ms");
  EXPECT_EQ(DescribeSloMiss(Slo("goodput", 0.95, 0.912, true, false)),
            "goodput 91.2% < 95%");
  EXPECT_EQ(DescribeSloMiss(Slo("error_rate", 0.01, 0.034, true, false),
                            /*say_limit=*/true),
            "error_rate 3.4% > limit 1%");
  EXPECT_EQ(DescribeSloMiss(Slo("e2e_p99", 20000, std::nan(""), false, false)),
            "e2e_p99 not measured (no turn), limit 20000 ms");
}

}  // namespace
}  // namespace chatbatch
