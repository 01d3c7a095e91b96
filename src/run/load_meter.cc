#include "run/load_meter.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace chatbatch {

namespace {

using std::chrono::milliseconds;
constexpr int64_t kBucketMs = 100;

LoadDist DistOf(const LatencyHistogram& h) {
  LoadDist d;
  d.count = h.count();
  if (d.count == 0) return d;
  d.mean = h.Mean();
  d.p50 = h.Quantile(0.50);
  d.p90 = h.Quantile(0.90);
  d.p95 = h.Quantile(0.95);
  d.p99 = h.Quantile(0.99);
  d.max = h.Quantile(1.0);
  return d;
}

double StatOf(const LatencyHistogram& h, double quantile) {
  if (h.count() == 0) return std::numeric_limits<double>::quiet_NaN();
  return quantile < 0 ? h.Mean() : h.Quantile(quantile);
}

double Millis(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Output tokens: the server's count when it sent usage, else the chunks
// that carried content (vLLM counts tokens with a tokenizer; a chunk is
// most servers' unit of streaming, one token each for llama.cpp).
int64_t OutputTokens(const TurnRecord& r, bool* estimated) {
  if (r.reply.usage && r.reply.usage->completion_tokens > 0) {
    if (estimated != nullptr) *estimated = false;
    return r.reply.usage->completion_tokens;
  }
  if (estimated != nullptr) *estimated = true;
  return r.reply.chunks;
}

}  // namespace

LoadMeter::LoadMeter(LoadStepPlan plan, const std::vector<SloLimit>* slo,
                     Clock::time_point start, double cpu_seconds_at_start)
    : plan_(std::move(plan)),
      slo_(slo),
      start_(start),
      cpu_at_start_(cpu_seconds_at_start) {
  for (const SloLimit& limit : *slo_) {
    if (limit.metric != SloLimit::Metric::kErrorRate &&
        limit.metric != SloLimit::Metric::kGoodput) {
      per_turn_slo_ = true;
    }
  }
}

bool LoadMeter::InWindow(Clock::time_point scheduled) const {
  const Clock::duration offset = scheduled - start_;
  if (offset < plan_.window_begin) return false;
  return !plan_.window_end || offset < *plan_.window_end;
}

LoadMeter::Bucket& LoadMeter::BucketAt(Clock::time_point t) {
  const int64_t ms =
      std::chrono::duration_cast<milliseconds>(t - start_).count();
  const auto index = static_cast<size_t>(std::max<int64_t>(0, ms / kBucketMs));
  if (index >= buckets_.size()) buckets_.resize(index + 1);
  return buckets_[index];
}

void LoadMeter::OnStart(Clock::time_point actual, Clock::duration lag) {
  lag_.Add(std::max<int64_t>(
      0, std::chrono::duration_cast<std::chrono::microseconds>(lag).count()));
  ++BucketAt(actual).starts;
}

void LoadMeter::OnLaunch(bool measured) {
  ++conversations_;
  if (measured) ++conversations_measured_;
}

double LoadMeter::TimePerOutputToken(const TurnRecord& r, bool* estimated) {
  const int64_t tokens = OutputTokens(r, estimated);
  if (!r.ok || r.ttft_ms < 0 || tokens < 2) return -1;
  return std::max(0.0, r.duration_ms - r.ttft_ms) /
         static_cast<double>(tokens - 1);
}

bool LoadMeter::MeetsTurnSlos(const std::vector<SloLimit>& slo,
                              const TurnRecord& r, double tpot_ms) {
  if (!r.ok) return false;
  for (const SloLimit& limit : slo) {
    switch (limit.metric) {
      case SloLimit::Metric::kTtft:
        if (r.ttft_ms < 0 || r.ttft_ms > limit.limit) return false;
        break;
      case SloLimit::Metric::kE2e:
        if (r.duration_ms > limit.limit) return false;
        break;
      case SloLimit::Metric::kItl:
        // The turn's own p99 gap, whatever statistic the run-level limit
        // names: one slow stall in a long reply is what a reader sees.
        if (r.latency.gaps_ms.p99 > limit.limit) return false;
        break;
      case SloLimit::Metric::kTpot:
        if (tpot_ms > limit.limit) return false;
        break;
      default:
        break;
    }
  }
  return true;
}

void LoadMeter::OnTurn(const MeteredTurn& turn) {
  const TurnRecord& r = *turn.record;
  if (!r.cached) {
    Bucket& bucket = BucketAt(turn.ended);
    ++bucket.turns;
    if (r.ok) bucket.tokens += OutputTokens(r, nullptr);
  }
  if (!turn.measured || r.cached) return;
  ++turns_;
  if (!r.ok) {
    ++turns_error_;
    return;
  }
  bool estimated = false;
  const double tpot = TimePerOutputToken(r, &estimated);
  if (estimated) tokens_estimated_ = true;
  if (per_turn_slo_ && MeetsTurnSlos(*slo_, r, tpot)) ++turns_good_;
  if (r.ttft_ms >= 0) ttft_.AddMillis(r.ttft_ms);
  if (tpot >= 0) tpot_.AddMillis(tpot);
  e2e_.AddMillis(r.duration_ms);
  if (turn.gaps != nullptr) {
    for (float gap : *turn.gaps) {
      itl_.Add(static_cast<int64_t>(std::llround(gap * 1000.0f)));
    }
  }
  itl_.Add(0, turn.zero_gaps);

  const auto row_index =
      static_cast<size_t>(std::clamp(r.turn, 1, kTurnRows) - 1);
  if (row_index >= rows_.size()) rows_.resize(row_index + 1);
  TurnRow& row = rows_[row_index];
  ++row.turns;
  if (r.ttft_ms >= 0) row.ttft.AddMillis(r.ttft_ms);
  row.history_messages += turn.history_messages;
  row.history_chars += turn.history_chars;
  if (r.reply.usage && r.reply.usage->prompt_tokens > 0) {
    row.prompt_tokens += r.reply.usage->prompt_tokens;
    ++row.prompt_token_turns;
  }
}

std::vector<SloResult> LoadMeter::CheckSlos(const std::vector<SloLimit>& slo,
                                            const LoadStepResult& step,
                                            const LatencyHistogram& ttft,
                                            const LatencyHistogram& tpot,
                                            const LatencyHistogram& itl,
                                            const LatencyHistogram& e2e) {
  std::vector<SloResult> results;
  for (const SloLimit& limit : slo) {
    SloResult r;
    r.name = limit.name;
    r.limit = limit.limit;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    switch (limit.metric) {
      case SloLimit::Metric::kTtft:
        r.measured = StatOf(ttft, limit.quantile);
        break;
      case SloLimit::Metric::kTpot:
        r.measured = StatOf(tpot, limit.quantile);
        break;
      case SloLimit::Metric::kItl:
        r.measured = StatOf(itl, limit.quantile);
        break;
      case SloLimit::Metric::kE2e:
        r.measured = StatOf(e2e, limit.quantile);
        break;
      case SloLimit::Metric::kErrorRate:
        r.percent = true;
        r.measured = step.turns > 0 ? step.error_rate : nan;
        break;
      case SloLimit::Metric::kGoodput:
        r.percent = true;
        r.measured = step.turns > 0 && step.goodput >= 0 ? step.goodput : nan;
        break;
    }
    // Nothing measured is a miss: a gate that no turn reached must not
    // pass.
    r.ok =
        !std::isnan(r.measured) && (limit.metric == SloLimit::Metric::kGoodput
                                        ? r.measured >= limit.limit
                                        : r.measured <= limit.limit);
    results.push_back(std::move(r));
  }
  return results;
}

LoadStepResult LoadMeter::Finish(Clock::time_point end,
                                 double cpu_seconds_now) const {
  LoadStepResult s;
  s.index = plan_.index;
  s.label = plan_.label;
  s.rate = plan_.rate;
  s.concurrency = plan_.concurrency;
  s.wall_s = std::max(0.0, Millis(end - start_) / 1000.0);
  s.conversations = conversations_;
  s.conversations_measured = conversations_measured_;
  s.turns = turns_;
  s.turns_error = turns_error_;
  s.error_rate = turns_ > 0 ? static_cast<double>(turns_error_) /
                                  static_cast<double>(turns_)
                            : 0;
  s.tokens_estimated = tokens_estimated_;

  // The window: [begin, end) from the start, cut to the buckets that fall
  // wholly inside it.
  const int64_t wall_ms = static_cast<int64_t>(s.wall_s * 1000.0);
  const int64_t begin_ms = plan_.window_begin.count();
  const int64_t end_ms =
      plan_.window_end ? std::min(plan_.window_end->count(), wall_ms) : wall_ms;
  int64_t turns = 0, tokens = 0, starts = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    const int64_t at = static_cast<int64_t>(i) * kBucketMs;
    if (at < begin_ms || at >= end_ms) continue;
    turns += buckets_[i].turns;
    tokens += buckets_[i].tokens;
    starts += buckets_[i].starts;
  }
  s.window_s = std::max<int64_t>(0, end_ms - begin_ms) / 1000.0;
  if (s.window_s > 0) {
    s.turns_per_s = static_cast<double>(turns) / s.window_s;
    s.tokens_per_s = static_cast<double>(tokens) / s.window_s;
    s.achieved_rate = static_cast<double>(starts) / s.window_s;
  }
  s.ttft = DistOf(ttft_);
  s.tpot = DistOf(tpot_);
  s.itl = DistOf(itl_);
  s.e2e = DistOf(e2e_);
  if (per_turn_slo_) {
    s.goodput = turns_ > 0 ? static_cast<double>(turns_good_) /
                                 static_cast<double>(turns_)
                           : 0;
  }
  s.lag = DistOf(lag_);
  s.cap_hits = cap_hits_;
  if (s.wall_s > 0) s.cpu_share = (cpu_seconds_now - cpu_at_start_) / s.wall_s;
  if (plan_.open_loop) {
    if (s.lag.p99 > 10.0) {
      s.client_limited = true;
      s.client_limited_reason = "schedule lag p99 " +
                                std::to_string(std::lround(s.lag.p99)) +
                                " ms > 10 ms";
    }
    if (cap_hits_ > 0) {
      if (s.client_limited) s.client_limited_reason += "; ";
      s.client_limited = true;
      s.client_limited_reason += "concurrency cap " +
                                 std::to_string(plan_.concurrency) + " hit " +
                                 std::to_string(cap_hits_) + " times";
    }
  }
  for (size_t i = 0; i < rows_.size(); ++i) {
    const TurnRow& row = rows_[i];
    if (row.turns == 0) continue;
    TurnNumberStats t;
    t.turn = static_cast<int>(i) + 1;
    t.turns = row.turns;
    t.ttft = DistOf(row.ttft);
    const auto n = static_cast<double>(row.turns);
    t.history_messages = static_cast<double>(row.history_messages) / n;
    t.history_chars = static_cast<double>(row.history_chars) / n;
    if (row.prompt_token_turns > 0) {
      t.prompt_tokens = static_cast<double>(row.prompt_tokens) /
                        static_cast<double>(row.prompt_token_turns);
    }
    s.by_turn.push_back(std::move(t));
  }
  s.slo = CheckSlos(*slo_, s, ttft_, tpot_, itl_, e2e_);
  s.slo_ok = std::all_of(s.slo.begin(), s.slo.end(),
                         [](const SloResult& r) { return r.ok; });
  return s;
}

}  // namespace chatbatch
