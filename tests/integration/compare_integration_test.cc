// `chatbatch compare`, `run --golden/--update-golden` and
// `run --wait-for-server` with the real binaries against the mock server.
#include <regex>

#include "cli/exit_codes.h"
#include "net/wait_for_server.h"
#include "support/mock_fixture.h"

namespace chatbatch {
namespace {

// Two conversations; "alpha"'s reply text comes from the job so two runs
// can differ while every user message stays the same.
constexpr char kCompareJob[] = R"(
name: cmp
endpoint: ENDPOINT
defaults: {model: "", provider: Stateless}
conversations:
  - id: alpha
    params: {mock: {reply: "ALPHA"}}
    messages: [one, two]
  - id: beta
    params: {mock: {reply: "always the same"}}
    messages: [hello]
)";

class CompareIntegrationTest : public IntegrationTest {
 protected:
  fs::path Job(const std::string& alpha_reply, const std::string& name) {
    std::string yaml = kCompareJob;
    yaml.replace(yaml.find("ALPHA"), 5, alpha_reply);
    return WriteJob(yaml, name);
  }
  // Runs the job with "alpha_reply" into dir_/"out" (plus "extra" args).
  RunResult RunJob(const std::string& alpha_reply, const std::string& out,
                   std::vector<std::string> extra = {}) {
    fs::path job = Job(alpha_reply, out + ".yaml");
    std::vector<std::string> args = {"run", job.string(), "-o",
                                     (dir_ / out).string(), "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Chatbatch(args);
  }
  std::string D(const std::string& name) { return (dir_ / name).string(); }
};

TEST_F(CompareIntegrationTest, CompareFormatsAndGates) {
  ASSERT_EQ(RunJob("the quick brown fox", "a").exit_code, 0);
  ASSERT_EQ(RunJob("the slow brown fox", "b").exit_code, 0);
  // A second run of "a"'s job: its own conversation ids, times and files,
  // the same replies.
  ASSERT_EQ(RunJob("the quick brown fox", "a2").exit_code, 0);

  RunResult same = Chatbatch({"compare", D("a"), D("a2")});
  EXPECT_EQ(same.exit_code, 0) << same.err;
  EXPECT_NE(same.out.find("conversations: 2 unchanged, 0 changed"),
            std::string::npos)
      << same.out;
  RunResult same_js = Chatbatch({"compare", D("a"), D("a2"), "--json"});
  ASSERT_EQ(same_js.exit_code, 0) << same_js.err;
  json same_doc = json::parse(same_js.out);
  EXPECT_EQ(same_doc["counts"]["turns"]["unchanged"], 3);
  EXPECT_EQ(same_doc["counts"]["turns"]["changed"], 0);
  EXPECT_EQ(same_doc["conversations"][0]["transcript_changed"], false);
  EXPECT_EQ(same_doc["conversations"][1]["transcript_changed"], false);

  RunResult text = Chatbatch({"compare", D("a"), D("b")});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("changed alpha"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("the [-quick-]{+slow+} brown fox"), std::string::npos)
      << text.out;
  EXPECT_EQ(text.out.find("beta"), std::string::npos);

  RunResult js = Chatbatch({"compare", D("a"), D("b"), "--json"});
  ASSERT_EQ(js.exit_code, 0) << js.err;
  json doc = json::parse(js.out);
  EXPECT_EQ(doc["counts"]["turns"]["changed"], 2);
  EXPECT_EQ(doc["counts"]["turns"]["unchanged"], 1);
  EXPECT_EQ(doc["counts"]["conversations"]["changed"], 1);
  EXPECT_EQ(doc["conversations"][0]["id"], "alpha");
  EXPECT_EQ(doc["conversations"][0]["turns"][0]["run"]["reply"],
            "the slow brown fox");
  // alpha.md shows the new replies; beta.md is byte for byte the same.
  EXPECT_EQ(doc["conversations"][0]["transcript_changed"], true);
  EXPECT_EQ(doc["conversations"][1]["id"], "beta");
  EXPECT_EQ(doc["conversations"][1]["transcript_changed"], false);

  RunResult md = Chatbatch({"compare", D("a"), D("b"), "--markdown"});
  EXPECT_EQ(md.exit_code, 0);
  EXPECT_NE(md.out.find("| changed | 1 | 2 |"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("<details>"), std::string::npos);

  EXPECT_EQ(
      Chatbatch({"compare", D("a"), D("b"), "--max-changed", "2"}).exit_code,
      0);
  RunResult gate = Chatbatch({"compare", D("a"), D("b"), "--max-changed", "1"});
  EXPECT_EQ(gate.exit_code, 1);
  EXPECT_NE(gate.out.find("more than --max-changed 1"), std::string::npos);
  EXPECT_EQ(Chatbatch({"compare", D("a"), D("b"), "--min-similarity", "0.5"})
                .exit_code,
            0);
  EXPECT_EQ(Chatbatch({"compare", D("a"), D("b"), "--min-similarity", "0.95"})
                .exit_code,
            1);
  RunResult json_gate = Chatbatch(
      {"compare", D("a"), D("b"), "--json", "--min-similarity", "0.95"});
  EXPECT_EQ(json_gate.exit_code, 1);
  EXPECT_EQ(json::parse(json_gate.out)["gates"]["passed"], false);
}

TEST_F(CompareIntegrationTest, CompareUsageErrorsExit2) {
  ASSERT_EQ(RunJob("x", "a").exit_code, 0);
  RunResult missing = Chatbatch({"compare", D("a"), D("nope")});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find(D("nope")), std::string::npos) << missing.err;
  EXPECT_EQ(Chatbatch({"compare", D("a")}).exit_code, 2);
  EXPECT_EQ(
      Chatbatch({"compare", D("a"), D("a"), "--json", "--markdown"}).exit_code,
      2);
  EXPECT_EQ(
      Chatbatch({"compare", D("a"), D("a"), "--min-similarity", "2"}).exit_code,
      2);
}

TEST_F(CompareIntegrationTest, GoldenRoundTrip) {
  std::string golden = D("golden");
  RunResult none = RunJob("first", "r0", {"--golden", golden});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("--update-golden"), std::string::npos) << none.err;

  RunResult update =
      RunJob("first", "r1", {"--golden", golden, "--update-golden"});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  for (const char* f :
       {"alpha.md", "alpha.jsonl", "beta.md", "beta.jsonl", "summary.json"}) {
    EXPECT_TRUE(fs::exists(dir_ / "golden" / f)) << f;
  }

  RunResult same = RunJob("first", "r2", {"--golden", golden});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  EXPECT_NE(same.out.find("no differences"), std::string::npos) << same.out;

  RunResult differs = RunJob("second", "r3", {"--golden", golden});
  EXPECT_EQ(differs.exit_code, 1);
  EXPECT_NE(differs.out.find("changed alpha"), std::string::npos)
      << differs.out;
  EXPECT_NE(differs.out.find("alpha.md) differs"), std::string::npos);

  // Accept the new replies; the next run matches again.
  ASSERT_EQ(
      RunJob("second", "r4", {"--golden", golden, "--update-golden"}).exit_code,
      0);
  EXPECT_EQ(RunJob("second", "r5", {"--golden", golden}).exit_code, 0);
  // --update-golden needs --golden.
  EXPECT_EQ(RunJob("second", "r6", {"--update-golden"}).exit_code, 2);
}

TEST_F(CompareIntegrationTest, WaitForServerAgainstTheMock) {
  WaitForServerOptions options;
  options.timeout = std::chrono::seconds(5);
  Status up = WaitForServer(Endpoint(), options);
  EXPECT_TRUE(up.has_value()) << up.error().message;

  RunResult r = RunJob("hi", "w", {"--wait-for-server", "5s"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(RunJob("hi", "w2", {"--wait-for-server", "5 parsecs"}).exit_code,
            2);
}

TEST_F(CompareIntegrationTest, WaitForServerGivesUpWithExit4) {
  fs::path job = WriteJob(R"(
endpoint: http://127.0.0.1:1/v1/chat/completions
conversations:
  - messages: [hi]
)");
  auto start = std::chrono::steady_clock::now();
  RunResult r = Chatbatch(
      {"run", job.string(), "-o", D("out"), "--wait-for-server", "1s"});
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.exit_code, kExitServerUnreachable);
  EXPECT_NE(r.err.find("http://127.0.0.1:1/v1/models"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("last error: Connection refused)"), std::string::npos)
      << r.err;
  // It tried until the deadline, every 250 ms at most (so at most 4 times);
  // how much longer a busy machine takes says nothing about chatbatch.
  EXPECT_GE(elapsed, std::chrono::milliseconds(700));
  std::smatch attempts;
  ASSERT_TRUE(std::regex_search(r.err, attempts,
                                std::regex(R"(\((\d+) attempts?; last error)")))
      << r.err;
  EXPECT_GE(std::stoi(attempts[1]), 1);
  EXPECT_LE(std::stoi(attempts[1]), 4);
  // Nothing written: no directory, so no log and no run.json either.
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

}  // namespace
}  // namespace chatbatch
