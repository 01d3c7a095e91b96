#include "run/retry_policy.h"

#include <algorithm>
#include <string>

namespace chatbatch {

bool ShouldRetry(const RetryPolicy& policy, const Error& error,
                 bool produced_output) {
  const std::string kind = ErrorCodeName(error.code);
  for (const std::string& token : policy.on) {
    if (token == kind) {
      // Text already shown would be asked for again: only on request.
      if (error.code == ErrorCode::kServer && produced_output &&
          !policy.on_given) {
        continue;
      }
      return true;
    }
    if (token == "timeout" && IsTimeout(error.code)) return true;
    if (error.code != ErrorCode::kHttp) continue;
    const int status = error.http_status;
    if (token == "http" || token == std::to_string(status)) return true;
    if (token.size() == 3 && token[1] == 'x' && token[2] == 'x' &&
        token[0] - '0' == status / 100) {
      return true;
    }
  }
  return false;
}

std::chrono::milliseconds RetryDelay(
    const RetryPolicy& policy, int failed_attempts,
    std::optional<std::chrono::seconds> retry_after, std::mt19937_64* rng) {
  using std::chrono::milliseconds;
  if (retry_after) {
    constexpr milliseconds kMaxRetryAfter = std::chrono::hours(1);
    return std::min<milliseconds>(*retry_after, kMaxRetryAfter);
  }
  const int64_t base = std::max<int64_t>(0, policy.backoff.count());
  const int64_t cap = std::max<int64_t>(0, policy.max_backoff.count());
  int64_t ceiling = base;
  for (int i = 1; i < failed_attempts && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  if (ceiling <= 0) return milliseconds(0);
  std::uniform_int_distribution<int64_t> jitter(0, ceiling);
  return milliseconds(jitter(*rng));
}

}  // namespace chatbatch
