#include "chatbatch/latency.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>

namespace chatbatch {
namespace {

// Nearest rank: the smallest value with at least p of all values at or
// below it.
size_t RankIndex(double p, size_t n) {
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(n)));
  return std::clamp<size_t>(rank, 1, n) - 1;
}

}  // namespace

Percentiles ExactPercentiles(std::vector<float>* values) {
  Percentiles out;
  const size_t n = values->size();
  out.count = static_cast<int64_t>(n);
  if (n == 0) return out;
  auto at = [&](double p) {
    auto nth = values->begin() + static_cast<std::ptrdiff_t>(RankIndex(p, n));
    std::nth_element(values->begin(), nth, values->end());
    return static_cast<double>(*nth);
  };
  out.p50 = at(0.50);
  out.p90 = at(0.90);
  out.p99 = at(0.99);
  out.max = *std::max_element(values->begin(), values->end());
  return out;
}

Percentiles ExactPercentiles(std::vector<float>* values, int64_t zeros) {
  if (zeros <= 0) return ExactPercentiles(values);
  Percentiles out;
  out.count = static_cast<int64_t>(values->size()) + zeros;
  const auto n = static_cast<size_t>(out.count);
  // In sorted order: the negative values, the zeros (counted and stored
  // alike), the positive ones.
  const auto zero_begin = std::partition(values->begin(), values->end(),
                                         [](float v) { return v < 0; });
  const auto positive_begin =
      std::partition(zero_begin, values->end(), [](float v) { return v == 0; });
  const auto negatives = static_cast<size_t>(zero_begin - values->begin());
  const size_t zero_end = negatives +
                          static_cast<size_t>(positive_begin - zero_begin) +
                          static_cast<size_t>(zeros);
  auto at = [&](double p) {
    const size_t rank = RankIndex(p, n);
    if (rank < negatives) {
      auto nth = values->begin() + static_cast<std::ptrdiff_t>(rank);
      std::nth_element(values->begin(), nth, zero_begin);
      return static_cast<double>(*nth);
    }
    if (rank < zero_end) return 0.0;
    auto nth = positive_begin + static_cast<std::ptrdiff_t>(rank - zero_end);
    std::nth_element(positive_begin, nth, values->end());
    return static_cast<double>(*nth);
  };
  out.p50 = at(0.50);
  out.p90 = at(0.90);
  out.p99 = at(0.99);
  out.max = positive_begin == values->end()
                ? 0.0
                : static_cast<double>(
                      *std::max_element(positive_begin, values->end()));
  return out;
}

int LatencyHistogram::BucketOf(int64_t micros) {
  if (micros < 0) micros = 0;
  const auto v = static_cast<uint64_t>(micros);
  if (v < (1u << kSubBits)) return static_cast<int>(v);
  const int e = std::bit_width(v) - 1;  // >= kSubBits
  const int mantissa =
      static_cast<int>((v >> (e - kSubBits)) & ((1u << kSubBits) - 1));
  const int bucket = ((e - kSubBits + 1) << kSubBits) + mantissa;
  return std::min(bucket, kBuckets - 1);
}

double LatencyHistogram::MidpointOf(int bucket) {
  if (bucket < (1 << kSubBits)) return bucket;
  const int e = (bucket >> kSubBits) + kSubBits - 1;
  const int mantissa = bucket & ((1 << kSubBits) - 1);
  const double width = std::ldexp(1.0, e - kSubBits);
  const double low = ((1 << kSubBits) + mantissa) * width;
  return low + width / 2;
}

void LatencyHistogram::Add(int64_t micros) {
  ++counts_[static_cast<size_t>(BucketOf(micros))];
  min_ = count_ == 0 ? micros : std::min(min_, micros);
  ++count_;
  sum_ += micros;
  max_ = std::max(max_, micros);
}

void LatencyHistogram::Add(int64_t micros, int64_t times) {
  if (times <= 0) return;
  counts_[static_cast<size_t>(BucketOf(micros))] += times;
  min_ = count_ == 0 ? micros : std::min(min_, micros);
  count_ += times;
  sum_ += micros * times;
  max_ = std::max(max_, micros);
}

void LatencyHistogram::AddMillis(double ms) {
  Add(static_cast<int64_t>(std::llround(ms * 1000.0)));
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

double LatencyHistogram::ValueOf(int bucket) const {
  // The extremes are known exactly, so their buckets report them: a p99
  // never shows below the max it shares a bucket with, and a small set's
  // percentiles are its own values.
  if (bucket == BucketOf(max_)) return static_cast<double>(max_) / 1000.0;
  if (bucket == BucketOf(min_)) return static_cast<double>(min_) / 1000.0;
  return MidpointOf(bucket) / 1000.0;
}

double LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<int64_t>(RankIndex(q, count_));
  int64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts_[static_cast<size_t>(b)];
    if (seen > rank) return ValueOf(b);
  }
  return static_cast<double>(max_) / 1000.0;
}

double LatencyHistogram::Mean() const {
  if (count_ == 0) return 0;
  return static_cast<double>(sum_) / static_cast<double>(count_) / 1000.0;
}

Percentiles LatencyHistogram::Summarize() const {
  Percentiles out;
  out.count = count_;
  if (count_ == 0) return out;
  const double ps[] = {0.50, 0.90, 0.99};
  double* targets[] = {&out.p50, &out.p90, &out.p99};
  int next = 0;
  int64_t seen = 0;
  for (int b = 0; b < kBuckets && next < 3; ++b) {
    seen += counts_[static_cast<size_t>(b)];
    while (next < 3 &&
           seen > static_cast<int64_t>(RankIndex(ps[next], count_))) {
      *targets[next] = ValueOf(b);
      ++next;
    }
  }
  out.max = static_cast<double>(max_) / 1000.0;
  return out;
}

}  // namespace chatbatch
