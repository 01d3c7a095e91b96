#include "util/time_format.h"

#include <cstdio>
#include <ctime>

namespace chatbatch {

std::string FormatIsoUtc(std::chrono::system_clock::time_point tp) {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  // floor (not duration_cast) so times before 1970 also split correctly into
  // whole seconds and a non-negative millisecond part.
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

std::string NowIsoUtc() {
  return FormatIsoUtc(std::chrono::system_clock::now());
}

double ElapsedMs(std::chrono::steady_clock::time_point start,
                 std::chrono::steady_clock::time_point end) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

}  // namespace chatbatch
