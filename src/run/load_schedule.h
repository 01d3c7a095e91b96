// The random draws of load mode: when conversations arrive and how long
// they think between turns (docs/load-testing.md). Every draw is a pure
// function of (seed, stream, index) through XXH3, so a schedule is the same
// on every platform and in every run with the same seed (std::
// distributions are implementation-defined), whatever order the loop asks
// in, and a conversation's think times need 24 bytes of state, not a
// Mersenne Twister's 2.5 KB.
#ifndef CHATBATCH_RUN_LOAD_SCHEDULE_H_
#define CHATBATCH_RUN_LOAD_SCHEDULE_H_

#include <chrono>
#include <cstdint>

#include "chatbatch/load.h"

namespace chatbatch {

// A stream of uniform draws: the index-th is a hash of (seed, stream,
// index).
class CounterRandom {
 public:
  CounterRandom(uint64_t seed, uint64_t stream)
      : seed_(seed), stream_(stream) {}
  // In (0, 1): never 0, so that log() of it is finite.
  double Uniform();
  // Mean "mean", exponentially distributed.
  double Exponential(double mean);
  // Gamma with the given shape (> 0) and scale (Marsaglia and Tsang; a
  // shape below 1 boosted by U^(1/shape)).
  double Gamma(double shape, double scale);
  // Standard normal.
  double Normal();

 private:
  uint64_t seed_;
  uint64_t stream_;
  uint64_t index_ = 0;
};

// The arrival offsets of one step from its start: gaps of mean 1/rate,
// exponential (poisson), fixed (constant) or gamma (burstiness k).
class ArrivalSchedule {
 public:
  // "stream" tells the steps of a sweep apart.
  ArrivalSchedule(const ArrivalSpec& spec, double rate_per_s, uint64_t seed,
                  uint64_t stream);
  // The offset of the next arrival, in microseconds from the step's
  // start; strictly increasing for constant, non-decreasing otherwise.
  int64_t NextOffsetUs();

 private:
  ArrivalSpec spec_;
  double mean_gap_us_;
  double offset_us_ = 0;
  int64_t count_ = 0;
  CounterRandom random_;
};

// One conversation's think times: "instance" (its start number in the run)
// is the stream, so its pauses do not depend on when other conversations
// finish.
class ThinkTimes {
 public:
  ThinkTimes(const ThinkSpec& spec, uint64_t seed, uint64_t instance);
  // The pause before the next turn (0 without `think`).
  std::chrono::microseconds Next();

 private:
  ThinkSpec spec_;
  CounterRandom random_;
};

}  // namespace chatbatch

#endif  // CHATBATCH_RUN_LOAD_SCHEDULE_H_
