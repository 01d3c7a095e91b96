// ModelsUrl and WaitForServer against a closed port (the mock server case
// is in compare_integration_test.cc, which starts build/chatbatch-mock).
#include "net/wait_for_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>
#include <string>

#include "support/socket_util.h"

namespace chatbatch {
namespace {

TEST(ModelsUrlTest, ReplacesChatCompletions) {
  EXPECT_EQ(ModelsUrl("http://localhost:1337/v1/chat/completions"),
            "http://localhost:1337/v1/models");
  EXPECT_EQ(ModelsUrl("https://h/api/Copilot/chat/completions?x=1"),
            "https://h/api/Copilot/models");
}

TEST(ModelsUrlTest, OtherwiseOriginPlusV1Models) {
  EXPECT_EQ(ModelsUrl("http://127.0.0.1:8080/completion"),
            "http://127.0.0.1:8080/v1/models");
  EXPECT_EQ(ModelsUrl("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/v1/models");
  EXPECT_EQ(ModelsUrl("https://api.example.com/x/y#frag"),
            "https://api.example.com/v1/models");
}

// N of the "(N attempts; last error: ...)" that WaitForServer fails with;
// -1 without one.
int Attempts(const std::string& message) {
  std::smatch m;
  if (!std::regex_search(message, m, std::regex(R"(\((\d+) attempts?; )"))) {
    return -1;
  }
  return std::stoi(m[1]);
}

// A port nothing listens on: bind an ephemeral port, then close it.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

TEST(WaitForServerTest, ClosedPortFailsAfterTheDeadline) {
  std::string endpoint = "http://127.0.0.1:" + std::to_string(ClosedPort()) +
                         "/v1/chat/completions";
  WaitForServerOptions options;
  options.timeout = std::chrono::milliseconds(1000);
  auto start = std::chrono::steady_clock::now();
  Status s = WaitForServer(endpoint, options);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, ErrorCode::kConnect);
  EXPECT_NE(s.error().message.find("/v1/models"), std::string::npos);
  EXPECT_NE(s.error().message.find("last error"), std::string::npos);
  EXPECT_GE(elapsed, std::chrono::milliseconds(700));
  // Attempts start 250 ms apart at the earliest, so a 1 s wait holds at most
  // four, however fast the refusals come back.
  const int attempts = Attempts(s.error().message);
  EXPECT_GE(attempts, 1) << s.error().message;
  EXPECT_LE(attempts, 4) << s.error().message;
}

// A listener that never answers: each GET ends by its own short timeout.
TEST(WaitForServerTest, SilentServerTimesOutPerRequest) {
  sockaddr_in addr;
  const int fd = testnet::BindLoopback(&addr);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(listen(fd, 16), 0);
  WaitForServerOptions options;
  options.timeout = std::chrono::milliseconds(800);
  options.request_timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  Status s = WaitForServer(
      "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), options);
  auto elapsed = std::chrono::steady_clock::now() - start;
  close(fd);
  ASSERT_FALSE(s.has_value());
  EXPECT_GE(elapsed, std::chrono::milliseconds(500));
  // Each GET gave up after its own 300 ms, leaving time for another: a
  // single GET allowed the whole 800 ms would be the only attempt.
  EXPECT_NE(s.error().message.find("timed out"), std::string::npos)
      << s.error().message;
  EXPECT_GE(Attempts(s.error().message), 2) << s.error().message;
}

}  // namespace
}  // namespace chatbatch
