// MergeRuns on shard directories written by hand: every refusal with its
// exact message (and nothing written), every status of the merged
// summary.json, and the conversation files copied byte for byte.
#include "output/merge.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "support/test_data.h"

namespace chatbatch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kAlphaJsonl[] =
    R"({"turn":1,"user":"hi","reply":"Hello","status":"ok","ttft_ms":120.26,"duration_ms":1000.0})"
    "\n"
    R"({"turn":2,"user":"again","reply":"Ünïcode ✓","status":"ok","ttft_ms":200,"duration_ms":3000})"
    "\n";
constexpr char kBetaJsonl[] =
    R"({"turn":1,"user":"hi","reply":"","status":"error","error":"HTTP 500","error_kind":"http","ttft_ms":null,"duration_ms":40.0})"
    "\n";
// A killed run's torn last line: copied as it is, not counted as a turn.
constexpr char kGammaJsonl[] =
    R"({"turn":1,"user":"2+2?","reply":"five","status":"failed","ttft_ms":300,"duration_ms":2000})"
    "\n"
    R"({"turn":2,"user":"are y)";
constexpr char kAlphaMd[] =
    "# alpha\n\n## Turn 1\n\n**User:**\n\n```text\nhi\n```\n\n"
    "**Assistant:**\n\n```text\nHello\n```\n\n## Turn 2\n\n**User:**\n\n"
    "```text\nagain\n```\n\n**Assistant:**\n\n```text\nÜnïcode ✓\n```\n";
constexpr char kBetaMd[] = "# beta\n\n## Turn 1\n\nerror: HTTP 500\r\n";
constexpr char kGammaMd[] = "# gamma\n\n## Turn 1\n\nfive";  // no newline

class MergeTest : public testing::Test {
 protected:
  std::string D(const std::string& name) const { return root_ / name; }

  void Write(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // The two shards of job "j", as "s1" and "s2"; their summaries and
  // manifests (run.json) are in tests/data/merge/. s1 (1/2) has alpha (ok,
  // two turns) and beta (error); s2 (2/2) has gamma (failed, its file ends
  // in a torn line) and delta (pending: no files yet).
  void WriteShards() {
    Write(D("s1/summary.json"), ReadTestData("merge/s1/summary.json"));
    Write(D("s1/run.json"), ReadTestData("merge/s1/run.json"));
    Write(D("s1/alpha.jsonl"), kAlphaJsonl);
    Write(D("s1/alpha.md"), kAlphaMd);
    Write(D("s1/beta.jsonl"), kBetaJsonl);
    Write(D("s1/beta.md"), kBetaMd);
    Write(D("s2/summary.json"), ReadTestData("merge/s2/summary.json"));
    Write(D("s2/run.json"), ReadTestData("merge/s2/run.json"));
    Write(D("s2/gamma.jsonl"), kGammaJsonl);
    Write(D("s2/gamma.md"), kGammaMd);
  }

  // A run of job "j" with one finished one-turn conversation "id";
  // "shard_json" is the run.json's "shard" member ("" for none).
  void WriteRun(const std::string& name, const std::string& shard_json,
                const std::string& id, const std::string& status = "finished",
                const std::string& ended_json = "\"2026-01-01T10:00:01.000Z\"",
                const std::string& job = "j") {
    Write(D(name + "/summary.json"),
          "{\"job\": \"" + job + "\", \"status\": \"" + status +
              "\", \"started_at\": \"2026-01-01T10:00:00.000Z\", "
              "\"ended_at\": " +
              ended_json + ", \"counts\": {\"conversations\": 1}, " +
              "\"conversations\": [{\"id\": \"" + id + "\"}]}\n");
    Write(D(name + "/run.json"),
          "{\"version\": 1, \"job\": \"" + job + "\"" +
              (shard_json.empty() ? "" : ", \"shard\": " + shard_json) +
              ", \"conversations\": {}}\n");
    Write(D(name + "/" + id + ".jsonl"),
          R"({"turn":1,"status":"ok","ttft_ms":5,"duration_ms":9})"
          "\n");
  }

  // Merges "inputs" into "out", which must be refused with "message" and
  // leave "out" unwritten.
  void ExpectRefused(const std::vector<std::string>& inputs,
                     const std::string& message, MergeOptions options = {}) {
    Result<MergeCounts> merged = MergeRuns(inputs, D("out"), options);
    ASSERT_FALSE(merged.has_value());
    EXPECT_EQ(merged.error().code, ErrorCode::kUsage);
    EXPECT_EQ(merged.error().message, message);
    EXPECT_FALSE(fs::exists(D("out"))) << "written although refused";
  }

  json Merge(const std::vector<std::string>& inputs, MergeOptions options) {
    Result<MergeCounts> merged = MergeRuns(inputs, D("out"), options);
    EXPECT_TRUE(merged.has_value()) << merged.error().message;
    return json::parse(Read(D("out/summary.json")));
  }

  testfs::TempDir tmp_{"chatbatch_merge_"};  // removed at the end of a test
  const fs::path root_ = tmp_.path();
};

TEST_F(MergeTest, TwoShardsGiveExactSummaryManifestAndFiles) {
  WriteShards();
  Result<MergeCounts> merged = MergeRuns({D("s1"), D("s2")}, D("out"));
  ASSERT_TRUE(merged.has_value()) << merged.error().message;
  EXPECT_EQ(merged->runs, 2);
  EXPECT_EQ(merged->conversations, 4);
  EXPECT_EQ(merged->turns, 4);  // the torn line is not a turn
  EXPECT_TRUE(merged->missing_shards.empty());

  // TTFT of the ok and failed turns: 120.26 (shown 120.3), 200, 300; their
  // durations 1000, 3000, 2000. Nearest rank: p50 is the 2nd of 3, shown by
  // its histogram bucket's midpoint (within 1.1 %); the extremes are exact.
  std::string want = R"({
  "job": "j",
  "job_file": "job.yaml",
  "started_at": "2026-01-01T09:59:59.000Z",
  "ended_at": "2026-01-01T10:00:07.000Z",
  "status": "finished",
  "stopped_early": false,
  "stop_reason": null,
  "counts": {
    "conversations": 4,
    "conversations_ok": 1,
    "conversations_failed": 1,
    "conversations_error": 1,
    "conversations_pending": 1,
    "turns_ok": 2,
    "turns_failed": 1,
    "turns_error": 1
  },
  "expectations": {
    "passed": 1,
    "failed": 1
  },
  "conversations": [
    {
      "id": "alpha",
      "status": "ok",
      "turns_ok": 2,
      "error": null
    },
    {
      "id": "beta",
      "status": "error",
      "turns_error": 1,
      "error": "HTTP 500"
    },
    {
      "id": "gamma",
      "status": "failed",
      "turns_failed": 1,
      "error": null
    },
    {
      "id": "delta",
      "status": "pending",
      "error": null
    }
  ],
  "totals": {
    "chunks": 14,
    "bytes": 140
  },
  "latency": {
    "wall_s": 7.5,
    "turns": 3,
    "ttft_ms": {
      "p50": 199.7,
      "p90": 300.0,
      "p99": 300.0,
      "max": 300.0
    },
    "duration_ms": {
      "p50": 2007.0,
      "p90": 3000.0,
      "p99": 3000.0,
      "max": 3000.0
    },
    "gap_ms": {
      "max": 12.5
    },
    "errors_by_kind": {
      "http": 1
    },
    "runs": [
      {
        "dir": "S1",
        "latency": {
          "wall_s": 5.0,
          "gap_ms": {
            "p50": 1.0,
            "max": 12.5
          }
        }
      },
      {
        "dir": "S2",
        "latency": {
          "wall_s": 7.5,
          "gap_ms": {
            "max": 3.0
          }
        }
      }
    ]
  }
}
)";
  want.replace(want.find("\"S1\""), 4, "\"" + D("s1") + "\"");
  want.replace(want.find("\"S2\""), 4, "\"" + D("s2") + "\"");
  EXPECT_EQ(Read(D("out/summary.json")), want);

  EXPECT_EQ(Read(D("out/run.json")), R"({
  "version": 1,
  "job": "j",
  "job_file": "job.yaml",
  "job_hash": "merged",
  "conversations": {
    "alpha": {
      "hash": "ha",
      "conversation_id": "ca"
    },
    "beta": {
      "hash": "hb",
      "conversation_id": "cb"
    },
    "gamma": {
      "hash": "hg",
      "conversation_id": "cg"
    },
    "delta": {
      "hash": "hd",
      "conversation_id": "cd"
    }
  },
  "merged_from": [
    ")" + D("s1") + R"(",
    ")" + D("s2") + R"("
  ]
}
)");

  EXPECT_EQ(Read(D("out/alpha.jsonl")), kAlphaJsonl);
  EXPECT_EQ(Read(D("out/alpha.md")), kAlphaMd);
  EXPECT_EQ(Read(D("out/beta.jsonl")), kBetaJsonl);
  EXPECT_EQ(Read(D("out/beta.md")), kBetaMd);
  EXPECT_EQ(Read(D("out/gamma.jsonl")), kGammaJsonl);
  EXPECT_EQ(Read(D("out/gamma.md")), kGammaMd);
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(D("out"))) {
    files.push_back(e.path().filename());
  }
  std::ranges::sort(files);
  EXPECT_EQ(files, (std::vector<std::string>{
                       "alpha.jsonl", "alpha.md", "beta.jsonl", "beta.md",
                       "gamma.jsonl", "gamma.md", "run.json", "summary.json"}));
}

TEST_F(MergeTest, MissingShardIsRefusedUnlessAllowPartial) {
  WriteRun("a", "\"2/4\"", "two");
  WriteRun("b", "\"4/4\"", "four");
  ExpectRefused({D("a"), D("b")},
                "merge: shard 1/4, 3/4 missing (the inputs are 2 of 4 "
                "shards); pass --allow-partial to merge them anyway");

  Result<MergeCounts> merged =
      MergeRuns({D("a"), D("b")}, D("out"), {.allow_partial = true});
  ASSERT_TRUE(merged.has_value()) << merged.error().message;
  EXPECT_EQ(merged->missing_shards, (std::vector<std::string>{"1/4", "3/4"}));
  json summary = json::parse(Read(D("out/summary.json")));
  EXPECT_EQ(summary["status"], "partial");
  EXPECT_EQ(summary["missing_shards"], json::parse(R"(["1/4", "3/4"])"));
  EXPECT_EQ(summary["stopped_early"], false);
  EXPECT_EQ(summary["ended_at"], "2026-01-01T10:00:01.000Z");
  EXPECT_EQ(summary["counts"], json::parse(R"({"conversations": 2})"));
  EXPECT_EQ(summary["latency"]["turns"], 2);
}

TEST_F(MergeTest, PartialAndInterruptedStaysInterrupted) {
  WriteRun("a", "\"1/3\"", "one", "interrupted", "null");
  WriteRun("b", "\"3/3\"", "three");
  json summary = Merge({D("a"), D("b")}, {.allow_partial = true});
  EXPECT_EQ(summary["status"], "interrupted");
  EXPECT_EQ(summary["missing_shards"], json::parse(R"(["2/3"])"));
  // One shard has not ended, so neither has the whole.
  EXPECT_TRUE(summary["ended_at"].is_null()) << summary["ended_at"];
}

TEST_F(MergeTest, StatusIsTheLeastFinishedShards) {
  struct Case {
    std::vector<std::string> statuses;
    std::string want;
    bool stopped_early;
  };
  const Case cases[] = {
      {{"finished", "finished", "finished"}, "finished", false},
      {{"finished", "stopped", "finished"}, "stopped", true},
      {{"stopped", "interrupted", "finished"}, "interrupted", true},
      {{"interrupted", "finished", "running"}, "running", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    fs::remove_all(root_);
    fs::create_directories(root_);
    std::vector<std::string> dirs;
    for (size_t k = 0; k < c.statuses.size(); ++k) {
      const std::string name = "s" + std::to_string(k + 1);
      WriteRun(name, "\"" + std::to_string(k + 1) + "/3\"", "c" + name,
               c.statuses[k]);
      dirs.push_back(D(name));
    }
    json summary = Merge(dirs, {});
    EXPECT_EQ(summary["status"], c.want);
    EXPECT_EQ(summary["stopped_early"], c.stopped_early);
    EXPECT_FALSE(summary.contains("missing_shards"));
    EXPECT_EQ(summary["counts"], json::parse(R"({"conversations": 3})"));
  }
}

TEST_F(MergeTest, RunsWithoutShardsMergeWhenDisjoint) {
  WriteRun("a", "", "one");
  WriteRun("b", "null", "two");  // --shard never given: "shard": null
  json summary = Merge({D("a"), D("b")}, {});
  EXPECT_EQ(summary["status"], "finished");
  EXPECT_FALSE(summary.contains("missing_shards"));
  EXPECT_EQ(summary["conversations"],
            json::parse(R"([{"id": "one"}, {"id": "two"}])"));
}

TEST_F(MergeTest, RefusesShardsThatAreNotOneRun) {
  WriteRun("a", "\"1/2\"", "one");
  WriteRun("a_again", "\"1/2\"", "uno");
  WriteRun("b", "\"2/2\"", "two");
  WriteRun("third", "\"1/3\"", "three");
  WriteRun("whole", "", "all");
  WriteRun("bad", "\"3\"", "bad");
  ExpectRefused(
      {D("a"), D("a_again"), D("b")},
      "merge: shard 1/2 is in both " + D("a") + " and " + D("a_again"));
  ExpectRefused({D("a"), D("b"), D("third")},
                "merge: " + D("third") + " is shard 1/3, but " + D("a") +
                    " is shard 1/2: shards of different runs");
  // The whole job beside a shard, before or after it.
  ExpectRefused({D("a"), D("b"), D("whole")},
                "merge: " + D("whole") +
                    " is not a shard (its run.json names none), but " + D("a") +
                    " is shard 1/2");
  ExpectRefused({D("whole"), D("a"), D("b")},
                "merge: " + D("whole") +
                    " is not a shard (its run.json names none), but " + D("a") +
                    " is shard 1/2");
  ExpectRefused({D("a"), D("bad")},
                "merge: " + D("bad") + "/run.json: \"shard\" is not K/N: '3'");
  // --allow-partial does not excuse any of these.
  ExpectRefused(
      {D("a"), D("a_again")},
      "merge: shard 1/2 is in both " + D("a") + " and " + D("a_again"),
      {.allow_partial = true});
}

TEST_F(MergeTest, RefusesOverlapsOtherJobsAndUnsafeIds) {
  WriteRun("a", "", "Alpha");
  WriteRun("b", "", "alpha");  // ids are files: case-insensitive
  WriteRun("other", "", "beta", "finished", "null", "k");
  WriteRun("unsafe", "", "../up");
  ExpectRefused({D("a"), D("b")}, "merge: conversation 'alpha' is in both " +
                                      D("a") + " and " + D("b") +
                                      " (shards of one job never overlap)");
  ExpectRefused({D("a"), D("other")}, "merge: " + D("other") +
                                          " holds a run of job 'k', " + D("a") +
                                          " one of 'j'");
  ExpectRefused({D("unsafe")},
                "merge: " + D("unsafe") + "/summary.json lists an unsafe id");
}

TEST_F(MergeTest, RefusesWhatIsNotARunAndAFullTarget) {
  WriteRun("a", "", "one");
  fs::create_directories(D("empty"));
  Write(D("no_manifest/summary.json"), R"({"job": "j", "conversations": []})");
  Write(D("torn/summary.json"), "{\"job\": ");
  Write(D("torn/run.json"), "{}");
  ExpectRefused({}, "merge: no run directory");
  ExpectRefused({D("a"), D("empty")},
                D("empty") + "/summary.json: cannot read");
  ExpectRefused({D("no_manifest")},
                D("no_manifest") + "/run.json: cannot read");
  Result<MergeCounts> torn = MergeRuns({D("torn")}, D("out"));
  ASSERT_FALSE(torn.has_value());
  EXPECT_TRUE(torn.error().message.starts_with(
      D("torn") + "/summary.json: not valid JSON: "))
      << torn.error().message;
  EXPECT_FALSE(fs::exists(D("out")));

  Write(D("out/keep.txt"), "mine");
  Result<MergeCounts> full = MergeRuns({D("a")}, D("out"));
  ASSERT_FALSE(full.has_value());
  EXPECT_EQ(full.error().message,
            "merge: " + D("out") +
                " is not empty; merge into a new or empty directory");
  EXPECT_EQ(Read(D("out/keep.txt")), "mine");
  EXPECT_FALSE(fs::exists(D("out/summary.json")));
  // An existing empty directory is fine.
  fs::remove(D("out/keep.txt"));
  EXPECT_TRUE(MergeRuns({D("a")}, D("out")).has_value());
}

}  // namespace
}  // namespace chatbatch
