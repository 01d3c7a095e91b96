// The fanout layout (issue 12 §2): the one path function, listing, the
// layout a directory is in, and every reader and writer of a run directory
// on a fanout one: RunDir, --update-golden's export, merge of a flat and a
// fanout shard, and a resume that keeps run.json's layout.
#include "output/run_layout.h"

#include <gtest/gtest.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "chatbatch/resume.h"
#include "chatbatch/run_output.h"
#include "chatbatch/run_state.h"
#include "output/merge.h"
#include "output/run_dir.h"
#include "support/temp_dir.h"
#include "support/turn_records.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;
using testrec::OkTurn;
using testrec::TerseConversation;

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// The documented rule, computed here independently: the last two hex
// digits of XXH3_64 of the lowercased id.
std::string ExpectedFolder(std::string id) {
  for (char& c : id) c = static_cast<char>(std::tolower(c));
  char hex[17];
  std::snprintf(
      hex, sizeof hex, "%016llx",
      static_cast<unsigned long long>(XXH3_64bits(id.data(), id.size())));
  return std::string(hex + 14, 2);
}

TEST(RunLayoutTest, FanoutFolderIsTheHashOfTheLowercasedId) {
  for (const std::string id : {"c1", "heiner", "Heiner", "a.b_c-9", "X"}) {
    EXPECT_EQ(FanoutFolder(id), ExpectedFolder(id)) << id;
  }
  EXPECT_EQ(FanoutFolder("HeInEr"), FanoutFolder("heiner"));
  // docs/output-format.md's example: XXH3_64("c1") = 8ea6ff26c9a95602.
  EXPECT_EQ(FanoutFolder("c1"), "02");
  EXPECT_EQ(FanoutFolder("C1"), "02");
  // 256 folders, all used by a job of some thousands of conversations.
  std::set<std::string> folders;
  for (int i = 1; i <= 5000; ++i) {
    const std::string f = FanoutFolder("c" + std::to_string(i));
    ASSERT_EQ(f.size(), 2u);
    ASSERT_EQ(f.find_first_not_of("0123456789abcdef"), std::string::npos);
    folders.insert(f);
  }
  EXPECT_EQ(folders.size(), 256u);
}

TEST(RunLayoutTest, ConversationFileSpellsBothLayouts) {
  const std::string hh = FanoutFolder("Abc");
  EXPECT_EQ(ConversationFile("d", OutputLayout::kFlat, "Abc",
                             ConversationFileKind::kRecords),
            "d/Abc.jsonl");
  EXPECT_EQ(ConversationFile("d", OutputLayout::kFlat, "Abc",
                             ConversationFileKind::kTranscript),
            "d/Abc.md");
  EXPECT_EQ(ConversationFile("d", OutputLayout::kFanout, "Abc",
                             ConversationFileKind::kRecords),
            "d/" + hh + "/Abc.jsonl");
  EXPECT_EQ(ConversationFile("d", OutputLayout::kFanout, "Abc",
                             ConversationFileKind::kTranscript),
            "d/" + hh + "/Abc.md");
}

TEST(RunLayoutTest, AutoIsFlatUpToTenThousand) {
  EXPECT_EQ(ResolveLayout(OutputLayout::kAuto, 10000), OutputLayout::kFlat);
  EXPECT_EQ(ResolveLayout(OutputLayout::kAuto, 10001), OutputLayout::kFanout);
  EXPECT_EQ(ResolveLayout(OutputLayout::kFlat, 1000000), OutputLayout::kFlat);
  EXPECT_EQ(ResolveLayout(OutputLayout::kFanout, 1), OutputLayout::kFanout);
  for (OutputLayout l :
       {OutputLayout::kAuto, OutputLayout::kFlat, OutputLayout::kFanout}) {
    EXPECT_EQ(ParseLayoutName(LayoutName(l)), l);
  }
  EXPECT_FALSE(ParseLayoutName("Fanout").has_value());
}

class LayoutDirTest : public testing::Test {
 protected:
  std::string D(const std::string& name) const { return root_ / name; }
  static std::string Folder(const std::string& dir, const std::string& id) {
    return dir + "/" + FanoutFolder(id);
  }

  // A run of "ids" (one ok turn each) written by RunOutput in "layout",
  // with the run.json and summary.json a run writes.
  void WriteRun(const std::string& dir, OutputLayout layout,
                const std::vector<std::string>& ids,
                const std::string& shard = "") {
    auto out = RunOutput::Open(dir);
    ASSERT_TRUE(out.has_value());
    (*out)->SetLayout(layout);
    RunManifest manifest;
    manifest.job_name = "j";
    manifest.job_path = "j.yaml";
    manifest.job_hash = "h";
    manifest.shard = shard;
    manifest.layout = layout;
    RunSummary summary;
    summary.job_name = "j";
    summary.started_at = "2026-01-01T10:00:00.000Z";
    summary.ended_at = "2026-01-01T10:00:01.000Z";
    for (const std::string& id : ids) {
      manifest.conversations[id] = {"h-" + id, testrec::kConversationId};
      const Conversation conv = TerseConversation(id, {"hi"});
      ASSERT_TRUE((*out)->AppendTurn(conv, OkTurn(1, "hi", "Hello " + id)));
      ConversationOutcome c;
      c.id = id;
      c.status = ConversationStatus::kOk;
      c.turns_ok = 1;
      summary.conversations.push_back(c);
    }
    Write(fs::path(dir) / "run.json", ManifestToJson(manifest));
    ASSERT_TRUE((*out)->WriteSummary(summary));
  }

  testfs::TempDir tmp_{"chatbatch_layout_"};  // removed at the end of a test
  const fs::path root_ = tmp_.path();
};

TEST_F(LayoutDirTest, WriterMakesSubFoldersLazilyAndRunJsonSaysFanout) {
  const std::string dir = D("run");
  WriteRun(dir, OutputLayout::kFanout, {"alpha", "Beta"});
  for (const std::string id : {"alpha", "Beta"}) {
    EXPECT_TRUE(fs::exists(Folder(dir, id) + "/" + id + ".jsonl")) << id;
    EXPECT_TRUE(fs::exists(Folder(dir, id) + "/" + id + ".md")) << id;
    EXPECT_FALSE(fs::exists(dir + "/" + id + ".jsonl")) << id;
  }
  // Only the folders of those two ids exist.
  int folders = 0;
  for (const auto& e : fs::directory_iterator(dir)) folders += e.is_directory();
  EXPECT_EQ(folders, FanoutFolder("alpha") == FanoutFolder("beta") ? 1 : 2);
  EXPECT_NE(Read(dir + "/run.json").find("\n  \"layout\": \"fanout\",\n"),
            std::string::npos);
  Result<std::optional<RunManifest>> m = ReadManifest(dir);
  ASSERT_TRUE(m.has_value() && m->has_value());
  EXPECT_EQ((*m)->layout, OutputLayout::kFanout);
  // The summary counted the records in the sub-folders.
  EXPECT_NE(Read(dir + "/summary.json").find("\"turns_ok\": 2"),
            std::string::npos);
}

TEST_F(LayoutDirTest, FlatRunJsonHasNoLayoutAndReadsAsFlat) {
  const std::string dir = D("run");
  WriteRun(dir, OutputLayout::kFlat, {"a"});
  EXPECT_EQ(Read(dir + "/run.json").find("layout"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir + "/a.jsonl"));
  EXPECT_EQ(DirLayout(dir).value(), OutputLayout::kFlat);
  Result<std::optional<RunManifest>> m = ReadManifest(dir);
  ASSERT_TRUE(m.has_value() && m->has_value());
  EXPECT_EQ((*m)->layout, OutputLayout::kFlat);
}

TEST_F(LayoutDirTest, DirLayoutFromRunJsonOrTheFolders) {
  // run.json decides, read only up to "conversations".
  Write(D("r/run.json"),
        "{\"version\": 1, \"job\": \"j\", \"layout\": \"fanout\", "
        "\"conversations\": {\"a\": ");  // the rest is never read
  EXPECT_EQ(DirLayout(D("r")).value(), OutputLayout::kFanout);
  Write(D("bad/run.json"),
        "{\"version\": 1, \"layout\": \"auto\", \"conversations\": {}}");
  EXPECT_FALSE(DirLayout(D("bad")).has_value());
  // No run.json (a golden directory): summary.json and sub-folders.
  Write(D("g/summary.json"), "{}");
  Write(D("g/" + FanoutFolder("a") + "/a.jsonl"), "");
  EXPECT_EQ(DirLayout(D("g")).value(), OutputLayout::kFanout);
  Write(D("g/b.jsonl"), "");
  EXPECT_EQ(DirLayout(D("g")).value(), OutputLayout::kFlat);
  // A matrix parent whose sets are named like sub-folders is no run.
  Write(D("p/ab/summary.json"), "{}");
  Write(D("p/ab/c1.jsonl"), "");
  EXPECT_EQ(DirLayout(D("p")).value(), std::nullopt);
  EXPECT_FALSE(RunDir::Open(D("p")).has_value());
  EXPECT_EQ(DirLayout(D("missing")).value(), std::nullopt);
}

TEST_F(LayoutDirTest, ListingTakesOnlyFilesInTheirOwnFolder) {
  const std::string dir = D("run");
  const std::string a = FanoutFolder("a");
  // A folder that is not a's: never "a" there.
  const std::string other = a == "00" ? "01" : "00";
  Write(dir + "/" + a + "/a.jsonl", "");
  Write(dir + "/" + a + "/a.md", "");
  Write(dir + "/" + a + "/.a.jsonl.1.2.tmp", "");
  Write(dir + "/" + other + "/a.jsonl", "");
  Write(dir + "/" + FanoutFolder("s") + "/s.md", "");  // a stray transcript
  Write(dir + "/flat.jsonl", "");
  Write(dir + "/zz/z.jsonl", "");  // not a hex folder
  Result<ConversationListing> fan =
      ListConversationFiles(dir, OutputLayout::kFanout);
  ASSERT_TRUE(fan.has_value());
  EXPECT_EQ(fan->jsonl, (std::vector<std::string>{"a"}));
  EXPECT_EQ(fan->md, (std::vector<std::string>{"a", "s"}));
  EXPECT_EQ(fan->folders.size(),
            (std::set<std::string>{a, other, FanoutFolder("s")}).size());
  Result<ConversationListing> flat =
      ListConversationFiles(dir, OutputLayout::kFlat);
  ASSERT_TRUE(flat.has_value());
  EXPECT_EQ(flat->jsonl, (std::vector<std::string>{"flat"}));
  EXPECT_TRUE(flat->folders.empty());
  EXPECT_TRUE(ListConversationFiles(D("missing"), OutputLayout::kFanout)
                  ->jsonl.empty());
}

TEST_F(LayoutDirTest, RunDirReadsAFanoutRun) {
  const std::string dir = D("run");
  WriteRun(dir, OutputLayout::kFanout, {"b", "a", "C"});
  Result<RunDir> run = RunDir::Open(dir);
  ASSERT_TRUE(run.has_value()) << run.error().message;
  EXPECT_EQ(run->layout(), OutputLayout::kFanout);
  EXPECT_EQ(run->conversations(), (std::vector<std::string>{"C", "a", "b"}));
  Result<std::vector<TurnRecord>> records =
      run->ReadRecords("a", RecordReading::kStrict);
  ASSERT_TRUE(records.has_value()) << records.error().message;
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].reply.content, "Hello a");
  std::optional<std::string> md = run->ReadTranscript("C");
  ASSERT_TRUE(md.has_value());
  EXPECT_NE(md->find("Hello C"), std::string::npos);
}

TEST_F(LayoutDirTest, GoldenExportKeepsTheLayoutAndReadsBack) {
  WriteRun(D("run"), OutputLayout::kFanout, {"a", "b"});
  ASSERT_TRUE(ExportConversations(D("run"), D("golden"), {"a", "b"}));
  EXPECT_FALSE(fs::exists(D("golden/run.json")));
  EXPECT_EQ(Read(Folder(D("golden"), "a") + "/a.jsonl"),
            Read(Folder(D("run"), "a") + "/a.jsonl"));
  Result<RunDir> golden = RunDir::Open(D("golden"));
  ASSERT_TRUE(golden.has_value());
  EXPECT_EQ(golden->layout(), OutputLayout::kFanout);
  EXPECT_EQ(golden->conversations(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(golden->ReadTranscript("b").has_value());
  // A flat golden directory stays flat when a fanout run updates it.
  WriteRun(D("flat"), OutputLayout::kFlat, {"a"});
  ASSERT_TRUE(ExportConversations(D("flat"), D("g2"), {"a"}));
  ASSERT_TRUE(ExportConversations(D("run"), D("g2"), {"a", "b"}));
  EXPECT_TRUE(fs::exists(D("g2/b.jsonl")));
  EXPECT_EQ(RunDir::Open(D("g2"))->conversations(),
            (std::vector<std::string>{"a", "b"}));
}

TEST_F(LayoutDirTest, MergeOfAFlatAndAFanoutShardIsFanout) {
  WriteRun(D("s1"), OutputLayout::kFlat, {"a", "b"}, "1/2");
  WriteRun(D("s2"), OutputLayout::kFanout, {"c"}, "2/2");
  Result<MergeCounts> merged = MergeRuns({D("s1"), D("s2")}, D("out"));
  ASSERT_TRUE(merged.has_value()) << merged.error().message;
  EXPECT_EQ(merged->turns, 3);
  Result<RunDir> out = RunDir::Open(D("out"));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->layout(), OutputLayout::kFanout);
  EXPECT_EQ(out->conversations(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(Read(Folder(D("out"), "a") + "/a.md"), Read(D("s1/a.md")));
  EXPECT_EQ(Read(Folder(D("out"), "c") + "/c.jsonl"),
            Read(Folder(D("s2"), "c") + "/c.jsonl"));
  // Two flat shards of a small job stay flat.
  WriteRun(D("t1"), OutputLayout::kFlat, {"a"}, "1/2");
  WriteRun(D("t2"), OutputLayout::kFlat, {"b"}, "2/2");
  ASSERT_TRUE(MergeRuns({D("t1"), D("t2")}, D("out2")).has_value());
  EXPECT_TRUE(fs::exists(D("out2/a.jsonl")));
  EXPECT_EQ(DirLayout(D("out2")).value(), OutputLayout::kFlat);
}

Job SmallJob(OutputLayout layout, const std::vector<std::string>& ids) {
  Job job;
  job.name = "j";
  job.path = "j.yaml";
  job.layout = layout;
  for (const std::string& id : ids) {
    Conversation c = TerseConversation(id, {"one", "two"});
    job.conversations.push_back(std::move(c));
  }
  return job;
}

TEST_F(LayoutDirTest, ResumeGoesOnInRunJsonsLayout) {
  const std::string dir = D("run");
  Job job = SmallJob(OutputLayout::kFanout, {"a", "b"});
  {
    auto out = RunOutput::Open(dir);
    ASSERT_TRUE(out.has_value());
    Result<RunPlan> plan = PlanRun(&job, out->get(), {});
    ASSERT_TRUE(plan.has_value()) << plan.error().message;
    EXPECT_EQ((*out)->layout(), OutputLayout::kFanout);
    ASSERT_TRUE(
        (*out)->AppendTurn(job.conversations[0], OkTurn(1, "one", "first")));
  }
  // The job now asks for flat: the directory stays fanout, with a warning.
  Job flat = SmallJob(OutputLayout::kFlat, {"a", "b"});
  ResumeFlags resume;
  resume.resume = true;
  Result<RunDirState> state = ReadRunDirState(flat, dir, resume);
  ASSERT_TRUE(state.has_value());
  // Continuing: a's records were found in its sub-folder and read.
  ASSERT_EQ(state->prior.size(), 1u);
  EXPECT_EQ(state->prior.turns(0).size(), 1u);
  Result<RunDecision> d = DecideRun(flat, *state, resume);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->layout, OutputLayout::kFanout);
  EXPECT_NE(d->layout_warning.find("layout: flat"), std::string::npos);
  EXPECT_FALSE(d->no_records);
  auto out = RunOutput::Open(dir);
  ASSERT_TRUE(out.has_value());
  Result<RunPlan> plan = PlanRun(&flat, out->get(), resume);
  ASSERT_TRUE(plan.has_value()) << plan.error().message;
  EXPECT_EQ((*out)->layout(), OutputLayout::kFanout);
  const ptrdiff_t a = plan->prior.FindId("a");
  ASSERT_GE(a, 0);
  ASSERT_EQ(plan->prior.turns(static_cast<size_t>(a)).size(), 1u);
  ASSERT_TRUE(
      (*out)->AppendTurn(flat.conversations[0], OkTurn(2, "two", "second")));
  const std::string records = Read(Folder(dir, "a") + "/a.jsonl");
  EXPECT_EQ(std::count(records.begin(), records.end(), '\n'), 2);
  EXPECT_FALSE(fs::exists(dir + "/a.jsonl"));
  EXPECT_NE(Read(dir + "/run.json").find("\"layout\": \"fanout\""),
            std::string::npos);
}

// --overwrite removes the files that exist, in the layout they are in (a
// stray transcript too), and then writes in the job's layout.
TEST_F(LayoutDirTest, OverwriteRemovesWhatExistsInTheOldLayout) {
  const std::string dir = D("run");
  WriteRun(dir, OutputLayout::kFanout, {"a"});
  Write(Folder(dir, "b") + "/b.md", "stray");
  Job job = SmallJob(OutputLayout::kFlat, {"a", "b", "c"});
  ResumeFlags overwrite;
  overwrite.overwrite = true;
  Result<RunDirState> state = ReadRunDirState(job, dir, overwrite);
  ASSERT_TRUE(state.has_value());
  Result<RunDecision> d = DecideRun(job, *state, overwrite);
  ASSERT_TRUE(d.has_value()) << d.error().message;
  EXPECT_EQ(d->start_over, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d->files_layout, OutputLayout::kFanout);
  EXPECT_EQ(d->layout, OutputLayout::kFlat);
  EXPECT_TRUE(d->no_records);
  auto out = RunOutput::Open(dir);
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(PlanRun(&job, out->get(), overwrite).has_value());
  EXPECT_FALSE(fs::exists(Folder(dir, "a") + "/a.jsonl"));
  EXPECT_FALSE(fs::exists(Folder(dir, "a") + "/a.md"));
  EXPECT_FALSE(fs::exists(Folder(dir, "b") + "/b.md"));
  EXPECT_EQ(Read(dir + "/run.json").find("layout"), std::string::npos);
  ASSERT_TRUE((*out)->AppendTurn(job.conversations[2], OkTurn(1, "one", "x")));
  EXPECT_TRUE(fs::exists(dir + "/c.jsonl"));
}

// A fresh run starts its record tally empty without reading a file; a
// record of a conversation out of scope (--only) is still counted.
TEST_F(LayoutDirTest, NoRecordsOnlyWhenNoJsonlIsLeft) {
  Job job = SmallJob(OutputLayout::kFlat, {"a", "b"});
  RunDirState fresh;
  fresh.dir = "x";
  Result<RunDecision> d = DecideRun(job, fresh, {});
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->no_records);

  const std::string dir = D("run");
  WriteRun(dir, OutputLayout::kFlat, {"a"});
  ResumeFlags only_b;
  only_b.overwrite = true;
  only_b.only = {"b"};
  Result<RunDirState> state = ReadRunDirState(job, dir, only_b);
  ASSERT_TRUE(state.has_value());
  EXPECT_TRUE(state->other_jsonl);
  d = DecideRun(job, *state, only_b);
  ASSERT_TRUE(d.has_value());
  EXPECT_FALSE(d->no_records);
  auto out = RunOutput::Open(dir);
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(PlanRun(&job, out->get(), only_b).has_value());
  RunSummary summary;
  summary.started_at = "2026-01-01T10:00:00.000Z";
  for (const char* id : {"a", "b"}) {
    ConversationOutcome c;
    c.id = id;
    summary.conversations.push_back(c);
  }
  ASSERT_TRUE((*out)->WriteSummary(summary));
  EXPECT_NE(Read(dir + "/summary.json").find("\"turns_ok\": 1"),
            std::string::npos);
}

}  // namespace
}  // namespace chatbatch
