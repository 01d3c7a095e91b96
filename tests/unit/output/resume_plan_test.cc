// DecideRun, the pure half of PlanRun: every decision from a RunDirState
// built in memory, no directory involved.
#include <gtest/gtest.h>

#include "chatbatch/resume.h"

namespace chatbatch {
namespace {

Job TwoConversations() {
  Job job;
  job.name = "t";
  job.path = "t.yaml";
  job.endpoint = "http://127.0.0.1:1/v1/chat/completions";
  for (const char* id : {"a", "b"}) {
    Conversation c;
    c.id = id;
    c.mutable_settings().conversation_id = std::string("fresh-") + id;
    c.mutable_settings().conversation_id_generated = true;
    c.messages = {"one", "two"};
    job.conversations.push_back(std::move(c));
  }
  return job;
}

TurnRecord Record(int turn, bool ok, const std::string& conversation_id) {
  TurnRecord r;
  r.turn = turn;
  r.ok = ok;
  r.conversation_id = conversation_id;
  if (!ok) r.error = "down";
  return r;
}

// The state a run of "job" leaves with "records" by conversation id.
RunDirState Recorded(const Job& job,
                     std::map<std::string, std::vector<TurnRecord>> records) {
  RunDirState state;
  state.dir = "out";
  RunManifest manifest;
  manifest.job_name = job.name;
  manifest.job_path = job.path;
  manifest.job_hash = JobDefinitionHash(job);
  manifest.shard = job.shard;
  for (const Conversation& c : job.conversations) {
    manifest.conversations[c.id] = {ConversationDefinitionHash(job, c),
                                    "recorded-" + c.id};
  }
  state.manifest = manifest;
  for (auto& [id, list] : records) {
    state.jsonl.insert(id);
    RecordsOnDisk disk;
    disk.exists = true;
    disk.records = std::move(list);
    state.records.emplace(id, std::move(disk));
  }
  return state;
}

TEST(DecideRunTest, FreshDirectoryStartsWithNothingPrior) {
  Job job = TwoConversations();
  RunDirState state;
  state.dir = "out";
  Result<RunDecision> d = DecideRun(job, state, {});
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_TRUE(d->plan.prior.empty());
  EXPECT_TRUE(d->start_over.empty());
  EXPECT_EQ(ManifestEntryFor(job, *d, job.conversations[0]).conversation_id,
            "fresh-a");
}

TEST(DecideRunTest, AnUnknownJsonlIsRefusedWithoutOverwrite) {
  Job job = TwoConversations();
  RunDirState state;
  state.dir = "out";
  state.jsonl.insert("b");
  Result<RunDecision> d = DecideRun(job, state, {});
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, ErrorCode::kUsage);
  EXPECT_NE(d.error().message.find("b.jsonl from an unknown run"),
            std::string::npos);
  ResumeFlags overwrite;
  overwrite.overwrite = true;
  d = DecideRun(job, state, overwrite);
  ASSERT_TRUE(d.has_value());
  // Only what exists is removed (b.jsonl; a has no file).
  EXPECT_EQ(d->start_over, (std::vector<std::string>{"b"}));
  EXPECT_FALSE(d->changed_definitions);
  EXPECT_TRUE(d->no_records);
  // A stray a.md without its .jsonl is removed too.
  state.md.insert("a");
  d = DecideRun(job, state, overwrite);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->start_over, (std::vector<std::string>{"a", "b"}));
}

TEST(DecideRunTest, AnEarlierRunNeedsResume) {
  Job job = TwoConversations();
  Result<RunDecision> d = DecideRun(job, Recorded(job, {}), {});
  ASSERT_FALSE(d.has_value());
  EXPECT_NE(d.error().message.find("pass --resume to continue it"),
            std::string::npos);
}

TEST(DecideRunTest, ResumeKeepsRecordedIdsAndClassifies) {
  Job job = TwoConversations();
  RunDirState state =
      Recorded(job, {{"a", {Record(1, true, "x"), Record(2, true, "x")}},
                     {"b", {Record(1, true, "y")}}});
  TornTail torn;
  torn.keep_bytes = 10;
  state.records.at("b")->torn_tail = torn;
  ResumeFlags flags;
  flags.resume = true;
  Result<RunDecision> d = DecideRun(job, state, flags);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->plan.prior.at("a").status, ConversationStatus::kOk);
  EXPECT_EQ(d->plan.prior.at("b").status, ConversationStatus::kPending);
  EXPECT_EQ(d->plan.prior.at("b").turns.size(), 1u);
  EXPECT_EQ(d->conversation_ids.at("a"), "recorded-a");
  EXPECT_EQ(ManifestEntryFor(job, *d, job.conversations[1]).conversation_id,
            "recorded-b");
  EXPECT_EQ(d->repair.size(), 1u);
  EXPECT_EQ(d->repair.at("b").keep_bytes, 10u);
  EXPECT_TRUE(d->retry.empty());
  EXPECT_TRUE(d->start_over.empty());
}

TEST(DecideRunTest, RetryFailedDropsTheFailedTurn) {
  Job job = TwoConversations();
  RunDirState state = Recorded(
      job, {{"a", {Record(1, true, "x"), Record(2, false, "x")}}, {"b", {}}});
  ResumeFlags resume;
  resume.resume = true;
  Result<RunDecision> d = DecideRun(job, state, resume);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->plan.prior.at("a").status, ConversationStatus::kError);
  EXPECT_EQ(d->plan.prior.at("a").turns.size(), 2u);

  ResumeFlags retry;
  retry.retry_failed = true;
  d = DecideRun(job, state, retry);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->retry, (std::vector<std::string>{"a"}));
  EXPECT_EQ(d->plan.prior.at("a").status, ConversationStatus::kPending);
  EXPECT_EQ(d->plan.prior.at("a").turns.size(), 1u);
}

TEST(DecideRunTest, AChangedJobNeedsForceAndRerunsExactlyTheChanged) {
  Job job = TwoConversations();
  RunDirState state = Recorded(job, {});
  job.conversations[1].messages.push_back("three");
  ResumeFlags resume;
  resume.resume = true;
  Result<RunDecision> d = DecideRun(job, state, resume);
  ASSERT_FALSE(d.has_value());
  EXPECT_NE(d.error().message.find("1 conversation differs (b)"),
            std::string::npos)
      << d.error().message;
  ResumeFlags force;
  force.force = true;
  d = DecideRun(job, state, force);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->start_over, (std::vector<std::string>{"b"}));
  EXPECT_TRUE(d->changed_definitions);
  EXPECT_FALSE(d->plan.prior.contains("b"));
}

TEST(DecideRunTest, AMergedDirectoryOrAnotherShardIsRefused) {
  Job job = TwoConversations();
  RunDirState state = Recorded(job, {});
  state.manifest->job_hash = kMergedJobHash;
  for (bool force : {false, true}) {
    ResumeFlags flags;
    flags.resume = true;
    flags.force = force;
    Result<RunDecision> d = DecideRun(job, state, flags);
    ASSERT_FALSE(d.has_value());
    EXPECT_NE(d.error().message.find("holds the merge of several runs"),
              std::string::npos);
  }
  state = Recorded(job, {});
  state.manifest->shard = "1/2";
  ResumeFlags flags;
  flags.resume = true;
  Result<RunDecision> d = DecideRun(job, state, flags);
  ASSERT_FALSE(d.has_value());
  EXPECT_NE(d.error().message.find("as shard 1/2, but this run is the whole"),
            std::string::npos);
}

TEST(DecideRunTest, AnUnreadableRecordIsAnErrorOnlyWhenItIsNeeded) {
  Job job = TwoConversations();
  RunDirState state = Recorded(job, {});
  state.jsonl.insert("b");
  state.records.emplace("b", std::unexpected(Error(ErrorCode::kIo, "bad")));
  ResumeFlags resume;
  resume.resume = true;
  Result<RunDecision> d = DecideRun(job, state, resume);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, ErrorCode::kIo);
  resume.only = {"a"};  // b is left alone
  d = DecideRun(job, state, resume);
  EXPECT_TRUE(d.has_value());
}

}  // namespace
}  // namespace chatbatch
