// `chatbatch --version`: the program's version and the libraries it runs
// with, one per line (docs/cli.md).
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <spdlog/version.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/mock_fixture.h"

namespace chatbatch {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST_F(IntegrationTest, VersionNamesChatbatchAndItsLibraries) {
  RunResult r = Chatbatch({"--version"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0], std::string("chatbatch ") + CHATBATCH_VERSION);

  // The libcurl this process loads is the one chatbatch loads: both resolve
  // libcurl.so.4 the same way.
  const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
  ASSERT_NE(info->ssl_version, nullptr);
  EXPECT_EQ(lines[1], std::string("libcurl ") + info->version + " (" +
                          info->ssl_version + ")");

  const std::regex version("[0-9]+\\.[0-9]+\\.[0-9]+");
  ASSERT_TRUE(lines[2].starts_with("simdjson ")) << lines[2];
  EXPECT_TRUE(std::regex_match(lines[2].substr(9), version)) << lines[2];
  ASSERT_TRUE(lines[3].starts_with("yaml-cpp ")) << lines[3];
  EXPECT_TRUE(std::regex_match(lines[3].substr(9), version)) << lines[3];
  EXPECT_EQ(lines[4], "spdlog " + std::to_string(SPDLOG_VER_MAJOR) + "." +
                          std::to_string(SPDLOG_VER_MINOR) + "." +
                          std::to_string(SPDLOG_VER_PATCH));
}

}  // namespace
}  // namespace chatbatch
