// `layout: fanout` end to end against the mock (issue 12 §2): the files go
// to <dir>/<hh>/, and compare, report, --golden, --resume and merge read
// them there.
#include <set>

#include "support/mock_fixture.h"

namespace chatbatch {
namespace {

class LayoutTest : public IntegrationTest {
 protected:
  std::string D(const std::string& name) { return (dir_ / name).string(); }
  int Requests() { return Stats()["requests"].get<int>(); }

  // The .jsonl files under "dir", relative to it.
  std::set<std::string> JsonlFiles(const std::string& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.path().extension() == ".jsonl") {
        out.insert(fs::relative(e.path(), dir).string());
      }
    }
    return out;
  }
};

std::string Job(const std::string& layout) {
  return R"(
name: lay
endpoint: ENDPOINT
layout: )" +
         layout +
         R"(
retry: {attempts: 1}
conversations:
  - id: alpha
    messages: ['[[mock reply="one two three"]] q', '[[mock reply="four"]] r']
  - id: Beta
    messages: ['[[mock reply="five six"]] q']
  - id: gamma
    messages: ['[[mock reply="seven"]] q']
)";
}

// The sub-folder of an id, as docs/output-format.md defines it; checked
// against the files the run wrote rather than recomputed here.
TEST_F(LayoutTest, FanoutRunIsReadByCompareReportGoldenAndResume) {
  fs::path fan = WriteJob(Job("fanout"), "fan.yaml");
  RunResult r = Chatbatch({"run", fan.string(), "-o", D("fan"), "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::set<std::string> files = JsonlFiles(D("fan"));
  ASSERT_EQ(files.size(), 3u);
  for (const std::string& f : files) {
    const fs::path p(f);
    ASSERT_EQ(std::distance(p.begin(), p.end()), 2) << f;  // <hh>/<id>.jsonl
    EXPECT_EQ(p.begin()->string().size(), 2u) << f;
  }
  EXPECT_NE(ReadFile(dir_ / "fan" / "run.json").find("\"layout\": \"fanout\""),
            std::string::npos);
  json s = json::parse(ReadFile(dir_ / "fan" / "summary.json"));
  EXPECT_EQ(s["counts"]["turns_ok"], 4);

  // The same job flat: compare sees the same conversations either way.
  fs::path flat = WriteJob(Job("flat"), "flat.yaml");
  ASSERT_EQ(Chatbatch({"run", flat.string(), "-o", D("flat"), "-q"}).exit_code,
            0);
  EXPECT_TRUE(fs::exists(dir_ / "flat" / "alpha.jsonl"));
  RunResult c = Chatbatch({"compare", D("flat"), D("fan"), "--json"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  json cj = json::parse(c.out);
  EXPECT_EQ(cj["counts"]["conversations"]["unchanged"], 3) << c.out;
  EXPECT_EQ(cj["counts"]["turns"]["unchanged"], 4) << c.out;

  // A changed reply in the fanout run is seen.
  const std::string gamma =
      (dir_ / "fan" /
       *std::find_if(files.begin(), files.end(), [](const std::string& f) {
         return f.ends_with("gamma.jsonl");
       })).string();
  std::string text = ReadFile(gamma);
  text.replace(text.find("seven"), 5, "eight");
  { std::ofstream(gamma, std::ios::binary) << text; }
  c = Chatbatch({"compare", D("flat"), D("fan"), "--json"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  cj = json::parse(c.out);
  EXPECT_EQ(cj["counts"]["conversations"]["changed"], 1) << c.out;
  EXPECT_EQ(cj["counts"]["conversations"]["missing"], 0) << c.out;

  // The report lists every conversation of the fanout run.
  RunResult rep =
      Chatbatch({"report", D("flat"), D("fan"), "--html", D("report.html")});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  const std::string html = ReadFile(dir_ / "report.html");
  for (const char* id : {"alpha", "Beta", "gamma"}) {
    EXPECT_NE(html.find(id), std::string::npos) << id;
  }

  // --update-golden from the fanout run, then --golden against it.
  ASSERT_EQ(Chatbatch({"run", fan.string(), "-o", D("fan2"), "-q", "--golden",
                       D("golden"), "--update-golden"})
                .exit_code,
            0);
  EXPECT_EQ(JsonlFiles(D("golden")), JsonlFiles(D("fan2")));
  RunResult g = Chatbatch(
      {"run", fan.string(), "-o", D("fan3"), "-q", "--golden", D("golden")});
  EXPECT_EQ(g.exit_code, 0) << g.out << g.err;

  // --resume of the fanout run by a job asking for flat: nothing to send,
  // the directory stays fanout, and the run says why.
  const int requests = Requests();
  r = Chatbatch({"run", flat.string(), "-o", D("fan2"), "--resume"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), requests);
  EXPECT_NE(r.err.find("layout: flat"), std::string::npos) << r.err;
  EXPECT_EQ(JsonlFiles(D("fan2")), files);
}

// An interrupted fanout run resumes in its sub-folders; shards of either
// layout merge into one directory that compare reads.
TEST_F(LayoutTest, FanoutResumeAndMergeOfMixedShards) {
  fs::path fan = WriteJob(Job("fanout"), "fan.yaml");
  fs::path flat = WriteJob(Job("flat"), "flat.yaml");
  ASSERT_EQ(Chatbatch({"run", fan.string(), "-o", D("part"), "-q"}).exit_code,
            0);
  // As if killed: gamma not started, alpha's second turn not recorded.
  std::set<std::string> written = JsonlFiles(D("part"));
  ASSERT_EQ(written.size(), 3u);
  for (const std::string& f : written) {
    const fs::path p = dir_ / "part" / f;
    if (f.ends_with("/gamma.jsonl")) {
      fs::remove(p);
      fs::remove(fs::path(p).replace_extension(".md"));
    } else if (f.ends_with("/alpha.jsonl")) {
      std::string text = ReadFile(p);
      text.resize(text.find('\n') + 1);
      std::ofstream(p, std::ios::binary) << text;
    }
  }
  const int requests = Requests();
  RunResult r =
      Chatbatch({"run", fan.string(), "-o", D("part"), "-q", "--resume"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Requests(), requests + 2);  // alpha's turn 2 and gamma
  const std::set<std::string> files = JsonlFiles(D("part"));
  EXPECT_EQ(files.size(), 3u);
  for (const std::string& f : files) EXPECT_NE(f.find('/'), std::string::npos);
  json s = json::parse(ReadFile(dir_ / "part" / "summary.json"));
  EXPECT_EQ(s["counts"]["turns_ok"], 4);
  EXPECT_EQ(s["counts"]["conversations_ok"], 3);

  ASSERT_EQ(
      Chatbatch({"run", flat.string(), "-o", D("s1"), "-q", "--shard", "1/2"})
          .exit_code,
      0);
  ASSERT_EQ(
      Chatbatch({"run", fan.string(), "-o", D("s2"), "-q", "--shard", "2/2"})
          .exit_code,
      0);
  RunResult m = Chatbatch({"merge", D("s1"), D("s2"), "-o", D("merged")});
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_EQ(JsonlFiles(D("merged")), files);
  RunResult c = Chatbatch({"compare", D("part"), D("merged"), "--json"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  json cj = json::parse(c.out);
  EXPECT_EQ(cj["counts"]["conversations"]["unchanged"], 3) << c.out;
}

}  // namespace
}  // namespace chatbatch
