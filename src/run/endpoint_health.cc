#include "run/endpoint_health.h"

#include <algorithm>

namespace chatbatch {

EndpointHealth::EndpointHealth(std::chrono::milliseconds backoff,
                               std::chrono::milliseconds max_backoff,
                               std::chrono::milliseconds give_up_after)
    : backoff_(backoff),
      max_backoff_(std::max(max_backoff, backoff)),
      give_up_after_(give_up_after) {}

bool EndpointHealth::MayStart(Clock::time_point now,
                              Clock::time_point* wake) const {
  if (!down_) return true;
  if (probe_out_) {
    *wake = Clock::time_point::max();
    return false;
  }
  if (now < next_probe_) {
    *wake = next_probe_;
    return false;
  }
  return true;
}

bool EndpointHealth::Started() {
  if (down_) probe_out_ = true;
  return down_;
}

bool EndpointHealth::OnConnectFailure(Clock::time_point now, bool probe) {
  const bool went_down = !down_;
  if (went_down) {
    down_ = true;
    down_since_ = now;
    failed_probes_ = 0;
  } else if (!probe) {
    return false;
  }
  probe_out_ = false;
  if (!went_down) ++failed_probes_;
  // backoff * 2^failed_probes, capped. No jitter: there is one prober, so
  // there is no herd to spread.
  std::chrono::milliseconds wait = backoff_;
  for (int i = 0; i < failed_probes_ && wait < max_backoff_; ++i) wait *= 2;
  next_probe_ = now + std::min(wait, max_backoff_);
  return went_down;
}

bool EndpointHealth::OnConnected() {
  const bool was_down = down_;
  down_ = false;
  probe_out_ = false;
  failed_probes_ = 0;
  return was_down;
}

void EndpointHealth::OnOtherEnd(bool probe) {
  if (probe) probe_out_ = false;
}

EndpointHealth::Clock::time_point EndpointHealth::give_up_at() const {
  if (!down_ || give_up_after_.count() <= 0) return Clock::time_point::max();
  return down_since_ + give_up_after_;
}

}  // namespace chatbatch
