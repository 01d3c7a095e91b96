// The mock's HTTP side: evhttp routes, and the scheduler that writes every
// open stream's precomputed steps from one shared timer.
#ifndef CHATBATCH_MOCK_MOCK_SERVER_H_
#define CHATBATCH_MOCK_MOCK_SERVER_H_

#include <expected>
#include <memory>
#include <string>

namespace chatbatch::mock {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;                 // 0: an ephemeral port.
  bool handle_signals = false;  // SIGINT/SIGTERM end Run().
  // Continue stateful conversations only through the echoed `conversation`
  // object, as the real g4f server does (see Conversations).
  bool strict_g4f = false;
};

class MockServer {
 public:
  MockServer();
  ~MockServer();
  MockServer(const MockServer&) = delete;
  MockServer& operator=(const MockServer&) = delete;

  // Binds and listens; returns the port actually bound.
  std::expected<int, std::string> Start(const ServerOptions& options);
  // Serves until Stop() or (with handle_signals) a signal.
  void Run();
  // Ends Run(). Safe to call from another thread or a signal-free context.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatbatch::mock

#endif  // CHATBATCH_MOCK_MOCK_SERVER_H_
