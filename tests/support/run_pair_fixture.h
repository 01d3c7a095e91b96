// Two hand-written run directories, "base" and "run", for the tests that
// read run directories back (compare, golden, the HTML report).
#ifndef CHATBATCH_TESTS_RUN_PAIR_FIXTURE_H_
#define CHATBATCH_TESTS_RUN_PAIR_FIXTURE_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace chatbatch::testing_report {

// One <id>.jsonl line as the runner writes it; a non-"ok" status comes with
// an HTTP 500 error.
inline std::string RecordLine(int turn, const std::string& user,
                              const std::string& reply,
                              const std::string& status = "ok") {
  using nlohmann::json;
  json r = {{"turn", turn},
            {"user", user},
            {"reply", reply},
            {"reasoning", ""},
            {"finish_reason", "stop"},
            {"usage", nullptr},
            {"provider", ""},
            {"model", "m"},
            {"conversation_id", "cid"},
            {"status", status},
            {"error", status == "ok" ? json(nullptr) : json("HTTP 500")},
            {"error_kind", status == "ok" ? json(nullptr) : json("http")},
            {"http_status", status == "ok" ? 200 : 500},
            {"ttft_ms", 1.0},
            {"duration_ms", 2.0},
            {"chunks", 1},
            {"started_at", "2026-01-01T00:00:00.000Z"},
            {"attempts", 1},
            {"attempt_errors", json::array()},
            {"conversation", nullptr},
            {"tool_calls", nullptr},
            {"invalid_lines", 0},
            {"bytes", 10}};
  return r.dump() + "\n";
}

class RunPairFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/chatbatch_pair_XXXXXX";
    root_ = mkdtemp(tmpl);
    std::filesystem::create_directories(root_ / "base");
    std::filesystem::create_directories(root_ / "run");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // "side" is "base" or "run".
  void Write(const std::string& side, const std::string& name,
             const std::string& content) {
    std::ofstream(root_ / side / name, std::ios::binary) << content;
  }
  std::string Dir(const std::string& side) const {
    return (root_ / side).string();
  }

  std::filesystem::path root_;
};

}  // namespace chatbatch::testing_report

#endif  // CHATBATCH_TESTS_RUN_PAIR_FIXTURE_H_
