// `matrix:` and `conversations_from:` end to end: the real binary against
// the mock server, one subfolder per set, compare between two sets.
#include <set>

#include "support/mock_fixture.h"

namespace chatbatch {
namespace {

class MatrixIntegrationTest : public IntegrationTest {
 protected:
  std::string D(const std::string& name) { return (dir_ / name).string(); }
};

TEST_F(MatrixIntegrationTest, EverySetRunsEveryImportedConversation) {
  WriteFile(dir_ / "prompts.csv",
            "id,turn1,turn2,expect,notes\n"
            "heiner,\"Hello, i am Heiner. How are you?\",Tell me somethings "
            "about my name,Heiner,the script's example\n"
            "math,What is 2+2?,,\"{regex: '^4'}\",\n");
  fs::path job = WriteJob(R"(
name: mx
endpoint: ENDPOINT
defaults: {model: "", provider: Copilot, stream: true}
matrix:
  - {name: copilot}
  - {name: fixed, provider: Stateless, mock: {reply: "4 is the answer"}}
conversations_from: prompts.csv
)");
  const json before = Stats();
  RunResult run = Chatbatch(
      {"run", job.string(), "-o", D("out"), "-q", "--junit", D("junit.xml")});
  // "copilot" fails the math regex; "fixed" fails the Heiner expectation.
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.out.find("copilot: 1 ok, 1 failed, 0 error; transcripts in " +
                         D("out") + "/copilot/"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("fixed: 1 ok, 1 failed, 0 error"), std::string::npos)
      << run.out;
  EXPECT_EQ(Stats()["requests"].get<int>() - before["requests"].get<int>(), 6);

  // Each set is a complete run directory, sent with its own parameters.
  for (const std::string set : {"copilot", "fixed"}) {
    for (const std::string file : {"heiner.jsonl", "heiner.md", "math.jsonl",
                                   "summary.json", "run.json"}) {
      EXPECT_TRUE(fs::exists(dir_ / "out" / set / file)) << set << "/" << file;
    }
  }
  std::vector<json> heiner = Records(dir_ / "out/copilot/heiner.jsonl");
  ASSERT_EQ(heiner.size(), 2u);
  EXPECT_NE(heiner[1]["reply"].get<std::string>().find("Your name is Heiner"),
            std::string::npos);
  EXPECT_EQ(heiner[1]["status"], "ok");
  std::vector<json> fixed = Records(dir_ / "out/fixed/heiner.jsonl");
  ASSERT_EQ(fixed.size(), 2u);
  EXPECT_EQ(fixed[1]["reply"], "4 is the answer");
  EXPECT_EQ(fixed[1]["status"], "failed");
  EXPECT_EQ(Records(dir_ / "out/fixed/math.jsonl")[0]["status"], "ok");

  // One JUnit document, one testsuite per set.
  const std::string xml = ReadFile(dir_ / "junit.xml");
  EXPECT_NE(xml.find("<testsuites name=\"chatbatch\" tests=\"4\" "
                     "failures=\"2\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testsuite name=\"mx.copilot\""), std::string::npos);
  EXPECT_NE(xml.find("<testsuite name=\"mx.fixed\""), std::string::npos);

  // Two sets side by side.
  RunResult cmp = Chatbatch({"compare", D("out/copilot"), D("out/fixed")});
  EXPECT_EQ(cmp.exit_code, 0) << cmp.err;
  EXPECT_NE(cmp.out.find("conversations: 0 unchanged, 2 changed"),
            std::string::npos)
      << cmp.out;
  EXPECT_NE(cmp.out.find("{+4 is the answer+}"), std::string::npos) << cmp.out;

  // Resuming a finished matrix run sends nothing.
  const json done = Stats();
  RunResult again =
      Chatbatch({"run", job.string(), "-o", D("out"), "-q", "--resume"});
  EXPECT_EQ(again.exit_code, 1) << again.err;  // still the same failures
  EXPECT_EQ(Stats()["requests"], done["requests"]);
}

TEST_F(MatrixIntegrationTest, JsonlAndTextPromptFiles) {
  std::string text;
  for (int i = 1; i <= 300; ++i) text += "prompt " + std::to_string(i) + "\n";
  WriteFile(dir_ / "p.txt", text);
  WriteFile(dir_ / "p.jsonl",
            "{\"id\": \"two\", \"messages\": [\"a\", \"b\"]}\n\"one\"\n");
  fs::path txt_job = WriteJob(
      "endpoint: ENDPOINT\nconcurrency: 32\ndefaults: {provider: Stateless}\n"
      "conversations_from: p.txt\n",
      "txt.yaml");
  RunResult txt = Chatbatch({"run", txt_job.string(), "-o", D("txt"), "-q"});
  EXPECT_EQ(txt.exit_code, 0) << txt.err;
  EXPECT_NE(txt.out.find("300 ok, 0 failed"), std::string::npos) << txt.out;
  std::vector<json> last = Records(dir_ / "txt/p-300.jsonl");
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0]["user"], "prompt 300");

  fs::path jsonl_job = WriteJob(
      "endpoint: ENDPOINT\ndefaults: {provider: Stateless}\n"
      "conversations_from: p.jsonl\n",
      "jsonl.yaml");
  RunResult jsonl =
      Chatbatch({"run", jsonl_job.string(), "-o", D("jsonl"), "-q"});
  EXPECT_EQ(jsonl.exit_code, 0) << jsonl.err;
  EXPECT_EQ(Records(dir_ / "jsonl/two.jsonl").size(), 2u);
  EXPECT_EQ(Records(dir_ / "jsonl/p-2.jsonl")[0]["user"], "one");

  // A bad row is reported with the prompt file's name and line, exit 2,
  // before anything is sent.
  WriteFile(dir_ / "p.jsonl", "\"fine\"\n{\"messages\": []}\n");
  RunResult bad = Chatbatch({"run", jsonl_job.string(), "-o", D("bad")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("p.jsonl:2:14: row 2: 'messages': is empty"),
            std::string::npos)
      << bad.err;
  EXPECT_FALSE(fs::exists(dir_ / "bad"));
}

TEST_F(MatrixIntegrationTest, ShardsPartitionTheJob) {
  std::string text;
  for (int i = 1; i <= 40; ++i) text += "prompt " + std::to_string(i) + "\n";
  WriteFile(dir_ / "p.txt", text);
  fs::path job = WriteJob(
      "endpoint: ENDPOINT\ndefaults: {provider: Stateless}\n"
      "conversations_from: p.txt\n");
  std::set<std::string> seen;
  for (const std::string k : {"1", "2", "3"}) {
    RunResult r = Chatbatch(
        {"run", job.string(), "-o", D("s" + k), "-q", "--shard", k + "/3"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const auto& e : fs::directory_iterator(dir_ / ("s" + k))) {
      if (e.path().extension() != ".jsonl") continue;
      EXPECT_TRUE(seen.insert(e.path().stem().string()).second)
          << e.path() << " ran in two shards";
    }
  }
  EXPECT_EQ(seen.size(), 40u);

  // Merged, the shards are one run: same as an unsharded run of the job.
  RunResult merge =
      Chatbatch({"merge", D("s1"), D("s2"), D("s3"), "-o", D("merged")});
  ASSERT_EQ(merge.exit_code, 0) << merge.err;
  EXPECT_NE(merge.out.find("merged 3 runs: 40 conversations, 40 turns"),
            std::string::npos)
      << merge.out;
  json summary = json::parse(ReadFile(dir_ / "merged/summary.json"));
  EXPECT_EQ(summary["status"], "finished");
  EXPECT_EQ(summary["counts"]["conversations_ok"], 40);
  EXPECT_EQ(summary["counts"]["turns_ok"], 40);
  EXPECT_EQ(summary["conversations"].size(), 40u);
  EXPECT_EQ(summary["latency"]["turns"], 40);
  EXPECT_EQ(summary["latency"]["runs"].size(), 3u);
  ASSERT_EQ(Chatbatch({"run", job.string(), "-o", D("whole"), "-q"}).exit_code,
            0);
  RunResult cmp = Chatbatch({"compare", D("whole"), D("merged")});
  EXPECT_EQ(cmp.exit_code, 0) << cmp.err;
  EXPECT_NE(cmp.out.find("conversations: 40 unchanged, 0 changed, 0 missing, "
                         "0 new"),
            std::string::npos)
      << cmp.out;
  EXPECT_EQ(Chatbatch({"report", D("merged"), "--junit", D("m.xml")}).exit_code,
            0);

  // Overlapping inputs, or a non-empty target, are refused.
  RunResult twice = Chatbatch({"merge", D("s1"), D("s1"), "-o", D("m2")});
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_NE(twice.err.find("is in both"), std::string::npos) << twice.err;
  EXPECT_EQ(Chatbatch({"merge", D("s1"), "-o", D("merged")}).exit_code, 2);

  RunResult bad = Chatbatch({"run", job.string(), "--shard", "4/3"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--shard: expected K/N"), std::string::npos);
}

}  // namespace
}  // namespace chatbatch
