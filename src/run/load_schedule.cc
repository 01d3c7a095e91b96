// The random draws of load mode (run/load_schedule.h).

#include "run/load_schedule.h"

#include <xxhash.h>

#include <cmath>
#include <limits>
#include <numbers>

namespace chatbatch {
namespace {

void PutLittleEndian(uint64_t value, unsigned char* out) {
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<unsigned char>(value >> 8 * i);
}

}  // namespace

double CounterRandom::Uniform() {
  // Bytes in a fixed order, so that the hash is the same on every platform.
  unsigned char bytes[16];
  PutLittleEndian(stream_, bytes);
  PutLittleEndian(index_++, bytes + 8);
  const uint64_t hash = XXH3_64bits_withSeed(bytes, sizeof bytes, seed_);
  // The top 53 bits, a double's precision: k / 2^53 is exact and below 1;
  // k = 0 becomes half the step, so that log() stays finite.
  const uint64_t k = hash >> 11;
  constexpr double kStep = 1.0 / 9007199254740992.0;  // 2^-53
  return k == 0 ? kStep / 2 : static_cast<double>(k) * kStep;
}

double CounterRandom::Exponential(double mean) {
  return -mean * std::log(Uniform());
}

double CounterRandom::Normal() {
  // Box-Muller; the second value (the sine) is dropped so that the
  // generator stays one counter.
  const double radius = std::sqrt(-2 * std::log(Uniform()));
  return radius * std::cos(2 * std::numbers::pi * Uniform());
}

double CounterRandom::Gamma(double shape, double scale) {
  if (shape < 1) {
    // Marsaglia and Tsang's method needs shape >= 1: Gamma(a) is
    // Gamma(a + 1) * U^(1/a).
    const double boosted = Gamma(shape + 1, scale);
    return boosted * std::pow(Uniform(), 1 / shape);
  }
  const double d = shape - 1.0 / 3;
  const double c = 1 / std::sqrt(9 * d);
  for (;;) {
    const double x = Normal();
    double v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const double u = Uniform();
    const double x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2 ||
        std::log(u) < 0.5 * x2 + d * (1 - v + std::log(v))) {
      return d * v * scale;
    }
  }
}

// An arrival stream is the complement of the step's index, so that it
// never meets a conversation's think-time stream (its small start number)
// with the same seed.
ArrivalSchedule::ArrivalSchedule(const ArrivalSpec& spec, double rate_per_s,
                                 uint64_t seed, uint64_t stream)
    : spec_(spec),
      mean_gap_us_(rate_per_s > 0 ? 1e6 / rate_per_s
                                  : std::numeric_limits<double>::infinity()),
      random_(seed, ~stream) {}

int64_t ArrivalSchedule::NextOffsetUs() {
  if (!std::isfinite(mean_gap_us_)) {
    return std::numeric_limits<int64_t>::max();  // no rate: never
  }
  switch (spec_.process) {
    case ArrivalSpec::Process::kConstant:
      // The first at the step's start; a product, not a sum, so that
      // rounding does not drift over a long step.
      offset_us_ = static_cast<double>(count_) * mean_gap_us_;
      break;
    case ArrivalSpec::Process::kPoisson:
      offset_us_ += random_.Exponential(mean_gap_us_);
      break;
    case ArrivalSpec::Process::kGamma: {
      // Shape k and mean k * scale = the mean gap.
      const double k = spec_.burstiness;
      offset_us_ += random_.Gamma(k, mean_gap_us_ / k);
      break;
    }
  }
  ++count_;
  return std::llround(offset_us_);
}

ThinkTimes::ThinkTimes(const ThinkSpec& spec, uint64_t seed, uint64_t instance)
    : spec_(spec), random_(seed, instance) {}

std::chrono::microseconds ThinkTimes::Next() {
  const double mean_us =
      std::chrono::duration<double, std::micro>(spec_.mean).count();
  if (mean_us <= 0) return std::chrono::microseconds(0);
  switch (spec_.process) {
    case ThinkSpec::Process::kConstant:
      return std::chrono::microseconds(std::llround(mean_us));
    case ThinkSpec::Process::kExponential:
      return std::chrono::microseconds(
          std::llround(random_.Exponential(mean_us)));
  }
  return std::chrono::microseconds(0);
}

}  // namespace chatbatch
