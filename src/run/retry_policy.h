// Which failed attempts are tried again, and how long to wait first.
#ifndef CHATBATCH_RETRY_POLICY_H_
#define CHATBATCH_RETRY_POLICY_H_

#include <chrono>
#include <optional>
#include <random>

#include "chatbatch/error.h"
#include "chatbatch/job.h"

namespace chatbatch {

// True if "error" matches one of policy.on: an error kind name, "timeout"
// for any timeout kind, an HTTP status ("429") or class ("5xx").
// "produced_output" says whether the failed attempt received any content or
// reasoning: the default "server" (policy.on_given false) only matches an
// attempt that did not.
bool ShouldRetry(const RetryPolicy& policy, const Error& error,
                 bool produced_output);

// The wait before attempt "failed_attempts" + 1. A server's Retry-After is
// honoured as given (up to an hour); otherwise exponential backoff with
// full jitter: uniform in [0, min(max_backoff, backoff * 2^(n-1))], which
// spreads a herd of retries instead of synchronising it.
std::chrono::milliseconds RetryDelay(
    const RetryPolicy& policy, int failed_attempts,
    std::optional<std::chrono::seconds> retry_after, std::mt19937_64* rng);

}  // namespace chatbatch

#endif  // CHATBATCH_RETRY_POLICY_H_
