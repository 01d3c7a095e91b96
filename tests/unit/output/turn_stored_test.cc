// StoredTurnRecordDirect stands in for parsing each written record back:
// wherever it answers, it must equal TurnRecordFromJson(TurnRecordToJson).
#include "output/turn_stored.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "chatbatch/run_output.h"
#include "chatbatch/run_state.h"

namespace chatbatch {
namespace {

TurnRecord Base() {
  TurnRecord r;
  r.turn = 2;
  r.user = "hello";
  r.reply.content = "world";
  r.reply.finish_reason = "stop";
  r.reply.model = "m";
  r.reply.chunks = 7;
  r.reply.bytes = 900;
  r.reply.conversation_json = R"({"id":"x"})";
  r.conversation_id = "c1";
  r.ok = true;
  r.http_status = 200;
  r.ttft_ms = 12.3456;
  r.duration_ms = 45.6789;
  r.latency.gaps_ms = {5, 1.04, 2.06, 3.15, 4.25};
  r.latency.chunks_per_s = 153.333333;
  r.latency.tokens_per_s = 99.99;
  r.started_at = "2026-01-01T00:00:00.000Z";
  return r;
}

// Both forms as written: every field the codec keeps, numbers exactly.
void ExpectSameStored(const TurnRecord& r, bool direct_expected = true) {
  const std::string line = TurnRecordToJson(r);
  const std::optional<TurnRecord> direct = StoredTurnRecordDirect(r);
  Result<TurnRecord> parsed = TurnRecordFromJson(line);
  ASSERT_EQ(direct.has_value(), direct_expected) << line;
  if (!direct) return;
  ASSERT_TRUE(parsed.has_value()) << line;
  parsed->reply.conversation_json.clear();  // not kept in the stored form
  EXPECT_EQ(TurnRecordToJson(*direct), TurnRecordToJson(*parsed)) << line;
  EXPECT_EQ(direct->ok, parsed->ok);
  EXPECT_EQ(direct->expect_ok, parsed->expect_ok);
  EXPECT_EQ(direct->latency.gaps_ms.count, parsed->latency.gaps_ms.count);
  EXPECT_EQ(direct->reply.done, parsed->reply.done);
  EXPECT_TRUE(direct->reply.conversation_json.empty());
}

TEST(TurnStoredTest, PlainRecordsMatchTheRoundTrip) {
  ExpectSameStored(Base());
  TurnRecord r = Base();
  r.reply.usage = Usage{3, 4, 7};
  r.reply.reasoning = "think";
  r.reply.provider = "p";
  r.attempts = 3;
  r.unreachable_attempts = 2;
  r.failed_attempts = {{1, "http", "503 busy", 503, "t1"},
                       {2, "timeout", "", 0, ""}};
  ExpectSameStored(r);
  r.unreachable_attempts = -4;
  ExpectSameStored(r);
}

TEST(TurnStoredTest, ErrorAndFailedTurns) {
  TurnRecord r = Base();
  r.ok = false;
  r.error = "boom\n\t\"quoted\"";
  r.error_kind = "http";
  r.ttft_ms = -1;
  ExpectSameStored(r);
  r = Base();
  r.expect_ok = false;  // no expectations listed: still "failed"
  r.error = "left over";
  ExpectSameStored(r);
}

TEST(TurnStoredTest, NumbersRoundAsWritten) {
  const double kInf = std::numeric_limits<double>::infinity();
  const double kNaN = std::numeric_limits<double>::quiet_NaN();
  for (double v : {0.0, -0.0, 0.05, -0.05, 0.15, 1e-300, 123456.789, 0x1p52,
                   -0x1p52, 0x1p53 + 2, 1e300, -1e300, 1.7e308, kInf, -kInf,
                   kNaN, -1.0, -0.04, 4503599627370495.5}) {
    TurnRecord r = Base();
    r.ttft_ms = v;
    r.duration_ms = v;
    r.latency.gaps_ms = {1, v, v, v, v};
    r.latency.chunks_per_s = v;
    r.latency.tokens_per_s = v;
    ExpectSameStored(r);
    r.ok = false;
    ExpectSameStored(r);
  }
}

TEST(TurnStoredTest, ControlCharsAndLongStrings) {
  TurnRecord r = Base();
  r.user = std::string("a\0b\x01\x1f\x7f", 6) + "\u00e9\u4e2d\U0001F600";
  r.reply.content = std::string(200000, 'x') + "\\\"/";
  r.reply.reasoning = "\r\n\b\f";
  ExpectSameStored(r);
}

TEST(TurnStoredTest, LeavesTheRestToTheRoundTrip) {
  for (const std::string bad : {"\xff", "\xc0\xaf", "\xed\xa0\x80",
                                "\xf4\x90\x80\x80", "abc\xe2\x82"}) {
    TurnRecord r = Base();
    r.reply.content = bad;
    ExpectSameStored(r, false);
    r = Base();
    r.failed_attempts = {{1, "http", bad, 500, "t"}};
    ExpectSameStored(r, false);
  }
  TurnRecord r = Base();
  r.reply.tool_calls_json = R"([{"id":"a"}])";
  ExpectSameStored(r, false);
  r = Base();
  r.expectations.push_back({"contains", "x", true, ""});
  ExpectSameStored(r, false);
  r = Base();
  r.turn = 0;  // would not read back
  ExpectSameStored(r, false);
}

}  // namespace
}  // namespace chatbatch
