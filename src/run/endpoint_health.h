// Whether the job's endpoint can be reached, shared by every conversation.
// When connects fail the endpoint is "down": instead of every conversation
// spending its own attempts on a server that is not there, one probe at a
// time goes out (with exponential backoff between probes) and everybody
// else waits for its answer. Time is passed in so the policy is testable
// without a loop.
#ifndef CHATBATCH_ENDPOINT_HEALTH_H_
#define CHATBATCH_ENDPOINT_HEALTH_H_

#include <chrono>

namespace chatbatch {

class EndpointHealth {
 public:
  using Clock = std::chrono::steady_clock;

  // "backoff" doubles per failed probe up to "max_backoff"; "give_up_after"
  // (0 = never) is how long the endpoint may stay down before the run stops.
  EndpointHealth(std::chrono::milliseconds backoff,
                 std::chrono::milliseconds max_backoff,
                 std::chrono::milliseconds give_up_after);

  // May a request start at "now"? While down, only one probe at a time and
  // not before the backoff is over; otherwise "*wake" says when to ask
  // again (Clock::time_point::max() if only the probe's end can help).
  bool MayStart(Clock::time_point now, Clock::time_point* wake) const;
  // A request admitted by MayStart went out. Returns true if it is the
  // probe (the endpoint is down); the caller passes that back at its end.
  bool Started();

  // A request could not connect. Returns true if this took the endpoint
  // down (the one moment to say so). Requests that were already out when
  // it went down fail too; only the probe's failure moves the backoff on.
  bool OnConnectFailure(Clock::time_point now, bool probe);
  // A request reached the server (any HTTP status). Returns true if the
  // endpoint was down until now.
  bool OnConnected();
  // A request ended without telling either way (cancelled before it
  // connected): frees the probe slot if it was the probe.
  void OnOtherEnd(bool probe);

  bool down() const { return down_; }
  Clock::time_point down_since() const { return down_since_; }
  // When the run gives up if the endpoint is still down (max() if never).
  Clock::time_point give_up_at() const;
  int failed_probes() const { return failed_probes_; }

 private:
  std::chrono::milliseconds backoff_;
  std::chrono::milliseconds max_backoff_;
  std::chrono::milliseconds give_up_after_;
  bool down_ = false;
  bool probe_out_ = false;
  int failed_probes_ = 0;  // since the endpoint went down
  Clock::time_point down_since_{};
  Clock::time_point next_probe_{};
};

}  // namespace chatbatch

#endif  // CHATBATCH_ENDPOINT_HEALTH_H_
