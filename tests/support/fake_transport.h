// A Transport that answers from a script, in simulated rounds: every
// transfer started during round N is answered in round N+1. Lets scheduler
// tests observe concurrency and ordering without a network.
#ifndef CHATBATCH_TESTS_FAKE_TRANSPORT_H_
#define CHATBATCH_TESTS_FAKE_TRANSPORT_H_

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chatbatch/transport.h"

namespace chatbatch {

struct FakeResponse {
  int status = 200;
  std::string content_type = "text/event-stream";
  std::string body;
  Status transport;  // error = transport failure after the body
  std::optional<std::chrono::seconds> retry_after;
  bool hang = false;  // after "body", silence until a Cancel
  // After "body": each piece after its delay in simulated time (the clock
  // moves on within the round; timers do not fire in between).
  std::vector<std::pair<std::chrono::milliseconds, std::string>> paced;
};

class FakeTransport final : public Transport {
 public:
  using Responder = std::function<FakeResponse(const HttpRequest&)>;
  explicit FakeTransport(Responder responder)
      : responder_(std::move(responder)) {}

  TransferId Start(HttpRequest request, ResponseSink* sink) override {
    TransferId id = ++next_id_;
    requests.push_back(request);
    start_times.push_back(now_);
    pending_[id] = Pending{std::move(request), sink};
    max_in_flight = std::max(max_in_flight,
                             static_cast<int>(pending_.size() + hung_.size()));
    return id;
  }
  void Cancel(TransferId id) override { cancelled_.push_back(id); }
  TimerId AddTimer(std::chrono::milliseconds delay,
                   std::function<void()> fn) override {
    timers_[++next_timer_] = Timer{now_ + delay, std::move(fn)};
    return next_timer_;
  }
  void CancelTimer(TimerId id) override { timers_.erase(id); }
  void Stop() override { stopped_ = true; }
  std::chrono::steady_clock::time_point Now() const override { return now_; }

  Status Run() override {
    stopped_ = false;
    while (!stopped_ &&
           (!pending_.empty() || !hung_.empty() || !timers_.empty())) {
      ++rounds;
      now_ += std::chrono::milliseconds(10);
      for (TransferId id : std::exchange(cancelled_, {})) {
        auto it = hung_.find(id);
        if (it == hung_.end()) continue;
        ResponseSink* sink = it->second.sink;
        hung_.erase(it);
        sink->OnComplete(Fail(ErrorCode::kInterrupted, "cancelled"));
      }
      auto round = std::exchange(pending_, {});
      for (auto& [id, p] : round) {
        if (before_answer) before_answer();
        FakeResponse r = responder_(p.request);
        ResponseHead head;
        head.http_status = r.status;
        head.content_type = r.content_type;
        head.retry_after = r.retry_after;
        p.sink->OnStatus(head);
        if (!r.body.empty()) p.sink->OnBody(r.body);
        for (const auto& [delay, piece] : r.paced) {
          now_ += delay;
          p.sink->OnBody(piece);
        }
        if (r.hang) {
          hung_.emplace(id, std::move(p));
          continue;
        }
        p.sink->OnComplete(r.transport);
      }
      for (auto it = timers_.begin(); it != timers_.end();) {
        if (it->second.due <= now_) {
          auto fn = std::move(it->second.fn);
          it = timers_.erase(it);
          fn();
        } else {
          ++it;
        }
      }
    }
    return {};
  }

  std::vector<HttpRequest> requests;
  std::vector<std::chrono::steady_clock::time_point> start_times;
  int max_in_flight = 0;
  int rounds = 0;
  std::function<void()> before_answer;

 private:
  struct Pending {
    HttpRequest request;
    ResponseSink* sink;
  };
  struct Timer {
    std::chrono::steady_clock::time_point due;
    std::function<void()> fn;
  };
  Responder responder_;
  std::map<TransferId, Pending> pending_;
  std::map<TransferId, Pending> hung_;
  std::vector<TransferId> cancelled_;
  std::map<TimerId, Timer> timers_;
  TransferId next_id_ = 0;
  TimerId next_timer_ = 0;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point now_{};
};

// One SSE content chunk carrying "text".
inline std::string SseChunk(const std::string& text) {
  return "data: {\"choices\":[{\"delta\":{\"content\":\"" + text + "\"}}]}\n\n";
}

// An SSE body in the g4f shape whose reply is "text".
inline std::string SseReply(const std::string& text,
                            const std::string& conversation_json = "") {
  std::string body =
      "data: {\"choices\":[{\"delta\":{\"content\":\"" + text + "\"}}]}\n\n";
  body +=
      "data: {\"choices\":[{\"delta\":{\"content\":\"\"},"
      "\"finish_reason\":\"stop\"}]";
  if (!conversation_json.empty()) {
    body += ",\"conversation\":" + conversation_json;
  }
  body += "}\n\ndata: [DONE]\n\n";
  return body;
}

}  // namespace chatbatch

#endif  // CHATBATCH_TESTS_FAKE_TRANSPORT_H_
