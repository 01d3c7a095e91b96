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

TurnRecord PlanRecord(int turn, bool ok, const std::string& conversation_id) {
  TurnRecord r;
  r.turn = turn;
  r.ok = ok;
  r.conversation_id = conversation_id;
  if (!ok) r.error = "down";
  return r;
}

ResumeFlags Resume() {
  ResumeFlags flags;
  flags.resume = true;
  return flags;
}

// A directory whose run.json recorded "job" as it is, each conversation's
// id as "id_prefix" + its id ("" = none recorded, as for a generated one).
RunDirState WithManifest(const Job& job, const std::string& id_prefix) {
  RunDirState state;
  state.dir = "out";
  RunManifest manifest;
  manifest.job_name = job.name;
  manifest.job_path = job.path;
  manifest.job_hash = JobDefinitionHash(job);
  manifest.shard = job.shard;
  for (const Conversation& c : job.conversations) {
    manifest.conversations[c.id] = {
        ConversationDefinitionHash(job, c),
        id_prefix.empty() ? std::string() : id_prefix + c.id};
  }
  state.manifest = manifest;
  return state;
}

// The state a run of "job" leaves with "records" by conversation id, as
// ReadRunDirState reads it for a run with "flags" ("torn": the id whose
// records end in a torn tail of 10 bytes kept).
RunDirState Recorded(const Job& job,
                     std::map<std::string, std::vector<TurnRecord>> records,
                     const ResumeFlags& flags = Resume(),
                     const std::string& torn = "") {
  RunDirState state = WithManifest(job, "recorded-");
  for (size_t i = 0; i < job.conversations.size(); ++i) {
    auto it = records.find(job.conversations[i].id);
    if (it == records.end()) continue;
    RecordsOnDisk disk;
    disk.exists = true;
    disk.records = std::move(it->second);
    if (it->first == torn) disk.torn_tail = TornTail{.keep_bytes = 10};
    AddRecords(job, i, std::move(disk), flags, &state);
  }
  return state;
}

// What the plan kept of conversation "id": its status and kept turns.
struct Kept {
  bool found = false;
  ConversationStatus status = ConversationStatus::kPending;
  size_t turns = 0;
};
Kept KeptOf(const PriorRuns& prior, const std::string& id) {
  const ptrdiff_t i = prior.FindId(id);
  if (i < 0) return {};
  return {true, prior.outcomes().status(i), prior.turns(i).size()};
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

// An interrupted run's run.json lists "" for generated ids: the id is taken
// from the records, and only for a conversation that is sent again (half a
// million finished ones would each hold one for nothing).
TEST(DecideRunTest, FirstRecordIdOnlyForConversationsThatGoOn) {
  Job job = TwoConversations();
  RunDirState state = WithManifest(job, "");
  RecordsOnDisk finished, half;
  finished.exists = half.exists = true;
  finished.records = {PlanRecord(1, true, "x"), PlanRecord(2, true, "x")};
  half.records = {PlanRecord(1, true, "y")};
  AddRecords(job, 0, std::move(finished), Resume(), &state);
  AddRecords(job, 1, std::move(half), Resume(), &state);
  Result<RunDecision> d = DecideRun(job, std::move(state), Resume());
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_FALSE(d->conversation_ids.contains("a"));
  EXPECT_EQ(d->conversation_ids.at("b"), "y");
  // The kept turn still carries its id.
  EXPECT_EQ(d->plan.prior.turns(1).front().conversation_id, "y");
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
      Recorded(job,
               {{"a", {PlanRecord(1, true, "x"), PlanRecord(2, true, "x")}},
                {"b", {PlanRecord(1, true, "y")}}},
               Resume(), "b");
  ResumeFlags flags;
  flags.resume = true;
  Result<RunDecision> d = DecideRun(job, state, flags);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(KeptOf(d->plan.prior, "a").status, ConversationStatus::kOk);
  EXPECT_EQ(KeptOf(d->plan.prior, "a").turns, 0u);  // finished: counts only
  EXPECT_EQ(d->plan.prior.outcomes()[0].turns_ok, 2);
  EXPECT_EQ(KeptOf(d->plan.prior, "b").status, ConversationStatus::kPending);
  EXPECT_EQ(KeptOf(d->plan.prior, "b").turns, 1u);
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
      job, {{"a", {PlanRecord(1, true, "x"), PlanRecord(2, false, "x")}},
            {"b", {}}});
  ResumeFlags resume;
  resume.resume = true;
  Result<RunDecision> d = DecideRun(job, state, resume);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(KeptOf(d->plan.prior, "a").status, ConversationStatus::kError);
  // Finished in error: counted (with its message), its records not kept.
  EXPECT_EQ(KeptOf(d->plan.prior, "a").turns, 0u);
  EXPECT_EQ(d->plan.prior.outcomes()[0].turns_error, 1);
  EXPECT_EQ(d->plan.prior.outcomes()[0].error, "down");

  ResumeFlags retry;
  retry.retry_failed = true;
  state = Recorded(
      job,
      {{"a", {PlanRecord(1, true, "x"), PlanRecord(2, false, "x")}}, {"b", {}}},
      retry);
  d = DecideRun(job, state, retry);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->retry, (std::vector<std::string>{"a"}));
  EXPECT_EQ(KeptOf(d->plan.prior, "a").status, ConversationStatus::kPending);
  EXPECT_EQ(KeptOf(d->plan.prior, "a").turns, 1u);
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
  EXPECT_FALSE(KeptOf(d->plan.prior, "b").found);
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
  AddRecords(job, 1, std::unexpected(Error(ErrorCode::kIo, "bad")), Resume(),
             &state);
  ResumeFlags resume;
  resume.resume = true;
  Result<RunDecision> d = DecideRun(job, state, resume);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, ErrorCode::kIo);
  resume.only = {"a"};  // b is left alone
  d = DecideRun(job, state, resume);
  EXPECT_TRUE(d.has_value());
}

// Of a finished, a half-done and an untouched conversation, the plan keeps
// the records only of the half-done one (its history goes out again); the
// finished one is its status and counts, the untouched one is not named.
TEST(DecideRunTest, OnlyAConversationThatContinuesKeepsItsRecords) {
  Job job = TwoConversations();
  Conversation c = job.conversations[1];
  c.id = "c";
  job.conversations.push_back(c);
  RunDirState state = Recorded(
      job, {{"a", {PlanRecord(1, true, "x"), PlanRecord(2, true, "x")}},
            {"b", {PlanRecord(1, true, "y")}}});
  Result<RunDecision> d = DecideRun(job, state, Resume());
  ASSERT_TRUE(d.has_value()) << d.error().message;
  const PriorRuns& prior = d->plan.prior;
  ASSERT_EQ(prior.size(), 2u);
  EXPECT_EQ(prior.Continuing(), (std::vector<size_t>{1}));
  EXPECT_EQ(prior.outcomes().id(1), "b");
  ASSERT_EQ(prior.turns(1).size(), 1u);
  EXPECT_EQ(prior.turns(1)[0].conversation_id, "y");
  EXPECT_TRUE(prior.turns(0).empty());
  EXPECT_EQ(prior.outcomes()[0].turns_ok, 2);
  EXPECT_EQ(prior.Find(0), 0);
  EXPECT_EQ(prior.Find(1), 1);
  EXPECT_EQ(prior.Find(2), -1);  // c: untouched
  EXPECT_FALSE(KeptOf(prior, "c").found);
}

}  // namespace
}  // namespace chatbatch
