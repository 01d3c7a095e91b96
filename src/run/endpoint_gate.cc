#include "run/endpoint_gate.h"

#include <algorithm>

namespace chatbatch {

EndpointGate::EndpointGate(const RateLimit& rate)
    : max_in_flight_(rate.max_in_flight) {
  if (rate.requests_per_minute > 0) {
    interval_ = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(60.0 / rate.requests_per_minute));
  }
}

bool EndpointGate::TryAcquire(Clock::time_point now, Clock::time_point* wake) {
  Clock::time_point earliest = std::max(paused_until_, next_start_);
  if (now < earliest) {
    *wake = earliest;
    return false;
  }
  if (max_in_flight_ > 0 && in_flight_ >= max_in_flight_) {
    *wake = Clock::time_point::max();
    return false;
  }
  ++in_flight_;
  // Spacing from the later of now and the previous slot keeps a long idle
  // period from turning into a burst.
  next_start_ = std::max(now, next_start_) + interval_;
  return true;
}

void EndpointGate::Release() {
  if (in_flight_ > 0) --in_flight_;
}

void EndpointGate::PauseUntil(Clock::time_point until) {
  paused_until_ = std::max(paused_until_, until);
}

}  // namespace chatbatch
