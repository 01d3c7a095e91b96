#include "output/record_tally.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string_view>

#include "output/turn_status.h"

namespace chatbatch {
namespace {

// NowIsoUtc's own form, "2026-11-26T06:36:45.123Z", read without sscanf
// and timegm (a fifth of the tally's cost per turn); nullopt for any other
// text, which the general reading below takes.
std::optional<double> FixedIsoUtcMs(std::string_view text) {
  static constexpr std::string_view kForm = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() != kForm.size()) return std::nullopt;
  for (size_t i = 0; i < kForm.size(); ++i) {
    const bool digit = text[i] >= '0' && text[i] <= '9';
    if (kForm[i] == 'd' ? !digit : text[i] != kForm[i]) return std::nullopt;
  }
  auto num = [text](size_t at, size_t n) {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) v = v * 10 + (text[i] - '0');
    return v;
  };
  const int month = num(5, 2);
  if (month < 1 || month > 12) return std::nullopt;
  // Past the month's end the days run on, as timegm normalises them.
  using namespace std::chrono;
  const sys_days date =
      sys_days(year(num(0, 4)) / month / 1) + days(num(8, 2) - 1);
  const int64_t seconds = date.time_since_epoch().count() * int64_t{86400} +
                          num(11, 2) * 3600 + num(14, 2) * 60 + num(17, 2);
  return static_cast<double>(seconds) * 1000.0 + num(20, 3);
}

}  // namespace

double IsoUtcMs(const std::string& text) {
  if (std::optional<double> ms = FixedIsoUtcMs(text)) return *ms;
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year,
                  &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
                  &ms) != 7) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) * 1000.0 + ms;
}

namespace {

// A record keeps its turn's gap percentiles, not the gaps: the run's gap
// histogram gets each percentile weighted by the share of the turn's gaps
// it stands for (exact max, approximate percentiles), which is what can be
// rebuilt from disk.
void AddGaps(const TurnRecord& record, LatencyHistogram* gaps) {
  const int64_t n = record.reply.chunks - 1;
  const Percentiles& p = record.latency.gaps_ms;
  if (n <= 0 || p.max <= 0) return;
  auto add = [gaps](double ms, int64_t count) {
    const auto micros = static_cast<int64_t>(std::llround(ms * 1000.0));
    for (int64_t i = 0; i < count; ++i) gaps->Add(micros);
  };
  const int64_t at_p50 = std::max<int64_t>(1, n / 2);
  const int64_t at_p90 = std::max<int64_t>(0, n * 4 / 10);
  const int64_t at_p99 = std::max<int64_t>(0, n * 9 / 100);
  add(p.p50, at_p50);
  add(p.p90, at_p90);
  add(p.p99, at_p99);
  add(p.max, std::max<int64_t>(1, n - at_p50 - at_p90 - at_p99));
}

}  // namespace

void CountJudge(const TurnRecord& record, int sign, JudgeCounts* counts) {
  for (const ExpectationResult& e : record.expectations) {
    if (e.check != "judge") continue;
    (e.status == "error"     ? counts->errors
     : e.status == "pending" ? counts->pending
     : e.ok                  ? counts->passed
                             : counts->failed) += sign;
  }
}

void CountTurn(const TurnRecord& r, ConversationOutcome* outcome) {
  for (const ExpectationResult& e : r.expectations) {
    if (!e.status.empty()) continue;  // not decided: neither
    (e.ok ? outcome->expectations_passed : outcome->expectations_failed) += 1;
  }
  switch (TurnStatusOf(r)) {
    case TurnStatus::kError:
      ++outcome->turns_error;
      outcome->error = r.error;
      break;
    case TurnStatus::kFailed:
      ++outcome->turns_failed;
      if (!outcome->failure.empty()) break;
      for (const ExpectationResult& e : r.expectations) {
        if (e.ok || !e.status.empty()) continue;
        outcome->failure =
            "turn " + std::to_string(r.turn) + ": " + e.check + ": " + e.detail;
        break;
      }
      break;
    case TurnStatus::kOk:
      ++outcome->turns_ok;
      break;
  }
}

void RecordTally::Regrade(const TurnRecord& before, const TurnRecord& after) {
  ConversationOutcome a, b;
  CountTurn(before, &a);
  CountTurn(after, &b);
  turns_.turns_ok += b.turns_ok - a.turns_ok;
  turns_.turns_failed += b.turns_failed - a.turns_failed;
  turns_.turns_error += b.turns_error - a.turns_error;
  turns_.expectations_passed += b.expectations_passed - a.expectations_passed;
  turns_.expectations_failed += b.expectations_failed - a.expectations_failed;
  CountJudge(before, -1, &judge_);
  CountJudge(after, 1, &judge_);
}

void RecordTally::Add(const TurnRecord& record) {
  CountTurn(record, &turns_);
  CountJudge(record, 1, &judge_);
  totals_.Add(record);
  RunLatency& run = latency_;
  for (const AttemptFailure& failure : record.failed_attempts) {
    ++run.retries_by_kind[failure.error_kind];
  }
  const double start = IsoUtcMs(record.started_at);
  if (start >= 0) {
    if (first_start_ms_ < 0 || start < first_start_ms_) first_start_ms_ = start;
    last_end_ms_ = std::max(last_end_ms_, start + record.duration_ms);
  }
  if (!record.ok) {
    ++run.errors_by_kind[record.error_kind];
    return;
  }
  if (record.cached) {  // replayed: no server timed it
    ++run.cached;
    return;
  }
  ++run.turns;
  if (record.ttft_ms >= 0) run.ttft.AddMillis(record.ttft_ms);
  run.duration.AddMillis(record.duration_ms);
  AddGaps(record, &run.gaps);
}

RunLatency* RecordTally::latency() {
  // The span of the records: first request to last reply, across every
  // process that wrote them (a pause between a kill and --resume counts).
  latency_.wall_s = first_start_ms_ < 0
                        ? 0
                        : std::round(last_end_ms_ - first_start_ms_) / 1000.0;
  return &latency_;
}

}  // namespace chatbatch
