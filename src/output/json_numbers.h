// How the run directory's JSON writes numbers and absent values; shared by
// the jsonl codec and summary.json so both round the same way.
#ifndef CHATBATCH_OUTPUT_JSON_NUMBERS_H_
#define CHATBATCH_OUTPUT_JSON_NUMBERS_H_

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "chatbatch/latency.h"
#include "util/json_text.h"

namespace chatbatch {

inline constexpr auto kReplaceInvalidUtf8 =
    nlohmann::json::error_handler_t::replace;

// Durations are kept to 0.1 ms: finer digits are noise, and short numbers
// keep the records readable. Past 2^52 there are no tenths to drop, and
// ms * 10 could overflow to infinity: a finite value read back from a
// record must be written as a number again (found by fuzz_turn_record).
inline nlohmann::ordered_json Millis(double ms) {
  if (!std::isfinite(ms)) return nullptr;
  if (std::fabs(ms) >= 0x1p52) return ms;
  return std::round(ms * 10.0) / 10.0;
}

// Millis(ms) as nlohmann dumps it, without the json.
inline void AppendMillis(std::string* out, double ms) {
  if (std::isfinite(ms) && std::fabs(ms) < 0x1p52) {
    ms = std::round(ms * 10.0) / 10.0;
  }
  AppendJsonNumber(out, ms);
}

inline nlohmann::ordered_json PercentilesJson(const Percentiles& p) {
  return {{"p50", Millis(p.p50)},
          {"p90", Millis(p.p90)},
          {"p99", Millis(p.p99)},
          {"max", Millis(p.max)}};
}

inline nlohmann::ordered_json StringOrNull(const std::string& s) {
  if (s.empty()) return nullptr;
  return s;
}

}  // namespace chatbatch

#endif  // CHATBATCH_OUTPUT_JSON_NUMBERS_H_
