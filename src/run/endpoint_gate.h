// Admission control for one endpoint, shared by every conversation that
// talks to it: a request rate (evenly spaced, no bursts), a cap on requests
// in flight, and a pause that a 429 imposes on everybody.
#ifndef CHATBATCH_ENDPOINT_GATE_H_
#define CHATBATCH_ENDPOINT_GATE_H_

#include <chrono>

#include "chatbatch/job.h"

namespace chatbatch {

class EndpointGate {
 public:
  using Clock = std::chrono::steady_clock;

  explicit EndpointGate(const RateLimit& rate);

  // Admits one request at "now" if the rate, the in-flight cap and any
  // pause allow it. Otherwise returns false and sets "*wake" to when to ask
  // again (Clock::time_point::max() if only a Release() can help).
  bool TryAcquire(Clock::time_point now, Clock::time_point* wake);

  // A request admitted by TryAcquire ended.
  void Release();

  // Nobody starts before "until" (a 429's Retry-After).
  void PauseUntil(Clock::time_point until);

  int in_flight() const { return in_flight_; }

 private:
  Clock::duration interval_{0};  // between two requests; 0: unlimited
  int max_in_flight_ = 0;
  int in_flight_ = 0;
  Clock::time_point next_start_{};
  Clock::time_point paused_until_{};
};

}  // namespace chatbatch

#endif  // CHATBATCH_ENDPOINT_GATE_H_
