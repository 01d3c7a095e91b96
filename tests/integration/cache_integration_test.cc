// The response cache end to end against the mock (docs/cache.md): a rerun
// with the cache sends nothing and replays the same replies, cached turns
// stay out of the latency figures, a g4f conversation object that changes
// still hits, and --offline turns a miss into an error naming the key.
#include "support/mock_fixture.h"

namespace chatbatch {
namespace {

class CacheIntegrationTest : public IntegrationTest {
 protected:
  // The entry files under a cache directory.
  static std::vector<fs::path> Entries(const fs::path& cache) {
    std::vector<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(cache)) {
      if (e.is_regular_file() && e.path().extension() == ".json" &&
          !e.path().filename().string().starts_with(".")) {
        out.push_back(e.path());
      }
    }
    return out;
  }
  static json Summary(const fs::path& out) {
    return json::parse(ReadFile(out / "summary.json"));
  }
};

// g4f's stateful Copilot: turn 2 is answered from what turn 1 said, and the
// mock (strict) mints a new conversation object per conversation.
constexpr char kCacheJob[] = R"(
endpoint: ENDPOINT
defaults: {model: "", provider: Copilot}
retry: {attempts: 1}
conversations:
  - id: heiner
    messages:
      - content: i am Heiner
      - content: what is my name?
        expect: {contains: Heiner}
  - id: plain
    messages: [hello there, and again]
)";

TEST_F(CacheIntegrationTest, ARerunSendsNothingAndReplaysTheSameReplies) {
  const fs::path job = WriteJob(kCacheJob);
  const fs::path cache = dir_ / "cache";
  const fs::path out1 = dir_ / "out1";
  RunResult first = Chatbatch({"run", job.string(), "-o", out1.string(),
                               "--cache", cache.string(), "-q"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(Stats()["requests"], 4);
  EXPECT_EQ(Entries(cache).size(), 4u);
  EXPECT_EQ(Summary(out1)["counts"]["turns_cached"], 0);

  ASSERT_EQ(HttpGet(base_ + "/mock/reset", /*post=*/true).find("ok") ==
                std::string::npos,
            false);
  const fs::path out2 = dir_ / "out2";
  RunResult second = Chatbatch(
      {"run", job.string(), "-o", out2.string(), "--cache", cache.string()});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(Stats()["requests"], 0);  // nothing reached the server
  EXPECT_NE(second.out.find("2 ok, 0 failed, 0 error (4 turns from the cache)"),
            std::string::npos)
      << second.out;
  EXPECT_NE(second.out.find("4 turns replayed from the cache"),
            std::string::npos)
      << second.out;
  for (const char* id : {"heiner", "plain"}) {
    const std::vector<json> before =
        Records(out1 / (std::string(id) + ".jsonl"));
    const std::vector<json> after =
        Records(out2 / (std::string(id) + ".jsonl"));
    ASSERT_EQ(after.size(), 2u) << id;
    for (size_t t = 0; t < 2; ++t) {
      EXPECT_EQ(after[t]["cached"], true) << id << t;
      EXPECT_EQ(after[t]["attempts"], 0) << id << t;
      EXPECT_FALSE(before[t].contains("cached")) << id << t;
      for (const char* field : {"reply", "finish_reason", "usage", "provider",
                                "conversation", "status", "expectations"}) {
        EXPECT_EQ(after[t][field], before[t][field]) << id << t << field;
      }
    }
  }
  EXPECT_NE(Records(out2 / "heiner.jsonl")[1]["reply"].get<std::string>().find(
                "Heiner"),
            std::string::npos);
  // Same transcripts, byte for byte.
  EXPECT_EQ(ReadFile(out2 / "heiner.md"), ReadFile(out1 / "heiner.md"));

  const json summary = Summary(out2);
  EXPECT_EQ(summary["counts"]["turns_cached"], 4);
  EXPECT_EQ(summary["counts"]["turns_ok"], 4);
  EXPECT_EQ(summary["latency"]["turns"], 0);  // no cached turn is timed
  EXPECT_TRUE(summary["latency"]["ttft_ms"]["p50"].is_null() ||
              summary["latency"]["ttft_ms"]["p50"] == 0)
      << summary["latency"].dump();
  EXPECT_EQ(Summary(out1)["latency"]["turns"], 4);

  RunResult stats = Chatbatch({"cache", "stats", cache.string()});
  EXPECT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_NE(stats.out.find("4 entries"), std::string::npos) << stats.out;
  EXPECT_NE(stats.out.find(Endpoint() + ": 4 entries"), std::string::npos)
      << stats.out;
}

TEST_F(CacheIntegrationTest, AChangedConversationObjectStillHits) {
  const fs::path job = WriteJob(kCacheJob);
  const fs::path cache = dir_ / "cache";
  const fs::path out1 = dir_ / "out1";
  ASSERT_EQ(Chatbatch({"run", job.string(), "-o", out1.string(), "--cache",
                       cache.string(), "-q"})
                .exit_code,
            0);
  // Forget turn 1 of "heiner": the rerun asks it again and the mock mints
  // a new conversation object, which turn 2 then echoes.
  int removed = 0;
  for (const fs::path& entry : Entries(cache)) {
    if (ReadFile(entry).find("Hello Heiner!") != std::string::npos) {
      fs::remove(entry);
      ++removed;
    }
  }
  ASSERT_EQ(removed, 1);
  HttpGet(base_ + "/mock/reset", /*post=*/true);
  const fs::path out2 = dir_ / "out2";
  RunResult second = Chatbatch({"run", job.string(), "-o", out2.string(),
                                "--cache", cache.string(), "-q"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(Stats()["requests"], 1);
  const std::vector<json> before = Records(out1 / "heiner.jsonl");
  const std::vector<json> after = Records(out2 / "heiner.jsonl");
  ASSERT_EQ(after.size(), 2u);
  EXPECT_FALSE(after[0].contains("cached"));
  EXPECT_NE(after[0]["conversation"], before[0]["conversation"]);
  EXPECT_EQ(after[1]["cached"], true);  // the key leaves the object out
  EXPECT_EQ(after[1]["reply"], before[1]["reply"]);
  EXPECT_EQ(Summary(out2)["counts"]["turns_cached"], 3);
  EXPECT_EQ(Summary(out2)["latency"]["turns"], 1);
  EXPECT_EQ(Entries(cache).size(), 4u);  // the new turn 1 was stored
}

TEST_F(CacheIntegrationTest, OfflineMissIsAnErrorNamingTheKey) {
  const fs::path job = WriteJob(kCacheJob);
  // `cache:` in the job, relative: resolved against the job's directory.
  const fs::path cached_job =
      WriteJob(std::string(kCacheJob) + "cache: rel-cache\n", "cached.yaml");
  ASSERT_EQ(Chatbatch({"run", cached_job.string(), "-o",
                       (dir_ / "out1").string(), "-q"})
                .exit_code,
            0);
  EXPECT_EQ(Entries(dir_ / "rel-cache").size(), 4u);

  // A changed second message misses.
  std::string changed = kCacheJob;
  changed.replace(changed.find("and again"), 9, "and more");
  const fs::path changed_job = WriteJob(changed, "changed.yaml");
  HttpGet(base_ + "/mock/reset", /*post=*/true);
  const fs::path out = dir_ / "out2";
  RunResult r =
      Chatbatch({"run", changed_job.string(), "-o", out.string(), "--cache",
                 (dir_ / "rel-cache").string(), "--offline", "-q"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(Stats()["requests"], 0);
  const std::vector<json> plain = Records(out / "plain.jsonl");
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain[0]["cached"], true);
  EXPECT_EQ(plain[1]["status"], "error");
  EXPECT_EQ(plain[1]["error_kind"], "cache_miss");
  const std::string error = plain[1]["error"];
  EXPECT_NE(error.find("key "), std::string::npos) << error;
  const std::string key = error.substr(error.find("key ") + 4, 32);
  EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), std::string::npos)
      << error;
  EXPECT_NE(error.find(key.substr(0, 2) + "/" + key + ".json"),
            std::string::npos)
      << error;
  EXPECT_EQ(Records(out / "heiner.jsonl").size(), 2u);
  EXPECT_EQ(Summary(out)["latency"]["errors_by_kind"]["cache_miss"], 1);

  // --offline without a cache is a usage error; so is a missing cache.
  RunResult no_cache = Chatbatch(
      {"run", job.string(), "-o", (dir_ / "out3").string(), "--offline"});
  EXPECT_EQ(no_cache.exit_code, 2);
  EXPECT_NE(no_cache.err.find("--offline needs a cache"), std::string::npos)
      << no_cache.err;
  RunResult missing =
      Chatbatch({"run", job.string(), "-o", (dir_ / "out4").string(), "--cache",
                 (dir_ / "nowhere").string(), "--offline"});
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_FALSE(fs::exists(dir_ / "out4"));
}

}  // namespace
}  // namespace chatbatch
