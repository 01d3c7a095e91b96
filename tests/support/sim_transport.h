// A Transport driven by a discrete-event clock: every response step and
// every timer happens at its exact simulated time, in time order, so tests
// can assert when a deadline fired to the millisecond without sleeping.
// (FakeTransport answers in 10 ms rounds and is enough for ordering.)
#ifndef CHATBATCH_TESTS_SIM_TRANSPORT_H_
#define CHATBATCH_TESTS_SIM_TRANSPORT_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chatbatch/transport.h"

namespace chatbatch {

// One scripted response; times are offsets from the request's start.
struct SimResponse {
  using ms = std::chrono::milliseconds;
  // The connection never comes up: the transport's connect timeout ends
  // the transfer (kConnectTimeout at request.connect_timeout) unless it is
  // off, then it hangs until cancelled.
  bool connect_hangs = false;
  // The connection is refused at "status_at" (kConnect).
  bool refused = false;
  ms status_at{1};
  int status = 200;
  std::string content_type = "text/event-stream";
  std::vector<std::pair<ms, std::string>> pieces;
  // When the transfer ends with "end"; nullopt: silence until cancelled.
  std::optional<ms> end_at;
  Status end;
};

// A response of one "piece" at "at" that ends 1 ms later.
inline SimResponse OnePiece(std::string piece, std::chrono::milliseconds at) {
  SimResponse r;
  r.pieces = {{at, std::move(piece)}};
  r.end_at = at + std::chrono::milliseconds(1);
  return r;
}

class SimTransport final : public Transport {
 public:
  using Clock = std::chrono::steady_clock;
  using Responder = std::function<SimResponse(const HttpRequest&)>;
  explicit SimTransport(Responder responder)
      : responder_(std::move(responder)) {}

  TransferId Start(HttpRequest request, ResponseSink* sink) override {
    const TransferId id = ++next_id_;
    start_times.push_back(now_);
    auto t = std::make_shared<Transfer>();
    t->sink = sink;
    transfers_[id] = t;
    SimResponse r = responder_(request);
    requests.push_back(std::move(request));
    const HttpRequest& req = requests.back();
    if (r.connect_hangs) {
      if (req.connect_timeout.count() > 0) {
        Schedule(now_ + req.connect_timeout, [this, id] {
          End(id, Fail(ErrorCode::kConnectTimeout, "connect timed out"));
        });
      }
      return id;
    }
    if (r.refused) {
      Schedule(now_ + r.status_at, [this, id] {
        End(id, Fail(ErrorCode::kConnect, "Connection refused"));
      });
      return id;
    }
    Schedule(now_ + r.status_at, [this, id, t, r] {
      if (t->done) return;
      ResponseHead head;
      head.http_status = r.status;
      head.content_type = t->content_type = r.content_type;
      t->sink->OnStatus(head);
    });
    for (const auto& [at, piece] : r.pieces) {
      Schedule(now_ + at, [this, id, t, piece] {
        if (t->done) return;
        if (!t->sink->OnBody(piece)) {
          End(id, Fail(ErrorCode::kInterrupted, "aborted by the sink"));
        }
      });
    }
    if (r.end_at) {
      Schedule(now_ + *r.end_at, [this, id, end = r.end] { End(id, end); });
    }
    return id;
  }

  void Cancel(TransferId id) override {
    // Never from inside the call (the interface's promise).
    Schedule(now_, [this, id] {
      End(id, Fail(ErrorCode::kInterrupted, "cancelled"));
    });
  }

  TimerId AddTimer(std::chrono::milliseconds delay,
                   std::function<void()> fn) override {
    const TimerId id = ++next_timer_;
    // A cancelled timer leaves the queue, so it cannot move the clock.
    timers_[id] = Schedule(now_ + delay, [this, id, fn = std::move(fn)] {
      timers_.erase(id);
      fn();
    });
    return id;
  }
  void CancelTimer(TimerId id) override {
    auto it = timers_.find(id);
    if (it == timers_.end()) return;
    events_.erase(it->second);
    timers_.erase(it);
  }

  Status Run() override {
    stopped_ = false;
    while (!stopped_ && !events_.empty()) {
      auto it = events_.begin();
      now_ = it->first.first;
      std::function<void()> fn = std::move(it->second);
      events_.erase(it);
      fn();
    }
    return {};
  }
  void Stop() override { stopped_ = true; }
  Clock::time_point Now() const override { return now_; }

  // Milliseconds since the simulation's epoch.
  static double Ms(Clock::time_point t) {
    return std::chrono::duration<double, std::milli>(t.time_since_epoch())
        .count();
  }

  std::vector<HttpRequest> requests;
  std::vector<Clock::time_point> start_times;
  std::vector<Clock::time_point> end_times;  // in order of ending

 private:
  struct Transfer {
    ResponseSink* sink = nullptr;
    bool done = false;
    std::string content_type;
  };

  using EventKey = std::pair<Clock::time_point, uint64_t>;
  EventKey Schedule(Clock::time_point at, std::function<void()> fn) {
    EventKey key(at, ++seq_);
    events_.emplace(key, std::move(fn));
    return key;
  }
  void End(TransferId id, Status status) {
    auto it = transfers_.find(id);
    if (it == transfers_.end() || it->second->done) return;
    std::shared_ptr<Transfer> t = it->second;
    t->done = true;
    transfers_.erase(it);
    end_times.push_back(now_);
    t->sink->OnComplete(std::move(status));
  }

  Responder responder_;
  // By (time, order of scheduling): ties run first come, first served.
  std::map<EventKey, std::function<void()>> events_;
  std::map<TransferId, std::shared_ptr<Transfer>> transfers_;
  std::map<TimerId, EventKey> timers_;
  TransferId next_id_ = 0;
  TimerId next_timer_ = 0;
  uint64_t seq_ = 0;
  bool stopped_ = false;
  Clock::time_point now_{};
};

}  // namespace chatbatch

#endif  // CHATBATCH_TESTS_SIM_TRANSPORT_H_
