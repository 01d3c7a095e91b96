// The figures of one load step (or of a whole run gated by `slo:`): what
// the runner tells it about starts and turns, folded into fixed-size
// histograms and 100 ms buckets, so that a step of a million turns costs
// the same memory as one of ten. docs/load-testing.md defines each figure.
#ifndef CHATBATCH_RUN_LOAD_METER_H_
#define CHATBATCH_RUN_LOAD_METER_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chatbatch/latency.h"
#include "chatbatch/load.h"
#include "chatbatch/turn_record.h"

namespace chatbatch {

// One finished turn as the meter needs it.
struct MeteredTurn {
  const TurnRecord* record = nullptr;
  bool measured = false;  // its conversation started inside the window
  // Its inter-chunk gaps in ms (and how many more were 0): every one goes
  // into the step's ITL.
  const std::vector<float>* gaps = nullptr;
  int64_t zero_gaps = 0;
  int history_messages = 0;   // messages the request carried
  int64_t history_chars = 0;  // their characters
  std::chrono::steady_clock::time_point ended;
};

// What a step is, fixed when it starts.
struct LoadStepPlan {
  int index = 1;
  std::string label;  // "rate 20/s", "concurrency 16", "run"
  double rate = 0;    // 0: closed loop
  int concurrency = 0;
  // The measurement window, from the step's start; "window_end" nullopt:
  // the step's end (a step that runs until its conversations are used up).
  std::chrono::milliseconds window_begin{0};
  std::optional<std::chrono::milliseconds> window_end;
  // Whether the client's own health (lag, cap) is measured: load mode.
  bool open_loop = false;
};

class LoadMeter {
 public:
  using Clock = std::chrono::steady_clock;
  // Turn numbers past this share the last row of by_turn.
  static constexpr int kTurnRows = 32;

  LoadMeter(LoadStepPlan plan, const std::vector<SloLimit>* slo,
            Clock::time_point start, double cpu_seconds_at_start);

  // Whether a conversation scheduled at "scheduled" is measured.
  bool InWindow(Clock::time_point scheduled) const;

  // A conversation was started (its first request sent) "lag" after its
  // scheduled time.
  void OnStart(Clock::time_point actual, Clock::duration lag);
  void OnLaunch(bool measured);  // a conversation was made for the step
  void OnCapHit() { ++cap_hits_; }
  void OnTurn(const MeteredTurn& turn);

  // The step's result, with its SLOs checked.
  LoadStepResult Finish(Clock::time_point end, double cpu_seconds_now) const;

  // Whether a turn meets every per-turn SLO (ttft, tpot, itl, e2e); also
  // for tests.
  static bool MeetsTurnSlos(const std::vector<SloLimit>& slo,
                            const TurnRecord& record, double tpot_ms);
  // The turn's time per output token, or -1 (fewer than 2 tokens, no first
  // token); "estimated" says the tokens were counted as chunks.
  static double TimePerOutputToken(const TurnRecord& record,
                                   bool* estimated = nullptr);
  static std::vector<SloResult> CheckSlos(const std::vector<SloLimit>& slo,
                                          const LoadStepResult& step,
                                          const LatencyHistogram& ttft,
                                          const LatencyHistogram& tpot,
                                          const LatencyHistogram& itl,
                                          const LatencyHistogram& e2e);

 private:
  struct TurnRow {
    int64_t turns = 0;
    LatencyHistogram ttft;
    int64_t history_messages = 0;
    int64_t history_chars = 0;
    int64_t prompt_tokens = 0;
    int64_t prompt_token_turns = 0;
  };
  // 100 ms buckets from the start: turns and tokens that ended, and
  // starts, for the window's throughput and achieved rate.
  struct Bucket {
    int64_t turns = 0;
    int64_t tokens = 0;
    int64_t starts = 0;
  };
  Bucket& BucketAt(Clock::time_point t);

  LoadStepPlan plan_;
  const std::vector<SloLimit>* slo_;
  Clock::time_point start_;
  double cpu_at_start_;
  bool per_turn_slo_ = false;

  int64_t conversations_ = 0;
  int64_t conversations_measured_ = 0;
  int64_t turns_ = 0;
  int64_t turns_error_ = 0;
  int64_t turns_good_ = 0;
  int64_t cap_hits_ = 0;
  bool tokens_estimated_ = false;
  LatencyHistogram ttft_, tpot_, itl_, e2e_, lag_;
  std::vector<TurnRow> rows_;
  std::vector<Bucket> buckets_;
};

}  // namespace chatbatch

#endif  // CHATBATCH_RUN_LOAD_METER_H_
