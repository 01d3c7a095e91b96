// Latency figures of turns and runs (docs/output-format.md, "Latency metrics"):
// what people read when they load-test their own server, so they are measured
// on the monotonic clock from the start of the request.
#ifndef CHATBATCH_LATENCY_H_
#define CHATBATCH_LATENCY_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace chatbatch {

// Percentiles of a set of durations, in milliseconds; all 0 when count is 0.
struct Percentiles {
  int64_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

// Exact percentiles (nearest rank) of "values"; reorders them.
Percentiles ExactPercentiles(std::vector<float>* values);

// The same for "values" plus "zeros" more values of 0. A burst brings
// hundreds of chunks in one read, all 0 apart: counting them rather than
// storing them keeps a turn's percentiles from sorting them.
Percentiles ExactPercentiles(std::vector<float>* values, int64_t zeros);

// A log-bucketed histogram of durations in microseconds, 1/64 of an octave
// wide (relative error under 1.1 %), up to about 2^40 µs (12 days). Fixed
// size: adding a value never allocates, and summarizing it costs the same
// after a million values as after ten, so summary.json can be rewritten
// every second of a long run.
class LatencyHistogram {
 public:
  void Add(int64_t micros);
  // Adds "micros" "times" times (none if "times" <= 0).
  void Add(int64_t micros, int64_t times);
  void Merge(const LatencyHistogram& other);
  int64_t count() const { return count_; }
  // Percentiles in milliseconds: bucket midpoints, except that the buckets
  // of the minimum and the maximum report those exact values.
  Percentiles Summarize() const;
  // The nearest-rank quantile "q" (0..1) in milliseconds, as Summarize()
  // gives p50/p90/p99; 0 when empty.
  double Quantile(double q) const;
  // The exact mean in milliseconds; 0 when empty.
  double Mean() const;
  // Adds a duration in milliseconds (a record's unit).
  void AddMillis(double ms);

 private:
  static constexpr int kSubBits = 6;
  static constexpr int kBuckets = (40 - kSubBits + 1) << kSubBits;
  static int BucketOf(int64_t micros);
  static double MidpointOf(int bucket);
  double ValueOf(int bucket) const;  // in ms

  std::array<int64_t, kBuckets> counts_{};
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  int64_t sum_ = 0;  // in µs: 2^63 µs is 292,000 years
};

// One turn's timing, beyond its TTFT and duration.
struct TurnLatency {
  Percentiles gaps_ms;       // between consecutive chunks' arrival
  double chunks_per_s = 0;   // chunks / duration
  double tokens_per_s = -1;  // completion tokens / (duration - TTFT); -1:
                             // the server sent no usage
};

// A run's figures: a runner's over the turns this process ran (the end
// line); summary.json's over every record in the directory, rebuilt from
// them (output/record_tally.h).
struct RunLatency {
  double wall_s = 0;  // first request to last reply
  int64_t turns = 0;  // turns whose reply arrived from the server
  // Turns replayed from the response cache: in none of the figures here
  // (their timings are not a server's); summary.json's counts.turns_cached.
  int64_t cached = 0;
  // Histograms, not lists of every turn: a run of a million turns would
  // otherwise re-sort its whole history at every summary.json rewrite.
  LatencyHistogram ttft;      // per arrived turn with a first token
  LatencyHistogram duration;  // per arrived turn
  LatencyHistogram gaps;      // every inter-chunk gap
  std::map<std::string, int64_t> errors_by_kind;   // final turn errors
  std::map<std::string, int64_t> retries_by_kind;  // failed attempts retried
};

}  // namespace chatbatch

#endif  // CHATBATCH_LATENCY_H_
