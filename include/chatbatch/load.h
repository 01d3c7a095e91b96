// Load mode and latency gates (docs/load-testing.md): the job's `load:` and
// `slo:` keys as validated values, and what a load step measured. Metric
// names and units follow vLLM's and GuideLLM's (TTFT, TPOT, ITL, E2EL), so
// figures can be set side by side with theirs.
#ifndef CHATBATCH_LOAD_H_
#define CHATBATCH_LOAD_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chatbatch {

// `load.arrival`: when conversations start, regardless of replies (open
// loop).
struct ArrivalSpec {
  enum class Process { kPoisson, kConstant, kGamma };
  Process process = Process::kPoisson;
  double rate_per_s = 0;  // `rate: 20/s` (also /m, /h; a bare number is /s)
  // `burstiness: k`, gamma only: the shape of the gamma-distributed gaps
  // (mean 1/rate). k < 1 is burstier than Poisson, k > 1 more regular,
  // k = 1 is Poisson.
  double burstiness = 1;
};

// `load.think`: the pause between a reply and the conversation's next turn.
struct ThinkSpec {
  enum class Process { kConstant, kExponential };
  Process process = Process::kConstant;
  std::chrono::milliseconds mean{0};  // 0: no pause
};

// `load.sweep`: steps run one after another in one process, each drained
// before the next starts.
struct SweepSpec {
  enum class Kind { kNone, kRate, kConcurrency };
  Kind kind = Kind::kNone;
  std::vector<double> values;         // rates per second, or concurrencies
  std::chrono::milliseconds step{0};  // each step's duration
};

struct LoadSpec {
  std::optional<ArrivalSpec> arrival;  // nullopt: closed loop
  ThinkSpec think;
  // Stop starting conversations after this (in-flight ones finish); 0:
  // when the job's conversations are used up (never, with repeat and no
  // duration: the loader refuses that).
  std::chrono::milliseconds duration{0};
  // Conversations started in the first `warmup` or the last `cooldown` of
  // a step are run but left out of its metrics.
  std::chrono::milliseconds warmup{0};
  std::chrono::milliseconds cooldown{0};
  // The arrival and think-time draws; the same seed gives the same
  // schedule. When the job gives none the run picks one and records it.
  uint64_t seed = 0;
  bool seed_given = false;
  // Cycle through the job's conversations until the duration is over;
  // the n-th start of conversation "x" is named "x#n" (n from 1).
  bool repeat = false;
  SweepSpec sweep;
  int line = 0;  // of `load:` in the job file
};

// One `slo:` limit. Latency limits are "<metric>_<stat>" with metric ttft,
// tpot, itl or e2e and stat p<N> (p50, p95, p99.9, ...), mean or max;
// besides them error_rate (at most) and goodput (at least).
struct SloLimit {
  enum class Metric { kTtft, kTpot, kItl, kE2e, kErrorRate, kGoodput };
  std::string name;  // as written: "ttft_p95"
  Metric metric = Metric::kTtft;
  // For a latency metric: the quantile (0.95), 1 for max, -1 for mean.
  double quantile = 0;
  // Milliseconds for latency metrics; a fraction (0.01 = 1%) for
  // error_rate and goodput.
  double limit = 0;
  int line = 0;  // in the job file
};

// A distribution of durations in milliseconds (all 0 when count is 0).
struct LoadDist {
  int64_t count = 0;
  double mean = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, max = 0;
};

// One SLO checked against one step.
struct SloResult {
  std::string name;  // "ttft_p95"
  double limit = 0;  // as SloLimit::limit
  // As "limit"; NaN when nothing was measured (no turn): a miss.
  double measured = 0;
  // error_rate / goodput: shown as percentages. Not in summary.json: its
  // reader (output/load_json.h) sets it from the name.
  bool percent = false;
  bool ok = false;
};

// Multi-turn figures for one turn number (turn 1, 2, ...): does the
// server's prefix cache help turn 5?
struct TurnNumberStats {
  int turn = 0;       // 1-based; the last row also holds every later turn
  int64_t turns = 0;  // measured turns that arrived
  LoadDist ttft;
  double history_messages = 0;  // mean messages sent (system included)
  double history_chars = 0;     // mean characters of those messages
  double prompt_tokens = -1;    // mean usage.prompt_tokens; -1: none sent
};

// What one step (the whole run, without a sweep) measured. Latency
// figures cover the turns of the step's measured conversations (started
// outside warmup and cooldown) that arrived; throughput counts every turn
// that ended inside the measurement window.
struct LoadStepResult {
  int index = 0;              // 1-based
  std::string label;          // "rate 20/s", "concurrency 16", "run"
  double rate = 0;            // requested starts per second; 0: closed loop
  int concurrency = 0;        // the cap (closed loop: the conversations)
  double window_s = 0;        // the measurement window's length
  double wall_s = 0;          // step start to its last turn's end
  double achieved_rate = 0;   // starts per second inside the window
  int64_t conversations = 0;  // started in the step
  int64_t conversations_measured = 0;  // of those, in the window
  int64_t turns = 0;                   // measured turns that ended
  int64_t turns_error = 0;             // of those, in error
  double error_rate = 0;               // turns_error / turns
  double turns_per_s = 0;              // throughput in the window
  double tokens_per_s = 0;             // output tokens in the window
  // Output tokens are usage.completion_tokens when the server sent usage,
  // else content chunks (then tokens_estimated).
  bool tokens_estimated = false;
  LoadDist ttft;        // request start to first content (per turn)
  LoadDist tpot;        // (e2e - ttft) / (output tokens - 1), per turn
  LoadDist itl;         // every gap between content chunks
  LoadDist e2e;         // request start to the reply's end (per turn)
  double goodput = -1;  // share of turns meeting every per-turn SLO; -1:
                        // no per-turn SLO
  // The client's own health: how late each start was against its
  // schedule, how often the concurrency cap held one back, and the share
  // of one core chatbatch used.
  LoadDist lag;
  int64_t cap_hits = 0;
  double cpu_share = 0;
  bool client_limited = false;        // lag p99 > 10 ms or a cap hit
  std::string client_limited_reason;  // "" unless client_limited
  std::vector<TurnNumberStats> by_turn;
  std::vector<SloResult> slo;  // empty without `slo:`
  bool slo_ok = true;
};

// A run's load figures for summary.json ("load": {...}, with every step;
// written and read by output/load_json.h) and the reports
// (report/load_table.h, the JUnit "slo" suite, the HTML "Load" section).
struct LoadReport {
  std::string mode;  // "open" (arrival), "closed"
  uint64_t seed = 0;
  std::vector<LoadStepResult> steps;
  bool slo_ok = true;  // every step met every SLO
};

}  // namespace chatbatch

#endif  // CHATBATCH_LOAD_H_
