// RunDir: what counts as a run directory, and the one TurnStatus.
#include "output/run_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "output/turn_reader.h"
#include "output/turn_status.h"
#include "support/temp_dir.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;

class RunDirReaderTest : public testing::Test {
 protected:
  std::string D(const std::string& name) {
    fs::create_directories(root_ / name);
    return (root_ / name).string();
  }
  void Write(const std::string& dir, const std::string& name,
             const std::string& text) {
    std::ofstream(fs::path(dir) / name, std::ios::binary) << text;
  }
  testfs::TempDir tmp_{"chatbatch_rundir_"};  // removed at the end of a test
  const fs::path root_ = tmp_.path();
};

TEST_F(RunDirReaderTest, RefusesWhatHoldsNoRun) {
  for (const std::string& dir : {D("empty"), (root_ / "nope").string()}) {
    Result<RunDir> r = RunDir::Open(dir);
    ASSERT_FALSE(r.has_value()) << dir;
    EXPECT_EQ(r.error().code, ErrorCode::kUsage);
    EXPECT_NE(r.error().message.find("'" + dir + "'"), std::string::npos);
  }
  const std::string parent = D("parent");
  D("parent/set");
  Write(parent + "/set", "summary.json", "{}");
  EXPECT_FALSE(RunDir::Open(parent).has_value());
  EXPECT_TRUE(RunDir::Open(parent + "/set").has_value());
}

TEST_F(RunDirReaderTest, ListsConversationsSortedWithoutTemporaries) {
  const std::string dir = D("run");
  Write(dir, "b.jsonl", "");
  Write(dir, "a.jsonl", "");
  Write(dir, ".a.jsonl.tmp123.jsonl", "");
  Write(dir, "a.md", "");
  Result<RunDir> r = RunDir::Open(dir);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->conversations(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r->Has("a"));
  EXPECT_FALSE(r->Has("c"));
}

TEST_F(RunDirReaderTest, StrictAndTolerantReading) {
  const std::string dir = D("run");
  Write(dir, "a.jsonl",
        R"({"turn":1,"user":"u","reply":"r","status":"ok","expectations":)"
        R"([{"check":"contains","ok":false}]})"
        "\nnot json\n");
  Result<RunDir> r = RunDir::Open(dir);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->ReadRecords("a", RecordReading::kStrict).has_value());
  Result<std::vector<TurnRecord>> t =
      r->ReadRecords("a", RecordReading::kTolerant);
  ASSERT_TRUE(t.has_value());
  ASSERT_EQ(t->size(), 1u);
  // An older writer said "ok" for a failed expectation.
  EXPECT_EQ(TurnStatusOf((*t)[0]), TurnStatus::kFailed);
}

TEST(TurnStatusTest, NamesRoundTrip) {
  for (TurnStatus s :
       {TurnStatus::kOk, TurnStatus::kFailed, TurnStatus::kError}) {
    EXPECT_EQ(ParseTurnStatus(TurnStatusName(s)), s);
    TurnRecord r;
    SetTurnStatus(s, &r);
    EXPECT_EQ(TurnStatusOf(r), s);
  }
  EXPECT_FALSE(ParseTurnStatus("finished").has_value());
}

}  // namespace
}  // namespace chatbatch
