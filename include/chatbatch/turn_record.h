// The outcome of one turn, as recorded in <id>.jsonl and <id>.md.
#ifndef CHATBATCH_TURN_RECORD_H_
#define CHATBATCH_TURN_RECORD_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chatbatch/latency.h"
#include "chatbatch/reply.h"

namespace chatbatch {

// One failed attempt of a turn that was retried (or gave up).
struct AttemptFailure {
  int attempt = 0;  // 1-based
  std::string error_kind;
  std::string error;
  int http_status = 0;
  std::string at;  // ISO 8601 UTC, when the attempt ended
};

// The outcome of one check of a turn's `expect:` (docs/job-file.md,
// "Expectations and vars").
struct ExpectationResult {
  std::string check{};        // "contains", "regex", "json_path", "any", ...
  nlohmann::json expected{};  // the check's value as written in the job
  bool ok = false;
  // Why it failed (reply excerpt, actual value); "" if ok.
  std::string detail{};
  // "" when the check was decided ("ok" says how); "error" when it could not
  // be (a judge that could not be reached or gave no verdict), "pending"
  // while a judge's grading has not finished. Neither counts as a failure.
  std::string status{};
  // Check-specific fields written into the entry as they are (the judge's
  // score, reason and raw reply); null when there are none.
  nlohmann::json data{};
};

struct TurnRecord {
  int turn = 0;  // 1-based
  std::string user;
  Reply reply;  // whatever arrived, also for failed turns
  std::string conversation_id;
  // True when the reply arrived (whatever the expectations said); false for
  // a transport or server error. The jsonl `status` is "error" when false,
  // else "failed" when an expectation failed, else "ok".
  bool ok = false;
  // Evaluated only when the reply arrived; empty when the turn has none.
  std::vector<ExpectationResult> expectations;
  bool expect_ok = true;   // false when any expectation failed
  std::string error;       // "" when ok
  std::string error_kind;  // ErrorCodeName(), "" when ok
  int http_status = 0;
  double ttft_ms = -1;  // -1: no token arrived
  double duration_ms = 0;
  TurnLatency latency;     // of the last attempt, when the reply arrived
  std::string started_at;  // ISO 8601 UTC with milliseconds (first attempt)
  int attempts = 1;        // attempts made, including the last one
  // Attempts that could not connect while the endpoint was down: they wait
  // for the endpoint and are not counted in "attempts" (
  // docs/job-file.md, "Reliability").
  int unreachable_attempts = 0;
  // Every attempt that failed before the last one (the last one's error,
  // if any, is in "error").
  std::vector<AttemptFailure> failed_attempts;
  // The reply was replayed from the response cache, not asked of the
  // server: its timings are not the server's and stay out of the latency
  // statistics.
  bool cached = false;
};

}  // namespace chatbatch

#endif  // CHATBATCH_TURN_RECORD_H_
