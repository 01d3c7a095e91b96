// summary.json is the records' sum, whichever process writes it.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "chatbatch/run_output.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json ReadSummary(const std::string& dir) {
  std::ifstream in(dir + "/summary.json");
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str());
}

TurnRecord Arrived(int turn, int64_t chunks, double ttft_ms) {
  TurnRecord r;
  r.turn = turn;
  r.user = "u";
  r.ok = true;
  r.reply.content = "r";
  r.reply.chunks = chunks;
  r.ttft_ms = ttft_ms;
  r.duration_ms = ttft_ms + 10;
  r.started_at = "2026-01-01T00:00:0" + std::to_string(turn) + ".000Z";
  return r;
}

TEST(SummaryRecomputeTest, ALaterProcessCountsTheEarlierRecords) {
  std::string tmpl = testing::TempDir() + "chatbatch_summary_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string dir = tmpl;
  Conversation conv;
  conv.id = "c1";
  conv.messages = {"a", "b"};
  RunSummary process;
  process.job_name = "j";
  process.started_at = "2026-01-01T00:00:00.000Z";
  ConversationOutcome outcome;
  outcome.id = "c1";
  process.conversations.push_back(outcome);
  {
    auto first = RunOutput::Open(dir);
    ASSERT_TRUE(first.has_value());
    ASSERT_TRUE((*first)->WriteSummary(process));
    ASSERT_TRUE((*first)->AppendTurn(conv, Arrived(1, 5, 100)));
    ASSERT_TRUE((*first)->WriteSummary(process));
  }
  json s = ReadSummary(dir);
  EXPECT_EQ(s["latency"]["turns"], 1);
  EXPECT_EQ(s["totals"]["chunks"], 5);
  EXPECT_EQ(s["counts"]["turns_ok"], 1);
  // Rewritten while the run goes on: no per-conversation list (issue 12).
  EXPECT_FALSE(s.contains("conversations"));

  // A second process (a resume) with counters of its own that know
  // nothing of turn 1.
  RunSummary later = process;
  later.started_at = "2026-02-02T00:00:00.000Z";
  auto second = RunOutput::Open(dir);
  ASSERT_TRUE(second.has_value());
  ASSERT_TRUE((*second)->WriteSummary(later));
  ASSERT_TRUE((*second)->AppendTurn(conv, Arrived(2, 7, 300)));
  later.ended_at = "2026-02-02T00:00:01.000Z";
  ASSERT_TRUE((*second)->WriteSummary(later));
  s = ReadSummary(dir);
  EXPECT_EQ(s["started_at"], "2026-01-01T00:00:00.000Z");  // the run's
  EXPECT_EQ(s["latency"]["turns"], 2);
  EXPECT_EQ(s["totals"]["chunks"], 12);
  EXPECT_EQ(s["latency"]["ttft_ms"]["max"], 300.0);
  EXPECT_EQ(s["counts"]["turns_ok"], 2);
  ASSERT_EQ(s["conversations"].size(), 1u);  // the run ended: listed
  EXPECT_EQ(s["conversations"][0]["id"], "c1");
  // The end line's totals are the second process's turn only.
  EXPECT_EQ((*second)->ThisProcess(later).chunks, 7);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace chatbatch
