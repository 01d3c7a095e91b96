// Checks for the crash and kill tests: that a run directory holds only whole
// files after a crash, and that once resumed it holds what an uninterrupted
// run of the same job holds.
#ifndef CHATBATCH_TESTS_RUN_DIR_MATCH_H_
#define CHATBATCH_TESTS_RUN_DIR_MATCH_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_process.h"

namespace chatbatch::testing {

// The file names in "dir", sorted.
inline std::set<std::string> FileNames(const std::filesystem::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

// A temporary file of ReplaceFileAtomic: ".<name>.<pid>.<n>.tmp".
inline bool IsTempFile(const std::string& name) {
  return name.starts_with(".") && name.ends_with(".tmp");
}

// How a run was stopped, which decides what it may leave behind.
enum class Stop {
  // The CHATBATCH_FAULT hook, right after a write completed: nothing is
  // half-written.
  kAfterWrite,
  // kill -9 at any moment: a temporary file may be left, and a record
  // longer than a page may be cut short (write(2) stops between pages for
  // a fatal signal), which --resume repairs.
  kAnywhere,
};

// The records of a .jsonl file, each line checked to be one whole JSON
// object ending in a newline; with "torn_tail_allowed", a last line without
// its newline is skipped instead.
inline std::vector<nlohmann::json> WholeRecords(
    const std::filesystem::path& path, bool torn_tail_allowed = false) {
  std::vector<nlohmann::json> records;
  std::string text = ReadFile(path);
  if (torn_tail_allowed && !text.empty() && text.back() != '\n') {
    text.erase(text.rfind('\n') + 1);  // npos + 1: all of it
  }
  EXPECT_TRUE(text.empty() || text.back() == '\n')
      << path << " ends in a torn record";
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    EXPECT_TRUE(record.is_object()) << path << ": torn record: " << line;
    if (record.is_object()) records.push_back(std::move(record));
  }
  return records;
}

// What a crash may leave in "dir": .jsonl files of whole records numbered
// 1, 2, ... without gaps or repeats; summary.json and run.json parse, if
// present (run.json must be, once anything else is); see Stop for what
// else "stop" allows.
inline void ExpectWholeFiles(const std::filesystem::path& dir, Stop stop) {
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  const std::set<std::string> names = FileNames(dir);
  for (const std::string& name : names) {
    const std::filesystem::path path = dir / name;
    if (IsTempFile(name)) {
      EXPECT_EQ(stop, Stop::kAnywhere) << "temporary file left: " << path;
    } else if (name.ends_with(".jsonl")) {
      std::vector<nlohmann::json> records =
          WholeRecords(path, stop == Stop::kAnywhere);
      for (size_t i = 0; i < records.size(); ++i) {
        EXPECT_EQ(records[i].value("turn", -1), static_cast<int>(i + 1))
            << path << " record " << i;
      }
    } else if (name == "summary.json" || name == "run.json") {
      EXPECT_FALSE(
          nlohmann::json::parse(ReadFile(path), nullptr, false).is_discarded())
          << path << " is torn: " << ReadFile(path);
    }
  }
  // run.json comes before any output (the log may be opened earlier).
  for (const std::string& name : names) {
    if (name.ends_with(".jsonl") || name.ends_with(".md") ||
        name == "summary.json") {
      EXPECT_TRUE(names.contains("run.json"))
          << dir / name << " without run.json";
    }
  }
}

// The fields of a turn record that do not depend on timing or on the
// server's ids.
inline nlohmann::json StableFields(const nlohmann::json& record) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* key : {"turn", "user", "reply", "reasoning", "finish_reason",
                          "status", "expect_ok", "expectations", "error",
                          "error_kind", "provider", "model", "usage"}) {
    out[key] = record.contains(key) ? record[key] : nlohmann::json("<absent>");
  }
  return out;
}

// "actual" holds what the uninterrupted run "expected" holds: the same file
// names (so no temporary or extra file), each turn recorded exactly once and
// in order with the same user message, reply and status, each
// conversation's records under the conversation_id its run.json names,
// byte-identical transcripts, and the same counts and statuses in
// summary.json.
inline void ExpectSameRun(const std::filesystem::path& expected,
                          const std::filesystem::path& actual) {
  using nlohmann::json;
  ASSERT_TRUE(std::filesystem::is_directory(actual)) << actual;
  const std::set<std::string> names = FileNames(expected);
  EXPECT_EQ(FileNames(actual), names) << actual << " vs " << expected;
  ASSERT_TRUE(names.contains("run.json"));
  ASSERT_TRUE(names.contains("summary.json"));
  // Not const: a missing key must read as null, not be undefined behaviour.
  json expected_manifest = json::parse(ReadFile(expected / "run.json"));
  json manifest = json::parse(ReadFile(actual / "run.json"));
  EXPECT_EQ(manifest["job_hash"], expected_manifest["job_hash"]);
  ASSERT_EQ(manifest["conversations"].size(),
            expected_manifest["conversations"].size());
  int conversations_seen = 0;
  for (const std::string& name : names) {
    if (name.ends_with(".md")) {
      EXPECT_EQ(ReadFile(actual / name), ReadFile(expected / name)) << name;
    }
    if (!name.ends_with(".jsonl")) continue;
    ++conversations_seen;
    const std::string id = name.substr(0, name.size() - 6);
    std::vector<json> want = WholeRecords(expected / name);
    std::vector<json> got = WholeRecords(actual / name);
    ASSERT_EQ(got.size(), want.size()) << name;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(StableFields(got[i]), StableFields(want[i]))
          << name << " record " << i;
      // A generated conversation_id is made when the conversation starts,
      // after run.json was written (""): its records agree with each other.
      const json& listed = manifest["conversations"][id]["conversation_id"];
      EXPECT_EQ(got[i]["conversation_id"],
                listed == "" ? got[0]["conversation_id"] : listed)
          << name << " record " << i;
    }
    EXPECT_EQ(manifest["conversations"][id]["hash"],
              expected_manifest["conversations"][id]["hash"])
        << id;
  }
  EXPECT_EQ(conversations_seen,
            static_cast<int>(manifest["conversations"].size()));
  json want = json::parse(ReadFile(expected / "summary.json"));
  json got = json::parse(ReadFile(actual / "summary.json"));
  ASSERT_TRUE(want.contains("counts") && want.contains("conversations"));
  for (const char* key : {"status", "stopped_early", "stop_reason", "counts",
                          "expectations", "conversations"}) {
    EXPECT_EQ(got[key], want[key]) << "summary.json " << key;
  }
}

}  // namespace chatbatch::testing

#endif  // CHATBATCH_TESTS_RUN_DIR_MATCH_H_
