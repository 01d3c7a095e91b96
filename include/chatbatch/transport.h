// The boundary between the scheduler and the network: start HTTP POSTs,
// get their responses as callbacks, and run timers, all on one thread.
// CurlTransport (libcurl multi + epoll) is the real one; tests use a fake.
#ifndef CHATBATCH_TRANSPORT_H_
#define CHATBATCH_TRANSPORT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chatbatch/error.h"

namespace chatbatch {

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // POSTed as application/json
  bool verify_tls = true;
  std::chrono::milliseconds connect_timeout{10000};
  // Report the request and response heads through ResponseSink::OnWire
  // (--trace). Off, the transport installs no extra callbacks.
  bool trace_wire = false;
};

// What a tracing transport saw on the wire besides the response body.
enum class WireEvent {
  kHeaderOut,  // the request head as sent
  kDataOut,    // request body bytes as sent
  kHeaderIn,   // one response header line (the status line included)
};

// The status line and the headers chatbatch acts on.
struct ResponseHead {
  int http_status = 0;
  std::string_view content_type;
  // From Retry-After (seconds or HTTP-date form), when the server sent one.
  std::optional<std::chrono::seconds> retry_after;
};

// Receives one response. All calls happen on the loop thread.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // Once, before the first body byte (also for empty bodies).
  virtual void OnStatus(const ResponseHead& head) = 0;
  // Returns false to abort the transfer (OnComplete still follows).
  virtual bool OnBody(std::string_view bytes) = 0;
  // Exactly once. An error only for transport failures (connect, reset,
  // timeout, abort); HTTP error statuses arrive through OnStatus.
  virtual void OnComplete(Status transport) = 0;
  // Only for requests with trace_wire set; before OnComplete.
  virtual void OnWire(WireEvent /*event*/, std::string_view /*bytes*/) {}
};

using TransferId = uint64_t;
using TimerId = uint64_t;

class Transport {
 public:
  virtual ~Transport() = default;

  // Starts a request. "*sink" must stay alive until its OnComplete.
  virtual TransferId Start(HttpRequest request, ResponseSink* sink) = 0;

  // Aborts a transfer; its sink gets OnComplete(kInterrupted) later, from the
  // loop, never from inside this call.
  virtual void Cancel(TransferId id) = 0;

  // Calls "fn" once on the loop thread after "delay".
  virtual TimerId AddTimer(std::chrono::milliseconds delay,
                           std::function<void()> fn) = 0;
  virtual void CancelTimer(TimerId id) = 0;

  // Runs until Stop() or until no transfer and no timer is left.
  virtual Status Run() = 0;
  virtual void Stop() = 0;

  // Monotonic now, as the loop sees it (fakes may simulate time).
  virtual std::chrono::steady_clock::time_point Now() const {
    return std::chrono::steady_clock::now();
  }
};

struct CurlTransportOptions {
  // Upper bound on connections kept; 0 = libcurl's default.
  long max_total_connections = 0;
  // How many transfers the caller runs at once; sizes the receive buffers.
  int expected_streams = 1;
};

// libcurl's per-transfer receive buffer for "streams" concurrent transfers.
// A read costs two system calls whatever its size, so a few fast streams
// want large buffers; thousands of streams want small ones, because the
// buffer is most of a stream's memory. A fixed total budget, split evenly
// and clamped, serves both (figures in docs/benchmarks.md).
long ReceiveBufferBytes(int streams);

// The libcurl-multi + epoll implementation. SIGINT/SIGTERM are delivered to
// "on_signal" (as the signal number) from inside the loop when set.
Result<std::unique_ptr<Transport>> MakeCurlTransport(
    CurlTransportOptions options = {},
    std::function<void(int)> on_signal = nullptr);

}  // namespace chatbatch

#endif  // CHATBATCH_TRANSPORT_H_
