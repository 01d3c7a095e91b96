// IsoUtcMs reads NowIsoUtc's form directly; it must agree with the
// sscanf + timegm reading it short-cuts, for that form and for the texts
// that only look like it.
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <random>
#include <string>

#include "output/record_tally.h"

namespace chatbatch {
namespace {

double ReferenceMs(const std::string& text) {
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

TEST(IsoUtcMsTest, AgreesWithSscanfAndTimegm) {
  for (const std::string text :
       {"2026-11-26T06:36:45.123Z", "1970-01-01T00:00:00.000Z",
        "1969-12-31T23:59:59.999Z", "2024-02-29T12:00:00.500Z",
        "2023-02-31T00:00:00.000Z", "2026-12-31T23:59:60.000Z",
        "2026-00-10T00:00:00.000Z", "2026-13-10T00:00:00.000Z",
        "2026-01-00T99:99:99.999Z", "0000-01-01T00:00:00.000Z",
        "9999-12-31T23:59:59.999Z", "2026-11-26T06:36:45.123",
        "2026-11-26 06:36:45.123Z", " 2026-11-26T06:36:45.123Z",
        "2026-1-26T06:36:45.123Z", "+026-11-26T06:36:45.123Z", "", "x"}) {
    EXPECT_EQ(IsoUtcMs(text), ReferenceMs(text)) << text;
  }
  std::mt19937 rng(3);
  // mt19937 yields uint_fast32_t (64 bits here); %u wants unsigned int.
  auto next = [&rng](unsigned bound) {
    return static_cast<unsigned>(rng() % bound);
  };
  for (int i = 0; i < 20000; ++i) {
    char text[32];
    std::snprintf(text, sizeof text, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
                  next(10000), next(14), next(40), next(30), next(70), next(70),
                  next(1000));
    EXPECT_EQ(IsoUtcMs(text), ReferenceMs(text)) << text;
  }
}

}  // namespace
}  // namespace chatbatch
