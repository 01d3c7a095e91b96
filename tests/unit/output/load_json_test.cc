// summary.json's "load" section: written from a LoadReport, read back into
// the same one.
#include "output/load_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "chatbatch/run_output.h"
#include "output/summary_file.h"
#include "support/load_report_sample.h"
#include "support/temp_dir.h"

namespace chatbatch {
namespace {

using nlohmann::ordered_json;
using testing_load::SampleLoad;

TEST(LoadJsonTest, WritesEveryFieldUnderItsName) {
  const ordered_json j = LoadReportToJson(SampleLoad());
  EXPECT_EQ(j["mode"], "open");
  EXPECT_EQ(j["seed"], 7);
  EXPECT_EQ(j["slo_ok"], false);
  ASSERT_EQ(j["steps"].size(), 2u);
  const ordered_json& s = j["steps"][1];
  EXPECT_EQ(s["index"], 2);
  EXPECT_EQ(s["label"], "rate 20/s");
  EXPECT_EQ(s["rate"], 20.0);
  EXPECT_EQ(s["achieved_rate"], 18.6);
  EXPECT_EQ(s["tokens_estimated"], true);
  EXPECT_EQ(s["ttft"]["count"], 2772);
  EXPECT_EQ(s["ttft"]["p95_ms"], 430.3);
  EXPECT_EQ(s["ttft"]["p99_ms"], 950.8);
  EXPECT_EQ(s["error_rate"], 0.01);
  EXPECT_EQ(s["goodput"], 0.912);  // a fraction, not rounded as ms are
  EXPECT_EQ(s["cpu_share"], 0.31);
  EXPECT_EQ(s["client_limited"], true);
  EXPECT_EQ(s["lag"]["p99_ms"], 14.2);
  ASSERT_EQ(s["slo"].size(), 2u);
  EXPECT_EQ(s["slo"][0],
            ordered_json::parse(R"({"name": "ttft_p95", "limit": 500.0,
                                   "measured": 612.3, "ok": false})"));
  EXPECT_EQ(s["slo"][1]["limit"], 0.95);
  EXPECT_EQ(s["slo"][1]["measured"], 0.912);
  EXPECT_EQ(s["by_turn"][0]["prompt_tokens"], 40.25);
  EXPECT_TRUE(s["by_turn"][1]["prompt_tokens"].is_null());  // -1: none
  EXPECT_TRUE(j["steps"][0]["client_limited_reason"].is_null());
  EXPECT_EQ(j["steps"][0]["cap_hits"], 0);
}

TEST(LoadJsonTest, NoneAndNotMeasuredAreNull) {
  LoadReport load = SampleLoad();
  load.steps[0].goodput = -1;
  load.steps[0].slo[0].measured = std::nan("");
  const ordered_json j = LoadReportToJson(load);
  EXPECT_TRUE(j["steps"][0]["goodput"].is_null());
  EXPECT_TRUE(j["steps"][0]["slo"][0]["measured"].is_null());
  Result<LoadReport> back = LoadReportFromJson(j);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->steps[0].goodput, -1);
  EXPECT_TRUE(std::isnan(back->steps[0].slo[0].measured));
}

TEST(LoadJsonTest, RoundTrips) {
  const LoadReport load = SampleLoad();
  Result<LoadReport> back = LoadReportFromJson(LoadReportToJson(load));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(LoadReportToJson(*back), LoadReportToJson(load));
  // A few fields by hand, so that a field both sides drop is noticed.
  EXPECT_EQ(back->seed, 7u);
  EXPECT_FALSE(back->slo_ok);
  ASSERT_EQ(back->steps.size(), 2u);
  const LoadStepResult& b = back->steps[1];
  EXPECT_EQ(b.concurrency, 64);
  EXPECT_EQ(b.conversations_measured, 490);
  EXPECT_EQ(b.turns_error, 28);
  EXPECT_EQ(b.tpot.p50, 8.5);
  EXPECT_EQ(b.e2e.max, 2200.7);
  EXPECT_EQ(b.itl.count, 20000);
  EXPECT_EQ(b.cap_hits, 3);
  EXPECT_EQ(b.window_s, 50);
  EXPECT_EQ(b.wall_s, 61.5);
  EXPECT_EQ(b.client_limited_reason,
            "schedule lag p99 14.2 ms > 10 ms; 3 cap hits");
  ASSERT_EQ(b.by_turn.size(), 2u);
  EXPECT_EQ(b.by_turn[1].turn, 2);
  EXPECT_EQ(b.by_turn[1].history_chars, 950);
  EXPECT_EQ(b.by_turn[1].prompt_tokens, -1);
  EXPECT_EQ(b.by_turn[0].ttft.p95, 120.5);
  ASSERT_EQ(b.slo.size(), 2u);
  EXPECT_FALSE(b.slo[0].percent);  // latency: milliseconds
  EXPECT_TRUE(b.slo[1].percent);   // goodput: a fraction
  EXPECT_EQ(b.slo[1].measured, 0.912);
  EXPECT_FALSE(b.slo_ok);
  EXPECT_TRUE(back->steps[0].slo_ok);
}

TEST(LoadJsonTest, AWrongTypeIsNamed) {
  ordered_json j = LoadReportToJson(SampleLoad());
  j["steps"][1]["ttft"]["p99_ms"] = "slow";
  Result<LoadReport> back = LoadReportFromJson(j);
  ASSERT_FALSE(back.has_value());
  EXPECT_EQ(back.error().message, "load.steps[1].ttft.p99_ms: not a number");
  j = LoadReportToJson(SampleLoad());
  j["steps"] = 3;
  back = LoadReportFromJson(j);
  ASSERT_FALSE(back.has_value());
  EXPECT_EQ(back.error().message, "load.steps: not a list");
}

TEST(LoadJsonTest, MissingKeysKeepTheirDefaults) {
  Result<LoadReport> back =
      LoadReportFromJson(ordered_json::parse(R"({"steps": [{"index": 3}]})"));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  ASSERT_EQ(back->steps.size(), 1u);
  EXPECT_EQ(back->steps[0].index, 3);
  EXPECT_EQ(back->steps[0].goodput, -1);
  EXPECT_TRUE(back->slo_ok);
}

class LoadSummaryFileTest : public testing::Test {
 protected:
  void WriteSummary(const RunSummary& summary) {
    std::ofstream(tmp_.path() + "/summary.json", std::ios::binary)
        << SummaryToJson(summary);
  }
  testfs::TempDir tmp_{"chatbatch_load_json_"};
};

TEST_F(LoadSummaryFileTest, SummaryJsonCarriesTheSectionAndReadsItBack) {
  RunSummary summary;
  summary.job_name = "load";
  summary.load = SampleLoad();
  WriteSummary(summary);
  Result<std::optional<SummaryFile>> file = ReadSummaryFile(tmp_.path());
  ASSERT_TRUE(file.has_value()) << file.error().message;
  ASSERT_TRUE(file->has_value());
  ASSERT_TRUE((*file)->load.has_value());
  EXPECT_EQ(LoadReportToJson(*(*file)->load), LoadReportToJson(SampleLoad()));
  // After "latency", the last key.
  const ordered_json& doc = (*file)->document;
  EXPECT_EQ(std::prev(doc.end()).key(), "load");
}

TEST_F(LoadSummaryFileTest, NoSectionWithoutLoad) {
  RunSummary summary;
  summary.job_name = "plain";
  WriteSummary(summary);
  Result<std::optional<SummaryFile>> file = ReadSummaryFile(tmp_.path());
  ASSERT_TRUE(file.has_value() && file->has_value());
  EXPECT_FALSE((*file)->load.has_value());
  EXPECT_FALSE((*file)->document.contains("load"));
}

TEST_F(LoadSummaryFileTest, ABadSectionNamesTheFileAndField) {
  std::ofstream(tmp_.path() + "/summary.json", std::ios::binary)
      << R"({"job": "x", "load": {"steps": [{"slo": [{"ok": 1}]}]}})";
  Result<std::optional<SummaryFile>> file = ReadSummaryFile(tmp_.path());
  ASSERT_FALSE(file.has_value());
  EXPECT_NE(file.error().message.find(
                "summary.json: load.steps[0].slo[0].ok: not true or false"),
            std::string::npos)
      << file.error().message;
}

}  // namespace
}  // namespace chatbatch
