// Inputs that used to be accepted but were wrong (issue 9): loose JSONL
// rows, a missing --golden directory, a resume or merge of the wrong
// shards. Each is refused with exit 2 before anything is sent or written.
#include "support/mock_fixture.h"

namespace chatbatch {
namespace {

class InputChecksTest : public IntegrationTest {
 protected:
  std::string D(const std::string& name) { return (dir_ / name).string(); }
  int Requests() { return Stats()["requests"].get<int>(); }

  // A job of 12 one-turn conversations (p-1 ... p-12) from a text file.
  fs::path TwelvePromptJob() {
    std::string text;
    for (int i = 1; i <= 12; ++i) text += "prompt " + std::to_string(i) + "\n";
    WriteFile(dir_ / "p.txt", text);
    return WriteJob(
        "name: twelve\nendpoint: ENDPOINT\ndefaults: {provider: Stateless}\n"
        "conversations_from: p.txt\n");
  }
};

TEST_F(InputChecksTest, JsonlRowsMustBeJsonObjectsStringsOrLists) {
  WriteFile(dir_ / "p.jsonl",
            "\"fine\"\nnot json\n42\n{messages: [yaml-style]}\n[\"ok\"]\n");
  fs::path job = WriteJob(
      "name: loose\nendpoint: ENDPOINT\ndefaults: {provider: Stateless}\n"
      "conversations_from: p.jsonl\n");
  const std::string file = D("p.jsonl");
  const int before = Requests();
  for (const char* command : {"validate", "run"}) {
    std::vector<std::string> args{command, job.string()};
    if (std::string(command) == "run") {
      args.insert(args.end(), {"-o", D("out")});
    }
    RunResult r = Chatbatch(args);
    EXPECT_EQ(r.exit_code, 2) << command << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(file + ":2:2: row 2: not valid JSON: syntax error"),
              std::string::npos)
        << r.err;
    EXPECT_NE(
        r.err.find(file + ":3:1: row 3: expected a JSON object with "
                          "'messages', a string or a list of strings, got a "
                          "number (42)"),
        std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(file + ":4:2: row 4: not valid JSON: syntax error"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find(file + ":1:"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(file + ":5:"), std::string::npos) << r.err;
  }
  EXPECT_EQ(Requests(), before);
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(InputChecksTest, MissingGoldenDirIsRefusedBeforeSending) {
  fs::path job = TwelvePromptJob();
  const int before = Requests();
  RunResult r =
      Chatbatch({"run", job.string(), "-o", D("out"), "--golden", D("golden")});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--golden: directory '" + D("golden") +
                       "' does not exist (create it with --update-golden)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Requests(), before);
  EXPECT_FALSE(fs::exists(dir_ / "out"));  // not even chatbatch.log

  // A file is not a golden directory either.
  WriteFile(dir_ / "afile", "x");
  r = Chatbatch({"run", job.string(), "-o", D("out"), "--golden", D("afile")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--golden: '" + D("afile") + "' is not a directory"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Requests(), before);
  EXPECT_FALSE(fs::exists(dir_ / "out"));

  // --update-golden creates it.
  r = Chatbatch({"run", job.string(), "-o", D("out"), "-q", "--golden",
                 D("golden"), "--update-golden"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), before + 12);
  EXPECT_TRUE(fs::exists(dir_ / "golden" / "summary.json"));
}

TEST_F(InputChecksTest, MissingGoldenSubfolderOfAMatrixSetIsRefused) {
  fs::path job = WriteJob(
      "name: mx\nendpoint: ENDPOINT\ndefaults: {provider: Stateless}\n"
      "matrix: [{name: a}, {name: b}]\nconversations: [{messages: [hi]}]\n");
  fs::create_directories(dir_ / "golden" / "a");
  const int before = Requests();
  RunResult r =
      Chatbatch({"run", job.string(), "-o", D("out"), "--golden", D("golden")});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(
      r.err.find("--golden: directory '" + D("golden") + "/b' does not exist"),
      std::string::npos)
      << r.err;
  EXPECT_EQ(Requests(), before);
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(InputChecksTest, ResumeOfAnotherShardIsRefusedNamingBoth) {
  fs::path job = TwelvePromptJob();
  RunResult r =
      Chatbatch({"run", job.string(), "-o", D("s"), "-q", "--shard", "1/3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(ReadFile(dir_ / "s" / "run.json"))["shard"], "1/3");
  const int before = Requests();

  r = Chatbatch(
      {"run", job.string(), "-o", D("s"), "--resume", "--shard", "2/3"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(D("s") + " holds a run of " + job.string() +
                       " as shard 1/3, but this run is shard 2/3; resume "
                       "each shard in "
                       "its own output directory, or pass --overwrite to "
                       "start over"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("--force"), std::string::npos) << r.err;
  // --force does not make another shard's directory this one's.
  r = Chatbatch({"run", job.string(), "-o", D("s"), "--resume", "--force",
                 "--shard", "02/3"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("but this run is shard 2/3"), std::string::npos)
      << r.err;
  r = Chatbatch({"run", job.string(), "-o", D("s"), "--resume"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(" as shard 1/3, but this run is the whole job"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Requests(), before);

  // The same shard resumes (nothing left to do).
  r = Chatbatch(
      {"run", job.string(), "-o", D("s"), "-q", "--resume", "--shard", "1/3"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), before);

  // A whole run records no shard.
  ASSERT_EQ(Chatbatch({"run", job.string(), "-o", D("w"), "-q"}).exit_code, 0);
  EXPECT_TRUE(
      json::parse(ReadFile(dir_ / "w" / "run.json"))["shard"].is_null());
}

// A merged directory is not a run: resuming into it (even with --force)
// would rewrite its run.json and summary.json.
TEST_F(InputChecksTest, RunIntoAMergedDirectoryIsRefused) {
  fs::path job = TwelvePromptJob();
  for (const std::string k : {"1", "2"}) {
    ASSERT_EQ(Chatbatch({"run", job.string(), "-o", D("s" + k), "-q", "--shard",
                         k + "/2"})
                  .exit_code,
              0);
  }
  ASSERT_EQ(Chatbatch({"merge", D("s1"), D("s2"), "-o", D("m")}).exit_code, 0);
  const std::string run_json = ReadFile(dir_ / "m" / "run.json");
  const std::string summary = ReadFile(dir_ / "m" / "summary.json");
  for (const char* how : {"--resume", "--force"}) {
    RunResult r = Chatbatch({"run", job.string(), "-o", D("m"), how});
    EXPECT_EQ(r.exit_code, 2) << how << r.err;
    EXPECT_NE(r.err.find(D("m") + " holds the merge of several runs "
                                  "(chatbatch merge), not a run to continue"),
              std::string::npos)
        << r.err;
  }
  EXPECT_EQ(ReadFile(dir_ / "m" / "run.json"), run_json);
  EXPECT_EQ(ReadFile(dir_ / "m" / "summary.json"), summary);
}

TEST_F(InputChecksTest, MergeRefusesAMissingOrDuplicatedShard) {
  fs::path job = TwelvePromptJob();
  for (const std::string k : {"1", "2", "3"}) {
    RunResult r = Chatbatch(
        {"run", job.string(), "-o", D("s" + k), "-q", "--shard", k + "/3"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  RunResult r = Chatbatch({"merge", D("s1"), D("s2"), "-o", D("m")});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("merge: shard 3/3 missing (the inputs are 2 of 3 "
                       "shards); pass --allow-partial to merge them anyway"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "m"));

  fs::copy(dir_ / "s2", dir_ / "s2copy");
  r = Chatbatch(
      {"merge", D("s1"), D("s2"), D("s2copy"), D("s3"), "-o", D("m")});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("merge: shard 2/3 is in both " + D("s2") + " and " +
                       D("s2copy")),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "m"));

  // Shards of another split, or a whole run, are not the missing shard.
  ASSERT_EQ(
      Chatbatch({"run", job.string(), "-o", D("half"), "-q", "--shard", "1/2"})
          .exit_code,
      0);
  r = Chatbatch({"merge", D("s1"), D("s2"), D("half"), "-o", D("m")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("merge: " + D("half") + " is shard 1/2, but " + D("s1") +
                       " is shard 1/3: shards of different runs"),
            std::string::npos)
      << r.err;
  ASSERT_EQ(Chatbatch({"run", job.string(), "-o", D("whole"), "-q"}).exit_code,
            0);
  r = Chatbatch({"merge", D("s1"), D("whole"), "-o", D("m")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("merge: " + D("whole") +
                       " is not a shard (its run.json names none), but " +
                       D("s1") + " is shard 1/3"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "m"));

  // Allowed, the summary names what is missing.
  r = Chatbatch(
      {"merge", D("s1"), D("s3"), "--allow-partial", "-o", D("partial")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("merged 2 runs: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("partial: shard 2/3 is missing\n"), std::string::npos)
      << r.out;
  json summary = json::parse(ReadFile(dir_ / "partial" / "summary.json"));
  EXPECT_EQ(summary["status"], "partial");
  EXPECT_EQ(summary["missing_shards"], json::array({"2/3"}));

  // All three: complete, nothing said about shards.
  r = Chatbatch({"merge", D("s3"), D("s1"), D("s2"), "-o", D("all")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("partial"), std::string::npos) << r.out;
  summary = json::parse(ReadFile(dir_ / "all" / "summary.json"));
  EXPECT_EQ(summary["status"], "finished");
  EXPECT_FALSE(summary.contains("missing_shards"));
  EXPECT_EQ(summary["conversations"].size(), 12u);
}

}  // namespace
}  // namespace chatbatch
