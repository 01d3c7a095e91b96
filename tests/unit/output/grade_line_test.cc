// Grade lines: a judge's verdicts on a turn recorded earlier with them
// "pending", folded into that turn by both readers (docs/output-format.md,
// "Grade lines").
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "chatbatch/run_output.h"
#include "chatbatch/run_state.h"
#include "output/record_tally.h"
#include "output/turn_reader.h"
#include "support/temp_dir.h"

namespace chatbatch {
namespace {

TurnRecord PendingTurn(int turn) {
  TurnRecord r;
  r.turn = turn;
  r.ok = true;
  r.user = "hi";
  r.reply.content = "hello";
  r.started_at = "2026-11-30T00:00:00.000Z";
  ExpectationResult contains;
  contains.check = "contains";
  contains.expected = "hello";
  contains.ok = true;
  ExpectationResult judge;
  judge.check = "judge";
  judge.expected = "greets";
  judge.status = "pending";
  judge.detail = "grading not finished";
  r.expectations = {contains, judge};
  r.expect_ok = DecidedChecksHeld(r.expectations);
  return r;
}

TurnRecord Graded(TurnRecord r, bool pass) {
  ExpectationResult& e = r.expectations[1];
  e.status.clear();
  e.ok = pass;
  e.detail = pass ? "" : "score 0.1 below threshold 0.5: no";
  e.data = {{"threshold", 0.5},
            {"score", pass ? 0.9 : 0.1},
            {"reason", "r"},
            {"raw", "{}"}};
  r.expect_ok = DecidedChecksHeld(r.expectations);
  return r;
}

TEST(GradeLineTest, PendingIsNotAFailure) {
  TurnRecord r = PendingTurn(1);
  EXPECT_TRUE(r.expect_ok);
  const std::string line = TurnRecordToJson(r);
  EXPECT_NE(line.find("\"status\":\"ok\""), std::string::npos);
  std::optional<TurnRecord> back = TurnRecordFromJsonTolerant(line);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->expect_ok);
}

TEST(GradeLineTest, BothReadersFoldItIntoItsTurn) {
  testfs::TempDir dir("chatbatch_grade_");
  const std::string path = dir.path() + "/c1.jsonl";
  {
    std::ofstream out(path);
    out << TurnRecordToJson(PendingTurn(1)) << "\n"
        << TurnRecordToJson(PendingTurn(2)) << "\n"
        << GradeLineJson(Graded(PendingTurn(1), false)) << "\n";
  }
  Result<RecordsOnDisk> disk = ReadRecordsOnDisk(path);
  ASSERT_TRUE(disk) << disk.error().message;
  ASSERT_EQ(disk->records.size(), 2u);
  EXPECT_FALSE(disk->torn_tail);
  const TurnRecord& first = disk->records[0];
  EXPECT_FALSE(first.expect_ok);  // the judge failed: the turn is failed
  EXPECT_EQ(first.expectations[1].status, "");
  EXPECT_EQ(first.expectations[1].data["score"], 0.1);
  EXPECT_EQ(disk->records[1].expectations[1].status, "pending");
  EXPECT_TRUE(disk->records[1].expect_ok);

  Result<std::vector<TurnRecord>> tolerant = ReadTurnRecordsTolerant(path);
  ASSERT_TRUE(tolerant);
  ASSERT_EQ(tolerant->size(), 2u);
  EXPECT_FALSE((*tolerant)[0].expect_ok);
  EXPECT_EQ((*tolerant)[0].expectations[1].data["reason"], "r");
}

TEST(GradeLineTest, ATornGradeLineIsATornTailAndABadOneAnError) {
  testfs::TempDir dir("chatbatch_grade_");
  const std::string path = dir.path() + "/c1.jsonl";
  {
    std::ofstream out(path);
    out << TurnRecordToJson(PendingTurn(1)) << "\n"
        << "{\"grade\":1,\"expectations\":[{\"che\n";
  }
  Result<RecordsOnDisk> disk = ReadRecordsOnDisk(path);
  ASSERT_TRUE(disk) << disk.error().message;
  EXPECT_TRUE(disk->torn_tail);
  ASSERT_EQ(disk->records.size(), 1u);
  EXPECT_EQ(disk->records[0].expectations[1].status, "pending");
  {
    std::ofstream out(path);
    out << TurnRecordToJson(PendingTurn(1)) << "\n"
        << "{\"grade\":3,\"expectations\":[]}\n"
        << TurnRecordToJson(PendingTurn(2)) << "\n";
  }
  Result<RecordsOnDisk> bad = ReadRecordsOnDisk(path);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("c1.jsonl:2: not a grade line"),
            std::string::npos)
      << bad.error().message;
}

TEST(GradeLineTest, TallyCountsJudgeApartAndRegrades) {
  RecordTally tally;
  const TurnRecord pending = PendingTurn(1);
  tally.Add(pending);
  EXPECT_EQ(tally.judge().pending, 1);
  EXPECT_EQ(tally.turns().turns_ok, 1);
  EXPECT_EQ(tally.turns().expectations_passed, 1);  // contains only
  EXPECT_EQ(tally.turns().expectations_failed, 0);
  tally.Regrade(pending, Graded(pending, false));
  EXPECT_EQ(tally.judge().pending, 0);
  EXPECT_EQ(tally.judge().failed, 1);
  EXPECT_EQ(tally.turns().turns_ok, 0);
  EXPECT_EQ(tally.turns().turns_failed, 1);
  EXPECT_EQ(tally.turns().expectations_failed, 1);

  TurnRecord error = pending;
  error.expectations[1].status = "error";
  RecordTally errors;
  errors.Add(error);
  EXPECT_EQ(errors.judge().errors, 1);
  EXPECT_EQ(errors.turns().turns_ok, 1);  // an error is not a failure
}

}  // namespace
}  // namespace chatbatch
