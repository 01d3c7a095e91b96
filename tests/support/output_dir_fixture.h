// A fresh run directory per test for the runner's tests, and its records
// read back.
#ifndef CHATBATCH_TESTS_OUTPUT_DIR_FIXTURE_H_
#define CHATBATCH_TESTS_OUTPUT_DIR_FIXTURE_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chatbatch/run_output.h"

namespace chatbatch {

// "Base" is ::testing::Test or a ::testing::TestWithParam<...>.
template <typename Base = ::testing::Test>
class OutputDirFixture : public Base {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/chatbatch_out_XXXXXX";
    dir_ = mkdtemp(tmpl);
    output_ = std::move(RunOutput::Open(dir_.string()).value());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::unique_ptr<RunOutput> output_;
};

// Every record of a .jsonl file; none if it does not exist.
inline std::vector<nlohmann::json> ReadJsonl(
    const std::filesystem::path& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace chatbatch

#endif  // CHATBATCH_TESTS_OUTPUT_DIR_FIXTURE_H_
