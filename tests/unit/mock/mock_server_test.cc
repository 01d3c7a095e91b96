// The mock server in-process on an ephemeral 127.0.0.1 port, spoken to with
// plain blocking sockets.
#include "mock/mock_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace chatbatch::mock {
namespace {

using nlohmann::json;

class MockServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto port = server_.Start(options_);
    ASSERT_TRUE(port.has_value()) << port.error();
    port_ = *port;
    thread_ = std::thread([this] { server_.Run(); });
  }
  void TearDown() override {
    server_.Stop();
    if (thread_.joinable()) thread_.join();
  }

  int Connect() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }

  static void SendRequest(int fd, const std::string& method,
                          const std::string& path, const std::string& body) {
    std::string req = method + " " + path +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
    ASSERT_EQ(send(fd, req.data(), req.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(req.size()));
  }

  static std::string ReadAll(int fd) {
    std::string out;
    char buf[16384];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, n);
    close(fd);
    return out;
  }

  std::string Fetch(const std::string& method, const std::string& path,
                    const std::string& body = "") {
    int fd = Connect();
    SendRequest(fd, method, path, body);
    return ReadAll(fd);
  }

  static std::string Chat(const std::string& text, json extra = {}) {
    json body = {{"stream", true},
                 {"messages", {{{"role", "user"}, {"content", text}}}}};
    if (extra.is_object()) body.update(extra);
    return body.dump();
  }

  json Stats() {
    std::string r = Fetch("GET", "/mock/stats");
    return json::parse(r.substr(r.find("\r\n\r\n") + 4));
  }

  // Polls the stats (bounded) until "key" is "value"; returns the last.
  json WaitForStat(const std::string& key, int value) {
    json stats = Stats();
    for (int i = 0; i < 1000 && stats[key] != value; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      stats = Stats();
    }
    return stats;
  }

  ServerOptions options_;  // A derived fixture may change it before SetUp.
  MockServer server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(MockServerTest, AnswersHealthModelsAndUnknownPaths) {
  EXPECT_NE(Fetch("GET", "/health").find(R"({"status":"ok"})"),
            std::string::npos);
  EXPECT_NE(Fetch("GET", "/v1/models").find(R"("id":"mock-1")"),
            std::string::npos);
  std::string missing = Fetch("GET", "/nope");
  EXPECT_EQ(missing.rfind("HTTP/1.1 404", 0), 0u) << missing;
}

TEST_F(MockServerTest, StreamsAChunkedEventStream) {
  std::string r =
      Fetch("POST", "/v1/chat/completions", Chat("hi [[mock pace_ms=2]]"));
  EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(r.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(r.find("data: [DONE]"), std::string::npos);
  EXPECT_TRUE(r.ends_with("0\r\n\r\n"));
}

TEST_F(MockServerTest, CutEndsTheBodyEarly) {
  std::string r = Fetch("POST", "/v1/chat/completions",
                        Chat("hi [[mock cut_after=2 pace_ms=1]]"));
  EXPECT_NE(r.find("data: {"), std::string::npos);
  EXPECT_EQ(r.find("[DONE]"), std::string::npos);
  EXPECT_FALSE(r.ends_with("0\r\n\r\n"));
  json stats = Stats();
  EXPECT_EQ(stats["log"][0]["outcome"], "cut");
  EXPECT_EQ(stats["in_flight"], 0);
}

TEST_F(MockServerTest, ErrorCarriesRetryAfter) {
  std::string r =
      Fetch("POST", "/v1/chat/completions",
            Chat("hi [[mock status=429 retry_after=2 shape=openai]]"));
  EXPECT_EQ(r.rfind("HTTP/1.1 429", 0), 0u) << r;
  EXPECT_NE(r.find("Retry-After: 2\r\n"), std::string::npos);
}

TEST_F(MockServerTest, ClientLeavingAHeldStreamFreesIt) {
  int fd = Connect();
  SendRequest(fd, "POST", "/v1/chat/completions",
              Chat("hi [[mock stall_ms=-1]]"));
  char buf[4096];
  ASSERT_GT(recv(fd, buf, sizeof buf, 0), 0);  // Headers and a chunk.
  EXPECT_EQ(Stats()["in_flight"], 1);
  close(fd);
  json stats = WaitForStat("in_flight", 0);
  EXPECT_EQ(stats["in_flight"], 0);
  EXPECT_EQ(stats["log"][0]["outcome"], "client_closed");
}

TEST_F(MockServerTest, CopilotContinuesTheEchoedConversation) {
  std::string first = Fetch(
      "POST", "/v1/chat/completions",
      Chat("Hello, i am Heiner. How are you?", {{"provider", "Copilot"}}));
  // The server chose the conversation id; echo its object back.
  size_t at = first.find("\"conversation\":");
  ASSERT_NE(at, std::string::npos);
  size_t end = first.find('}', at);
  json conversation = json::parse(first.substr(at + 15, end - at - 14));
  std::string second =
      Fetch("POST", "/v1/chat/completions",
            Chat("Tell me somethings about my name",
                 {{"provider", "Copilot"}, {"conversation", conversation}}));
  EXPECT_NE(second.find("is Heiner. Heiner"), std::string::npos) << second;
}

class StrictG4fMockTest : public MockServerTest {
 protected:
  StrictG4fMockTest() { options_.strict_g4f = true; }
};

TEST_F(StrictG4fMockTest, OnlyTheEchoedObjectContinues) {
  // Unstreamed, so each reply is one piece of text to search.
  Fetch("POST", "/v1/chat/completions",
        Chat("Hello, i am Heiner. How are you?", {{"provider", "Copilot"},
                                                  {"conversation_id", "mine"},
                                                  {"stream", false}}));
  std::string dropped = Fetch(
      "POST", "/v1/chat/completions",
      Chat("Tell me somethings about my name", {{"provider", "Copilot"},
                                                {"conversation_id", "mine"},
                                                {"stream", false}}));
  EXPECT_NE(dropped.find("know your name yet"), std::string::npos) << dropped;
  std::string echoed =
      Fetch("POST", "/v1/chat/completions",
            Chat("Tell me somethings about my name",
                 {{"provider", "Copilot"},
                  {"conversation_id", "mine"},
                  {"stream", false},
                  {"conversation", {{"conversation_id", "mock-conv-1"}}}}));
  EXPECT_NE(echoed.find("is Heiner. Heiner"), std::string::npos) << echoed;

  json stats = Stats();
  EXPECT_EQ(stats["strict_g4f"], true);
  ASSERT_EQ(stats["log"].size(), 3u);
  EXPECT_EQ(stats["log"][0]["started"], "mock-conv-1");
  EXPECT_EQ(stats["log"][1]["started"], "mock-conv-2");
  EXPECT_EQ(stats["log"][1]["conversation"], nullptr);
  EXPECT_EQ(stats["log"][1]["conversation_id"], "mine");
  EXPECT_EQ(stats["log"][2]["continued"], "mock-conv-1");
}

TEST_F(StrictG4fMockTest, ConversationThatIsNotAnObjectIs422) {
  std::string r =
      Fetch("POST", "/v1/chat/completions",
            Chat("hi", {{"provider", "Copilot"}, {"conversation", "c1"}}));
  EXPECT_EQ(r.rfind("HTTP/1.1 422", 0), 0u) << r;
  EXPECT_NE(r.find(R"("loc":["body","conversation"])"), std::string::npos) << r;
  EXPECT_EQ(Stats()["requests"], 1);
}

// Each stream is paced through its ten chunks and then held open, so all
// of them are in flight together however slowly they were sent: the test
// waits for the mock's count to reach the target instead of racing the
// 200 ms a stream would otherwise last.
TEST_F(MockServerTest, PacedStreamsRunAtOnce) {
  constexpr int kStreams = 64;
  std::vector<int> fds;
  for (int i = 0; i < kStreams; ++i) {
    fds.push_back(Connect());
    SendRequest(fds.back(), "POST", "/v1/chat/completions",
                Chat("hi [[mock pace_ms=20 chunks=10 stall_ms=-1 "
                     "stall_after=10]]"));
  }
  json stats = WaitForStat("in_flight", kStreams);
  EXPECT_EQ(stats["in_flight"], kStreams);
  EXPECT_EQ(stats["max_in_flight"], kStreams);
  EXPECT_EQ(stats["requests"], kStreams);
  for (int fd : fds) {
    // All ten paced chunks arrive while every stream is still open.
    std::string body;
    char buf[16384];
    size_t chunks = 0;
    for (ssize_t n; chunks < 10 && (n = recv(fd, buf, sizeof buf, 0)) > 0;) {
      body.append(buf, n);
      chunks = 0;
      for (size_t p = 0; (p = body.find("data: {", p)) != std::string::npos;
           ++p) {
        ++chunks;
      }
    }
    EXPECT_EQ(chunks, 10u) << body;
    EXPECT_EQ(body.find("[DONE]"), std::string::npos) << body;
  }
  for (int fd : fds) close(fd);
  stats = WaitForStat("in_flight", 0);
  EXPECT_EQ(stats["in_flight"], 0);
  EXPECT_EQ(stats["max_in_flight"], kStreams);
}

}  // namespace
}  // namespace chatbatch::mock
