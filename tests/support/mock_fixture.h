// The fixture of the integration tests: starts build/chatbatch-mock on an
// ephemeral loopback port once per test suite and runs the real chatbatch
// binary against it. ctest gives every test a process (and a mock) of its
// own, but running a test binary directly shares one mock among a suite's
// tests, so SetUp resets the mock's counters, log and conversations: each test
// sees only its own requests, in any order and under --gtest_repeat.
//
// The mock runs with --strict-g4f: like the real g4f server it continues a
// stateful (provider: Copilot) conversation only through the echoed
// `conversation` object, so a client that stops echoing fails these tests
// instead of being rescued by its conversation_id.
#ifndef CHATBATCH_TESTS_MOCK_FIXTURE_H_
#define CHATBATCH_TESTS_MOCK_FIXTURE_H_

#include <curl/curl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "support/test_process.h"

namespace chatbatch {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::Process;
using testing::ReadFile;
using testing::WriteFile;

inline size_t CollectBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One GET (or an empty POST) with libcurl; returns the body ("" on failure).
inline std::string HttpGet(const std::string& url, bool post = false) {
  std::string body;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (post) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &CollectBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  CURLcode rc = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  return rc == CURLE_OK ? body : "";
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class IntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { StartMock({"--strict-g4f"}); }

  // A suite that needs the lenient mock defines its own SetUpTestSuite
  // calling StartMock({}).
  static void StartMock(const std::vector<std::string>& flags) {
    char tmpl[] = "/tmp/chatbatch_it_XXXXXX";
    suite_dir_ = mkdtemp(tmpl);
    fs::path port_file = suite_dir_ / "port";
    std::vector<std::string> args = {
        CHATBATCH_MOCK_BIN, "--port",           "0",
        "--port-file",      port_file.string(), "-q"};
    args.insert(args.end(), flags.begin(), flags.end());
    mock_ = new Process(args, suite_dir_ / "mock.out", suite_dir_ / "mock.err");
    for (int i = 0; i < 1000 && !fs::exists(port_file); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::string port = ReadFile(port_file);
    while (!port.empty() && (port.back() == '\n' || port.back() == ' ')) {
      port.pop_back();
    }
    base_ = "http://127.0.0.1:" + port;
  }
  static void TearDownTestSuite() {
    delete mock_;
    mock_ = nullptr;
    fs::remove_all(suite_dir_);
  }

  void SetUp() override {
    ASSERT_NE(mock_, nullptr);
    ASSERT_FALSE(base_.empty() || base_.ends_with(":")) << "mock did not start";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = suite_dir_ / info->name();
    fs::create_directories(dir_);
    // Streams a killed client of an earlier test left behind end once the
    // mock notices; until then they would count towards this test's
    // in_flight and max_in_flight.
    for (int i = 0; i < 500 && Stats()["in_flight"] != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(Stats()["in_flight"], 0) << "an earlier test's stream lingers";
    const std::string reset = HttpGet(base_ + "/mock/reset", /*post=*/true);
    ASSERT_NE(reset.find(R"("status":"ok")"), std::string::npos) << reset;
  }

  std::string Endpoint() const { return base_ + "/v1/chat/completions"; }

  // Writes "yaml" as a job file (with ENDPOINT replaced) and returns its path.
  fs::path WriteJob(std::string yaml, const std::string& name = "job.yaml") {
    for (size_t pos; (pos = yaml.find("ENDPOINT")) != std::string::npos;) {
      yaml.replace(pos, 8, Endpoint());
    }
    fs::path path = dir_ / name;
    WriteFile(path, yaml);
    return path;
  }

  RunResult Chatbatch(std::vector<std::string> args,
                      std::chrono::seconds limit = std::chrono::seconds(120)) {
    args.insert(args.begin(), CHATBATCH_BIN);
    Process p(args, dir_ / "stdout", dir_ / "stderr");
    RunResult r;
    std::optional<int> code = p.Wait(limit);
    r.exit_code = code.value_or(-1);
    r.out = ReadFile(dir_ / "stdout");
    r.err = ReadFile(dir_ / "stderr");
    return r;
  }

  // "chatbatch run job -o out".
  RunResult RunInto(const fs::path& job, const fs::path& out) {
    return Chatbatch({"run", job.string(), "-o", out.string()});
  }

  static std::vector<json> Records(const fs::path& path) {
    std::vector<json> out;
    std::istringstream in(ReadFile(path));
    for (std::string line; std::getline(in, line);) {
      out.push_back(json::parse(line));
    }
    return out;
  }

  json Stats() { return json::parse(HttpGet(base_ + "/mock/stats")); }

  static inline fs::path suite_dir_;
  static inline Process* mock_ = nullptr;
  static inline std::string base_;
  fs::path dir_;
};

}  // namespace chatbatch

#endif  // CHATBATCH_TESTS_MOCK_FIXTURE_H_
