// The keys that say how a job copes with a flaky server (
// docs/job-file.md, "Reliability"): retry and timeouts (job level, overridable
// per conversation field by field), rate, limits, resume and grace (job level).

#include <limits>
#include <set>

#include "job/job_loader.h"
#include "util/quantity.h"
#include "util/text.h"

namespace chatbatch {
namespace {

// The error kinds retry.on may name (ErrorCodeName, plus "timeout" for all
// four timeout kinds).
constexpr std::string_view kRetryKinds[] = {
    "connect",      "timeout",       "connect_timeout", "first_token_timeout",
    "idle_timeout", "total_timeout", "incomplete",      "server",
    "protocol",     "limit"};

// "429" -> 429; anything but three digits -> 0.
int StatusOf(std::string_view s) {
  if (s.size() != 3 || !IsAsciiDigit(s[0]) || !IsAsciiDigit(s[1]) ||
      !IsAsciiDigit(s[2])) {
    return 0;
  }
  return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

}  // namespace

// ---------------------------------------------------------------------------
// retry

void Loader::ParseJobRetry(const Field& f, JobDraft* d) {
  ParseRetry(f, &d->job.retry);
}

void Loader::ParseConversationRetry(const Field& f, ConversationDraft* c) {
  // The endpoint is the job's, so is how long to wait for it.
  if (f.value.IsMap() && f.value["give_up_after"]) {
    for (const auto& item : f.value) {
      if (item.first.Scalar() != "give_up_after") continue;
      Report(item.first.Mark(), f.what +
                                    ".give_up_after: only the job's retry "
                                    "may set it (the endpoint is shared)");
    }
    return;
  }
  ConversationSettings& settings = c->conv.mutable_settings();
  auto own = std::make_shared<RetryPolicy>(settings.retry ? *settings.retry
                                                          : RetryPolicy());
  ParseRetry(f, own.get());
  settings.retry = std::move(own);
}

void Loader::ParseRetry(const Field& f, RetryPolicy* retry) {
  const size_t before = problems_.size();
  ParseSubMapping(f, kRetryKeys, retry);
  if (problems_.size() == before && retry->max_backoff < retry->backoff) {
    Report(f.mark(), f.what + ": max_backoff (" +
                         FormatDuration(retry->max_backoff) +
                         ") is shorter than backoff (" +
                         FormatDuration(retry->backoff) + ")");
  }
}

void Loader::ParseRetryAttempts(const Field& f, RetryPolicy* r) {
  if (auto n = ReadIntInRange(f, 1, 1000)) r->attempts = *n;
}

void Loader::ParseRetryOn(const Field& f, RetryPolicy* r) {
  if (!HoldsType(f, YAML::NodeType::Sequence,
                 "a list of error kinds and HTTP statuses "
                 "(e.g. [connect, timeout, 429, 5xx])")) {
    return;
  }
  std::vector<std::string> on;
  std::set<std::string> seen;
  bool ok = true;
  int index = 0;
  for (const YAML::Node& item : f.value) {
    const std::string what = f.what + " item " + std::to_string(++index);
    std::optional<std::string> condition = ReadRetryCondition(item, what);
    if (!condition) {
      ok = false;
    } else if (!seen.insert(*condition).second) {
      Report(item.Mark(), what + ": duplicate " + Quote(*condition));
      ok = false;
    } else {
      on.push_back(std::move(*condition));
    }
  }
  if (ok) {
    r->on = std::move(on);
    r->on_given = true;
  }
}

// One item of retry.on, normalised as retry_policy.cc matches it: a kind
// name in lowercase, a status as three digits, a class as "4xx" / "5xx".
std::optional<std::string> Loader::ReadRetryCondition(const YAML::Node& item,
                                                      const std::string& what) {
  if (!item.IsScalar() || (IsPlain(item) && IsCoreNull(item.Scalar()))) {
    Report(item.Mark(), what +
                            ": expected an error kind or an HTTP status, got " +
                            TypeName(item));
    return std::nullopt;
  }
  const std::string text = ToLower(item.Scalar());
  if (std::ranges::find(kRetryKinds, text) != std::end(kRetryKinds)) {
    return text;
  }
  if (text == "4xx" || text == "5xx") return text;
  if (!text.empty() && std::all_of(text.begin(), text.end(), IsAsciiDigit)) {
    const int status = StatusOf(text);
    if (status >= 100 && status <= 599) return std::to_string(status);
    Report(item.Mark(), what + ": " + Quote(item.Scalar()) +
                            " is not an HTTP status (100-599)");
    return std::nullopt;
  }
  std::string message =
      what + ": unknown retry condition " + Quote(item.Scalar());
  if (std::string_view best = ClosestName(text, kRetryKinds); !best.empty()) {
    message += " (did you mean '" + std::string(best) + "'?)";
  }
  message +=
      "; expected an HTTP status (e.g. 429), a class (4xx, 5xx) or "
      "one of: ";
  for (size_t i = 0; i < std::size(kRetryKinds); ++i) {
    message += (i ? ", " : "") + std::string(kRetryKinds[i]);
  }
  Report(item.Mark(), std::move(message));
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// timeouts

void Loader::ParseTimeouts(const Field& f, Timeouts* timeouts) {
  ParseSubMapping(f, kTimeoutKeys, timeouts);
}

// ---------------------------------------------------------------------------
// rate

void Loader::ParseRate(const Field& f, JobDraft* d) {
  ParseSubMapping(f, kRateKeys, &d->job.rate);
}

void Loader::ParseRequestsPerMinute(const Field& f, RateLimit* r) {
  std::optional<double> n = ReadNumber(f);
  if (!n) return;
  if (*n < 0) {
    Report(f.mark(), f.what + ": must not be negative (0 means unlimited)");
    return;
  }
  if (*n > 1e9) {
    Report(f.mark(), f.what + ": is too large (at most 1000000000)");
    return;
  }
  r->requests_per_minute = *n;
}

void Loader::ParseMaxInFlight(const Field& f, RateLimit* r) {
  if (auto n = ReadIntInRange(f, 0, std::numeric_limits<int>::max())) {
    r->max_in_flight = *n;
  }
}

// ---------------------------------------------------------------------------
// limits

void Loader::ParseLimits(const Field& f, JobDraft* d) {
  ParseSubMapping(f, kLimitKeys, &d->job.limits);
}

// ---------------------------------------------------------------------------
// grace

void Loader::ParseGrace(const Field& f, JobDraft* d) {
  if (auto grace = ReadDuration(f, /*allow_off=*/false)) d->job.grace = *grace;
}

}  // namespace chatbatch
