// FormatIsoUtc writes years 0..9999 by calendar arithmetic; it must give
// what gmtime_r and snprintf gave for every time point.
#include "util/time_format.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>

namespace chatbatch {
namespace {

std::string Reference(std::chrono::system_clock::time_point tp) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  const auto ms = std::chrono::floor<milliseconds>(tp.time_since_epoch());
  const auto secs = std::chrono::floor<seconds>(ms);
  const int millis = static_cast<int>((ms - secs).count());
  const std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "1970-01-01T00:00:00.000Z";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, millis);
  return buf;
}

// libstdc++'s system_clock counts nanoseconds: it spans the years 1677 to
// 2262, so only milliseconds within about ±9.2e12 are time points at all.
constexpr int64_t kSpanMs = 9'200'000'000'000;

std::chrono::system_clock::time_point TimeAtMs(int64_t ms) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::milliseconds(ms)));
}

TEST(FormatIsoUtcTest, AgreesWithGmtimeAndSnprintf) {
  constexpr int64_t kDay = 86'400'000;
  for (int64_t ms : {int64_t{0}, int64_t{-1}, int64_t{1}, kDay - 1, -kDay,
                     int64_t{1'764'480'000'123}, int64_t{951'782'400'000},
                     -kSpanMs, kSpanMs}) {
    EXPECT_EQ(FormatIsoUtc(TimeAtMs(ms)), Reference(TimeAtMs(ms))) << ms;
  }
  for (auto tp : {std::chrono::system_clock::time_point::min(),
                  std::chrono::system_clock::time_point::max()}) {
    EXPECT_EQ(FormatIsoUtc(tp), Reference(tp));
  }
  std::mt19937_64 rng(9);
  std::uniform_int_distribution<int64_t> any(-kSpanMs, kSpanMs);
  std::uniform_int_distribution<int64_t> recent(0, 4'000'000'000'000);
  for (int i = 0; i < 50000; ++i) {
    const int64_t a = any(rng), r = recent(rng);
    EXPECT_EQ(FormatIsoUtc(TimeAtMs(a)), Reference(TimeAtMs(a))) << a;
    EXPECT_EQ(FormatIsoUtc(TimeAtMs(r)), Reference(TimeAtMs(r))) << r;
  }
  EXPECT_EQ(FormatIsoUtc(TimeAtMs(1'764'480'000'123)),
            "2025-11-30T05:20:00.123Z");
}

}  // namespace
}  // namespace chatbatch
